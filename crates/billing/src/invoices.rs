//! Invoices (счёт на оплату, CP 6.2–6.4, AT 4.2): a customer asks for one in
//! the cabinet, pays it by bank transfer with the invoice number in the
//! payment purpose, and the balance is credited when the money arrives —
//! when the seller's staff confirm it, or when a bank statement line with
//! that number and amount is imported. Either way the credit is posted once
//! under `bank:invoice:<number>`, so confirming and importing the same
//! payment cannot count it twice. The cabinet warns that it can take up to
//! 72 hours.

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::iin::IinBin;
use tabys_core::money::Money;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::payments::{self, Completed, Method};
use crate::{Book, Holder, balances};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Invoice {
    pub id: i64,
    #[schema(value_type = i64)]
    pub book: Book,
    pub wallet_id: i64,
    pub number: String,
    #[schema(value_type = i64)]
    pub amount: Money,
    pub payer_name: String,
    pub payer_iin_bin: String,
    /// `issued`, `paid`.
    pub status: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

impl Invoice {
    /// What the payer writes in the transfer's purpose.
    pub fn purpose(&self) -> String {
        format!(
            "Оплата по счёту № {} / {} шот бойынша төлем. Без НДС",
            self.number, self.number
        )
    }
}

const COLUMNS: &str =
    "id, book, wallet_id, number, amount, payer_name, payer_iin_bin, status, created_at, paid_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Invoice> {
    Ok(Invoice {
        id: r.try_get(0)?,
        book: Book(r.try_get(1)?),
        wallet_id: r.try_get(2)?,
        number: r.try_get(3)?,
        amount: Money::from_tiyn(r.try_get(4)?),
        payer_name: r.try_get(5)?,
        payer_iin_bin: r.try_get(6)?,
        status: r.try_get(7)?,
        created_at: r.try_get(8)?,
        paid_at: r.try_get(9)?,
    })
}

/// An invoice request as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct InvoiceInput {
    /// Tenge.
    pub amount: String,
    pub payer_name: String,
    pub payer_iin_bin: String,
}

/// Issues an invoice to top up the holder's balance in these books.
pub async fn issue(db: &Db, book: Book, holder: Holder, input: &InvoiceInput) -> Result<Invoice> {
    let mut errors = Vec::new();
    let amount = match crate::products::parse_amount(&input.amount, "amount") {
        Ok(a) => Some(a),
        Err(Error::Invalid(mut f)) => {
            errors.append(&mut f);
            None
        }
        Err(e) => return Err(e),
    };
    let payer_name = input.payer_name.trim().to_string();
    if payer_name.is_empty() || payer_name.chars().count() > 300 {
        errors.push(FieldError {
            field: "payer_name",
            code: "required",
        });
    }
    let iin = IinBin::parse(&input.payer_iin_bin)
        .map_err(|e| {
            errors.push(FieldError {
                field: "payer_iin_bin",
                code: e.code,
            })
        })
        .ok();
    let (Some(amount), Some(iin)) = (amount, iin) else {
        return Err(Error::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = balances::wallet(&mut tx, book, holder, now).await?;
    let row = sqlx::query(
        "INSERT INTO invoices (book, wallet_id, number, amount, payer_name, payer_iin_bin, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'issued', $7) RETURNING id",
    )
    .bind(book.0)
    .bind(w.id)
    // A placeholder unique per row until the id is known.
    .bind(format!("pending-{}-{}", w.id, tabys_store::token::random_token()))
    .bind(amount.tiyn())
    .bind(&payer_name)
    .bind(iin.as_str())
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    let number = format!("INV-{}-{id:06}", book.0);
    sqlx::query("UPDATE invoices SET number = $1 WHERE id = $2")
        .bind(&number)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    get(db, book, id).await
}

pub async fn get(db: &Db, book: Book, id: i64) -> Result<Invoice> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1 AND book = $2"
    ))
    .bind(id)
    .bind(book.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// One of the holder's invoices, in any books.
pub async fn get_own(db: &Db, holder: Holder, id: i64) -> Result<Invoice> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1 AND wallet_id IN (SELECT id FROM wallets WHERE holder = $2)"
    ))
    .bind(id)
    .bind(holder.key())
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn of_holder(db: &Db, holder: Holder) -> Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE wallet_id IN (SELECT id FROM wallets WHERE holder = $1) ORDER BY id DESC LIMIT 200"
    ))
    .bind(holder.key())
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Invoices in these books waiting for money.
pub async fn awaiting(db: &Db, book: Book) -> Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE book = $1 AND status = 'issued' ORDER BY id"
    ))
    .bind(book.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

async fn all_of_book(db: &Db, book: Book) -> Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE book = $1 ORDER BY id"
    ))
    .bind(book.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The money for an invoice arrived: credit the balance, once.
async fn mark_paid(db: &Db, inv: &Invoice, via: &str, actor: Option<UserId>) -> Result<Completed> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = balances::get_tx(&mut tx, inv.wallet_id).await?;
    let done = payments::receive(
        &mut tx,
        db,
        now,
        &w,
        Method::Invoice,
        &format!("invoice:{}", inv.number),
        inv.amount,
    )
    .await?;
    if let Completed::New { .. } = done {
        sqlx::query(
            "UPDATE invoices SET status = 'paid', paid_at = $1, payment_id = (SELECT id FROM payments WHERE provider = 'bank' AND provider_ref = $2) WHERE id = $3",
        )
        .bind(now.0)
        .bind(format!("invoice:{}", inv.number))
        .bind(inv.id)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            db.dialect(),
            now,
            Entry {
                org_id: inv.book.org_id(),
                actor_id: actor,
                action: "invoice.paid",
                subject: format!("invoice:{}", inv.id),
                data: serde_json::json!({ "number": inv.number, "amount": inv.amount.tiyn(), "via": via }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// The seller's staff saw the transfer arrive and confirm it.
pub async fn confirm(db: &Db, book: Book, id: i64, actor: UserId) -> Result<Completed> {
    let inv = get(db, book, id).await?;
    mark_paid(db, &inv, "confirmed", Some(actor)).await
}

/// What a statement import did, line by line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Lines that paid an invoice now.
    pub matched: Vec<String>,
    /// Lines imported before (same reference): nothing changed.
    pub repeated: Vec<String>,
    /// Lines that name no open invoice with that amount: kept for the operator.
    pub unmatched: Vec<String>,
    /// Lines that could not be read, with the line number.
    pub errors: Vec<(usize, &'static str)>,
}

/// Imports a bank statement (format in [`crate::providers::bank_statement`]).
pub async fn import_statement(
    db: &Db,
    book: Book,
    text: &str,
    actor: UserId,
) -> Result<ImportReport> {
    let (lines, errors) = crate::providers::bank_statement::parse(text);
    let mut report = ImportReport {
        errors,
        ..ImportReport::default()
    };
    let known = all_of_book(db, book).await?;
    for line in lines {
        let now = db.now();
        let seen =
            sqlx::query("SELECT id FROM bank_statement_lines WHERE book = $1 AND reference = $2")
                .bind(book.0)
                .bind(&line.reference)
                .fetch_optional(db.read())
                .await?;
        if seen.is_some() {
            report.repeated.push(line.reference.clone());
            continue;
        }
        // An invoice already confirmed by hand still matches its line: the
        // credit's posting key makes the second arrival change nothing.
        let found = known
            .iter()
            .find(|inv| line.purpose.contains(&inv.number) && inv.amount == line.amount);
        if let Some(inv) = found {
            mark_paid(db, inv, "statement", Some(actor)).await?;
        }
        let mut tx = db.begin().await?;
        sqlx::query(
            "INSERT INTO bank_statement_lines (book, reference, value_date, amount, payer, purpose, invoice_id, status, imported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (book, reference) DO NOTHING",
        )
        .bind(book.0)
        .bind(&line.reference)
        .bind(&line.date)
        .bind(line.amount.tiyn())
        .bind(&line.payer)
        .bind(&line.purpose)
        .bind(found.map(|i| i.id))
        .bind(if found.is_some() { "matched" } else { "unmatched" })
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if found.is_some() {
            report.matched.push(line.reference);
        } else {
            report.unmatched.push(line.reference);
        }
    }
    Ok(report)
}

/// A statement line no invoice matched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnmatchedLine {
    pub reference: String,
    pub date: String,
    pub amount: Money,
    pub payer: String,
    pub purpose: String,
    pub imported_at: Timestamp,
}

pub async fn unmatched_lines(db: &Db, book: Book) -> Result<Vec<UnmatchedLine>> {
    let rows = sqlx::query(
        "SELECT reference, value_date, amount, payer, purpose, imported_at FROM bank_statement_lines
         WHERE book = $1 AND status = 'unmatched' ORDER BY id DESC LIMIT 200",
    )
    .bind(book.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UnmatchedLine {
                reference: r.try_get(0)?,
                date: r.try_get(1)?,
                amount: Money::from_tiyn(r.try_get(2)?),
                payer: r.try_get(3)?,
                purpose: r.try_get(4)?,
                imported_at: Timestamp(r.try_get(5)?),
            })
        })
        .collect()
}
