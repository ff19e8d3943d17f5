//! The ledger's own rules, on both databases: postings balance and happen
//! once per key, a guarded debit never overdraws, a hold resolves exactly
//! once, caches are checked against transfers, a negative balance is
//! suspended after three Kazakhstan business days, the trial credit is
//! given once per company.

use anyhow::ensure;
use tabys_billing::holds::{self, Resolution};
use tabys_billing::ledger::{self, NewPosting, Posted, Transfer, codes};
use tabys_billing::{Book, Holder, balances};
use tabys_core::ids::OrgId;
use tabys_core::money::Money;
use tabys_core::{Error, Timestamp, calendar};
use tabys_store::Db;
use tabys_testkit::db_only_test;

/// The operator's Kaspi clearing account and a person's personal account in it.
async fn accounts(db: &Db) -> anyhow::Result<(ledger::AccountId, balances::Wallet)> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let person = tabys_accounts::users::NewUser {
        email: tabys_core::email::Email::parse("p@example.kz")
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "P".into(),
        password: "long-enough-password".into(),
        locale: tabys_core::locale::Locale::Ru,
        adult_confirmed: true,
    };
    let user = tabys_accounts::users::create(&mut tx, db, person, false).await?;
    let clearing =
        ledger::book_account(&mut tx, Book::OPERATOR, codes::CLEARING_KASPI, now).await?;
    let w = balances::wallet(&mut tx, Book::OPERATOR, Holder::User(user.id), now).await?;
    tx.commit().await?;
    Ok((clearing, w))
}

fn top_up(
    book: Book,
    key: &str,
    clearing: ledger::AccountId,
    w: &balances::Wallet,
    tiyn: i64,
) -> NewPosting {
    NewPosting {
        book,
        key: key.into(),
        kind: "payment",
        memo: "top-up".into(),
        transfers: vec![Transfer::new(clearing, w.main, Money::from_tiyn(tiyn))],
        corrects: None,
        actor: None,
    }
}

async fn post(db: &Db, p: NewPosting) -> Result<Posted, Error> {
    let mut tx = db.begin().await?;
    let r = ledger::post(&mut tx, db.now(), p).await?;
    tx.commit().await?;
    Ok(r)
}

db_only_test! {
    async fn a_key_posts_once_and_the_same_key_with_other_money_is_a_conflict(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        let first = post(db, top_up(Book::OPERATOR, "kaspi:1", clearing, &w, 1_000)).await?;
        let again = post(db, top_up(Book::OPERATOR, "kaspi:1", clearing, &w, 1_000)).await?;
        ensure!(first.is_new() && !again.is_new() && first.id() == again.id());
        let other = post(db, top_up(Book::OPERATOR, "kaspi:1", clearing, &w, 2_000)).await;
        ensure!(matches!(other, Err(Error::Conflict("idempotency-conflict"))), "{other:?}");
        ensure!(balances::balance(db, &w).await?.main == Money::from_tiyn(1_000));
        ensure!(ledger::trial_balance(db).await?.balanced());
        Ok(())
    }
}

db_only_test! {
    async fn concurrent_posts_with_one_key_make_one_posting(t: TestDb) {
        let db = t.db.clone();
        let (clearing, w) = accounts(&db).await?;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (db, w) = (db.clone(), w.clone());
            tasks.push(tokio::spawn(async move { post(&db, top_up(Book::OPERATOR, "cloudpayments:42", clearing, &w, 500)).await }));
        }
        let mut new = 0;
        for task in tasks {
            if task.await??.is_new() {
                new += 1;
            }
        }
        ensure!(new == 1, "{new} new postings");
        ensure!(balances::balance(&db, &w).await?.main == Money::from_tiyn(500));
        Ok(())
    }
}

db_only_test! {
    async fn a_guarded_debit_never_overdraws_and_a_refused_posting_leaves_nothing(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        post(db, top_up(Book::OPERATOR, "in", clearing, &w, 1_000)).await?;
        let now = db.now();
        let mut tx = db.begin().await?;
        let spent = balances::spend(&mut tx, db.dialect(), now, &w, Money::from_tiyn(1_001), false, "spend:1".into(), "order", "too much".into()).await;
        ensure!(matches!(spent, Err(Error::Conflict("insufficient-funds"))), "{spent:?}");
        drop(tx);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings WHERE idem_key = 'spend:1'").fetch_one(db.read()).await?;
        ensure!(n == 0);
        for bad in [0, -5] {
            let r = post(db, top_up(Book::OPERATOR, "bad", clearing, &w, bad)).await;
            ensure!(matches!(r, Err(Error::Invalid(_))), "{bad}: {r:?}");
        }
        ensure!(ledger::verify(db).await?.is_empty());
        Ok(())
    }
}

db_only_test! {
    async fn bonus_is_spent_by_the_rule_and_never_paid_out(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        post(db, top_up(Book::OPERATOR, "in", clearing, &w, 1_000)).await?;
        let now = db.now();
        let mut tx = db.begin().await?;
        balances::grant_bonus(&mut tx, now, &w, Money::from_tiyn(300), "gift".into(), "gift".into(), None).await?;
        let (_, from_bonus) = balances::spend(&mut tx, db.dialect(), now, &w, Money::from_tiyn(1_100), false, "s1".into(), "order", "x".into()).await?;
        tx.commit().await?;
        ensure!(from_bonus == Money::from_tiyn(100), "bonus last: {from_bonus:?}");
        let b = balances::balance(db, &w).await?;
        ensure!(b.main == Money::ZERO && b.bonus == Money::from_tiyn(200) && b.withdrawable == Money::ZERO, "{b:?}");
        let out = tabys_billing::payments::withdraw(db, Book::OPERATOR, w.holder, Money::from_tiyn(100), "KZ86125KZT5004100100", "w1").await;
        ensure!(matches!(out, Err(Error::Conflict("insufficient-funds"))), "{out:?}");
        Ok(())
    }
}

db_only_test! {
    async fn a_hold_resolves_exactly_once(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        post(db, top_up(Book::OPERATOR, "in", clearing, &w, 1_000)).await?;
        let now = db.now();
        let mut tx = db.begin().await?;
        let hold = holds::place(&mut tx, now, Book::OPERATOR, "payout:1".into(), "payout".into(), w.main, clearing, Money::from_tiyn(600), true, Some(now.plus_days(1))).await?;
        tx.commit().await?;
        let b = balances::balance(db, &w).await?;
        ensure!(b.available == Money::from_tiyn(400) && b.held == Money::from_tiyn(600) && b.main == Money::from_tiyn(1_000), "{b:?}");
        let mut tx = db.begin().await?;
        holds::resolve(&mut tx, now, hold, Resolution::Post, "payout:1:done".into(), "done".into(), None).await?;
        tx.commit().await?;
        let mut tx = db.begin().await?;
        let again = holds::resolve(&mut tx, now, hold, Resolution::Void, "payout:1:failed".into(), "failed".into(), None).await;
        ensure!(matches!(again, Err(Error::Conflict("hold-already-resolved"))), "{again:?}");
        drop(tx);
        let b = balances::balance(db, &w).await?;
        ensure!(b.main == Money::from_tiyn(400) && b.held == Money::ZERO, "{b:?}");
        // A second hold nobody resolves expires by the clock.
        let mut tx = db.begin().await?;
        holds::place(&mut tx, now, Book::OPERATOR, "payout:2".into(), "payout".into(), w.main, clearing, Money::from_tiyn(400), true, Some(now.plus_days(1))).await?;
        tx.commit().await?;
        t.clock.advance_seconds(2 * 86_400);
        ensure!(holds::expire_due(db).await? == 1);
        ensure!(balances::balance(db, &w).await?.available == Money::from_tiyn(400));
        let tb = ledger::trial_balance(db).await?;
        ensure!(tb.balanced(), "{} {} {}", tb.total_debits, tb.total_credits, tb.cache_mismatches);
        Ok(())
    }
}

db_only_test! {
    async fn the_daily_check_finds_a_cache_that_differs_from_its_transfers(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        post(db, top_up(Book::OPERATOR, "in", clearing, &w, 1_000)).await?;
        ensure!(ledger::verify(db).await?.is_empty());
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1").bind(w.main.0).execute(&mut *tx).await?;
        tx.commit().await?;
        let found = ledger::verify(db).await?;
        ensure!(found.len() == 1 && found[0].account == w.main, "{found:?}");
        ensure!(!ledger::trial_balance(db).await?.balanced());
        // A correction is a new posting; the original stays.
        let mut tx = db.begin().await?;
        let original: i64 = sqlx::query_scalar("SELECT id FROM ledger_postings WHERE idem_key = 'in'").fetch_one(&mut *tx).await?;
        ledger::reverse(&mut tx, db.now(), ledger::PostingId(original), "in:reversed".into(), "mistake".into(), None).await?;
        tx.commit().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transfers").fetch_one(db.read()).await?;
        ensure!(n == 2, "{n} transfers");
        Ok(())
    }
}

db_only_test! {
    async fn a_negative_balance_is_suspended_after_three_kazakh_business_days(t: TestDb) {
        let db = &t.db;
        let (clearing, w) = accounts(db).await?;
        post(db, top_up(Book::OPERATOR, "in", clearing, &w, 1_000)).await?;
        balances::charge_extras(db, &w, Money::from_tiyn(1_500), "sms:march".into(), "SMS".into()).await?;
        let w = balances::get(db, w.id).await?;
        let by = w.top_up_by.clone().unwrap_or_default();
        let expected = calendar::kz().add_business_days(calendar::business_date(db.now()), 3).to_string();
        ensure!(by == expected, "{by} vs {expected}");
        // On the last allowed day nothing happens.
        let deadline: jiff::civil::Date = by.parse()?;
        let noon = |d: jiff::civil::Date| -> anyhow::Result<Timestamp> { Ok(Timestamp::from_jiff(d.at(12, 0, 0, 0).to_zoned(calendar::almaty())?.timestamp())) };
        t.clock.set(noon(deadline)?);
        ensure!(balances::suspend_overdue(db).await? == 0);
        t.clock.set(noon(deadline.tomorrow()?)?);
        ensure!(balances::suspend_overdue(db).await? == 1);
        ensure!(balances::is_suspended(db, Book::OPERATOR, w.holder).await?);
        post(db, top_up(Book::OPERATOR, "in2", clearing, &w, 600)).await?;
        let mut tx = db.begin().await?;
        balances::refresh_negative(&mut tx, db.dialect(), db.now(), &w).await?;
        tx.commit().await?;
        ensure!(!balances::is_suspended(db, Book::OPERATOR, w.holder).await?, "restored after the top-up");
        Ok(())
    }
}

db_only_test! {
    async fn the_trial_credit_is_given_once_per_iin_email_or_phone(t: TestDb) {
        let db = &t.db;
        let amount = Money::from_tiyn(100_000);
        let a = balances::grant_trial(db, Book::OPERATOR, Holder::Org(OrgId(1)), &[("iin_bin", "180540001239".into()), ("email", "A@x.kz".into())], amount).await?;
        ensure!(a == balances::TrialOutcome::Granted(amount), "{a:?}");
        let b = balances::grant_trial(db, Book::OPERATOR, Holder::Org(OrgId(2)), &[("iin_bin", "900101300811".into()), ("email", "a@X.kz ".into())], amount).await?;
        ensure!(matches!(b, balances::TrialOutcome::Repeat { ref on, .. } if on == "email"), "{b:?}");
        let again = balances::grant_trial(db, Book::OPERATOR, Holder::Org(OrgId(1)), &[], amount).await?;
        ensure!(again == balances::TrialOutcome::AlreadyConsidered);
        ensure!(balances::trial_matches(db, Book::OPERATOR).await?.len() == 1);
        Ok(())
    }
}
