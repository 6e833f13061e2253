//! Turning driver errors into [`StoreError::Backend`] with what was being done and, for errors the server
//! reported, its SQLSTATE, message, detail and hint (the driver's own `Display` says only "db error").

use zonegate_store::{StoreError, StoreResult};

pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" [hint: {hint}]"));
            }
            text
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// Adds what was being done to a driver error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> StoreResult<T>;
}

impl<T> Context<T> for Result<T, tokio_postgres::Error> {
    fn ctx(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::Backend(format!("postgres: {what}: {}", describe(&e))))
    }
}
