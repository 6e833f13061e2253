//! Errors with stable snake_case ids.

use serde::{Deserialize, Serialize};

/// Why a transfer was rejected. `id()` (and the serde form) are stable snake_case ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TransferError {
    /// Another transfer in the same linked chain failed; this one was rolled back.
    #[error("linked_event_failed")]
    LinkedEventFailed,
    /// The batch ended while a linked chain was still open (last transfer has `linked`).
    #[error("linked_event_chain_open")]
    LinkedEventChainOpen,
    /// Transfer id zero is reserved.
    #[error("id_must_not_be_zero")]
    IdMustNotBeZero,
    /// More than one of `pending`, `post_pending`, `void_pending` set.
    #[error("flags_are_mutually_exclusive")]
    FlagsAreMutuallyExclusive,
    /// `post_pending` / `void_pending` without `pending_id`.
    #[error("pending_id_required")]
    PendingIdRequired,
    /// `pending_id` set on a transfer that is not a post or void.
    #[error("pending_id_must_be_none")]
    PendingIdMustBeNone,
    /// `pending_id` equals the transfer's own id.
    #[error("pending_id_must_be_different")]
    PendingIdMustBeDifferent,
    /// Debit and credit account are the same.
    #[error("accounts_must_be_different")]
    AccountsMustBeDifferent,
    /// Debit or credit account does not exist.
    #[error("account_not_found")]
    AccountNotFound,
    /// The two accounts belong to different ledgers (enterprise + item).
    #[error("ledger_mismatch")]
    LedgerMismatch,
    /// The code does not allow this pair of account kinds.
    #[error("code_not_allowed_for_accounts")]
    CodeNotAllowedForAccounts,
    /// Quantity and value are both zero (single-phase, pending or post).
    #[error("zero_amount")]
    ZeroAmount,
    /// The id is taken by a transfer with different fields.
    #[error("exists_with_different_fields")]
    ExistsWithDifferentFields,
    /// `pending_id` names no transfer.
    #[error("pending_not_found")]
    PendingNotFound,
    /// `pending_id` names a transfer that is not a pending one.
    #[error("pending_transfer_not_pending")]
    PendingTransferNotPending,
    /// The pending transfer was already posted.
    #[error("pending_already_posted")]
    PendingAlreadyPosted,
    /// The pending transfer was already voided.
    #[error("pending_already_voided")]
    PendingAlreadyVoided,
    /// A post/void must repeat the pending transfer's accounts and code.
    #[error("pending_fields_mismatch")]
    PendingFieldsMismatch,
    /// A post asks for more quantity or value than was reserved.
    #[error("post_exceeds_pending")]
    PostExceedsPending,
    /// A void's amounts must be zero or exactly the pending amounts.
    #[error("void_amount_mismatch")]
    VoidAmountMismatch,
    /// The debit account has `debits_must_not_exceed_credits` and would go negative.
    #[error("exceeds_credits")]
    ExceedsCredits,
    /// The credit account has `credits_must_not_exceed_debits` and would be exceeded.
    #[error("exceeds_debits")]
    ExceedsDebits,
}

impl TransferError {
    /// Stable snake_case id of the error.
    pub fn id(&self) -> &'static str {
        match self {
            TransferError::LinkedEventFailed => "linked_event_failed",
            TransferError::LinkedEventChainOpen => "linked_event_chain_open",
            TransferError::IdMustNotBeZero => "id_must_not_be_zero",
            TransferError::FlagsAreMutuallyExclusive => "flags_are_mutually_exclusive",
            TransferError::PendingIdRequired => "pending_id_required",
            TransferError::PendingIdMustBeNone => "pending_id_must_be_none",
            TransferError::PendingIdMustBeDifferent => "pending_id_must_be_different",
            TransferError::AccountsMustBeDifferent => "accounts_must_be_different",
            TransferError::AccountNotFound => "account_not_found",
            TransferError::LedgerMismatch => "ledger_mismatch",
            TransferError::CodeNotAllowedForAccounts => "code_not_allowed_for_accounts",
            TransferError::ZeroAmount => "zero_amount",
            TransferError::ExistsWithDifferentFields => "exists_with_different_fields",
            TransferError::PendingNotFound => "pending_not_found",
            TransferError::PendingTransferNotPending => "pending_transfer_not_pending",
            TransferError::PendingAlreadyPosted => "pending_already_posted",
            TransferError::PendingAlreadyVoided => "pending_already_voided",
            TransferError::PendingFieldsMismatch => "pending_fields_mismatch",
            TransferError::PostExceedsPending => "post_exceeds_pending",
            TransferError::VoidAmountMismatch => "void_amount_mismatch",
            TransferError::ExceedsCredits => "exceeds_credits",
            TransferError::ExceedsDebits => "exceeds_debits",
        }
    }
}

/// Why an account or ledger item could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum AccountError {
    /// Account id zero is reserved.
    #[error("id_must_not_be_zero")]
    IdMustNotBeZero,
    /// The account's ledger item has not been registered.
    #[error("ledger_item_not_found")]
    LedgerItemNotFound,
    /// The id / key is taken by a record with different fields.
    #[error("exists_with_different_fields")]
    ExistsWithDifferentFields,
}

impl AccountError {
    /// Stable snake_case id of the error.
    pub fn id(&self) -> &'static str {
        match self {
            AccountError::IdMustNotBeZero => "id_must_not_be_zero",
            AccountError::LedgerItemNotFound => "ledger_item_not_found",
            AccountError::ExistsWithDifferentFields => "exists_with_different_fields",
        }
    }
}
