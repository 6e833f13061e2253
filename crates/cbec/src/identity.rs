//! Chinese resident identity numbers (GB 11643-1999): 17 digits and a check character (ISO 7064 MOD 11-2).
//!
//! The number is personal data: it appears in the documents as sent, never in events, logs or quota keys,
//! which use [`ResidentId::buyer_key`] (a SHA-256 of the number).

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// Weights of the 17 digits (2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";

/// Why a text is not a resident identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Not 18 characters of 17 digits and a digit or `X`.
    Format,
    /// The birth date (characters 7–14) is not a date.
    BirthDate,
    /// The 18th character is not the one the first 17 give.
    CheckDigit { expected: char },
}

impl IdError {
    /// Stable error code for field errors.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Format => "id_number_format",
            IdError::BirthDate => "id_number_birth_date",
            IdError::CheckDigit { .. } => "id_number_check_digit",
        }
    }
}

impl std::fmt::Display for IdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdError::Format => write!(f, "a resident ID number is 17 digits and a check character (a digit or `X`)"),
            IdError::BirthDate => write!(f, "characters 7 to 14 of a resident ID number are a birth date (YYYYMMDD)"),
            IdError::CheckDigit { expected } => {
                write!(f, "the check character does not match the first 17 digits (GB 11643 gives `{expected}`)")
            }
        }
    }
}

/// A resident identity number whose format, birth date and check character are valid. `x` is taken as `X`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId(String);

/// The check character of 17 digits.
pub fn check_character(digits: &[u8; 17]) -> char {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize] as char
}

impl ResidentId {
    pub fn parse(text: &str) -> Result<ResidentId, IdError> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdError::Format);
        }
        let birth = &text[6..14];
        if NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() || &birth[..2] < "18" {
            return Err(IdError::BirthDate);
        }
        let mut digits = [0u8; 17];
        digits.copy_from_slice(&bytes[..17]);
        let expected = check_character(&digits);
        if bytes[17] as char != expected {
            return Err(IdError::CheckDigit { expected });
        }
        Ok(ResidentId(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 6 and last 4 characters, the rest starred: for pages and answers.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The buyer's key for quotas and events: hex SHA-256 of `resident_id:<number>`, first 32 characters.
    pub fn buyer_key(&self) -> String {
        let digest = Sha256::digest(format!("resident_id:{}", self.0).as_bytes());
        hex::encode(&digest[..16])
    }
}

impl std::fmt::Display for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_example_is_valid_and_a_changed_digit_is_not() {
        // The example of GB 11643-1999 Annex A.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(ResidentId::parse("11010519491231002x").unwrap(), id);
        assert_eq!(ResidentId::parse("110105194912310021"), Err(IdError::CheckDigit { expected: 'X' }));
        assert_eq!(ResidentId::parse("440524188001010014").map(|id| id.0), Ok("440524188001010014".to_owned()));
        assert_eq!(ResidentId::parse("11010519491331002X"), Err(IdError::BirthDate));
        assert_eq!(ResidentId::parse("1101051949123100"), Err(IdError::Format));
        assert_eq!(ResidentId::parse("11010519491231002Y"), Err(IdError::Format));
    }

    #[test]
    fn buyer_keys_differ_per_person_and_hide_the_number() {
        let a = ResidentId::parse("11010519491231002X").unwrap();
        let b = ResidentId::parse("440524188001010014").unwrap();
        assert_ne!(a.buyer_key(), b.buyer_key());
        assert_eq!(a.buyer_key().len(), 32);
        assert!(!a.buyer_key().contains("110105"));
    }
}
