//! Amounts are exact decimal text: never parsed into a float, never reformatted.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// Bounds what downstream systems (ledgers with 36-digit decimals) can hold.
pub const MAX_SIGNIFICANT_DIGITS: usize = 36;

/// A positive decimal amount, kept exactly as the exchange wrote it
/// (`"1.50"` stays `"1.50"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(String);

impl Amount {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = |why: &str| Err(FieldError::new("amount", format!("amount {why}")));
        let (int, frac) = match raw.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (raw, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return err("must be a decimal string such as \"12.5\" (digits, at most one '.', no sign or exponent)");
        }
        if int.len() > 1 && int.starts_with('0') {
            return err("must not have leading zeros");
        }
        let digits: String = [int, frac.unwrap_or("")].concat();
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return err("must be greater than zero");
        }
        if significant.len() > MAX_SIGNIFICANT_DIGITS {
            return err(&format!("has more than {MAX_SIGNIFICANT_DIGITS} significant digits"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares values exactly ("1.50" equals "1.5"), without floats.
    pub fn cmp_value(&self, other: &Amount) -> std::cmp::Ordering {
        let (a_int, a_frac) = self.digits();
        let (b_int, b_frac) = other.digits();
        a_int.len().cmp(&b_int.len()).then_with(|| a_int.cmp(b_int)).then_with(|| a_frac.cmp(b_frac))
    }

    /// Integer digits without leading zeros, fraction digits without trailing
    /// zeros: in that form, length then bytes order the values.
    fn digits(&self) -> (&str, &str) {
        let (int, frac) = self.0.split_once('.').unwrap_or((&self.0, ""));
        (int.trim_start_matches('0'), frac.trim_end_matches('0'))
    }
}

impl TryFrom<String> for Amount {
    type Error = FieldError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Amount> for String {
    fn from(amount: Amount) -> String {
        amount.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_text_exactly() {
        for ok in ["1", "0.1", "1.50", "100.000000000000000001", "0.000000000000000000000000000000000001"] {
            assert_eq!(Amount::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_non_positive_and_malformed() {
        for bad in ["", "0", "0.000", "-1", "+1", "1e5", ".5", "5.", "1.2.3", "01", " 1", "1,5", "NaN", "١"] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn counts_significant_digits_not_leading_zeros() {
        let thirty_six = "1".repeat(36);
        assert!(Amount::parse(&thirty_six).is_ok());
        assert!(Amount::parse(&format!("0.{}", "0".repeat(40) + &thirty_six)).is_ok());
        for too_long in ["1".repeat(37), format!("1.{}", "0".repeat(36))] {
            let refusal = Amount::parse(&too_long).unwrap_err();
            assert_eq!(refusal.field, "amount");
            assert!(refusal.message.contains("significant digits"), "{}", refusal.message);
        }
    }

    #[test]
    fn values_compare_exactly() {
        use std::cmp::Ordering::*;
        let cmp = |a: &str, b: &str| Amount::parse(a).unwrap().cmp_value(&Amount::parse(b).unwrap());
        assert_eq!(cmp("1.50", "1.5"), Equal);
        assert_eq!(cmp("0.05", "0.5"), Less);
        assert_eq!(cmp("0.12", "0.2"), Less);
        assert_eq!(cmp("10", "9.99999"), Greater);
        assert_eq!(cmp("100", "100.000000000000000000001"), Less);
    }

    proptest! {
        #[test]
        fn comparison_agrees_with_integer_arithmetic(a in 1u64..u64::MAX / 2, b in 1u64..u64::MAX / 2, scale in 0usize..12) {
            let text = |v: u64| {
                let digits = format!("{v:0>width$}", width = scale + 1);
                let (int, frac) = digits.split_at(digits.len() - scale);
                if scale == 0 { int.to_owned() } else { format!("{int}.{frac}") }
            };
            let ordering = Amount::parse(&text(a)).unwrap().cmp_value(&Amount::parse(&text(b)).unwrap());
            prop_assert_eq!(ordering, a.cmp(&b));
        }

        #[test]
        fn any_positive_decimal_round_trips(int in 0u64..u64::MAX, frac in proptest::option::of("[0-9]{1,16}")) {
            let text = match &frac { Some(f) => format!("{int}.{f}"), None => int.to_string() };
            let positive = int > 0 || frac.as_deref().is_some_and(|f| f.bytes().any(|b| b != b'0'));
            prop_assert_eq!(Amount::parse(&text).is_ok(), positive);
            if positive {
                let amount = Amount::parse(&text).unwrap();
                prop_assert_eq!(amount.as_str(), text.as_str());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,64}") {
            let _ = Amount::parse(&text);
        }
    }
}
