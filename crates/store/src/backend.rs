//! Pieces every backend needs to behave the same: event kinds and payloads, limit clamping, timestamp
//! conversion, the repeat/conflict decision, chain verification and migration bookkeeping.
//!
//! They live here rather than in each backend so that SQLite and PostgreSQL cannot drift apart: the same
//! declaration produces byte-identical event payloads on both, and both verify a chain with the same code.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::chain::{self, GENESIS_HASH};
use crate::{
    AccountRecord, ChainReport, Event, InspectionOutcome, InspectionRecord, NewDeclaration, PartyRecord, PolicyRow,
    SessionRecord, StoreError, StoreResult, StoredDeclaration, SubmitOutcome, TokenRecord, PAGE_SIZE_MAX,
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
