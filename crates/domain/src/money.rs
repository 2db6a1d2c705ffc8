//! Money: a non-negative whole number of minor units in one [`Currency`].
//!
//! Guarantees: an amount is never a float and never negative; text is parsed exactly (only
//! `DIGITS` or `DIGITS.DIGITS`, at most `exponent` decimals) and formatted with exactly
//! `exponent` decimals, so `parse(format(x)) == x`; arithmetic is checked and reports
//! overflow instead of wrapping.

use std::fmt;

use crate::currency::Currency;
use crate::line::Quantity;

/// An amount of money: `minor_units` (cents for EUR, yen for JPY, fils for BHD) in `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor_units: i64,
    currency: Currency,
}

/// Why a text (or a number of minor units) is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is empty.
    #[error("an amount is required")]
    Empty,
    /// Not `DIGITS` or `DIGITS.DIGITS` (signs, exponents, spaces and separators are refused).
    #[error("an amount is written as digits with an optional decimal point, such as 12.50")]
    Malformed,
    /// A leading `-`, or a negative number of minor units.
    #[error("an amount cannot be negative")]
    Negative,
    /// More decimals than the currency's minor unit has.
    #[error("{}", too_many_decimals_message(*max))]
    TooManyDecimals {
        /// The currency's exponent.
        max: u8,
    },
    /// Does not fit in 64-bit minor units.
    #[error("the amount is too large")]
    Overflow,
}

fn too_many_decimals_message(max: u8) -> String {
    match max {
        0 => "this currency has no decimal places".to_owned(),
        1 => "at most 1 decimal place is allowed in this currency".to_owned(),
        _ => format!("at most {max} decimal places are allowed in this currency"),
    }
}

impl MoneyError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Malformed => "malformed",
            Self::Negative => "negative",
            Self::TooManyDecimals { .. } => "too_many_decimals",
            Self::Overflow => "overflow",
        }
    }
}

/// The syntax of a decimal amount, before the currency is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecimalText<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl<'a> DecimalText<'a> {
    /// Checks the currency-independent syntax: `DIGITS` or `DIGITS.DIGITS`, no sign.
    pub(crate) fn parse(text: &'a str) -> Result<DecimalText<'a>, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => {
                if fraction.is_empty() {
                    return Err(MoneyError::Malformed);
                }
                (whole, fraction)
            }
            None => (text, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(MoneyError::Malformed);
        }
        Ok(DecimalText { whole, fraction })
    }

    /// Scales to minor units of a currency with `exponent` decimals, checking every step.
    pub(crate) fn to_minor_units(self, exponent: u8) -> Result<i64, MoneyError> {
        let decimals = usize::from(exponent);
        if self.fraction.len() > decimals {
            return Err(MoneyError::TooManyDecimals { max: exponent });
        }
        let padding = decimals - self.fraction.len();
        let mut digits = self
            .whole
            .bytes()
            .chain(self.fraction.bytes())
            .chain(std::iter::repeat_n(b'0', padding));
        digits.try_fold(0_i64, |value, digit| {
            value
                .checked_mul(10)
                .and_then(|value| value.checked_add(i64::from(digit - b'0')))
                .ok_or(MoneyError::Overflow)
        })
    }
}

impl Money {
    /// Parses a decimal amount such as `"12.50"` in `currency`.
    ///
    /// `"12.5"` EUR is 1250 minor units, `"12"` is 1200, `"1.234"` BHD is 1234; `"1.5"` JPY is
    /// refused because the yen has no decimals.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let minor_units = DecimalText::parse(text)?.to_minor_units(currency.exponent())?;
        Ok(Money {
            minor_units,
            currency,
        })
    }

    /// An amount given in minor units; negative amounts are refused.
    pub fn from_minor_units(minor_units: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor_units < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money {
            minor_units,
            currency,
        })
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money {
            minor_units: 0,
            currency,
        }
    }

    /// The amount in minor units (always `>= 0`).
    pub fn minor_units(&self) -> i64 {
        self.minor_units
    }

    /// The currency of the amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The decimal text with exactly `exponent` decimals: `"25.00"`, JPY `"1200"`, BHD `"1.500"`.
    pub fn format(&self) -> String {
        format_minor_units(self.minor_units, self.currency.exponent())
    }

    /// The sum, or `None` if it overflows or the currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let minor_units = self.minor_units.checked_add(other.minor_units)?;
        Some(Money {
            minor_units,
            currency: self.currency,
        })
    }

    /// The amount times a quantity, or `None` if it overflows.
    pub fn checked_mul(self, quantity: Quantity) -> Option<Money> {
        let minor_units = self.minor_units.checked_mul(i64::from(quantity.get()))?;
        Some(Money {
            minor_units,
            currency: self.currency,
        })
    }
}

/// Writes `minor_units` as a decimal with exactly `exponent` decimals.
fn format_minor_units(minor_units: i64, exponent: u8) -> String {
    // ISO exponents are at most 4, so the scale always fits; checked anyway.
    let Some(scale) = 10_i64.checked_pow(u32::from(exponent)) else {
        return minor_units.to_string();
    };
    let whole = minor_units / scale;
    if exponent == 0 {
        return whole.to_string();
    }
    let fraction = (minor_units % scale).unsigned_abs();
    let width = usize::from(exponent);
    format!("{whole}.{fraction:0width$}")
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect(code)
    }

    fn minor(text: &str, code: &str) -> Result<i64, MoneyError> {
        Money::parse(text, currency(code)).map(|money| money.minor_units())
    }

    #[test]
    fn euro_amounts_are_read_in_cents() {
        assert_eq!(minor("12.50", "EUR"), Ok(1250));
        assert_eq!(minor("12.5", "EUR"), Ok(1250));
        assert_eq!(minor("12", "EUR"), Ok(1200));
        assert_eq!(minor("0", "EUR"), Ok(0));
        assert_eq!(minor("007.01", "EUR"), Ok(701));
    }

    #[test]
    fn amounts_follow_the_currency_exponent() {
        assert_eq!(minor("1000", "JPY"), Ok(1000));
        assert_eq!(minor("1.234", "BHD"), Ok(1234));
        assert_eq!(minor("1.5", "BHD"), Ok(1500));
        assert_eq!(minor("0.0001", "CLF"), Ok(1));
    }

    #[test]
    fn too_many_decimals_are_refused_not_rounded() {
        assert_eq!(
            minor("12.505", "EUR"),
            Err(MoneyError::TooManyDecimals { max: 2 })
        );
        assert_eq!(
            minor("1.5", "JPY"),
            Err(MoneyError::TooManyDecimals { max: 0 })
        );
        assert_eq!(
            minor("1.2345", "BHD"),
            Err(MoneyError::TooManyDecimals { max: 3 })
        );
    }

    #[test]
    fn a_leading_minus_is_reported_as_negative() {
        assert_eq!(minor("-1", "EUR"), Err(MoneyError::Negative));
        assert_eq!(minor("-0.50", "EUR"), Err(MoneyError::Negative));
    }

    #[test]
    fn anything_but_digits_and_one_point_is_malformed() {
        for text in [
            "12.5.0", "+1", "1e3", " 1", "1 ", "1,000", "1_000", ".5", "5.", "abc", "0x10", "١",
            "1.-5",
        ] {
            assert_eq!(minor(text, "EUR"), Err(MoneyError::Malformed), "{text:?}");
        }
        assert_eq!(minor("", "EUR"), Err(MoneyError::Empty));
    }

    #[test]
    fn amounts_beyond_64_bits_overflow() {
        assert_eq!(
            minor("99999999999999999999", "EUR"),
            Err(MoneyError::Overflow)
        );
        // i64::MAX is 9223372036854775807: fine as yen, too big once scaled to cents.
        assert_eq!(minor("9223372036854775807", "JPY"), Ok(i64::MAX));
        assert_eq!(
            minor("9223372036854775807", "EUR"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(minor("92233720368547758.07", "EUR"), Ok(i64::MAX));
    }

    #[test]
    fn formatting_writes_exactly_the_currency_decimals() {
        let format = |minor_units, code| {
            Money::from_minor_units(minor_units, currency(code))
                .expect("non-negative")
                .format()
        };
        assert_eq!(format(2500, "EUR"), "25.00");
        assert_eq!(format(5, "EUR"), "0.05");
        assert_eq!(format(1200, "JPY"), "1200");
        assert_eq!(format(1500, "BHD"), "1.500");
        assert_eq!(format(1, "CLF"), "0.0001");
        assert_eq!(
            Money::parse("12.5", Currency::EUR)
                .expect("valid")
                .to_string(),
            "12.50 EUR"
        );
    }

    #[test]
    fn negative_minor_units_are_refused() {
        assert_eq!(
            Money::from_minor_units(-1, Currency::EUR),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let big = Money::from_minor_units(i64::MAX, Currency::EUR).expect("valid");
        let one = Money::from_minor_units(1, Currency::EUR).expect("valid");
        assert_eq!(big.checked_add(one), None);
        assert_eq!(
            one.checked_add(one).map(|m| m.minor_units()),
            Some(2),
            "1 + 1"
        );
        assert_eq!(one.checked_add(Money::zero(Currency::USD)), None);
        let ten = Quantity::parse(10).expect("valid");
        assert_eq!(big.checked_mul(ten), None);
        assert_eq!(one.checked_mul(ten).map(|m| m.minor_units()), Some(10));
    }

    proptest! {
        #[test]
        fn parsing_a_formatted_amount_gives_it_back(minor_units in 0_i64..=i64::MAX, exponent in 0_u8..=4) {
            let text = format_minor_units(minor_units, exponent);
            let parsed = DecimalText::parse(&text).and_then(|decimal| decimal.to_minor_units(exponent));
            prop_assert_eq!(parsed, Ok(minor_units));
        }

        #[test]
        fn money_round_trips_in_every_currency(minor_units in 0_i64..=i64::MAX, index in 0_usize..1000) {
            let currencies: Vec<Currency> = Currency::all().collect();
            let currency = currencies[index % currencies.len()];
            let money = Money::from_minor_units(minor_units, currency).unwrap();
            prop_assert_eq!(Money::parse(&money.format(), currency), Ok(money));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,30}") {
            let _ = Money::parse(&text, Currency::EUR);
        }
    }
}
