//! Errors of the use cases, each with a stable code and the HTTP status it maps to.

use zonegate_domain::FieldErrors;
use zonegate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input has problems; every one is listed.
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// Another document was recorded under the same (declarant, reference).
    #[error("declaration `{reference}` of `{declarant}` was recorded before with other content (id {existing_id})")]
    Conflict { declarant: String, reference: String, existing_id: i64 },
    /// Another body was recorded before under the same identity (an alert id, an inspection result).
    #[error("{0}")]
    Clash(String),
    #[error("{what} not found")]
    NotFound { what: String },
    /// No valid credentials: unknown user or wrong password, unknown/expired/revoked token, ended session.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but the policy does not allow the action on the resource.
    #[error("`{user_id}` may not `{action}` here")]
    Forbidden { user_id: String, action: String },
    /// An account with this user id exists already.
    #[error("account `{0}` exists already")]
    AccountExists(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Stored data cannot be read back: a broken invariant, never the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::Conflict { .. } => "conflict",
            AppError::Clash(_) => "conflict",
            AppError::NotFound { .. } => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden { .. } => "forbidden",
            AppError::AccountExists(_) => "account_exists",
            AppError::Store(StoreError::NotFound) => "not_found",
            AppError::Store(_) => "storage",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError::NotFound { what: what.into() }
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> AppError {
        AppError::Invalid(errors)
    }
}

pub type AppResult<T> = Result<T, AppError>;
