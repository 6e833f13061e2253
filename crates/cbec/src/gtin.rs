//! GS1 trade item numbers (GTIN-8, -12, -13, -14) with their mod-10 check digit, kept as GTIN-14.

/// Why a text is not a GTIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtinError {
    /// Not 8, 12, 13 or 14 digits.
    Format,
    /// The last digit is not the GS1 check digit of the others.
    CheckDigit { expected: u8 },
}

impl GtinError {
    pub fn code(&self) -> &'static str {
        match self {
            GtinError::Format => "gtin_format",
            GtinError::CheckDigit { .. } => "gtin_check_digit",
        }
    }
}

impl std::fmt::Display for GtinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GtinError::Format => write!(f, "a GTIN is 8, 12, 13 or 14 digits"),
            GtinError::CheckDigit { expected } => {
                write!(f, "the last digit is not the GS1 check digit (expected `{expected}`)")
            }
        }
    }
}

/// A GTIN with a valid check digit, padded to 14 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; 14]);

/// The GS1 check digit of the digits before it (weights 3, 1, 3, … from the right).
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    ((10 - sum % 10) % 10) as u8
}

impl Gtin {
    pub fn parse(text: &str) -> Result<Gtin, GtinError> {
        let bytes = text.trim().as_bytes();
        if ![8, 12, 13, 14].contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(GtinError::Format);
        }
        let (body, last) = bytes.split_at(bytes.len() - 1);
        let expected = check_digit(body);
        if last[0] - b'0' != expected {
            return Err(GtinError::CheckDigit { expected });
        }
        let mut padded = [b'0'; 14];
        padded[14 - bytes.len()..].copy_from_slice(bytes);
        Ok(Gtin(padded))
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("GTIN digits are ASCII")
    }
}

impl std::fmt::Display for Gtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_gtins_pad_to_fourteen_and_wrong_check_digits_are_named() {
        assert_eq!(Gtin::parse("6901234567892").unwrap().as_str(), "06901234567892");
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "00000096385074");
        assert_eq!(Gtin::parse("036000291452").unwrap().as_str(), "00036000291452");
        assert_eq!(Gtin::parse("6901234567891"), Err(GtinError::CheckDigit { expected: 2 }));
        assert_eq!(Gtin::parse("12345"), Err(GtinError::Format));
        assert_eq!(Gtin::parse("690123456789A"), Err(GtinError::Format));
    }
}
