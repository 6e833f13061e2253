//! Pieces every backend needs to behave the same: event kinds and payloads, limit clamping, timestamp
//! conversion, the repeat/conflict decision, chain verification and migration bookkeeping.
//!
//! They live here rather than in each backend so that SQLite and PostgreSQL cannot drift apart: the same
//! declaration produces byte-identical event payloads on both, and both verify a chain with the same code.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::chain::{self, GENESIS_HASH};
use sha2::{Digest, Sha256};
use zonegate_ledger::{
    Account, AccountFlags, AccountId, AccountKind, LedgerItem, Transfer, TransferCode, TransferFlags, TransferId,
    Treatment,
};

use crate::{
    AccountRecord, CbecRecord, ChainReport, Event, InspectionOutcome, InspectionRecord, LedgerDocumentOutcome,
    NewCbecBatch, NewDeclaration, NewLedgerDocument, PartyRecord, PolicyRow, SessionRecord, StoreError, StoreResult,
    StoredDeclaration, StoredLedgerDocument, SubmitOutcome, TokenRecord, CBEC_LOG_PAGE_MAX, PAGE_SIZE_MAX,
};

/// Event kind appended when a declaration is recorded.
pub const DECLARATION_RECORDED: &str = "declaration.recorded";
/// Event kind appended when a party version is recorded.
pub const PARTY_RECORDED: &str = "party.recorded";
/// Event kind appended when policy rows are appended.
pub const POLICY_ROWS_APPENDED: &str = "policy.rows_appended";
/// Event kind appended when an account version is recorded.
pub const ACCOUNT_RECORDED: &str = "account.recorded";
/// Event kind appended when an API token is issued.
pub const TOKEN_ISSUED: &str = "token.issued";
/// Event kind appended when an API token is revoked (once per token: a second revocation records nothing).
pub const TOKEN_REVOKED: &str = "token.revoked";
/// Event kind appended when an inspection result is recorded (subject: the declaration's subject).
pub const INSPECTION_RECORDED: &str = "inspection.recorded";

/// Event kind appended when a ledger document is recorded (subject: [`ledger_document_subject`]).
pub const LEDGER_DOCUMENT_RECORDED: &str = "ledger.document_recorded";
/// Event kind appended once per batch of e-commerce log records (subject: [`cbec_batch_subject`], payload:
/// [`cbec_batch_payload`]).
pub const CBEC_BATCH_RECORDED: &str = "cbec.batch_recorded";
/// Longest `kind` of a [`crate::CbecRecord`], in characters.
pub const CBEC_KIND_CHARS_MAX: usize = 32;
/// Longest `key` of a [`crate::CbecRecord`], in characters.
pub const CBEC_KEY_CHARS_MAX: usize = 200;

/// The outcomes an inspection may record (the `inspections.outcome` CHECK of both backends).
pub const INSPECTION_OUTCOMES: [&str; 2] = ["no_finding", "finding"];
/// The outcome [`crate::DeclarantHistory::findings`] counts.
pub const INSPECTION_FINDING: &str = "finding";

/// The percentiles [`crate::DeclarationStats`] reports, as the `percent` of [`nearest_rank`].
pub const STATS_PERCENTILES: [u32; 2] = [50, 90];

/// Most write requests a group-committing writer folds into one transaction (about 15 MB of ~7 KB
/// declarations): larger batches spread the commit and fsync over more submissions.
pub const WRITE_BATCH_MAX: usize = 2048;

/// The page size a list call actually uses: `1..=PAGE_SIZE_MAX`.
pub fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, PAGE_SIZE_MAX)
}

/// The page size [`crate::Store::cbec_log`] actually uses: `1..=CBEC_LOG_PAGE_MAX`.
pub fn clamp_cbec_limit(limit: u32) -> u32 {
    limit.clamp(1, CBEC_LOG_PAGE_MAX)
}

/// Microseconds since the Unix epoch; anything finer is dropped (the app already truncates).
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The inverse of [`to_micros`].
pub fn from_micros(micros: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Backend(format!("stored timestamp {micros} µs is out of range")))
}

/// `at` as it will read back from the store.
pub fn truncate_to_micros(at: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
    from_micros(to_micros(at))
}

/// Days since 1970-01-01, for backends that keep dates as integers (ordering is preserved).
pub fn date_to_days(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

/// The inverse of [`date_to_days`].
pub fn date_from_days(days: i64) -> StoreResult<NaiveDate> {
    NaiveDate::default()
        .checked_add_signed(chrono::TimeDelta::days(days))
        .ok_or_else(|| StoreError::Backend(format!("stored date {days} days is out of range")))
}

/// The declaration as it will be stored: timestamps at whole microseconds.
pub fn declaration_as_stored(mut d: NewDeclaration) -> StoreResult<NewDeclaration> {
    d.received_at = truncate_to_micros(d.received_at)?;
    d.recorded_at = truncate_to_micros(d.recorded_at)?;
    Ok(d)
}

/// The account version as it will be stored: its timestamp at whole microseconds.
pub fn account_as_stored(mut account: AccountRecord) -> StoreResult<AccountRecord> {
    account.recorded_at = truncate_to_micros(account.recorded_at)?;
    Ok(account)
}

/// The token as [`crate::Store::issue_token`] stores it: timestamps at whole microseconds, never revoked.
pub fn token_as_issued(mut token: TokenRecord) -> StoreResult<TokenRecord> {
    token.issued_at = truncate_to_micros(token.issued_at)?;
    token.expires_at = truncate_to_micros(token.expires_at)?;
    token.revoked = None;
    Ok(token)
}

/// The session as [`crate::Store::start_session`] stores it: timestamps at whole microseconds, not ended.
pub fn session_as_started(mut session: SessionRecord) -> StoreResult<SessionRecord> {
    session.started_at = truncate_to_micros(session.started_at)?;
    session.expires_at = truncate_to_micros(session.expires_at)?;
    session.ended_at = None;
    Ok(session)
}

/// The inspection as [`crate::Store::record_inspection`] stores it: its timestamp at whole microseconds.
/// An outcome other than [`INSPECTION_OUTCOMES`] is refused before anything reaches the writer.
pub fn inspection_as_stored(mut inspection: InspectionRecord) -> StoreResult<InspectionRecord> {
    if !INSPECTION_OUTCOMES.contains(&inspection.outcome.as_str()) {
        return Err(StoreError::Backend(format!(
            "inspection of declaration {}: outcome `{}` is not one of {INSPECTION_OUTCOMES:?}",
            inspection.declaration_id, inspection.outcome
        )));
    }
    inspection.recorded_at = truncate_to_micros(inspection.recorded_at)?;
    Ok(inspection)
}

/// What a second inspection of a declaration gets back: the first one, as a repeat when the bodies hash
/// alike, as a conflict otherwise.
pub fn classify_inspection(existing: InspectionRecord, body_sha256: &str) -> InspectionOutcome {
    if existing.body_sha256 == body_sha256 {
        InspectionOutcome::Repeat(existing)
    } else {
        InspectionOutcome::Conflict(existing)
    }
}

/// What a second submission under an existing (declarant, reference) gets back.
pub fn classify(existing: StoredDeclaration, document_sha256: &str) -> SubmitOutcome {
    if existing.document_sha256 == document_sha256 {
        SubmitOutcome::Repeat(existing)
    } else {
        SubmitOutcome::Conflict(existing)
    }
}

/// The record a freshly recorded declaration reads back as.
pub fn stored_from_new(id: i64, d: NewDeclaration) -> StoredDeclaration {
    StoredDeclaration {
        id,
        declarant: d.declarant,
        reference: d.reference,
        zone: d.zone,
        flow: d.flow,
        declared_on: d.declared_on,
        treatments: d.treatments,
        channel: d.channel,
        payable_fen: d.payable_fen,
        document_sha256: d.document_sha256,
        document_json: d.document_json,
        assessment_json: d.assessment_json,
        waived_fen: d.waived_fen,
        submitted_by: d.submitted_by,
        received_at: d.received_at,
        recorded_at: d.recorded_at,
    }
}

/// Subject of a `declaration.recorded` event.
pub fn declaration_subject(declarant: &str, reference: &str) -> String {
    format!("{declarant}/{reference}")
}

/// Subject and payload of a `declaration.recorded` event, prepared before the declaration has an id so the
/// encoding happens off the writer's critical path; [`DeclarationEvent::payload`] adds the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationEvent {
    pub subject: String,
    /// The payload object's members after `"id"`, with the closing brace.
    members: String,
}

impl DeclarationEvent {
    /// `assessment_sha256` covers the assessment JSON, so the event pins the assessment as well as the document.
    pub fn new(d: &NewDeclaration) -> Self {
        let object = serde_json::json!({
            "document_sha256": d.document_sha256,
            "assessment_sha256": chain::sha256_hex(&d.assessment_json),
            "zone": d.zone,
            "flow": d.flow,
            "declared_on": d.declared_on.to_string(),
            "channel": d.channel,
            "payable_fen": d.payable_fen,
            "submitted_by": d.submitted_by,
        })
        .to_string();
        let members = object.strip_prefix('{').unwrap_or(&object).to_owned();
        DeclarationEvent { subject: declaration_subject(&d.declarant, &d.reference), members }
    }

    /// The payload JSON: `{"id":…,` followed by the other members.
    pub fn payload(&self, id: i64) -> String {
        format!("{{\"id\":{id},{}", self.members)
    }
}

/// Payload of a `party.recorded` event (subject: the uscc).
pub fn party_payload(party: &PartyRecord) -> String {
    serde_json::json!({
        "uscc": party.uscc,
        "name": party.name,
        "body_sha256": chain::sha256_hex(&party.body_json),
        "recorded_by": party.recorded_by,
    })
    .to_string()
}

/// Payload of an `account.recorded` event (subject: the user id). Neither the password hash nor the personal
/// data goes into the chain: only whether a password is set.
pub fn account_payload(account: &AccountRecord) -> String {
    serde_json::json!({
        "user_id": account.user_id,
        "party": account.party,
        "party_kind": account.party_kind,
        "roles": account.roles,
        "active": account.active,
        "recorded_by": account.recorded_by,
        "password_set": account.password_hash.is_some(),
    })
    .to_string()
}

/// Payload of a `token.issued` event (subject: the token id). The secret's hash stays out of the chain.
pub fn token_issued_payload(token: &TokenRecord) -> String {
    serde_json::json!({
        "token_id": token.token_id,
        "user_id": token.user_id,
        "name": token.name,
        "issued_by": token.issued_by,
        "expires_at": token.expires_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    })
    .to_string()
}

/// Payload of an `inspection.recorded` event (subject: the declaration's
/// [`declaration_subject`]). The body stays out of the chain; its hash pins it.
pub fn inspection_payload(inspection: &InspectionRecord) -> String {
    serde_json::json!({
        "declaration_id": inspection.declaration_id,
        "outcome": inspection.outcome,
        "recorded_by": inspection.recorded_by,
        "body_sha256": inspection.body_sha256,
    })
    .to_string()
}

/// Payload of a `token.revoked` event (subject: the token id).
pub fn token_revoked_payload(token_id: &str, by: &str) -> String {
    serde_json::json!({ "token_id": token_id, "by": by }).to_string()
}

/// The 1-based rank the nearest-rank method picks for `percent` among `n` ascending values:
/// `ceil(percent·n/100)`, kept within `1..=n`; `None` when `n` is 0.
pub fn nearest_rank_position(n: u64, percent: u32) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let rank = (u128::from(percent) * u128::from(n)).div_ceil(100);
    Some(u64::try_from(rank).unwrap_or(u64::MAX).clamp(1, n))
}

/// The nearest-rank percentile of ascending `sorted`: the value at 1-based rank `ceil(percent·n/100)`
/// (see [`nearest_rank_position`]); `None` when `sorted` is empty.
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    let rank = nearest_rank_position(sorted.len() as u64, percent)?;
    sorted.get(usize::try_from(rank).ok()? - 1).copied()
}

/// Subject of a `policy.rows_appended` event: the first row's kind.
pub fn policy_subject(rows: &[PolicyRow]) -> String {
    rows.first().map(|row| row.kind.clone()).unwrap_or_default()
}

/// Payload of a `policy.rows_appended` event.
pub fn policy_payload(rows: &[PolicyRow], author: &str) -> String {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "kind": row.kind,
                "key": row.key,
                "effective_from": row.effective_from.to_string(),
                "body_sha256": chain::sha256_hex(&row.body_json),
            })
        })
        .collect();
    serde_json::json!({ "author": author, "rows": rows }).to_string()
}

/// The rows as they are stored: `author` and `recorded_at` come from the append call (the batch's
/// attribution, shared with its event), whatever the rows carried.
pub fn attribute_policy_rows(mut rows: Vec<PolicyRow>, author: &str, recorded_at: DateTime<Utc>) -> Vec<PolicyRow> {
    for row in &mut rows {
        row.author = author.to_owned();
        row.recorded_at = recorded_at;
    }
    rows
}

// ---------------------------------------------------------------------------------------------------------
// Ledger documents
//
// Both backends store the ledger records in the same encodings, written down here once: ids as 16-byte
// big-endian blobs, enums as their snake_case names (the serde names of `zonegate-ledger`), flags as
// bitmasks, timestamps as microseconds, quantities and values as i64 (checked before anything is written).

/// Bit of [`TransferFlags::linked`] in the stored `flags` column.
pub const TRANSFER_LINKED: i32 = 1;
/// Bit of [`TransferFlags::pending`].
pub const TRANSFER_PENDING: i32 = 2;
/// Bit of [`TransferFlags::post_pending`].
pub const TRANSFER_POST_PENDING: i32 = 4;
/// Bit of [`TransferFlags::void_pending`].
pub const TRANSFER_VOID_PENDING: i32 = 8;
/// Bit of [`AccountFlags::debits_must_not_exceed_credits`] in the stored `flags` column.
pub const ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS: i32 = 1;
/// Bit of [`AccountFlags::credits_must_not_exceed_debits`].
pub const ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS: i32 = 2;

/// A u128 id as stored: 16 bytes, big-endian (so bytewise order is numeric order).
pub fn ledger_id_bytes(id: u128) -> [u8; 16] {
    id.to_be_bytes()
}

/// The inverse of [`ledger_id_bytes`]; anything but 16 bytes is an error.
pub fn ledger_id_from_bytes(bytes: &[u8]) -> StoreResult<u128> {
    let bytes: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("stored ledger id has {} bytes, not 16", bytes.len())))?;
    Ok(u128::from_be_bytes(bytes))
}

/// The stored name of a treatment (the `CHECK` of `ledger_items.treatment`).
pub fn treatment_text(treatment: Treatment) -> &'static str {
    match treatment {
        Treatment::Bonded => "bonded",
        Treatment::Exempt => "exempt",
        Treatment::Domestic => "domestic",
    }
}

/// The inverse of [`treatment_text`].
pub fn treatment_from_text(text: &str) -> StoreResult<Treatment> {
    [Treatment::Bonded, Treatment::Exempt, Treatment::Domestic]
        .into_iter()
        .find(|t| treatment_text(*t) == text)
        .ok_or_else(|| StoreError::Backend(format!("stored treatment `{text}` is unknown")))
}

/// The stored name of an account kind.
pub fn account_kind_text(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Stock => "stock",
        AccountKind::Outside => "outside",
        AccountKind::Mainland => "mainland",
        AccountKind::OtherZone => "other_zone",
        AccountKind::Consumed => "consumed",
        AccountKind::Produced => "produced",
        AccountKind::Exhibited => "exhibited",
        AccountKind::Leased => "leased",
        AccountKind::WrittenOff => "written_off",
        AccountKind::Adjustment => "adjustment",
    }
}

/// The inverse of [`account_kind_text`].
pub fn account_kind_from_text(text: &str) -> StoreResult<AccountKind> {
    AccountKind::ALL
        .into_iter()
        .find(|k| account_kind_text(*k) == text)
        .ok_or_else(|| StoreError::Backend(format!("stored account kind `{text}` is unknown")))
}

/// The stored name of a transfer code.
pub fn transfer_code_text(code: TransferCode) -> &'static str {
    match code {
        TransferCode::FirstLineEntry => "first_line_entry",
        TransferCode::Export => "export",
        TransferCode::SecondLineExit => "second_line_exit",
        TransferCode::MainlandEntry => "mainland_entry",
        TransferCode::ZoneTransfer => "zone_transfer",
        TransferCode::ProcessingConsume => "processing_consume",
        TransferCode::ProcessingProduce => "processing_produce",
        TransferCode::ExhibitionOut => "exhibition_out",
        TransferCode::ExhibitionBack => "exhibition_back",
        TransferCode::ExhibitionSale => "exhibition_sale",
        TransferCode::LeaseOut => "lease_out",
        TransferCode::LeaseReturn => "lease_return",
        TransferCode::WriteOff => "write_off",
        TransferCode::StocktakeShortage => "stocktake_shortage",
        TransferCode::StocktakeSurplus => "stocktake_surplus",
        TransferCode::Correction => "correction",
    }
}

/// The inverse of [`transfer_code_text`].
pub fn transfer_code_from_text(text: &str) -> StoreResult<TransferCode> {
    TransferCode::ALL
        .into_iter()
        .find(|c| transfer_code_text(*c) == text)
        .ok_or_else(|| StoreError::Backend(format!("stored transfer code `{text}` is unknown")))
}

/// Transfer flags as the stored bitmask.
pub fn transfer_flags_bits(flags: TransferFlags) -> i32 {
    let bit = |set: bool, bit: i32| if set { bit } else { 0 };
    bit(flags.linked, TRANSFER_LINKED)
        | bit(flags.pending, TRANSFER_PENDING)
        | bit(flags.post_pending, TRANSFER_POST_PENDING)
        | bit(flags.void_pending, TRANSFER_VOID_PENDING)
}

/// The inverse of [`transfer_flags_bits`]; unknown bits are an error.
pub fn transfer_flags_from_bits(bits: i32) -> StoreResult<TransferFlags> {
    let all = TRANSFER_LINKED | TRANSFER_PENDING | TRANSFER_POST_PENDING | TRANSFER_VOID_PENDING;
    if bits & !all != 0 {
        return Err(StoreError::Backend(format!("stored transfer flags {bits} have unknown bits")));
    }
    Ok(TransferFlags {
        linked: bits & TRANSFER_LINKED != 0,
        pending: bits & TRANSFER_PENDING != 0,
        post_pending: bits & TRANSFER_POST_PENDING != 0,
        void_pending: bits & TRANSFER_VOID_PENDING != 0,
    })
}

/// Account flags as the stored bitmask.
pub fn account_flags_bits(flags: AccountFlags) -> i32 {
    let bit = |set: bool, bit: i32| if set { bit } else { 0 };
    bit(flags.debits_must_not_exceed_credits, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS)
        | bit(flags.credits_must_not_exceed_debits, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS)
}

/// The inverse of [`account_flags_bits`]; unknown bits are an error.
pub fn account_flags_from_bits(bits: i32) -> StoreResult<AccountFlags> {
    let all = ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS | ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS;
    if bits & !all != 0 {
        return Err(StoreError::Backend(format!("stored account flags {bits} have unknown bits")));
    }
    Ok(AccountFlags {
        debits_must_not_exceed_credits: bits & ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS != 0,
        credits_must_not_exceed_debits: bits & ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS != 0,
    })
}

/// A quantity or value as stored (i64); one above `i64::MAX` is refused.
pub fn ledger_amount(amount: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(amount)
        .map_err(|_| StoreError::Backend(format!("{what} {amount} is above i64::MAX and cannot be stored")))
}

/// The inverse of [`ledger_amount`]; a negative stored amount is an error.
pub fn ledger_amount_from_stored(amount: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(amount).map_err(|_| StoreError::Backend(format!("stored {what} {amount} is negative")))
}

/// The quantity scale as stored; the inverse checks it fits in a u8.
pub fn quantity_scale_from_stored(scale: i64) -> StoreResult<u8> {
    u8::try_from(scale).map_err(|_| StoreError::Backend(format!("stored quantity scale {scale} is out of range")))
}

/// The ledger document as [`crate::Store::record_ledger_document`] stores it: `recorded_at` and every transfer
/// timestamp at whole microseconds. A quantity or value above `i64::MAX` is refused before anything reaches
/// the writer.
pub fn ledger_document_as_stored(mut document: NewLedgerDocument) -> StoreResult<NewLedgerDocument> {
    document.recorded_at = truncate_to_micros(document.recorded_at)?;
    for (index, transfer) in document.transfers.iter_mut().enumerate() {
        // The message is built only for a transfer that is refused: this loop runs for every posting.
        for (field, amount) in [("quantity", transfer.quantity), ("value_fen", transfer.value_fen)] {
            if i64::try_from(amount).is_err() {
                let what = format!(
                    "ledger document {}/{}/{}: transfer {index} ({}) {field}",
                    document.enterprise, document.kind, document.number, transfer.id.0
                );
                ledger_amount(amount, &what)?;
            }
        }
        transfer.timestamp = truncate_to_micros(transfer.timestamp)?;
    }
    Ok(document)
}

/// What a second document under an existing (enterprise, kind, number) gets back: the first one, as a
/// repeat when the bodies hash alike, as a conflict otherwise.
pub fn classify_ledger_document(existing: StoredLedgerDocument, body_sha256: &str) -> LedgerDocumentOutcome {
    if existing.body_sha256 == body_sha256 {
        LedgerDocumentOutcome::Repeat(existing)
    } else {
        LedgerDocumentOutcome::Conflict(existing)
    }
}

/// The record a freshly recorded ledger document reads back as.
pub fn stored_ledger_document(seq: i64, document: &NewLedgerDocument) -> StoredLedgerDocument {
    StoredLedgerDocument {
        seq,
        enterprise: document.enterprise.clone(),
        kind: document.kind.clone(),
        number: document.number.clone(),
        body_json: document.body_json.clone(),
        body_sha256: document.body_sha256.clone(),
        result_json: document.result_json.clone(),
        recorded_by: document.recorded_by.clone(),
        recorded_at: document.recorded_at,
        transfer_count: document.transfers.len() as i64,
    }
}

/// Subject of a `ledger.document_recorded` event.
pub fn ledger_document_subject(enterprise: &str, kind: &str, number: &str) -> String {
    format!("{enterprise}/{kind}/{number}")
}

/// Length-prefixed text, for the canonical encodings below.
fn hash_text(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

/// SHA-256 (hex) over the canonical encoding of transfers, in order: per transfer its id, debit and credit
/// account ids (16 bytes big-endian each), quantity and value (u64 big-endian), pending id (a 0 byte, or a 1
/// byte and 16 bytes), code and reference (length-prefixed text), timestamp (i64 microseconds big-endian)
/// and the flag bits (one byte).
pub fn ledger_transfers_sha256(transfers: &[Transfer]) -> String {
    let mut hasher = Sha256::new();
    hasher.update((transfers.len() as u64).to_be_bytes());
    for t in transfers {
        hasher.update(ledger_id_bytes(t.id.0));
        hasher.update(ledger_id_bytes(t.debit_account_id.0));
        hasher.update(ledger_id_bytes(t.credit_account_id.0));
        hasher.update(t.quantity.to_be_bytes());
        hasher.update(t.value_fen.to_be_bytes());
        match t.pending_id {
            Some(TransferId(id)) => {
                hasher.update([1]);
                hasher.update(ledger_id_bytes(id));
            }
            None => hasher.update([0]),
        }
        hash_text(&mut hasher, transfer_code_text(t.code));
        hash_text(&mut hasher, &t.reference);
        hasher.update(to_micros(t.timestamp).to_be_bytes());
        hasher.update([transfer_flags_bits(t.flags) as u8]);
    }
    hex::encode(hasher.finalize())
}

/// SHA-256 (hex) over the canonical encoding of items and accounts, in order: per item its enterprise, item
/// number, HS code and unit (length-prefixed text), quantity scale (one byte) and treatment; per account its
/// id (16 bytes), enterprise, item number, kind and flag bits (one byte).
pub fn ledger_items_accounts_sha256(items: &[LedgerItem], accounts: &[Account]) -> String {
    let mut hasher = Sha256::new();
    hasher.update((items.len() as u64).to_be_bytes());
    for item in items {
        hash_text(&mut hasher, &item.key.enterprise_uscc);
        hash_text(&mut hasher, &item.key.item_no);
        hash_text(&mut hasher, &item.hs_code);
        hash_text(&mut hasher, &item.unit);
        hasher.update([item.quantity_scale]);
        hash_text(&mut hasher, treatment_text(item.treatment));
    }
    hasher.update((accounts.len() as u64).to_be_bytes());
    for account in accounts {
        hasher.update(ledger_id_bytes(account.id.0));
        hash_text(&mut hasher, &account.ledger.enterprise_uscc);
        hash_text(&mut hasher, &account.ledger.item_no);
        hash_text(&mut hasher, account_kind_text(account.kind));
        hasher.update([account_flags_bits(account.flags) as u8]);
    }
    hex::encode(hasher.finalize())
}

/// Subject and payload of a `ledger.document_recorded` event, prepared before the document has its seq so
/// the hashing (of possibly thousands of transfers) happens off the writer's critical path;
/// [`LedgerDocumentEvent::payload`] adds the seq. Both backends build it with this, so the bytes are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDocumentEvent {
    pub subject: String,
    /// The payload object's members after `"seq"`, with the closing brace.
    members: String,
}

impl LedgerDocumentEvent {
    /// The document as [`ledger_document_as_stored`] returned it. The body and result stay out of the chain;
    /// their hashes pin them, and `transfers_sha256` / `records_sha256` pin the ledger records.
    pub fn new(document: &NewLedgerDocument) -> Self {
        let object = serde_json::json!({
            "enterprise": document.enterprise,
            "kind": document.kind,
            "number": document.number,
            "body_sha256": document.body_sha256,
            "result_sha256": chain::sha256_hex(&document.result_json),
            "recorded_by": document.recorded_by,
            "items": document.items.len(),
            "accounts": document.accounts.len(),
            "records_sha256": ledger_items_accounts_sha256(&document.items, &document.accounts),
            "transfer_count": document.transfers.len(),
            "transfers_sha256": ledger_transfers_sha256(&document.transfers),
        })
        .to_string();
        let members = object.strip_prefix('{').unwrap_or(&object).to_owned();
        LedgerDocumentEvent {
            subject: ledger_document_subject(&document.enterprise, &document.kind, &document.number),
            members,
        }
    }

    /// The payload JSON: `{"seq":…,` followed by the other members.
    pub fn payload(&self, seq: i64) -> String {
        format!("{{\"seq\":{seq},{}", self.members)
    }
}

/// A transfer rebuilt from its stored columns (see the encodings above).
#[allow(clippy::too_many_arguments)]
pub fn ledger_transfer_from_stored(
    id: &[u8],
    debit_account_id: &[u8],
    credit_account_id: &[u8],
    quantity: i64,
    value_fen: i64,
    pending_id: Option<&[u8]>,
    code: &str,
    reference: String,
    timestamp_us: i64,
    flags: i32,
) -> StoreResult<Transfer> {
    Ok(Transfer {
        id: TransferId(ledger_id_from_bytes(id)?),
        debit_account_id: AccountId(ledger_id_from_bytes(debit_account_id)?),
        credit_account_id: AccountId(ledger_id_from_bytes(credit_account_id)?),
        quantity: ledger_amount_from_stored(quantity, "quantity")?,
        value_fen: ledger_amount_from_stored(value_fen, "value_fen")?,
        pending_id: pending_id.map(ledger_id_from_bytes).transpose()?.map(TransferId),
        code: transfer_code_from_text(code)?,
        reference,
        timestamp: from_micros(timestamp_us)?,
        flags: transfer_flags_from_bits(flags)?,
    })
}

/// The last event of the chain as a writer needs it: the next event gets `seq + 1` and `prev_hash = hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head of an empty chain.
    pub fn genesis() -> Self {
        ChainHead { seq: 0, hash: GENESIS_HASH.to_owned() }
    }

    /// Builds the next event and advances the head past it.
    pub fn next(&mut self, recorded_at: DateTime<Utc>, kind: &str, subject: String, payload_json: String) -> Event {
        let seq = self.seq + 1;
        let hash = chain::event_hash(&self.hash, seq, recorded_at, kind, &subject, &payload_json);
        let prev_hash = std::mem::replace(&mut self.hash, hash.clone());
        self.seq = seq;
        Event { seq, recorded_at, kind: kind.to_owned(), subject, payload_json, prev_hash, hash }
    }
}

/// Walks a chain event by event (ascending seq) and reports the first inconsistency.
#[derive(Debug)]
pub struct ChainVerifier {
    head: ChainHead,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { head: ChainHead::genesis() }
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks that `event` follows the previous one: next seq, linked `prev_hash`, recomputed `hash`.
    pub fn push(&mut self, event: &Event) -> StoreResult<()> {
        let expected_seq = self.head.seq + 1;
        if event.seq != expected_seq {
            return Err(StoreError::ChainBroken {
                seq: expected_seq,
                detail: format!("expected seq {expected_seq}, found seq {}", event.seq),
            });
        }
        if event.prev_hash != self.head.hash {
            return Err(StoreError::ChainBroken {
                seq: event.seq,
                detail: format!("prev_hash {} does not match the previous hash {}", event.prev_hash, self.head.hash),
            });
        }
        let hash = event.recomputed_hash();
        if hash != event.hash {
            return Err(StoreError::ChainBroken {
                seq: event.seq,
                detail: format!("stored hash {} but the event hashes to {hash}", event.hash),
            });
        }
        self.head = ChainHead { seq: event.seq, hash };
        Ok(())
    }

    pub fn finish(self) -> ChainReport {
        ChainReport { events: self.head.seq, head_hash: self.head.hash }
    }
}

/// One embedded schema migration. Applied migrations must never be edited: their checksum is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL with line endings normalised, so a CRLF checkout does not look like an edit.
    pub fn checksum(&self) -> String {
        chain::sha256_hex(&self.sql.replace("\r\n", "\n"))
    }
}

/// The migrations still to apply, in order, given the `(version, checksum)` rows already recorded.
/// Errors when the known list is out of order, an applied migration was edited, or the database holds
/// a migration this build does not know (it was written by a newer build).
pub fn pending_migrations<'a>(known: &'a [Migration], applied: &[(i64, String)]) -> StoreResult<Vec<&'a Migration>> {
    if known.windows(2).any(|pair| pair[0].version >= pair[1].version) {
        return Err(StoreError::Backend("migrations are not in strictly increasing version order".into()));
    }
    for (version, checksum) in applied {
        match known.iter().find(|m| m.version == *version) {
            None => {
                return Err(StoreError::Backend(format!(
                    "database has migration {version}, which this build does not know"
                )))
            }
            Some(m) if m.checksum() != *checksum => {
                return Err(StoreError::Backend(format!(
                    "migration {} ({}) was changed after it was applied: recorded checksum {checksum}, now {}",
                    m.version,
                    m.name,
                    m.checksum()
                )))
            }
            Some(_) => {}
        }
    }
    Ok(known.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_days() {
        for text in ["0001-01-01", "1969-12-31", "1970-01-01", "2024-02-29", "9999-12-31"] {
            let date: NaiveDate = text.parse().unwrap();
            assert_eq!(date_from_days(date_to_days(date)).unwrap(), date);
        }
        assert!(date_to_days("1969-12-31".parse().unwrap()) < date_to_days("1970-01-01".parse().unwrap()));
    }

    #[test]
    fn timestamps_round_trip_through_micros() {
        let at = DateTime::from_timestamp(-1, 999_999_000).unwrap();
        assert_eq!(from_micros(to_micros(at)).unwrap(), at);
        let finer = DateTime::from_timestamp(5, 123_456_789).unwrap();
        assert_eq!(truncate_to_micros(finer).unwrap(), DateTime::from_timestamp(5, 123_456_000).unwrap());
    }

    #[test]
    fn declaration_payload_is_json_with_the_id() {
        let d = NewDeclaration {
            declarant: "D\"1".into(),
            reference: "R/1".into(),
            zone: "Z".into(),
            flow: "import".into(),
            declared_on: "2024-03-15".parse().unwrap(),
            treatments: vec![],
            channel: "green".into(),
            payable_fen: -5,
            document_sha256: "ab".into(),
            document_json: "{}".into(),
            assessment_json: "{\"a\":1}".into(),
            waived_fen: 3,
            submitted_by: "clerk \"7\"".into(),
            received_at: DateTime::from_timestamp(-1, 0).unwrap(),
            recorded_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        let event = DeclarationEvent::new(&d);
        assert_eq!(event.subject, "D\"1/R/1");
        let value: serde_json::Value = serde_json::from_str(&event.payload(42)).unwrap();
        assert_eq!(value["id"], 42);
        assert_eq!(value["document_sha256"], "ab");
        assert_eq!(value["assessment_sha256"], chain::sha256_hex("{\"a\":1}"));
        assert_eq!(value["declared_on"], "2024-03-15");
        assert_eq!(value["payable_fen"], -5);
        assert_eq!(value["submitted_by"], "clerk \"7\"");
        assert_eq!(value.as_object().unwrap().len(), 9);
    }

    #[test]
    fn nearest_rank_picks_the_ceiling_rank() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank_position(0, 90), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        let ten: Vec<i64> = (1..=10).map(|v| v * 10).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(50));
        assert_eq!(nearest_rank(&ten, 90), Some(90));
        assert_eq!(nearest_rank(&ten, 91), Some(100));
        assert_eq!(nearest_rank(&ten, 100), Some(100));
        assert_eq!(nearest_rank(&ten, 0), Some(10));
        assert_eq!(nearest_rank(&ten, 250), Some(100));
        // n = 6: p50 is rank 3, p90 is rank ceil(5.4) = 6.
        let six = [0, 500, 1000, 2000, 3000, 10_000];
        assert_eq!(nearest_rank(&six, 50), Some(1000));
        assert_eq!(nearest_rank(&six, 90), Some(10_000));
        // n = 3: p50 is rank ceil(1.5) = 2, p90 is rank ceil(2.7) = 3.
        assert_eq!(nearest_rank(&[-4, 0, 9], 50), Some(0));
        assert_eq!(nearest_rank(&[-4, 0, 9], 90), Some(9));
        // Exact integer arithmetic, where floating point would round 0.9 · n up or down.
        for n in 1..=2_000u64 {
            assert_eq!(nearest_rank_position(n, 90), Some((90 * n).div_ceil(100)));
            assert_eq!(nearest_rank_position(n, 50), Some(n.div_ceil(2)));
        }
    }

    #[test]
    fn account_and_token_payloads_leave_secrets_out() {
        let at = DateTime::from_timestamp(1_700_000_000, 5_000).unwrap();
        let account = AccountRecord {
            user_id: "alice".into(),
            party: "91310000MA1FL1234X".into(),
            party_kind: "enterprise".into(),
            roles: vec!["declarant".into(), "viewer".into()],
            password_hash: Some("$argon2id$v=19$secret-hash".into()),
            personal_json: "{\"id_number\":\"110101199003074321\"}".into(),
            active: true,
            recorded_by: "admin".into(),
            recorded_at: at,
        };
        let text = account_payload(&account);
        assert!(!text.contains("argon2") && !text.contains("110101199003074321"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["password_set"], true);
        assert_eq!(value["roles"], serde_json::json!(["declarant", "viewer"]));
        assert_eq!(value.as_object().unwrap().len(), 7);
        let system = AccountRecord { password_hash: None, ..account };
        let value: serde_json::Value = serde_json::from_str(&account_payload(&system)).unwrap();
        assert_eq!(value["password_set"], false);

        let token = TokenRecord {
            token_id: "tok_1".into(),
            user_id: "alice".into(),
            name: "erp".into(),
            secret_sha256: "ff".repeat(32),
            issued_by: "admin".into(),
            issued_at: at,
            expires_at: at,
            revoked: None,
        };
        let text = token_issued_payload(&token);
        assert!(!text.contains(&token.secret_sha256), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["expires_at"], "2023-11-14T22:13:20.000005Z");
        assert_eq!(value.as_object().unwrap().len(), 5);
        let value: serde_json::Value = serde_json::from_str(&token_revoked_payload("tok_1", "admin")).unwrap();
        assert_eq!(value, serde_json::json!({ "token_id": "tok_1", "by": "admin" }));
    }

    #[test]
    fn inspection_payload_and_classification() {
        let inspection = InspectionRecord {
            declaration_id: 7,
            outcome: "finding".into(),
            body_json: "{\"notes\":\"secret detail\"}".into(),
            body_sha256: "ab".repeat(32),
            recorded_by: "officer \"9\"".into(),
            recorded_at: DateTime::from_timestamp(5, 123_456_789).unwrap(),
        };
        let value: serde_json::Value = serde_json::from_str(&inspection_payload(&inspection)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "declaration_id": 7,
                "outcome": "finding",
                "recorded_by": "officer \"9\"",
                "body_sha256": "ab".repeat(32),
            })
        );
        let stored = inspection_as_stored(inspection.clone()).unwrap();
        assert_eq!(stored.recorded_at, DateTime::from_timestamp(5, 123_456_000).unwrap());
        let bad = InspectionRecord { outcome: "maybe".into(), ..inspection.clone() };
        assert!(matches!(inspection_as_stored(bad), Err(StoreError::Backend(_))));
        assert_eq!(classify_inspection(stored.clone(), &stored.body_sha256), InspectionOutcome::Repeat(stored.clone()));
        assert_eq!(classify_inspection(stored.clone(), "cd"), InspectionOutcome::Conflict(stored));
    }

    #[test]
    fn ledger_encodings_match_serde_names_and_round_trip() {
        let name = |value: serde_json::Value| value.as_str().expect("serde name").to_owned();
        for code in TransferCode::ALL {
            assert_eq!(transfer_code_text(code), name(serde_json::to_value(code).unwrap()));
            assert_eq!(transfer_code_from_text(transfer_code_text(code)).unwrap(), code);
        }
        for kind in AccountKind::ALL {
            assert_eq!(account_kind_text(kind), name(serde_json::to_value(kind).unwrap()));
            assert_eq!(account_kind_from_text(account_kind_text(kind)).unwrap(), kind);
        }
        for treatment in [Treatment::Bonded, Treatment::Exempt, Treatment::Domestic] {
            assert_eq!(treatment_text(treatment), name(serde_json::to_value(treatment).unwrap()));
            assert_eq!(treatment_from_text(treatment_text(treatment)).unwrap(), treatment);
        }
        assert!(transfer_code_from_text("teleport").is_err() && account_kind_from_text("").is_err());
        for bits in 0..16 {
            assert_eq!(transfer_flags_bits(transfer_flags_from_bits(bits).unwrap()), bits);
        }
        assert!(transfer_flags_from_bits(16).is_err());
        for bits in 0..4 {
            assert_eq!(account_flags_bits(account_flags_from_bits(bits).unwrap()), bits);
        }
        assert!(account_flags_from_bits(4).is_err());
        for id in [1u128, u128::from(u64::MAX) + 1, u128::MAX] {
            assert_eq!(ledger_id_from_bytes(&ledger_id_bytes(id)).unwrap(), id);
        }
        assert_eq!(ledger_id_bytes(1)[15], 1);
        assert!(ledger_id_from_bytes(&[0; 15]).is_err());
    }

    #[test]
    fn ledger_document_is_truncated_checked_and_pinned() {
        let key = zonegate_ledger::LedgerKey::new("E", "I");
        let transfer = |quantity: u64, nanos: u32| {
            Transfer::new(
                7,
                AccountId(1),
                AccountId(2),
                quantity,
                3,
                TransferCode::FirstLineEntry,
                "R",
                DateTime::from_timestamp(5, nanos).unwrap(),
            )
        };
        let document = NewLedgerDocument {
            enterprise: "E".into(),
            kind: "list".into(),
            number: "N/1".into(),
            body_json: "{}".into(),
            body_sha256: "ab".into(),
            result_json: "{\"ok\":true}".into(),
            recorded_by: "clerk".into(),
            recorded_at: DateTime::from_timestamp(9, 123_456_789).unwrap(),
            items: vec![],
            accounts: vec![Account::new(1, key, AccountKind::Stock)],
            transfers: vec![transfer(i64::MAX as u64, 999_999_999)],
        };
        let stored = ledger_document_as_stored(document.clone()).unwrap();
        assert_eq!(stored.recorded_at, DateTime::from_timestamp(9, 123_456_000).unwrap());
        assert_eq!(stored.transfers[0].timestamp, DateTime::from_timestamp(5, 999_999_000).unwrap());
        let over = NewLedgerDocument { transfers: vec![transfer(i64::MAX as u64 + 1, 0)], ..document.clone() };
        assert!(matches!(ledger_document_as_stored(over), Err(StoreError::Backend(m)) if m.contains("i64::MAX")));

        let event = LedgerDocumentEvent::new(&stored);
        assert_eq!(event.subject, "E/list/N/1");
        let value: serde_json::Value = serde_json::from_str(&event.payload(42)).unwrap();
        assert_eq!(value["seq"], 42);
        assert_eq!(value["transfer_count"], 1);
        assert_eq!(value["body_sha256"], "ab");
        assert_eq!(value["result_sha256"], chain::sha256_hex("{\"ok\":true}"));
        assert_eq!(value["transfers_sha256"], ledger_transfers_sha256(&stored.transfers));
        // Any change to a transfer changes the hash the chain pins.
        let mut changed = stored.transfers.clone();
        changed[0].flags.linked = true;
        assert_ne!(ledger_transfers_sha256(&changed), ledger_transfers_sha256(&stored.transfers));
        changed = stored.transfers.clone();
        changed[0].pending_id = Some(TransferId(0));
        assert_ne!(ledger_transfers_sha256(&changed), ledger_transfers_sha256(&stored.transfers));

        let record = stored_ledger_document(3, &stored);
        assert_eq!(classify_ledger_document(record.clone(), "ab"), LedgerDocumentOutcome::Repeat(record.clone()));
        assert_eq!(classify_ledger_document(record.clone(), "cd"), LedgerDocumentOutcome::Conflict(record));
    }

    #[test]
    fn clamp_limit_bounds() {
        assert_eq!(clamp_limit(0), 1);
        assert_eq!(clamp_limit(7), 7);
        assert_eq!(clamp_limit(u32::MAX), PAGE_SIZE_MAX);
    }

    #[test]
    fn verifier_accepts_a_chain_and_names_the_broken_seq() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut head = ChainHead::genesis();
        let events: Vec<Event> =
            (0..3).map(|i| head.next(at, "k", format!("s{i}"), format!("{{\"i\":{i}}}"))).collect();
        assert_eq!(events[0].prev_hash, GENESIS_HASH);
        let mut verifier = ChainVerifier::new();
        for event in &events {
            verifier.push(event).unwrap();
        }
        assert_eq!(verifier.finish(), ChainReport { events: 3, head_hash: head.hash.clone() });

        let mut tampered = events.clone();
        tampered[1].payload_json = "{\"i\":9}".into();
        let mut verifier = ChainVerifier::new();
        verifier.push(&tampered[0]).unwrap();
        assert!(matches!(verifier.push(&tampered[1]), Err(StoreError::ChainBroken { seq: 2, .. })));

        let mut verifier = ChainVerifier::new();
        verifier.push(&events[0]).unwrap();
        assert!(matches!(verifier.push(&events[2]), Err(StoreError::ChainBroken { seq: 2, .. })));
    }

    #[test]
    fn pending_migrations_detects_edits_and_unknown_versions() {
        let known = [
            Migration { version: 1, name: "init", sql: "create table a(x);" },
            Migration { version: 2, name: "more", sql: "create table b(x);" },
        ];
        assert_eq!(pending_migrations(&known, &[]).unwrap().len(), 2);
        let applied = vec![(1, known[0].checksum())];
        assert_eq!(pending_migrations(&known, &applied).unwrap(), vec![&known[1]]);
        assert!(pending_migrations(&known, &[(1, "bad".into())]).is_err());
        assert!(pending_migrations(&known, &[(3, "x".into())]).is_err());
        let crlf = Migration { version: 1, name: "init", sql: "create table a(x);\r\n" };
        let lf = Migration { version: 1, name: "init", sql: "create table a(x);\n" };
        assert_eq!(crlf.checksum(), lf.checksum());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Cross-border e-commerce log

/// The batch as [`crate::Store::enqueue_cbec`] stores it, checked before anything is queued: at least one
/// record, seqs `after_seq + 1, +2, …` in order (`after_seq ≥ 0`), kinds of 1..=[`CBEC_KIND_CHARS_MAX`] and
/// keys of 1..=[`CBEC_KEY_CHARS_MAX`] characters, no (kind, key) twice in the batch; timestamps at whole
/// microseconds.
pub fn cbec_batch_as_stored(mut batch: NewCbecBatch) -> StoreResult<NewCbecBatch> {
    let refuse =
        |detail: String| Err(StoreError::Backend(format!("cbec batch after seq {}: {detail}", batch.after_seq)));
    if batch.records.is_empty() {
        return refuse("no records".into());
    }
    if batch.after_seq < 0 {
        return refuse("after_seq must not be negative".into());
    }
    let mut seen = std::collections::HashSet::with_capacity(batch.records.len());
    let mut expected = batch.after_seq;
    for record in &batch.records {
        expected = match expected.checked_add(1) {
            Some(next) => next,
            None => return refuse("seq overflows".into()),
        };
        if record.seq != expected {
            return refuse(format!(
                "record seq {} where {expected} was expected (seqs must be contiguous)",
                record.seq
            ));
        }
        let kind_chars = record.kind.chars().count();
        if kind_chars == 0 || kind_chars > CBEC_KIND_CHARS_MAX {
            return refuse(format!(
                "record {}: kind must have 1 to {CBEC_KIND_CHARS_MAX} characters, has {kind_chars}",
                record.seq
            ));
        }
        let key_chars = record.key.chars().count();
        if key_chars == 0 || key_chars > CBEC_KEY_CHARS_MAX {
            return refuse(format!(
                "record {}: key must have 1 to {CBEC_KEY_CHARS_MAX} characters, has {key_chars}",
                record.seq
            ));
        }
        if !seen.insert((record.kind.as_str(), record.key.as_str())) {
            return refuse(format!("cbec record {}/{} appears twice in the batch", record.kind, record.key));
        }
    }
    drop(seen);
    for record in &mut batch.records {
        record.recorded_at = truncate_to_micros(record.recorded_at)?;
    }
    Ok(batch)
}

/// Subject of a `cbec.batch_recorded` event.
pub fn cbec_batch_subject(first_seq: i64, last_seq: i64) -> String {
    format!("cbec/{first_seq}-{last_seq}")
}

/// SHA-256 (hex) over each record's line `seq\tkind\tkey\tbody_sha256\n`, in order: pins the records (and,
/// through their hashes, the bodies) without putting any of their content into the chain.
pub fn cbec_digest(records: &[CbecRecord]) -> String {
    use std::fmt::Write as _;
    let mut hasher = Sha256::new();
    let mut seq = String::with_capacity(20);
    for record in records {
        seq.clear();
        let _ = write!(seq, "{}", record.seq);
        hasher.update(seq.as_bytes());
        hasher.update(b"\t");
        hasher.update(record.kind.as_bytes());
        hasher.update(b"\t");
        hasher.update(record.key.as_bytes());
        hasher.update(b"\t");
        hasher.update(record.body_sha256.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Payload of a `cbec.batch_recorded` event:
/// `{"first_seq":…,"last_seq":…,"records":…,"digest":"<cbec_digest>"}`.
pub fn cbec_batch_payload(first_seq: i64, last_seq: i64, records: usize, digest: &str) -> String {
    format!("{{\"first_seq\":{first_seq},\"last_seq\":{last_seq},\"records\":{records},\"digest\":\"{digest}\"}}")
}

/// The `cbec.batch_recorded` event of a checked batch, prepared off the writer's critical path (the digest
/// hashes every record). Both backends build it with this, so the bytes are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbecBatchEvent {
    pub first_seq: i64,
    pub last_seq: i64,
    /// The event's time: the batch's last record's `recorded_at`.
    pub recorded_at: DateTime<Utc>,
    pub subject: String,
    pub payload: String,
}

impl CbecBatchEvent {
    /// `batch` as [`cbec_batch_as_stored`] returned it (non-empty).
    pub fn new(batch: &NewCbecBatch) -> StoreResult<Self> {
        let (Some(first), Some(last)) = (batch.records.first(), batch.records.last()) else {
            return Err(StoreError::Backend("cbec batch has no records".into()));
        };
        Ok(CbecBatchEvent {
            first_seq: first.seq,
            last_seq: last.seq,
            recorded_at: last.recorded_at,
            subject: cbec_batch_subject(first.seq, last.seq),
            payload: cbec_batch_payload(first.seq, last.seq, batch.records.len(), &cbec_digest(&batch.records)),
        })
    }

    /// What the batch's receipt answers once committed.
    pub fn committed(&self) -> crate::CbecCommitted {
        crate::CbecCommitted { first_seq: self.first_seq, last_seq: self.last_seq }
    }
}

/// The failure of a batch written against a log that is not where the batch expects it.
pub fn cbec_log_moved(actual_last_seq: i64, after_seq: i64) -> StoreError {
    StoreError::Backend(format!("cbec log is at {actual_last_seq}, expected {after_seq}"))
}

/// The failure of a batch with a (kind, key) recorded already.
pub fn cbec_duplicate(kind: &str, key: &str) -> StoreError {
    StoreError::Backend(format!("cbec record exists already: kind {kind:?}, key {key:?}"))
}
