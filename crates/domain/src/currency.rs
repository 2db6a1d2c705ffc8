//! ISO 4217 currencies.
//!
//! A [`Currency`] can only be one of the *active* ISO 4217 alphabetic codes that have a minor
//! unit (ISO 4217 list one as published 2026-01-01), so every `Currency` knows its exponent:
//! the number of decimal places its minor unit has (EUR 2, JPY 0, BHD 3, CLF 4).
//!
//! Left out on purpose: codes without a minor unit (precious metals XAU/XAG/XPT/XPD, XDR,
//! XSU, XUA, the bond-market units XBA..XBD, the test code XTS and "no currency" XXX), and
//! withdrawn codes (HRK, BGN, ANG, SLL, ZWL, CUC, ...). Input is never upcased: `eur` is
//! rejected, `EUR` is accepted.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An active ISO 4217 currency with a minor unit. Serialized as its code, validated when
/// deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// Why a text is not a [`Currency`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not exactly three uppercase ASCII letters (lowercase is rejected, not upcased).
    #[error("a currency is an ISO 4217 code of three uppercase letters, such as EUR")]
    InvalidFormat,
    /// Three uppercase letters, but not an active ISO 4217 currency.
    #[error("`{code}` is not an active ISO 4217 currency")]
    Unknown {
        /// The code as given.
        code: String,
    },
}

impl CurrencyError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidFormat => "invalid_format",
            Self::Unknown { .. } => "unknown_currency",
        }
    }
}

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency::known("EUR", 2);
    /// US dollar.
    pub const USD: Currency = Currency::known("USD", 2);
    /// Pound sterling.
    pub const GBP: Currency = Currency::known("GBP", 2);
    /// Yen (no minor unit).
    pub const JPY: Currency = Currency::known("JPY", 0);
    /// Bahraini dinar (three decimals).
    pub const BHD: Currency = Currency::known("BHD", 3);

    const fn known(code: &'static str, exponent: u8) -> Currency {
        Currency { code, exponent }
    }

    /// Parses an ISO 4217 alphabetic code such as `EUR`.
    pub fn parse(text: &str) -> Result<Currency, CurrencyError> {
        let well_formed = text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase());
        if !well_formed {
            return Err(CurrencyError::InvalidFormat);
        }
        ISO_4217
            .binary_search_by(|(code, _)| (*code).cmp(text))
            .map(|index| {
                let (code, exponent) = ISO_4217[index];
                Currency { code, exponent }
            })
            .map_err(|_| CurrencyError::Unknown {
                code: text.to_owned(),
            })
    }

    /// The three-letter code, e.g. `"EUR"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of decimal places of the minor unit (EUR 2, JPY 0, BHD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Every currency this crate accepts, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217
            .iter()
            .map(|&(code, exponent)| Currency { code, exponent })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code.to_owned()
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(D::Error::custom)
    }
}

/// Active ISO 4217 codes with their minor-unit exponent, sorted by code (binary searched).
static ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAD", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_without_duplicates_so_binary_search_works() {
        assert!(ISO_4217.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn the_table_holds_the_active_currencies_with_sane_exponents() {
        assert!(ISO_4217.len() > 150, "only {} codes", ISO_4217.len());
        assert!(ISO_4217.iter().all(|(_, exponent)| *exponent <= 4));
    }

    #[test]
    fn the_named_constants_match_the_table() {
        for constant in [
            Currency::EUR,
            Currency::USD,
            Currency::GBP,
            Currency::JPY,
            Currency::BHD,
        ] {
            assert_eq!(Currency::parse(constant.code()), Ok(constant));
        }
    }

    #[test]
    fn exponents_follow_iso_4217() {
        let cases = [
            ("EUR", 2),
            ("USD", 2),
            ("GBP", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("CLP", 0),
            ("ISK", 0),
            ("VND", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("LYD", 3),
            ("IQD", 3),
            ("CLF", 4),
            ("UYW", 4),
        ];
        for (code, exponent) in cases {
            let currency = Currency::parse(code).expect(code);
            assert_eq!(currency.exponent(), exponent, "{code}");
            assert_eq!(currency.code(), code);
        }
    }

    #[test]
    fn lowercase_codes_are_rejected_not_upcased() {
        assert_eq!(Currency::parse("eur"), Err(CurrencyError::InvalidFormat));
        assert_eq!(Currency::parse("Eur"), Err(CurrencyError::InvalidFormat));
    }

    #[test]
    fn codes_of_the_wrong_shape_are_rejected() {
        for text in ["", "EU", "EURO", " EUR", "E1R", "ÉUR"] {
            assert_eq!(
                Currency::parse(text),
                Err(CurrencyError::InvalidFormat),
                "{text:?}"
            );
        }
    }

    #[test]
    fn unknown_and_unit_less_codes_are_rejected() {
        for code in [
            "ABC", "XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX", "HRK",
        ] {
            let error = Currency::parse(code).expect_err(code);
            assert_eq!(error.code(), "unknown_currency", "{code}");
        }
    }

    #[test]
    fn serde_uses_the_code_and_validates_on_the_way_in() {
        let json = serde_json::to_value(Currency::EUR).expect("serialize");
        assert_eq!(json, serde_json::json!("EUR"));
        let back: Currency = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, Currency::EUR);
        assert!(serde_json::from_value::<Currency>(serde_json::json!("eur")).is_err());
    }
}
