//! The providers' protocols: each adapter parses and verifies the
//! provider's messages, asks the provider back where the protocol allows,
//! and hands the confirmed money to [`crate::payments`]. Amounts cross the
//! wire as decimal text ("1500.50") and are read straight into tiyn; a
//! float never holds money here either.

pub mod bank_statement;
pub mod cloudpayments;
pub mod kaspi;

use tabys_core::money::Money;

/// `1500.5` or `1500.50` (a dot, at most two decimals) into tiyn; `None`
/// for anything else, including negative amounts and fractions of a tiyn.
pub fn parse_decimal(s: &str) -> Option<Money> {
    let s = s.trim();
    if s.is_empty() || s.contains(',') || s.contains(' ') {
        return None;
    }
    Money::parse_tenge(s).ok()
}

/// Tiyn as the decimal text providers expect: `1500.50`.
pub fn decimal(m: Money) -> String {
    let t = m.tiyn();
    let sign = if t < 0 { "-" } else { "" };
    let abs = t.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_and_fractions_of_a_tiyn_are_refused() {
        assert_eq!(parse_decimal("1500.50"), Some(Money::from_tiyn(150_050)));
        assert_eq!(parse_decimal("1500.5"), Some(Money::from_tiyn(150_050)));
        assert_eq!(parse_decimal("7"), Some(Money::from_tiyn(700)));
        assert_eq!(parse_decimal("1500.505"), None);
        assert_eq!(parse_decimal("-5.00"), None);
        assert_eq!(parse_decimal("1 500.00"), None);
        assert_eq!(parse_decimal("1,5"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(decimal(Money::from_tiyn(150_050)), "1500.50");
        assert_eq!(decimal(Money::from_tiyn(5)), "0.05");
    }
}
