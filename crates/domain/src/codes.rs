//! Validated codes: USCC, HS tariff line, ISO 3166 country, ISO 4217 currency, UN/ECE Rec. 20 unit,
//! and the declarant's own reference.
//!
//! Each `parse` returns a message fit for a `FieldError` (lowercase, user input in backticks). The
//! reference lists come from `data/ref/` and are compiled in, so parsing does no I/O.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// The 31 characters a USCC may use (GB 32100-2015: digits and capitals without I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1..=17 (3^(i-1) mod 31).
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Unified Social Credit Code (统一社会信用代码), 18 characters, check character verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

/// Why a string is not a USCC; `code` is the stable error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeError {
    pub code: &'static str,
    pub message: String,
}

impl CodeError {
    fn new(code: &'static str, message: String) -> Self {
        CodeError { code, message }
    }
}

fn uscc_value(character: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&c| c == character).map(|index| index as u32)
}

/// The check character for the first 17 characters of a USCC, or `None` if one is outside the alphabet.
pub fn uscc_check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (byte, weight) in bytes.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*byte)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[check as usize] as char)
}

impl Uscc {
    pub fn parse(text: &str) -> Result<Uscc, CodeError> {
        if text.len() != 18 || !text.is_ascii() {
            return Err(CodeError::new(
                "uscc_length",
                format!("`{text}` is not 18 characters; a unified social credit code has 18"),
            ));
        }
        if let Some(bad) = text.bytes().find(|b| uscc_value(*b).is_none()) {
            return Err(CodeError::new(
                "uscc_character",
                format!("`{text}` contains `{}`, which a unified social credit code never uses", bad as char),
            ));
        }
        let expected = uscc_check_character(&text[..17]).unwrap_or('?');
        let actual = text.as_bytes()[17] as char;
        if expected != actual {
            return Err(CodeError::new(
                "uscc_check_character",
                format!("`{text}` has check character `{actual}`; GB 32100-2015 gives `{expected}`"),
            ));
        }
        Ok(Uscc(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An 8-digit Chinese tariff line (税则号列). Ten digits are accepted; the first eight are the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsCode([u8; 8]);

impl HsCode {
    pub fn parse(text: &str) -> Result<HsCode, CodeError> {
        let digits: &str = text.trim();
        if !(digits.len() == 8 || digits.len() == 10) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::new(
                "hs_format",
                format!("`{text}` is not a tariff line; give 8 digits (10 accepted)"),
            ));
        }
        let mut code = [0u8; 8];
        code.copy_from_slice(&digits.as_bytes()[..8]);
        Ok(HsCode(code))
    }
    pub fn as_str(&self) -> &str {
        // INVARIANT: built only from ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or("00000000")
    }
    /// The two-digit chapter.
    pub fn chapter(&self) -> &str {
        &self.as_str()[..2]
    }
    /// True when the line falls under `prefix` (2 to 8 digits).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.as_str().starts_with(prefix)
    }
    /// True when the line lies in the inclusive range of prefixes `from..=to`, comparing as many digits as
    /// each bound has: `in_range("2710", "27101210", "27101230")`.
    pub fn in_range(&self, from: &str, to: &str) -> bool {
        let line = self.as_str();
        let head = |bound: &str| &line[..bound.len().min(8)];
        head(from) >= from && head(to) <= to
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn load_codes(text: &'static str) -> HashSet<&'static str> {
    text.lines().skip(1).filter_map(|line| line.split(',').next()).filter(|code| !code.is_empty()).collect()
}

static COUNTRIES: OnceLock<HashSet<&'static str>> = OnceLock::new();
static CURRENCIES: OnceLock<HashSet<&'static str>> = OnceLock::new();
static UNITS: OnceLock<HashSet<&'static str>> = OnceLock::new();

macro_rules! code_type {
    ($name:ident, $set:ident, $file:literal, $code:literal, $what:literal) => {
        #[doc = concat!("A ", $what, " code from `data/ref/", $file, "`.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<$name, CodeError> {
                let set = $set.get_or_init(|| load_codes(include_str!(concat!("../../../data/ref/", $file))));
                if set.contains(text) {
                    Ok($name(text.to_owned()))
                } else {
                    Err(CodeError::new($code, format!(concat!("`{}` is not a known ", $what, " code"), text)))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(CountryCode, COUNTRIES, "countries.csv", "country_unknown", "ISO 3166-1 alpha-2 country");
code_type!(CurrencyCode, CURRENCIES, "currencies.csv", "currency_unknown", "ISO 4217 currency");
code_type!(UnitCode, UNITS, "units.csv", "unit_unknown", "UN/ECE Rec. 20 unit");

impl CurrencyCode {
    pub fn cny() -> CurrencyCode {
        CurrencyCode("CNY".to_owned())
    }
}

/// The declarant's own id for a document: 1–64 characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

impl Reference {
    pub const MAX_LENGTH: usize = 64;

    pub fn parse(text: &str) -> Result<Reference, CodeError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > Self::MAX_LENGTH || !text.chars().all(allowed) {
            return Err(CodeError::new(
                "reference_format",
                format!("`{text}` is not a reference; use 1 to 64 characters of A-Z, a-z, 0-9, `.`, `_`, `-`"),
            ));
        }
        Ok(Reference(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_codes_pass_the_check() {
        // Published codes of real enterprises.
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert!(Uscc::parse("91110000600001760P").is_ok());
        // The example of interchange.md with its check character corrected.
        assert!(Uscc::parse("91440400MA4UJ0J57H").is_ok());
    }

    #[test]
    fn wrong_check_character_names_the_right_one() {
        let error = Uscc::parse("91440400MA4UJ0J57X").unwrap_err();
        assert_eq!(error.code, "uscc_check_character");
        assert!(error.message.contains("`H`"), "{}", error.message);
        assert_eq!(Uscc::parse("91440400MA4UJ0J5").unwrap_err().code, "uscc_length");
        assert_eq!(Uscc::parse("91440400MA4UJ0J5IH").unwrap_err().code, "uscc_character");
    }

    #[test]
    fn hs_lines() {
        assert_eq!(HsCode::parse("8471300000").unwrap().as_str(), "84713000");
        assert_eq!(HsCode::parse("847130").unwrap_err().code, "hs_format");
        assert_eq!(HsCode::parse("8471300a").unwrap_err().code, "hs_format");
        let gasoline = HsCode::parse("27101220").unwrap();
        assert!(gasoline.in_range("27101210", "27101230"));
        assert!(gasoline.in_range("2710", "2710"));
        assert!(!gasoline.in_range("27101991", "27101999"));
        assert!(HsCode::parse("03049900").unwrap().in_range("01", "03"));
    }

    #[test]
    fn reference_lists() {
        assert!(CountryCode::parse("MO").is_ok());
        assert!(CountryCode::parse("PT").is_ok());
        assert_eq!(CountryCode::parse("XX").unwrap_err().code, "country_unknown");
        assert!(CurrencyCode::parse("MOP").is_ok());
        assert!(CurrencyCode::parse("ABC").is_err());
        assert!(UnitCode::parse("KGM").is_ok());
        assert!(UnitCode::parse("C62").is_ok());
        assert!(UnitCode::parse("kilo").is_err());
        assert!(Reference::parse("HQ-2026-000123").is_ok());
        assert!(Reference::parse("has space").is_err());
        assert!(Reference::parse(&"a".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn any_17_characters_get_a_check_character_that_passes(body in "[0-9A-HJ-NP-RTUW-Y]{17}") {
            let check = uscc_check_character(&body).unwrap();
            let code = format!("{body}{check}");
            prop_assert!(Uscc::parse(&code).is_ok());
            // Any other last character fails.
            for other in USCC_ALPHABET.iter().map(|b| *b as char).filter(|c| *c != check) {
                let wrong = format!("{body}{other}");
                prop_assert_eq!(Uscc::parse(&wrong).unwrap_err().code, "uscc_check_character");
            }
        }
    }
}
