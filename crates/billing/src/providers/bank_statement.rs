//! Bank statements, as the seller downloads them from its internet bank and
//! imports them to credit invoices paid by transfer.
//!
//! The format: UTF-8 text, one payment per line, fields separated by `;`,
//! a first line naming the columns:
//!
//! ```text
//! date;reference;amount;payer;purpose
//! 2026-03-03;PP-000123;15000.00;ТОО «Ромашка» БИН 180540001239;Оплата по счёту № INV-0-000012
//! ```
//!
//! * `date`: the value date, `YYYY-MM-DD`;
//! * `reference`: the bank's own number of the payment, unique in the
//!   statement; a line whose reference was imported before is skipped, so
//!   importing the same statement twice changes nothing;
//! * `amount`: tenge, `15000.00` or `15 000,00`, positive, at most two decimals;
//! * `payer`: free text;
//! * `purpose`: free text; it must contain the invoice number for the line
//!   to match, and the amount must equal the invoice's.
//!
//! Blank lines and lines starting with `#` are ignored; `;` inside a field
//! is not supported (banks' exports replace it).

use tabys_core::money::Money;

/// One payment in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub date: String,
    pub reference: String,
    pub amount: Money,
    pub payer: String,
    pub purpose: String,
}

/// The lines that could be read, and the problems of those that could not
/// (1-based line number, code).
pub fn parse(text: &str) -> (Vec<Line>, Vec<(usize, &'static str)>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let s = raw.trim().trim_start_matches('\u{feff}');
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        if !header_seen {
            header_seen = true;
            if s.to_ascii_lowercase().replace(' ', "") == "date;reference;amount;payer;purpose" {
                continue;
            }
            errors.push((n, "statement-header"));
            continue;
        }
        let fields: Vec<&str> = s.split(';').map(str::trim).collect();
        if fields.len() != 5 {
            errors.push((n, "statement-columns"));
            continue;
        }
        let date_ok = fields[0].len() == 10 && fields[0].parse::<jiff::civil::Date>().is_ok();
        if !date_ok {
            errors.push((n, "statement-date"));
            continue;
        }
        if fields[1].is_empty() || fields[1].len() > 100 {
            errors.push((n, "statement-reference"));
            continue;
        }
        let amount = match Money::parse_tenge(fields[2]) {
            Ok(a) if a.is_positive() => a,
            _ => {
                errors.push((n, "statement-amount"));
                continue;
            }
        };
        lines.push(Line {
            date: fields[0].to_string(),
            reference: fields[1].to_string(),
            amount,
            payer: fields[3].to_string(),
            purpose: fields[4].to_string(),
        });
    }
    (lines, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_lines_are_read_and_bad_ones_reported_with_their_line() {
        let text = "date;reference;amount;payer;purpose\n\
                    2026-03-03;PP-1;15 000,00;ТОО «А»;Оплата по счёту № INV-0-000012\n\
                    # a comment\n\
                    2026-03-03;PP-2;15000.005;X;Y\n\
                    2026-13-03;PP-3;1;X;Y\n\
                    2026-03-03;PP-4;1;X\n\
                    2026-03-04;PP-5;-1;X;Y\n";
        let (lines, errors) = parse(text);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount, Money::from_tiyn(1_500_000));
        assert_eq!(
            errors,
            vec![
                (4, "statement-amount"),
                (5, "statement-date"),
                (6, "statement-columns"),
                (7, "statement-amount")
            ]
        );
        assert_eq!(parse("nope\n").1, vec![(1, "statement-header")]);
    }
}
