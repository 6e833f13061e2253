//! Problems found in input, each naming its field, collected so that all are reported at once.

use std::fmt;

/// One problem with one field of a document.
///
/// `code` is a stable machine-readable name (`hs_unknown`, `uscc_check_character`, …); `field` is the JSON
/// path of the offending value (`items[0].hs`); `message` is a lowercase sentence with user values in
/// backticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { code, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

/// Every problem found in one document. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }
    pub fn add(&mut self, code: &'static str, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(code, field, message));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn extend(&mut self, other: FieldErrors) {
        self.0.extend(other.0);
    }
    /// `Ok(value)` when no problem was recorded, else every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        FieldErrors(vec![error])
    }
}
