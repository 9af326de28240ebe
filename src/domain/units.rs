//! Exact amounts in a chain's smallest unit (satoshi, wei, token base unit).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A whole number of base units. u128 holds 3.4e38, more than any real
/// supply even at 18 decimals; larger amounts are refused, never wrapped.
/// Serialized as a decimal string, since JSON readers often turn numbers
/// into doubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BaseUnits(u128);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error("amount must be a decimal string such as \"25.50\" (digits, at most one '.')")]
    Malformed,
    #[error("amount has more than {decimals} fractional digits")]
    TooManyFractionDigits { decimals: u32 },
    #[error("amount is too large")]
    Overflow,
}

impl BaseUnits {
    pub const ZERO: BaseUnits = BaseUnits(0);

    pub const fn new(units: u128) -> Self {
        Self(units)
    }

    pub const fn get(self) -> u128 {
        self.0
    }

    /// `"25.50"` at 8 decimals is 2_550_000_000. Fractional digits beyond
    /// `decimals` are refused even when zero ("1.000" at 2): an amount
    /// written with more precision than the asset has is a configuration
    /// error worth seeing, not something to round away.
    pub fn from_decimal(amount: &str, decimals: u32) -> Result<Self, UnitsError> {
        let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || (amount.contains('.') && frac.is_empty()) {
            return Err(UnitsError::Malformed);
        }
        if frac.len() > decimals as usize {
            return Err(UnitsError::TooManyFractionDigits { decimals });
        }
        let padded = format!("{int}{frac:0<width$}", width = decimals as usize);
        let digits = padded.trim_start_matches('0');
        if digits.is_empty() {
            return Ok(Self::ZERO);
        }
        digits.parse::<u128>().map(Self).map_err(|_| UnitsError::Overflow)
    }
}

impl TryFrom<String> for BaseUnits {
    type Error = UnitsError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::from_decimal(&raw, 0)
    }
}

impl From<BaseUnits> for String {
    fn from(units: BaseUnits) -> String {
        units.0.to_string()
    }
}

impl fmt::Display for BaseUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn units(amount: &str, decimals: u32) -> Result<u128, UnitsError> {
        BaseUnits::from_decimal(amount, decimals).map(BaseUnits::get)
    }

    #[test]
    fn converts_exactly() {
        assert_eq!(units("25.50", 8), Ok(2_550_000_000));
        assert_eq!(units("0.00000001", 8), Ok(1));
        assert_eq!(units("1", 18), Ok(1_000_000_000_000_000_000));
        assert_eq!(units("0.1", 18), Ok(100_000_000_000_000_000));
        assert_eq!(units("123.456", 6), Ok(123_456_000));
        assert_eq!(units("7", 0), Ok(7));
        assert_eq!(units("0", 8), Ok(0));
        assert_eq!(units("000.10", 2), Ok(10));
    }

    #[test]
    fn refuses_more_fraction_digits_than_the_asset_has() {
        assert_eq!(units("0.000000001", 8), Err(UnitsError::TooManyFractionDigits { decimals: 8 }));
        assert_eq!(units("1.000", 2), Err(UnitsError::TooManyFractionDigits { decimals: 2 }));
        assert_eq!(units("1.5", 0), Err(UnitsError::TooManyFractionDigits { decimals: 0 }));
    }

    #[test]
    fn refuses_malformed_and_too_large() {
        for bad in ["", ".5", "5.", "-1", "+1", "1e5", "1.2.3", " 1", "1,5", "0x10", "١"] {
            assert_eq!(units(bad, 8), Err(UnitsError::Malformed), "{bad:?}");
        }
        assert_eq!(units(&u128::MAX.to_string(), 0), Ok(u128::MAX));
        assert_eq!(units("340282366920938463463374607431768211456", 0), Err(UnitsError::Overflow));
        assert_eq!(units(&"9".repeat(36), 18), Err(UnitsError::Overflow));
    }

    #[test]
    fn serializes_as_a_decimal_string() {
        let big = BaseUnits::new(u128::MAX);
        let json = serde_json::to_string(&big).unwrap();
        assert_eq!(json, format!("\"{}\"", u128::MAX));
        assert_eq!(serde_json::from_str::<BaseUnits>(&json).unwrap(), big);
    }

    proptest! {
        #[test]
        fn agrees_with_integer_arithmetic(value in 0u64..u64::MAX, decimals in 0u32..=18, shown in 0usize..=18) {
            let shown = shown.min(decimals as usize);
            // value written with `shown` fraction digits, then scaled up to `decimals`.
            let digits = format!("{value:0>width$}", width = shown + 1);
            let (int, frac) = digits.split_at(digits.len() - shown);
            let text = if shown == 0 { int.to_owned() } else { format!("{int}.{frac}") };
            let expected = value as u128 * 10u128.pow(decimals - shown as u32);
            prop_assert_eq!(units(&text, decimals), Ok(expected));
        }
    }
}
