//! The audit chain (PL-9) is tamper-evident: editing an entry, deleting one
//! anywhere, or editing the head that records where the chain ends is
//! reported by `audit::verify` at the entry where the chain breaks.

use anyhow::{Context, bail, ensure};
use tabys_core::ids::{OrgId, UserId};
use tabys_store::audit::{self, Entry, GENESIS, Verdict};
use tabys_store::{Db, Row};
use tabys_testkit::{TestDb, db_only_test};

const ENTRIES: i64 = 5;

/// Appends `n` entries, one transaction each, a second apart.
async fn append(t: &TestDb, n: i64) -> anyhow::Result<()> {
    for i in 0..n {
        let mut tx = t.db.begin().await?;
        audit::append(
            &mut tx,
            t.db.dialect(),
            t.db.now(),
            Entry {
                org_id: Some(OrgId(1 + i % 2)),
                actor_id: Some(UserId(7)),
                action: "organizer.updated",
                subject: format!("organizer:{}", 1 + i % 2),
                data: serde_json::json!({ "legal_name": { "before": format!("v{i}"), "after": format!("v{}", i + 1) } }),
            },
        )
        .await?;
        tx.commit().await?;
        t.clock.advance_seconds(1);
    }
    Ok(())
}

/// Runs one statement the way someone with database access would.
async fn exec(db: &Db, sql: &str) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(sql).execute(&mut *tx).await?;
    tx.commit().await?;
    ensure!(done.rows_affected() > 0, "{sql} changed nothing");
    Ok(())
}

/// The hash a forger who read the source would compute for a rewritten
/// entry: SHA-256 over the length-prefixed fields, the previous hash first.
fn forged_hash(r: &audit::Record) -> String {
    use sha2::{Digest, Sha256};
    let fields = [
        r.prev_hash.clone(),
        r.seq.to_string(),
        r.at.0.to_string(),
        r.org_id.map(|o| o.to_string()).unwrap_or_default(),
        r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
        r.action.clone(),
        r.subject.clone(),
        r.data.clone(),
    ];
    let mut h = Sha256::new();
    for f in &fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

async fn data_of(db: &Db, seq: i64) -> anyhow::Result<String> {
    let row = sqlx::query("SELECT data FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_one(db.read())
        .await?;
    Ok(row.try_get(0)?)
}

async fn set_data(db: &Db, seq: i64, data: &str) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE audit_log SET data = $1 WHERE seq = $2")
        .bind(data)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    ensure!(done.rows_affected() == 1, "entry {seq} not found");
    Ok(())
}

async fn head(db: &Db) -> anyhow::Result<(i64, String)> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(db.read())
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

async fn intact(db: &Db) -> anyhow::Result<(i64, String)> {
    match audit::verify(db).await? {
        Verdict::Intact { entries, head } => Ok((entries, head)),
        broken => bail!("expected an intact chain, got {broken:?}"),
    }
}

async fn broken_at(db: &Db) -> anyhow::Result<(i64, String)> {
    match audit::verify(db).await? {
        Verdict::Broken { seq, reason } => Ok((seq, reason)),
        intact => bail!("expected a broken chain, got {intact:?}"),
    }
}

db_only_test! {
    async fn an_empty_chain_and_a_chain_of_appends_verify_intact(t: TestDb) {
        assert_eq!(audit::verify(&t.db).await?, Verdict::Intact { entries: 0, head: GENESIS.to_string() });
        append(&t, ENTRIES).await?;
        let (entries, hash) = intact(&t.db).await?;
        assert_eq!(entries, ENTRIES);
        assert_eq!(head(&t.db).await?, (ENTRIES, hash.clone()), "verify reports the stored head");
        let newest = audit::recent(&t.db, None, 1).await?;
        assert_eq!(newest.first().map(|r| r.hash.clone()), Some(hash));
        // Each entry points to the one before it.
        let all = audit::recent(&t.db, None, 100).await?;
        for pair in all.windows(2) {
            assert_eq!(pair[0].prev_hash, pair[1].hash);
            assert_eq!(pair[0].seq, pair[1].seq + 1);
        }
        assert_eq!(all.last().map(|r| r.prev_hash.as_str()), Some(GENESIS));
        // One organizer's entries only.
        ensure!(audit::recent(&t.db, Some(OrgId(2)), 100).await?.iter().all(|r| r.org_id == Some(2)));
        Ok(())
    }
}

db_only_test! {
    async fn editing_any_entrys_data_breaks_the_chain_at_that_entry(t: TestDb) {
        append(&t, ENTRIES).await?;
        for seq in 1..=ENTRIES {
            let original = data_of(&t.db, seq).await?;
            set_data(&t.db, seq, &original.replace("v", "w")).await?;
            let (at, reason) = broken_at(&t.db).await?;
            assert_eq!(at, seq, "{reason}");
            ensure!(reason.contains("edited"), "{reason}");
            set_data(&t.db, seq, &original).await?;
            intact(&t.db).await.with_context(|| format!("restoring entry {seq}"))?;
        }
        Ok(())
    }
}

db_only_test! {
    async fn editing_any_other_column_breaks_the_chain_at_that_entry(t: TestDb) {
        append(&t, ENTRIES).await?;
        let edits = [
            "UPDATE audit_log SET at = at + 1 WHERE seq = 2",
            "UPDATE audit_log SET org_id = 9 WHERE seq = 2",
            "UPDATE audit_log SET actor_id = NULL WHERE seq = 2",
            "UPDATE audit_log SET action = 'organizer.created' WHERE seq = 2",
            "UPDATE audit_log SET subject = 'organizer:9' WHERE seq = 2",
        ];
        for sql in edits {
            let snapshot = sqlx::query("SELECT at, org_id, actor_id, action, subject FROM audit_log WHERE seq = 2")
                .fetch_one(t.db.read())
                .await?;
            let (at, org, actor, action, subject): (i64, Option<i64>, Option<i64>, String, String) =
                (snapshot.try_get(0)?, snapshot.try_get(1)?, snapshot.try_get(2)?, snapshot.try_get(3)?, snapshot.try_get(4)?);
            exec(&t.db, sql).await?;
            assert_eq!(broken_at(&t.db).await?.0, 2, "{sql}");
            let mut tx = t.db.begin().await?;
            sqlx::query("UPDATE audit_log SET at = $1, org_id = $2, actor_id = $3, action = $4, subject = $5 WHERE seq = 2")
                .bind(at)
                .bind(org)
                .bind(actor)
                .bind(action)
                .bind(subject)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            intact(&t.db).await.with_context(|| sql.to_string())?;
        }
        Ok(())
    }
}

db_only_test! {
    async fn an_edited_entry_with_a_recomputed_hash_breaks_the_chain_at_the_next_entry(t: TestDb) {
        append(&t, ENTRIES).await?;
        // A forger rewrites entry 3 and gives it the hash its new content
        // has; entry 4 still points to the old one.
        let mut third = audit::recent(&t.db, None, 100).await?.into_iter().find(|r| r.seq == 3).context("entry 3")?;
        third.data = r#"{"legal_name":"forged"}"#.into();
        third.hash = forged_hash(&third);
        let mut tx = t.db.begin().await?;
        sqlx::query("UPDATE audit_log SET data = $1, hash = $2 WHERE seq = 3").bind(&third.data).bind(&third.hash).execute(&mut *tx).await?;
        tx.commit().await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, 4, "{reason}");
        ensure!(reason.contains("does not point"), "{reason}");
        Ok(())
    }
}

db_only_test! {
    async fn a_rewritten_newest_entry_with_a_recomputed_hash_is_caught_by_the_head(t: TestDb) {
        append(&t, ENTRIES).await?;
        let mut newest = audit::recent(&t.db, None, 1).await?.into_iter().next().context("newest")?;
        newest.data = r#"{"legal_name":"forged"}"#.into();
        newest.hash = forged_hash(&newest);
        let mut tx = t.db.begin().await?;
        sqlx::query("UPDATE audit_log SET data = $1, hash = $2 WHERE seq = $3")
            .bind(&newest.data)
            .bind(&newest.hash)
            .bind(newest.seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, ENTRIES, "{reason}");
        Ok(())
    }
}

db_only_test! {
    async fn deleting_a_middle_entry_breaks_the_chain_where_it_is_missing(t: TestDb) {
        append(&t, ENTRIES).await?;
        exec(&t.db, "DELETE FROM audit_log WHERE seq = 3").await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, 3);
        ensure!(reason.contains("missing"), "{reason}");
        Ok(())
    }
}

db_only_test! {
    async fn deleting_a_middle_entry_and_renumbering_breaks_the_chain_at_the_gap(t: TestDb) {
        append(&t, ENTRIES).await?;
        exec(&t.db, "DELETE FROM audit_log WHERE seq = 3").await?;
        exec(&t.db, "UPDATE audit_log SET seq = 3 WHERE seq = 4").await?;
        exec(&t.db, "UPDATE audit_log SET seq = 4 WHERE seq = 5").await?;
        assert_eq!(broken_at(&t.db).await?.0, 3);
        Ok(())
    }
}

db_only_test! {
    async fn deleting_the_last_entry_breaks_the_chain_at_that_entry(t: TestDb) {
        append(&t, ENTRIES).await?;
        exec(&t.db, &format!("DELETE FROM audit_log WHERE seq = {ENTRIES}")).await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, ENTRIES, "{reason}");
        ensure!(reason.contains("deleted"), "{reason}");
        Ok(())
    }
}

db_only_test! {
    async fn editing_the_head_breaks_the_chain_at_the_entry_it_names(t: TestDb) {
        append(&t, ENTRIES).await?;
        let (seq, hash) = head(&t.db).await?;

        // Its hash changed: the newest entry no longer matches the anchor.
        exec(&t.db, &format!("UPDATE audit_head SET hash = '{}' WHERE id = 1", "cd".repeat(32))).await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, ENTRIES, "{reason}");

        // It names a later entry: the entries after the last one are missing.
        let mut tx = t.db.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1").bind(seq + 2).bind(&hash).execute(&mut *tx).await?;
        tx.commit().await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, ENTRIES + 1, "{reason}");

        // It names an earlier entry: the entries after it were not vouched for.
        let earlier = audit::recent(&t.db, None, 100).await?.into_iter().find(|r| r.seq == seq - 2).context("entry")?;
        let mut tx = t.db.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1").bind(earlier.seq).bind(&earlier.hash).execute(&mut *tx).await?;
        tx.commit().await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, seq - 1, "{reason}");

        // Gone altogether.
        exec(&t.db, "DELETE FROM audit_head").await?;
        let (at, reason) = broken_at(&t.db).await?;
        assert_eq!(at, ENTRIES, "{reason}");

        // Put back, the chain is whole again.
        let mut tx = t.db.begin().await?;
        sqlx::query("INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)").bind(seq).bind(&hash).execute(&mut *tx).await?;
        tx.commit().await?;
        assert_eq!(intact(&t.db).await?, (seq, hash));
        Ok(())
    }
}

db_only_test! {
    async fn truncating_the_chain_and_its_head_together_is_caught_by_the_anchored_head(t: TestDb) {
        append(&t, ENTRIES).await?;
        let (_, anchored) = intact(&t.db).await?;
        let previous = audit::recent(&t.db, None, 2).await?.into_iter().nth(1).context("entry")?;
        let mut tx = t.db.begin().await?;
        sqlx::query("DELETE FROM audit_log WHERE seq = $1").bind(ENTRIES).execute(&mut *tx).await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1").bind(previous.seq).bind(&previous.hash).execute(&mut *tx).await?;
        tx.commit().await?;
        // The database alone now looks whole; the head kept elsewhere does not match.
        let (entries, now) = intact(&t.db).await?;
        assert_eq!(entries, ENTRIES - 1);
        assert_ne!(now, anchored, "an operator comparing with the anchored head sees the truncation");
        Ok(())
    }
}

db_only_test! {
    async fn concurrent_appends_keep_one_unbroken_chain(t: TestDb) {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let db = t.db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin().await?;
                let seq = audit::append(
                    &mut tx,
                    db.dialect(),
                    db.now(),
                    Entry { org_id: None, actor_id: None, action: "test.parallel", subject: format!("n:{i}"), data: serde_json::json!({}) },
                )
                .await?;
                tx.commit().await?;
                Ok::<i64, tabys_core::Error>(seq)
            }));
        }
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await??);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=16).collect::<Vec<i64>>(), "each append got its own place");
        assert_eq!(intact(&t.db).await?.0, 16);
        Ok(())
    }
}
