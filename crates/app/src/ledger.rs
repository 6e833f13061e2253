//! Bonded ledgers (电子账册, issue 5): the use cases over `zonegate-ledger`.
//!
//! Every change to a ledger is a **document** of one kind ([`KINDS`]): an item's registration, a 核注清单
//! (list), its cancellation, a 核放单 (gate pass), a bill of materials, a processing run, an exhibition and
//! its returns, sales and patrols, a lease with its rent instalments and returns, a stock count. One flow
//! serves them all:
//!
//! 1. parse the body (structure first, then every problem at once, naming the field);
//! 2. plan the transfers against the in-memory ledger (pure planners of `zonegate-ledger`);
//! 3. apply them to the engine as one linked chain: all or nothing, balances never negative;
//! 4. record the document, its result and its transfers in the store in one transaction, idempotently
//!    under (enterprise, kind, number), with an event on the hash chain;
//! 5. fold the document into the app's indexes (open reservations, exhibitions, leases, material content).
//!
//! Writes are serialised by one mutex. If the store fails after the engine applied a chain, the whole
//! ledger is rebuilt from the store, so memory never keeps what the store did not. At start-up the engine
//! replays [`zonegate_store::Store::ledger_log`] and the indexes fold every recorded document again.
//!
//! Two kinds are the app's own, never taken from a caller: `cbec_release`, the goods a released e-commerce
//! order (1210) draws from stock to the mainland at average cost (a draw the ledger refuses is recorded too,
//! without transfers, so the refusal stays visible), and `cbec_return`, the goods of its return back in
//! stock at the value they were drawn at.
//!
//! Taxes due on goods that leave supervision inside the ledger (an exhibition sale, a rent instalment of
//! goods leased to the mainland, a stock-count shortage) are computed by the declaration engine itself:
//! the goods are assessed as a `second_line_out` import on the day, so the same rates, rounding and
//! thresholds apply.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zonegate_auth::{Action, PartyKind, Principal, Resource};
use zonegate_domain::{money::fen_string, FieldErrors, HsCode, UnitCode};
use zonegate_ledger::documents::with_problems;
use zonegate_ledger::movement::{format_quantity, plan_cancel, plan_gate_pass, plan_movement, PassLine};
use zonegate_ledger::{
    patrol, plan_exhibition_back, plan_exhibition_out, plan_exhibition_sale, plan_lease_out, plan_lease_return,
    plan_processing, plan_stocktake, write_off_report, Account, AccountKind, Bom, BomBook, BomLine, DocumentIds,
    Entrusted, Exhibition, ExhibitionState, Instalment, Lease, Ledger, LedgerItem, LedgerKey, Line, MaterialContent,
    PendingStatus, Problem, Transfer, TransferCode, TransferId, Treatment, WriteOffReport,
};
use zonegate_store::{LedgerDocumentOutcome, NewLedgerDocument, StoredLedgerDocument};

use crate::{App, AppError, AppResult};

/// The document kinds: (path segment in the API, kind as stored, the action it needs).
pub const KINDS: &[(&str, &str, Action)] = &[
    ("items", "item", Action::LedgerWrite),
    ("lists", "list", Action::LedgerWrite),
    ("list-cancellations", "list_cancellation", Action::LedgerWrite),
    ("gate-passes", "gate_pass", Action::LedgerSupervise),
    ("boms", "bom", Action::LedgerWrite),
    ("processing-runs", "processing_run", Action::LedgerWrite),
    ("exhibitions", "exhibition", Action::LedgerWrite),
    ("exhibition-returns", "exhibition_return", Action::LedgerWrite),
    ("exhibition-sales", "exhibition_sale", Action::LedgerWrite),
    ("patrols", "patrol", Action::LedgerSupervise),
    ("leases", "lease", Action::LedgerWrite),
    ("lease-instalments", "lease_instalment", Action::LedgerWrite),
    ("lease-returns", "lease_return", Action::LedgerWrite),
    ("stocktakes", "stocktake", Action::LedgerSupervise),
    ("corrections", "correction", Action::LedgerSupervise),
];

/// Document kinds the app records itself, never taken from a caller: the goods a released e-commerce order
/// (1210) draws from the enterprise's stock, and the goods its return brings back.
pub const KIND_CBEC_RELEASE: &str = "cbec_release";
pub const KIND_CBEC_RETURN: &str = "cbec_return";

/// The kinds a listing may filter by: the callers' kinds and the app's own.
fn listed_kind(path: &str) -> Option<&'static str> {
    kind_of_path(path).map(|(k, _)| k).or(match path {
        "cbec-releases" | "cbec_release" => Some(KIND_CBEC_RELEASE),
        "cbec-returns" | "cbec_return" => Some(KIND_CBEC_RETURN),
        _ => None,
    })
}

/// Longest an exhibition may keep bonded goods out (days); a zone parameter.
pub const EXHIBITION_MAX_DAYS: u32 = 180;

/// The kind stored for an API path segment (`gate-passes` → `gate_pass`), with its action.
pub fn kind_of_path(path: &str) -> Option<(&'static str, Action)> {
    KINDS.iter().find(|(p, k, _)| *p == path || *k == path).map(|(_, k, a)| (*k, *a))
}

/// What a 核注清单 does to the ledger, tied to the flow of its declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// First line in (Macao / abroad → stock), declaration flow `first_line_in`.
    FirstLineEntry,
    /// First line out (stock → abroad), flow `first_line_out`.
    Export,
    /// Second line out (stock → mainland), flow `second_line_out`.
    SecondLineExit,
    /// Second line in (mainland → stock), flow `second_line_in`.
    MainlandEntry,
    /// To another zone enterprise (stock → other zone), flow `zone_transfer`.
    ZoneTransferOut,
    /// From another zone enterprise (other zone → stock), flow `zone_transfer`.
    ZoneTransferIn,
}

impl Movement {
    fn flow(self) -> &'static str {
        match self {
            Movement::FirstLineEntry => "first_line_in",
            Movement::Export => "first_line_out",
            Movement::SecondLineExit => "second_line_out",
            Movement::MainlandEntry => "second_line_in",
            Movement::ZoneTransferOut | Movement::ZoneTransferIn => "zone_transfer",
        }
    }

    fn transfer(self) -> (TransferCode, AccountKind, AccountKind) {
        use AccountKind as K;
        match self {
            Movement::FirstLineEntry => (TransferCode::FirstLineEntry, K::Outside, K::Stock),
            Movement::Export => (TransferCode::Export, K::Stock, K::Outside),
            Movement::SecondLineExit => (TransferCode::SecondLineExit, K::Stock, K::Mainland),
            Movement::MainlandEntry => (TransferCode::MainlandEntry, K::Mainland, K::Stock),
            Movement::ZoneTransferOut => (TransferCode::ZoneTransfer, K::Stock, K::OtherZone),
            Movement::ZoneTransferIn => (TransferCode::ZoneTransfer, K::OtherZone, K::Stock),
        }
    }
}

// ---- Request bodies ----

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    item_no: String,
    hs: String,
    unit: String,
    quantity_scale: u8,
    treatment: Treatment,
    #[serde(default)]
    description: String,
    /// Country of origin (ISO 3166 alpha-2), for the duty rate when goods of the item are taxed out of the
    /// ledger (sale, rent, shortage); unknown origin means the general rate, as for declarations.
    #[serde(default)]
    origin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    item_no: String,
    quantity: String,
    #[serde(default)]
    value_cny: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListBody {
    number: String,
    declaration_id: i64,
    movement: Movement,
    lines: Vec<LineBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    number: String,
    list: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuantityBody {
    item_no: String,
    quantity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatePassBody {
    number: String,
    list: String,
    #[serde(default)]
    vehicle: String,
    /// Absent: everything of the list still waiting passes.
    #[serde(default)]
    lines: Option<Vec<QuantityBody>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BomLineBody {
    item_no: String,
    /// Material quantity (in the material's unit) consumed per `per` of the product.
    quantity: String,
    per: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BomBody {
    product: String,
    version: u32,
    effective_from: NaiveDate,
    materials: Vec<BomLineBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    number: String,
    product: String,
    quantity: String,
    produced_on: NaiveDate,
    /// Absent: the version in force on `produced_on`.
    #[serde(default)]
    bom_version: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExhibitionBody {
    number: String,
    venue: String,
    opened_on: NaiveDate,
    allowed_until: NaiveDate,
    lines: Vec<QuantityBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExhibitionReturnBody {
    number: String,
    exhibition: String,
    lines: Vec<QuantityBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaleLineBody {
    item_no: String,
    quantity: String,
    price_cny: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExhibitionSaleBody {
    number: String,
    exhibition: String,
    sold_on: NaiveDate,
    #[serde(default)]
    buyer: String,
    lines: Vec<SaleLineBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatrolBody {
    number: String,
    exhibition: String,
    counted_on: NaiveDate,
    counts: Vec<QuantityBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstalmentBody {
    due_on: NaiveDate,
    rent_cny: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseBody {
    number: String,
    lessee: String,
    lessee_in_mainland: bool,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    lines: Vec<QuantityBody>,
    schedule: Vec<InstalmentBody>,
    #[serde(default)]
    entrusted_supervision: Option<Entrusted>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseInstalmentBody {
    number: String,
    lease: String,
    /// 1-based position in the lease's schedule.
    instalment: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseReturnBody {
    number: String,
    lease: String,
    lines: Vec<QuantityBody>,
}

/// A correction: posted amounts are never edited, so an error is put right by a new transfer between any
/// two accounts of an item, with the reason and the document it corrects.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    number: String,
    item_no: String,
    from: AccountKind,
    to: AccountKind,
    quantity: String,
    value_cny: String,
    reason: String,
    /// The document corrected (`kind/number`).
    corrects: String,
}

/// The goods a released e-commerce order draws: every line of the order as sent (a line without an item
/// number, or whose item is not on the ledger, draws nothing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecReleaseBody {
    number: String,
    /// `cbec_order/{platform}/{order_no}`.
    order: String,
    lines: Vec<CbecLineBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecLineBody {
    line: u32,
    #[serde(default)]
    item_no: String,
    quantity: String,
    unit: String,
}

/// The goods of a return back into stock: the order's drawn lines returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecReturnBody {
    number: String,
    /// `cbec_order/{platform}/{order_no}`.
    order: String,
    /// `cbec_return/{platform}/{order_no}/{return_no}`.
    #[serde(rename = "return")]
    return_of: String,
    lines: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StocktakeBody {
    number: String,
    /// Start of the write-off period (00:00 UTC); the period ends now, when the count is taken.
    from: NaiveDate,
    counts: Vec<QuantityBody>,
}

// ---- The in-memory state ----

/// A list's open reservations and what it took from the material content.
#[derive(Debug, Clone)]
struct ListState {
    declaration_id: i64,
    /// Every pending transfer made for the list (its own, and the rests re-reserved by gate passes).
    pendings: Vec<TransferId>,
    /// Processed goods leaving: (item, quantity, imported fen, domestic fen) taken from the content.
    content_taken: Vec<(String, u64, u64, u64)>,
}

#[derive(Debug, Clone)]
struct LeaseState {
    lease: Lease,
    /// Instalment index (0-based) → the document that taxed it.
    taxed: BTreeMap<usize, String>,
}

/// The engine and the indexes folded from the recorded documents.
#[derive(Debug, Default)]
pub(crate) struct LedgerBook {
    engine: Ledger,
    /// (enterprise, kind, number) → body SHA-256.
    documents: HashMap<(String, String, String), String>,
    lists: HashMap<(String, String), ListState>,
    boms: BomBook,
    content: HashMap<(String, String), MaterialContent>,
    exhibitions: HashMap<(String, String), (Exhibition, ExhibitionState)>,
    leases: HashMap<(String, String), LeaseState>,
    /// (enterprise, item) → country of origin, when registered with the item.
    origins: HashMap<(String, String), String>,
    /// Enterprises keeping a ledger (at least one item registered).
    keepers: HashSet<String>,
    /// E-commerce orders (`platform/order_no`) whose release drew, or failed to draw, on a ledger.
    cbec_draws: HashMap<String, CbecDraw>,
}

/// What a released e-commerce order's `cbec_release` document did.
#[derive(Debug, Clone)]
struct CbecDraw {
    enterprise: String,
    number: String,
    /// The lines drawn (empty when refused).
    lines: Vec<DrawnLine>,
    /// Why the ledger refused the draw (empty when drawn).
    problems: Vec<Value>,
    /// Lines whose goods came back by `cbec_return` documents.
    returned: BTreeSet<u32>,
}

/// One order line drawn from stock: the quantity in the item's smallest unit and its average cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DrawnLine {
    line: u32,
    item_no: String,
    quantity: u64,
    value_fen: u64,
}

impl LedgerBook {
    fn open_pendings(&self, list: &ListState) -> Vec<&Transfer> {
        list.pendings
            .iter()
            .filter(|id| self.engine.pending_status(**id) == Some(PendingStatus::Pending))
            .filter_map(|id| self.engine.transfer(*id))
            .collect()
    }

    fn item(&self, enterprise: &str, item_no: &str) -> Option<&LedgerItem> {
        self.engine.item(&LedgerKey::new(enterprise, item_no))
    }
}

/// The ledger part of the app: the book behind a lock, and the writers' mutex.
#[derive(Default)]
pub(crate) struct LedgerState {
    book: RwLock<LedgerBook>,
    writes: tokio::sync::Mutex<()>,
}

/// (enterprise, item) → (stock posted, stock available, custody posted), in the item's smallest unit.
pub type ItemBalances = BTreeMap<(String, String), (i128, i128, i128)>;

/// What recording a ledger document did.
#[derive(Debug, Clone, PartialEq)]
pub enum LedgerRecorded {
    Created(Value),
    Repeat(Value),
}

impl LedgerRecorded {
    pub fn body(&self) -> &Value {
        match self {
            LedgerRecorded::Created(v) | LedgerRecorded::Repeat(v) => v,
        }
    }
}

/// A planned document: its transfers and what it answers, plus new items and accounts.
struct Planned {
    number: String,
    items: Vec<LedgerItem>,
    accounts: Vec<Account>,
    transfers: Vec<Transfer>,
    result: Value,
}

fn field_errors(problems: Vec<Problem>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for p in problems {
        errors.add(p.code, p.field, p.message);
    }
    errors
}

fn errors_of(problems: Vec<Problem>) -> AppError {
    AppError::Invalid(field_errors(problems))
}

fn one_error(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> AppError {
    errors_of(vec![Problem::new(code, field, message)])
}

fn parse_body<T: DeserializeOwned>(body: &Value) -> AppResult<T> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        one_error("structure", field, e.inner().to_string())
    })
}

fn lock_poisoned() -> AppError {
    AppError::Internal("ledger lock poisoned".into())
}

/// A decimal text in an item's unit → integer smallest units.
fn units(text: &str, scale: u8) -> Result<u64, String> {
    let value: Decimal = text.trim().parse().map_err(|_| format!("`{text}` is not a decimal number"))?;
    if value.is_sign_negative() {
        return Err(format!("`{text}` is negative"));
    }
    let scaled = value * Decimal::from(10u64.pow(scale as u32));
    if scaled.fract() != Decimal::ZERO {
        return Err(format!("`{text}` has more than {scale} decimal places, the item's precision"));
    }
    u64::try_from(scaled.trunc().mantissa() / 10i128.pow(scaled.trunc().scale()))
        .ok()
        .filter(|q| *q <= i64::MAX as u64)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A CNY amount text → fen.
fn fen(text: &str) -> Result<u64, String> {
    units(text, 2).map_err(|e| e.replace("the item's precision", "fen"))
}

fn cny(fen: impl Into<i128>) -> String {
    fen_string(Decimal::from_i128_with_scale(fen.into(), 2))
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// Converts quantity lines against the enterprise's items, collecting problems under `field`.
fn quantity_lines(
    book: &LedgerBook,
    enterprise: &str,
    lines: &[QuantityBody],
    field: &str,
    problems: &mut Vec<Problem>,
) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match book.item(enterprise, &line.item_no) {
            None => problems.push(Problem::new(
                "item_unknown",
                format!("{field}[{i}].item_no"),
                format!("item `{}` is not on the ledger of {enterprise}", line.item_no),
            )),
            Some(item) => match units(&line.quantity, item.quantity_scale) {
                Ok(quantity) => out.push(Line { item_no: line.item_no.clone(), quantity, value_fen: None }),
                Err(message) => problems.push(Problem::new("quantity", format!("{field}[{i}].quantity"), message)),
            },
        }
    }
    out
}

fn transfer_ids(transfers: &[Transfer]) -> Vec<String> {
    transfers.iter().map(|t| t.id.0.to_string()).collect()
}

fn transfers_json(book: &LedgerBook, transfers: &[Transfer]) -> Vec<Value> {
    transfers
        .iter()
        .map(|t| {
            let account = book.engine.account(t.debit_account_id).or_else(|| book.engine.account(t.credit_account_id));
            let (item_no, scale) = account
                .map(|r| {
                    let scale = book.engine.item(&r.account.ledger).map_or(0, |i| i.quantity_scale);
                    (r.account.ledger.item_no.clone(), scale)
                })
                .unwrap_or_default();
            let kind =
                |id| book.engine.account(id).map(|r| serde_json::to_value(r.account.kind).unwrap_or(Value::Null));
            json!({
                "id": t.id.0.to_string(),
                "item_no": item_no,
                "code": t.code,
                "from": kind(t.debit_account_id),
                "to": kind(t.credit_account_id),
                "quantity": format_quantity(t.quantity as i128, scale),
                "value_cny": cny(t.value_fen),
                "phase": if t.flags.pending { "pending" } else if t.flags.post_pending { "posted" }
                         else if t.flags.void_pending { "voided" } else { "posted" },
                "pending_id": t.pending_id.map(|p| p.0.to_string()),
                "reference": t.reference,
                "timestamp": t.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            })
        })
        .collect()
}

impl App {
    fn ledger_book(&self) -> AppResult<std::sync::RwLockReadGuard<'_, LedgerBook>> {
        self.ledger.book.read().map_err(|_| lock_poisoned())
    }

    fn authorize_ledger(&self, who: &Principal, action: Action, enterprise: &str) -> AppResult<()> {
        self.authorize(who, action, &Resource::Party { id: enterprise.to_owned(), kind: PartyKind::Enterprise })
    }

    /// Rebuilds the ledger from the store: the engine replays the log, the indexes fold every document.
    pub(crate) async fn load_ledger(&self) -> AppResult<()> {
        let log = self.store.ledger_log().await?;
        let mut book = LedgerBook::default();
        for item in log.items {
            book.keepers.insert(item.key.enterprise_uscc.clone());
            book.engine.create_item(item).map_err(|e| AppError::Internal(format!("ledger replay: item {e}")))?;
        }
        for account in log.accounts {
            book.engine
                .create_account(account)
                .map_err(|e| AppError::Internal(format!("ledger replay: account {e}")))?;
        }
        // Recorded transfers were accepted once, chain by chain (a document's chain is never split), so
        // they replay as one batch and the engine holds them exactly as stored.
        let results = book.engine.apply(&log.transfers);
        let refused = results.iter().zip(&log.transfers).find_map(|(result, t)| match result {
            Err(e) if e.id() != "linked_event_failed" => Some((t.id.0, *e)),
            _ => None,
        });
        if let Some((id, e)) = refused {
            return Err(AppError::Internal(format!("ledger replay: transfer {id} refused: {e}")));
        }
        let mut after = None;
        loop {
            let page = self.store.list_ledger_documents(None, None, after, zonegate_store::PAGE_SIZE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            for doc in &page {
                fold(&mut book, doc)?;
            }
        }
        *self.ledger.book.write().map_err(|_| lock_poisoned())? = book;
        Ok(())
    }

    /// Records a ledger document of `kind` (a [`KINDS`] kind or path segment) for `enterprise`.
    pub async fn record_ledger(
        &self,
        who: &Principal,
        enterprise: &str,
        kind: &str,
        body: &Value,
    ) -> AppResult<LedgerRecorded> {
        let Some((kind, action)) = kind_of_path(kind) else {
            let known: Vec<&str> = KINDS.iter().map(|(p, _, _)| *p).collect();
            return Err(AppError::not_found(format!("ledger document kind `{kind}` (known: {})", known.join(", "))));
        };
        self.authorize_ledger(who, action, enterprise)?;
        let text = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = match kind {
            "item" => text("item_no"),
            // A bill of materials is numbered by its product and version.
            "bom" => match body.get("version").and_then(Value::as_u64) {
                Some(version) => format!("{}@{version}", text("product")),
                None => String::new(),
            },
            _ => text("number"),
        };
        if number.is_empty() || number.len() > 64 || number.chars().any(|c| c.is_control() || c == '/') {
            let field = match kind {
                "item" => "item_no",
                "bom" => "product",
                _ => "number",
            };
            return Err(one_error(field, field, "a document number: 1–64 characters, no `/` or control characters"));
        }
        self.record_ledger_as(&who.user_id, enterprise, kind, number, body).await
    }

    /// Records a ledger document once its caller is authorized and its number checked: the lock, the repeat
    /// check, plan, apply, store and fold. The app's own kinds ([`KIND_CBEC_RELEASE`]) come here directly;
    /// a draw the ledger refuses is recorded too, without transfers, with every problem as its result.
    async fn record_ledger_as(
        &self,
        recorded_by: &str,
        enterprise: &str,
        kind: &str,
        number: String,
        body: &Value,
    ) -> AppResult<LedgerRecorded> {
        let body_json = zonegate_wire::canonical_json(body);
        let body_sha256 = zonegate_wire::document_sha256(body);
        let _writes = self.ledger.writes.lock().await;
        let key = (enterprise.to_owned(), kind.to_owned(), number.clone());
        let existing = self.ledger_book()?.documents.get(&key).cloned();
        if let Some(existing) = existing {
            if existing != body_sha256 {
                return Err(AppError::Clash(format!(
                    "{kind} `{number}` of {enterprise} was recorded before with other content"
                )));
            }
            let stored = self.store.get_ledger_document(enterprise, kind, &number).await?;
            return Ok(LedgerRecorded::Repeat(document_body(&stored)?));
        }
        if self.party(enterprise).is_none() {
            return Err(one_error(
                "enterprise_unknown",
                "enterprise",
                format!("{enterprise} is not a known enterprise"),
            ));
        }
        let now = self.now();
        // The declaration a list or gate pass depends on, read before planning.
        let declaration_id = match kind {
            "list" => body.get("declaration_id").and_then(Value::as_i64),
            "gate_pass" => {
                let list = body.get("list").and_then(Value::as_str).unwrap_or_default().to_owned();
                self.ledger_book()?.lists.get(&(enterprise.to_owned(), list)).map(|l| l.declaration_id)
            }
            _ => None,
        };
        let facts = match declaration_id {
            Some(id) => self.declaration_facts(id).await?,
            None => None,
        };
        let planned = {
            let book = self.ledger_book()?;
            self.plan(&book, enterprise, kind, body, facts, now)
        };
        let mut planned = match planned {
            // Customs released the goods already: a draw the ledger cannot make is kept as a refusal.
            Err(AppError::Invalid(errors)) if kind == KIND_CBEC_RELEASE => refused_draw(&number, body, errors),
            other => other?,
        };
        debug_assert_eq!(planned.number, number);
        // Apply: new items and accounts, then the chain (all or nothing).
        {
            let mut book = self.ledger.book.write().map_err(|_| lock_poisoned())?;
            for item in &planned.items {
                book.engine.create_item(item.clone()).map_err(|e| one_error(e.id(), "item_no", e.to_string()))?;
                book.keepers.insert(item.key.enterprise_uscc.clone());
            }
            for account in &planned.accounts {
                book.engine.create_account(account.clone()).map_err(|e| AppError::Internal(format!("account: {e}")))?;
            }
            if !planned.transfers.is_empty() {
                let results = book.engine.apply(&planned.transfers);
                let problems: Vec<Problem> = results
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| match r {
                        Err(e) if e.id() != "linked_event_failed" => Some(Problem::new(
                            "ledger_refused",
                            format!("transfers[{i}]"),
                            format!("the ledger refused the movement: {}", e.id()),
                        )),
                        _ => None,
                    })
                    .collect();
                if !problems.is_empty() {
                    if kind != KIND_CBEC_RELEASE {
                        return Err(errors_of(problems));
                    }
                    // The chain applied nothing: the refusal is recorded instead.
                    planned = refused_draw(&number, body, field_errors(problems));
                }
            }
        }
        let record = NewLedgerDocument {
            enterprise: enterprise.to_owned(),
            kind: kind.to_owned(),
            number: number.clone(),
            body_json,
            body_sha256,
            result_json: planned.result.to_string(),
            recorded_by: recorded_by.to_owned(),
            recorded_at: now,
            items: planned.items,
            accounts: planned.accounts,
            transfers: planned.transfers,
        };
        let outcome = match self.store.record_ledger_document(record).await {
            Ok(outcome) => outcome,
            Err(error) => {
                // The engine applied what the store did not keep: rebuild it from the store.
                if let Err(reload) = self.load_ledger().await {
                    tracing::error!(%reload, "ledger reload after a failed write failed");
                }
                return Err(error.into());
            }
        };
        match outcome {
            LedgerDocumentOutcome::Created(stored) => {
                let mut book = self.ledger.book.write().map_err(|_| lock_poisoned())?;
                fold(&mut book, &stored)?;
                Ok(LedgerRecorded::Created(document_body(&stored)?))
            }
            // Another process recorded it first: our engine is ahead of the store.
            LedgerDocumentOutcome::Repeat(stored) | LedgerDocumentOutcome::Conflict(stored) => {
                self.load_ledger().await?;
                Err(AppError::Clash(format!(
                    "{kind} `{}` of {enterprise} was recorded concurrently; retry",
                    stored.number
                )))
            }
        }
    }

    fn plan(
        &self,
        book: &LedgerBook,
        enterprise: &str,
        kind: &str,
        body: &Value,
        facts: Option<DeclarationFacts>,
        now: DateTime<Utc>,
    ) -> AppResult<Planned> {
        match kind {
            "item" => self.plan_item(book, enterprise, parse_body(body)?),
            "list" => plan_list(book, enterprise, parse_body(body)?, facts, now),
            "list_cancellation" => plan_list_cancellation(book, enterprise, parse_body(body)?, now),
            "gate_pass" => plan_gate(book, enterprise, parse_body(body)?, facts, now),
            "bom" => plan_bom(book, enterprise, parse_body(body)?),
            "processing_run" => plan_run(book, enterprise, parse_body(body)?, now),
            "exhibition" => plan_exhibition(book, enterprise, parse_body(body)?, now),
            "exhibition_return" => plan_exhibition_return(book, enterprise, parse_body(body)?, now),
            "exhibition_sale" => self.plan_sale(book, enterprise, parse_body(body)?, now),
            "patrol" => plan_patrol(book, enterprise, parse_body(body)?),
            "lease" => plan_lease(book, enterprise, parse_body(body)?, now),
            "lease_instalment" => self.plan_instalment(book, enterprise, parse_body(body)?),
            "lease_return" => plan_return_of_lease(book, enterprise, parse_body(body)?, now),
            "stocktake" => self.plan_stocktake(book, enterprise, parse_body(body)?, now),
            "correction" => plan_correction(book, enterprise, parse_body(body)?, now),
            KIND_CBEC_RELEASE => plan_cbec_release(book, enterprise, parse_body(body)?, now),
            KIND_CBEC_RETURN => plan_cbec_return(book, enterprise, parse_body(body)?, now),
            other => Err(AppError::not_found(format!("ledger document kind `{other}`"))),
        }
    }

    fn plan_item(&self, book: &LedgerBook, enterprise: &str, body: ItemBody) -> AppResult<Planned> {
        let mut errors = FieldErrors::default();
        if let Err(e) = HsCode::parse(&body.hs) {
            errors.add(e.code, "hs", e.message);
        } else if !self.book().tariff.lines.contains_key(&body.hs[..8.min(body.hs.len())]) {
            errors.add("hs_unknown", "hs", format!("tariff line `{}` is not in the schedule", body.hs));
        }
        if let Err(e) = UnitCode::parse(&body.unit) {
            errors.add(e.code, "unit", e.message);
        }
        if let Some(origin) = &body.origin {
            if let Err(e) = zonegate_domain::CountryCode::parse(origin) {
                errors.add(e.code, "origin", e.message);
            }
        }
        if body.quantity_scale > 6 {
            errors.add("range", "quantity_scale", "at most 6 decimal places");
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let key = LedgerKey::new(enterprise, &body.item_no);
        let item = LedgerItem {
            key: key.clone(),
            hs_code: body.hs.clone(),
            unit: body.unit.clone(),
            quantity_scale: body.quantity_scale,
            treatment: body.treatment,
        };
        if book.engine.item(&key).is_some() {
            return Err(one_error(
                "item_exists",
                "item_no",
                format!("item `{}` is on the ledger already", body.item_no),
            ));
        }
        let accounts: Vec<Account> = AccountKind::ALL
            .iter()
            .map(|kind| Account::new(zonegate_ledger::AccountId::derive(&key, *kind).0, key.clone(), *kind))
            .collect();
        Ok(Planned {
            number: body.item_no.clone(),
            result: json!({ "item": item, "accounts": accounts.len() }),
            items: vec![item],
            accounts,
            transfers: Vec::new(),
        })
    }
}

fn plan_list(
    book: &LedgerBook,
    enterprise: &str,
    body: ListBody,
    declaration: Option<DeclarationFacts>,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let mut problems = Vec::new();
    match &declaration {
        None => problems.push(Problem::new(
            "declaration_unknown",
            "declaration_id",
            format!("declaration {} is not recorded", body.declaration_id),
        )),
        Some(d) => {
            if d.declarant != enterprise && d.importer != enterprise {
                problems.push(Problem::new(
                    "declaration_not_of_enterprise",
                    "declaration_id",
                    format!(
                        "declaration {} names neither {enterprise} as declarant nor as importer",
                        body.declaration_id
                    ),
                ));
            }
            if d.flow != body.movement.flow() {
                problems.push(Problem::new(
                    "movement_flow_mismatch",
                    "movement",
                    format!(
                        "a `{}` list needs a `{}` declaration; declaration {} is `{}`",
                        serde_json::to_value(body.movement).unwrap_or_default().as_str().unwrap_or(""),
                        body.movement.flow(),
                        body.declaration_id,
                        d.flow
                    ),
                ));
            }
            if d.channel == "refuse" {
                problems.push(Problem::new("declaration_refused", "declaration_id", "the declaration was refused"));
            }
        }
    }
    let (code, from, to) = body.movement.transfer();
    let mut lines = Vec::new();
    let mut content_taken = Vec::new();
    for (i, line) in body.lines.iter().enumerate() {
        let Some(item) = book.item(enterprise, &line.item_no) else {
            problems.push(Problem::new(
                "item_unknown",
                format!("lines[{i}].item_no"),
                format!("item `{}` is not on the ledger of {enterprise}", line.item_no),
            ));
            continue;
        };
        if let Some(d) = &declaration {
            if !d.hs.iter().any(|hs| item.hs_code.starts_with(hs.as_str()) || hs.starts_with(&item.hs_code)) {
                problems.push(Problem::new(
                    "hs_not_on_declaration",
                    format!("lines[{i}].item_no"),
                    format!(
                        "item `{}` (HS {}) is on no line of declaration {}",
                        line.item_no, item.hs_code, body.declaration_id
                    ),
                ));
            }
        }
        let quantity = match units(&line.quantity, item.quantity_scale) {
            Ok(q) => q,
            Err(m) => {
                problems.push(Problem::new("quantity", format!("lines[{i}].quantity"), m));
                continue;
            }
        };
        let value_fen = match &line.value_cny {
            None => None,
            Some(text) => match fen(text) {
                Ok(v) => Some(v),
                Err(m) => {
                    problems.push(Problem::new("value", format!("lines[{i}].value_cny"), m));
                    continue;
                }
            },
        };
        if body.movement == Movement::SecondLineExit {
            if let Some(content) = book.content.get(&(enterprise.to_owned(), line.item_no.clone())) {
                if content.quantity > 0 {
                    match content.share(quantity) {
                        Some((imported, domestic)) => {
                            content_taken.push((line.item_no.clone(), quantity, imported, domestic))
                        }
                        None => problems.push(Problem::new(
                            "processed_quantity_exceeded",
                            format!("lines[{i}].quantity"),
                            format!(
                                "only {} of item `{}` made in the zone is still in stock",
                                format_quantity(content.quantity as i128, item.quantity_scale),
                                line.item_no
                            ),
                        )),
                    }
                }
            }
        }
        lines.push(Line { item_no: line.item_no.clone(), quantity, value_fen });
    }
    let ids = DocumentIds { enterprise, kind: "list", number: &body.number };
    let planned = plan_movement(&book.engine, ids, 0, code, from, to, &lines, true, now);
    let transfers = with_problems(problems, planned).map_err(errors_of)?;
    let result = json!({
        "list": body.number,
        "declaration_id": body.declaration_id,
        "movement": body.movement,
        "reserved": transfer_ids(&transfers),
        "content_taken": content_taken.iter().map(|(item, q, imp, dom)| json!({"item_no": item, "quantity": q, "imported_materials_fen": imp, "domestic_materials_fen": dom})).collect::<Vec<_>>(),
        "transfers": transfers_json(book, &transfers),
    });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn plan_gate(
    book: &LedgerBook,
    enterprise: &str,
    body: GatePassBody,
    declaration: Option<DeclarationFacts>,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let Some(list) = book.lists.get(&(enterprise.to_owned(), body.list.clone())) else {
        return Err(one_error("list_unknown", "list", format!("list `{}` of {enterprise} is not recorded", body.list)));
    };
    // A list is deducted only when its declaration is released (Golden Customs II).
    if let Some(d) = declaration {
        let held = match d.channel.as_str() {
            "refuse" | "hold" => Some(format!("declaration {} is on `{}`", list.declaration_id, d.channel)),
            "inspection" if !d.inspected_clear => Some(format!(
                "declaration {} awaits its inspection result (no finding) before release",
                list.declaration_id
            )),
            _ => None,
        };
        if let Some(message) = held {
            return Err(one_error("declaration_not_released", "list", message));
        }
    }
    let mut problems = Vec::new();
    let lines = body.lines.as_ref().map(|lines| {
        lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let scale = book.item(enterprise, &l.item_no).map_or(0, |it| it.quantity_scale);
                match units(&l.quantity, scale) {
                    Ok(quantity) => Some(PassLine { item_no: l.item_no.clone(), quantity }),
                    Err(m) => {
                        problems.push(Problem::new("quantity", format!("lines[{i}].quantity"), m));
                        None
                    }
                }
            })
            .collect::<Vec<_>>()
    });
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let open = book.open_pendings(list);
    let ids = DocumentIds { enterprise, kind: "gate_pass", number: &body.number };
    let transfers = plan_gate_pass(&book.engine, ids, &open, lines.as_deref(), now).map_err(errors_of)?;
    let reserved: Vec<String> = transfers.iter().filter(|t| t.flags.pending).map(|t| t.id.0.to_string()).collect();
    let result = json!({
        "list": body.list,
        "vehicle": body.vehicle,
        "reserved": reserved,
        "transfers": transfers_json(book, &transfers),
    });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

impl App {
    fn plan_sale(
        &self,
        book: &LedgerBook,
        enterprise: &str,
        body: ExhibitionSaleBody,
        now: DateTime<Utc>,
    ) -> AppResult<Planned> {
        let state = exhibition_state(book, enterprise, &body.exhibition)?;
        let mut problems = Vec::new();
        let mut lines = Vec::new();
        let mut priced = Vec::new();
        for (i, l) in body.lines.iter().enumerate() {
            let scale = book.item(enterprise, &l.item_no).map_or(0, |it| it.quantity_scale);
            if let Ok(quantity) = units(&l.quantity, scale) {
                check_on_exhibition(state, i, &l.item_no, quantity, scale, &mut problems);
            }
        }
        for (i, l) in body.lines.iter().enumerate() {
            let Some(item) = book.item(enterprise, &l.item_no) else {
                problems.push(Problem::new(
                    "item_unknown",
                    format!("lines[{i}].item_no"),
                    format!("item `{}` is not on the ledger", l.item_no),
                ));
                continue;
            };
            let q = units(&l.quantity, item.quantity_scale)
                .map_err(|m| problems.push(Problem::new("quantity", format!("lines[{i}].quantity"), m)))
                .ok();
            let p = fen(&l.price_cny)
                .map_err(|m| problems.push(Problem::new("value", format!("lines[{i}].price_cny"), m)))
                .ok();
            if let (Some(q), Some(p)) = (q, p) {
                lines.push(Line { item_no: l.item_no.clone(), quantity: q, value_fen: None });
                priced.push((item.clone(), q, p));
            }
        }
        let ids = DocumentIds { enterprise, kind: "exhibition_sale", number: &body.number };
        let transfers =
            with_problems(problems, plan_exhibition_sale(&book.engine, ids, &lines, now)).map_err(errors_of)?;
        let taxes =
            self.second_line_taxes(enterprise, body.sold_on, &priced, &format!("exhibition-sale-{}", body.number))?;
        let result = json!({
            "exhibition": body.exhibition,
            "sold_on": body.sold_on,
            "taxes": taxes,
            "transfers": transfers_json(book, &transfers),
        });
        Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
    }

    fn plan_instalment(&self, book: &LedgerBook, enterprise: &str, body: LeaseInstalmentBody) -> AppResult<Planned> {
        let Some(state) = book.leases.get(&(enterprise.to_owned(), body.lease.clone())) else {
            return Err(one_error("lease_unknown", "lease", format!("lease `{}` is not recorded", body.lease)));
        };
        let Some(instalment) = body.instalment.checked_sub(1).and_then(|i| state.lease.schedule.get(i)) else {
            return Err(one_error(
                "instalment_unknown",
                "instalment",
                format!("lease `{}` has {} instalments (1-based)", body.lease, state.lease.schedule.len()),
            ));
        };
        if let Some(by) = state.taxed.get(&(body.instalment - 1)) {
            return Err(one_error(
                "instalment_taxed",
                "instalment",
                format!("instalment {} was taxed by `{by}`", body.instalment),
            ));
        }
        let today = self.now().date_naive();
        if instalment.due_on > today {
            return Err(one_error(
                "instalment_not_due",
                "instalment",
                format!("instalment {} falls due on {}; it is taxed on its date", body.instalment, instalment.due_on),
            ));
        }
        let taxes = if state.lease.lessee_in_mainland {
            // The rent is the customs value of goods leased into the customs territory, taxed instalment by
            // instalment on its due date; the lines share the rent by their book value.
            let lines = &state.lease.lines;
            let total: u64 = lines.iter().map(|l| l.quantity.max(1)).sum();
            let mut priced = Vec::new();
            let mut given = 0u64;
            for (i, l) in lines.iter().enumerate() {
                let Some(item) = book.item(enterprise, &l.item_no) else { continue };
                let share = if i + 1 == lines.len() {
                    instalment.rent_fen - given
                } else {
                    zonegate_ledger::movement::pro_rata(instalment.rent_fen, l.quantity.max(1), total)
                };
                given += share;
                priced.push((item.clone(), l.quantity, share));
            }
            self.second_line_taxes(
                enterprise,
                instalment.due_on,
                &priced,
                &format!("lease-{}-{}", body.lease, body.instalment),
            )?
        } else {
            json!({ "payable_cny": "0.00", "note": "the lessee is not in the customs territory: no import taxes" })
        };
        let result = json!({
            "lease": body.lease,
            "instalment": body.instalment,
            "due_on": instalment.due_on,
            "rent_cny": cny(instalment.rent_fen),
            "taxes": taxes,
        });
        Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers: vec![], result })
    }

    fn plan_stocktake(
        &self,
        book: &LedgerBook,
        enterprise: &str,
        body: StocktakeBody,
        now: DateTime<Utc>,
    ) -> AppResult<Planned> {
        let mut problems = Vec::new();
        let mut counts = BTreeMap::new();
        for (i, c) in body.counts.iter().enumerate() {
            match book.item(enterprise, &c.item_no) {
                None => problems.push(Problem::new(
                    "item_unknown",
                    format!("counts[{i}].item_no"),
                    format!("item `{}` is not on the ledger", c.item_no),
                )),
                Some(item) => match units(&c.quantity, item.quantity_scale) {
                    Ok(q) => {
                        counts.insert(c.item_no.clone(), q);
                    }
                    Err(m) => problems.push(Problem::new("quantity", format!("counts[{i}].quantity"), m)),
                },
            }
        }
        if midnight(body.from) > now {
            problems.push(Problem::new("range", "from", "the period starts in the future"));
        }
        if !problems.is_empty() {
            return Err(errors_of(problems));
        }
        // The period ends just after now, so every posted movement so far counts.
        let to = now + chrono::TimeDelta::microseconds(1);
        let report = write_off_report(&book.engine, enterprise, midnight(body.from), to, &counts);
        let ids = DocumentIds { enterprise, kind: "stocktake", number: &body.number };
        let transfers = plan_stocktake(&book.engine, ids, &report, now).map_err(errors_of)?;
        // Shortages are goods gone from supervision: the taxes due on them, as a second-line import today.
        let mut priced = Vec::new();
        for t in transfers.iter().filter(|t| t.code == TransferCode::StocktakeShortage) {
            if let Some(r) = book.engine.account(t.debit_account_id) {
                if let Some(item) = book.engine.item(&r.account.ledger) {
                    priced.push((item.clone(), t.quantity, t.value_fen));
                }
            }
        }
        let taxes = if priced.is_empty() {
            json!({ "payable_cny": "0.00" })
        } else {
            self.second_line_taxes(enterprise, now.date_naive(), &priced, &format!("stocktake-{}", body.number))?
        };
        let result = json!({
            "report": report_json(&report),
            "shortage_taxes": taxes,
            "transfers": transfers_json(book, &transfers),
        });
        Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
    }

    /// The taxes due on goods entering the customs territory from the ledger: the goods assessed as a
    /// `second_line_out` import on `date` by the declaration engine (same rates, rounding and thresholds).
    fn second_line_taxes(
        &self,
        enterprise: &str,
        date: NaiveDate,
        goods: &[(LedgerItem, u64, u64)],
        reference: &str,
    ) -> AppResult<Value> {
        let origins: Vec<Option<String>> = {
            let book = self.ledger_book()?;
            goods
                .iter()
                .map(|(item, _, _)| book.origins.get(&(enterprise.to_owned(), item.key.item_no.clone())).cloned())
                .collect()
        };
        let items: Vec<Value> = goods
            .iter()
            .zip(origins)
            .map(|((item, quantity, value_fen), origin)| {
                json!({
                    "origin": origin,
                    "hs": &item.hs_code[..8.min(item.hs_code.len())],
                    "description": format!("ledger item {}", item.key.item_no),
                    "quantity": format_quantity((*quantity).max(1) as i128, item.quantity_scale),
                    "unit": item.unit,
                    "value": cny(*value_fen),
                })
            })
            .collect();
        let reference: String = reference
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
            .take(64)
            .collect();
        let document = json!({
            "reference": reference,
            "flow": "second_line_out",
            "declared_on": date.to_string(),
            "declarant": enterprise,
            "importer": enterprise,
            "purpose": "resale",
            "currency": "CNY",
            "exchange_rate": "1",
            "value_basis": "CIF",
            "items": items,
        });
        let book = self.book();
        // Problems name the document's own lines (`lines[i]`), not the assessed import's items.
        let relabel = |mut errors: FieldErrors| {
            for e in &mut errors.0 {
                e.field = e.field.replacen("items[", "lines[", 1);
            }
            AppError::Invalid(errors)
        };
        let declaration = crate::parse_declaration(&book, &document).map_err(relabel)?;
        let party = self.party(enterprise);
        let assessment =
            zonegate_policy::assess(&book, &declaration, party.as_ref(), party.as_ref()).map_err(relabel)?;
        let t = &assessment.totals;
        Ok(json!({
            "assessed_on": date,
            "duty_cny": fen_string(t.duty_cny),
            "consumption_tax_cny": fen_string(t.consumption_tax_cny),
            "vat_cny": fen_string(t.vat_cny),
            "payable_cny": fen_string(t.payable_cny),
            "waived_cny": fen_string(t.waived_cny()),
            "basis": assessment.items.iter().map(|i| json!({"treatment": i.treatment.as_str(), "basis": i.basis})).collect::<Vec<_>>(),
        }))
    }

    /// Facts of a recorded declaration the ledger checks: parties, flow, channel, HS lines, inspection.
    async fn declaration_facts(&self, id: i64) -> AppResult<Option<DeclarationFacts>> {
        let stored = match self.store.get_declaration(id).await {
            Ok(stored) => stored,
            Err(zonegate_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let inspection = match self.store.get_inspection(id).await {
            Ok(i) => Some(i),
            Err(zonegate_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let document: Value = serde_json::from_str(&stored.document_json)
            .map_err(|e| AppError::Internal(format!("stored document {id}: {e}")))?;
        let hs = document
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get("hs").and_then(Value::as_str))
                    .map(|h| h.chars().take(8).collect())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(DeclarationFacts {
            declarant: stored.declarant,
            importer: document.get("importer").and_then(Value::as_str).unwrap_or_default().to_owned(),
            flow: stored.flow,
            channel: stored.channel,
            hs,
            inspected_clear: inspection.is_some_and(|i| i.outcome == "no_finding"),
        }))
    }

    // ---- Reads ----

    /// An enterprise's ledger: every item with its custody balances (stock, exhibited, leased), reservations
    /// and the trial-balance check.
    pub fn ledger_overview(&self, who: &Principal, enterprise: &str) -> AppResult<Value> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        let book = self.ledger_book()?;
        let items: Vec<Value> =
            book.engine.enterprise_items(enterprise).into_iter().map(|item| item_json(&book, item)).collect();
        Ok(json!({ "enterprise": enterprise, "items": items }))
    }

    /// One item: its balances per account and every transfer touching its stock.
    pub fn ledger_item(&self, who: &Principal, enterprise: &str, item_no: &str) -> AppResult<Value> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        let book = self.ledger_book()?;
        let key = LedgerKey::new(enterprise, item_no);
        let Some(item) = book.engine.item(&key) else {
            return Err(AppError::not_found(format!("ledger item `{item_no}` of {enterprise}")));
        };
        let mut body = item_json(&book, item);
        let mut seen = std::collections::HashSet::new();
        let mut transfers: Vec<&Transfer> = Vec::new();
        for kind in AccountKind::ALL {
            for t in book.engine.account_transfers(zonegate_ledger::AccountId::derive(&key, kind)) {
                if seen.insert(t.id) {
                    transfers.push(t);
                }
            }
        }
        transfers.sort_by_key(|t| (t.timestamp, t.id));
        let owned: Vec<Transfer> = transfers.into_iter().cloned().collect();
        body["transfers"] = json!(transfers_json(&book, &owned));
        if let Some(content) = book.content.get(&(enterprise.to_owned(), item_no.to_owned())) {
            body["made_in_zone"] = json!({
                "quantity": format_quantity(content.quantity as i128, item.quantity_scale),
                "imported_materials_cny": cny(content.imported_fen as i128),
                "domestic_materials_cny": cny(content.domestic_fen as i128),
            });
        }
        Ok(body)
    }

    /// A recorded document with its result.
    pub async fn ledger_document(
        &self,
        who: &Principal,
        enterprise: &str,
        kind: &str,
        number: &str,
    ) -> AppResult<Value> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        let kind = listed_kind(kind).ok_or_else(|| AppError::not_found(format!("ledger document kind `{kind}`")))?;
        match self.store.get_ledger_document(enterprise, kind, number).await {
            Ok(stored) => document_body(&stored),
            Err(zonegate_store::StoreError::NotFound) => {
                Err(AppError::not_found(format!("{kind} `{number}` of {enterprise}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The enterprise's documents, ascending, after a cursor.
    pub async fn ledger_documents(
        &self,
        who: &Principal,
        enterprise: &str,
        kind: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> AppResult<Vec<Value>> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        let kind = match kind {
            Some(k) => Some(
                listed_kind(k)
                    .ok_or_else(|| one_error("kind_unknown", "kind", format!("`{k}` is not a ledger document kind")))?,
            ),
            None => None,
        };
        let page = self.store.list_ledger_documents(Some(enterprise), kind, after, limit).await?;
        page.iter().map(document_body).collect()
    }

    /// The data-patrol report (measure 2): exhibitions overdue or with goods gone without a taxed sale.
    pub fn ledger_patrol(&self, who: &Principal, enterprise: &str, on: NaiveDate) -> AppResult<Value> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        let book = self.ledger_book()?;
        let mut states: Vec<ExhibitionState> =
            book.exhibitions.iter().filter(|((e, _), _)| e == enterprise).map(|(_, (_, s))| s.clone()).collect();
        states.sort_by(|a, b| a.exhibition.cmp(&b.exhibition));
        let report = patrol(&states, on);
        let mut leases: Vec<Value> = book
            .leases
            .iter()
            .filter(|((e, _), _)| e == enterprise)
            .flat_map(|((_, number), s)| {
                s.lease.instalments_due(on).into_iter().filter(|(i, _)| !s.taxed.contains_key(i)).map(move |(i, inst)| {
                    json!({ "lease": number, "instalment": i + 1, "due_on": inst.due_on, "rent_cny": cny(inst.rent_fen), "finding": "instalment_untaxed" })
                })
            })
            .collect();
        leases.sort_by_key(|a| a.to_string());
        // Goods customs released to buyers while the ledger had no stock to give: they left without it on
        // the book.
        let mut cbec: Vec<Value> = book
            .cbec_draws
            .iter()
            .filter(|(_, d)| d.enterprise == enterprise && !d.problems.is_empty())
            .map(|(order, d)| {
                json!({
                    "finding": "cbec_draw_refused",
                    "order": order,
                    "document": format!("{KIND_CBEC_RELEASE}/{}", d.number),
                    "problems": d.problems,
                })
            })
            .collect();
        cbec.sort_by(|a, b| a["order"].as_str().cmp(&b["order"].as_str()));
        Ok(json!({ "enterprise": enterprise, "on": on, "findings": report.findings, "leases": leases, "cbec": cbec }))
    }

    /// The write-off (核销) statement of an enterprise for `[from, to]` (dates, UTC), without counts.
    pub fn ledger_write_off(
        &self,
        who: &Principal,
        enterprise: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<(Value, String)> {
        self.authorize_ledger(who, Action::LedgerRead, enterprise)?;
        if from > to {
            return Err(one_error("range", "from", format!("{from} is after {to}")));
        }
        let book = self.ledger_book()?;
        let report = write_off_report(
            &book.engine,
            enterprise,
            midnight(from),
            midnight(to + chrono::TimeDelta::days(1)),
            &BTreeMap::new(),
        );
        Ok((report_json(&report), report.to_csv()))
    }

    /// The processing figures of the 30 % rule for `quantity` (text, in the item's unit) of a product made
    /// in the zone, from the ledger: `None` when the item holds no goods made in the zone.
    pub(crate) fn ledger_processing(
        &self,
        enterprise: &str,
        item_no: &str,
        quantity: &str,
    ) -> Result<Option<(u64, u64)>, String> {
        let book = self.ledger_book().map_err(|e| e.to_string())?;
        let Some(item) = book.item(enterprise, item_no) else {
            return Err(format!("item `{item_no}` is not on the ledger of {enterprise}"));
        };
        let q = units(quantity, item.quantity_scale)?;
        match book.content.get(&(enterprise.to_owned(), item_no.to_owned())) {
            Some(content) if content.quantity > 0 => content.share(q).map(Some).ok_or_else(|| {
                format!(
                    "only {} of item `{item_no}` made in the zone is in stock",
                    format_quantity(content.quantity as i128, item.quantity_scale)
                )
            }),
            _ => Ok(None),
        }
    }

    /// A `second_line_out` document whose items name a ledger item (`item_no`) of the declarant, with the
    /// 30 % rule's material figures taken from the ledger (measure: processing value added): the imported
    /// and domestic material values of that quantity of goods made in the zone, from the processing runs
    /// that made them. The sale price is `processing.sale_price_cny` when given, else the item's value in
    /// CNY. Figures typed by the declarant must agree with the ledger's. `None` when nothing changes.
    pub(crate) fn with_ledger_processing(&self, document: &Value) -> AppResult<Option<Value>> {
        if document.get("flow").and_then(Value::as_str) != Some("second_line_out") {
            return Ok(None);
        }
        let Some(items) = document.get("items").and_then(Value::as_array) else { return Ok(None) };
        if !items.iter().any(|i| i.get("item_no").is_some()) {
            return Ok(None);
        }
        let declarant = document.get("declarant").and_then(Value::as_str).unwrap_or_default().to_owned();
        let currency = document.get("currency").and_then(Value::as_str).unwrap_or("CNY");
        let rate = document.get("exchange_rate").and_then(Value::as_str).and_then(|r| r.parse::<Decimal>().ok());
        let mut enriched = document.clone();
        let mut errors = FieldErrors::default();
        for (i, item) in items.iter().enumerate() {
            let Some(item_no) = item.get("item_no") else { continue };
            let Some(item_no) = item_no.as_str() else {
                errors.add("type", format!("items[{i}].item_no"), "`item_no` must be a string");
                continue;
            };
            let quantity = item.get("quantity").and_then(Value::as_str).unwrap_or_default();
            let figures = match self.ledger_processing(&declarant, item_no, quantity) {
                Ok(Some(figures)) => figures,
                // Nothing of the item was made in the zone: no processing figures, the goods are taxed.
                Ok(None) => continue,
                Err(message) => {
                    errors.add("ledger_item", format!("items[{i}].item_no"), message);
                    continue;
                }
            };
            let typed = item.get("processing");
            let typed_text =
                |k: &str| typed.and_then(|p| p.get(k)).and_then(Value::as_str).and_then(|v| v.parse::<Decimal>().ok());
            let (imported, domestic) = (
                Decimal::from_i128_with_scale(figures.0 as i128, 2),
                Decimal::from_i128_with_scale(figures.1 as i128, 2),
            );
            for (key, ledger) in [("imported_materials_cny", imported), ("domestic_materials_cny", domestic)] {
                if let Some(value) = typed_text(key) {
                    if value != ledger {
                        errors.add(
                            "processing_disagrees_with_ledger",
                            format!("items[{i}].processing.{key}"),
                            format!("the ledger says {} for this quantity of item `{item_no}`; leave the figure out or correct it", fen_string(ledger)),
                        );
                    }
                }
            }
            let value = item.get("value").and_then(Value::as_str).and_then(|v| v.parse::<Decimal>().ok());
            let sale = typed_text("sale_price_cny").or(match (currency, value, rate) {
                ("CNY", Some(v), _) => Some(v),
                (_, Some(v), Some(r)) => Some(zonegate_domain::round_fen(v * r)),
                _ => None,
            });
            let Some(sale) = sale else {
                errors.add(
                    "processing_sale_price",
                    format!("items[{i}].processing.sale_price_cny"),
                    "give the sale price in CNY (no exchange rate to convert the value)",
                );
                continue;
            };
            enriched["items"][i]["processing"] = json!({
                "imported_materials_cny": fen_string(imported),
                "domestic_materials_cny": fen_string(domestic),
                "sale_price_cny": fen_string(sale),
            });
        }
        if errors.is_empty() {
            Ok(Some(enriched))
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// Whether the ledger holds anything (for tests and the CLI).
    pub fn ledger_trial_balance_ok(&self) -> AppResult<bool> {
        let book = self.ledger_book()?;
        let mut keys: Vec<LedgerKey> = Vec::new();
        for d in book.documents.keys().filter(|(_, k, _)| k == "item") {
            keys.push(LedgerKey::new(&d.0, &d.2));
        }
        Ok(keys.iter().all(|k| book.engine.trial_balance(k).is_some_and(|tb| tb.is_balanced())))
    }

    /// Every item's balances as numbers, for checks: (enterprise, item) → (stock posted, stock available,
    /// custody posted) in smallest units.
    pub fn ledger_balances(&self) -> AppResult<ItemBalances> {
        let book = self.ledger_book()?;
        let mut out = BTreeMap::new();
        for (e, k, n) in book.documents.keys() {
            if k != "item" {
                continue;
            }
            let key = LedgerKey::new(e, n);
            let bal = |kind| book.engine.balance(zonegate_ledger::AccountId::derive(&key, kind));
            let stock = bal(AccountKind::Stock);
            let custody: i128 = [AccountKind::Stock, AccountKind::Exhibited, AccountKind::Leased]
                .into_iter()
                .filter_map(bal)
                .map(|b| b.posted_quantity)
                .sum();
            out.insert(
                (e.clone(), n.clone()),
                (stock.map_or(0, |b| b.posted_quantity), stock.map_or(0, |b| b.available_quantity), custody),
            );
        }
        Ok(out)
    }
}

struct DeclarationFacts {
    declarant: String,
    importer: String,
    flow: String,
    channel: String,
    hs: Vec<String>,
    inspected_clear: bool,
}

fn plan_list_cancellation(
    book: &LedgerBook,
    enterprise: &str,
    body: CancelBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let Some(list) = book.lists.get(&(enterprise.to_owned(), body.list.clone())) else {
        return Err(one_error("list_unknown", "list", format!("list `{}` of {enterprise} is not recorded", body.list)));
    };
    let open = book.open_pendings(list);
    let ids = DocumentIds { enterprise, kind: "list_cancellation", number: &body.number };
    let transfers = plan_cancel(ids, &open, now).map_err(errors_of)?;
    let result = json!({ "list": body.list, "reason": body.reason, "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn plan_bom(book: &LedgerBook, enterprise: &str, body: BomBody) -> AppResult<Planned> {
    let mut problems = Vec::new();
    let product_scale = book.item(enterprise, &body.product).map(|i| i.quantity_scale);
    let mut materials = Vec::new();
    for (i, m) in body.materials.iter().enumerate() {
        let scale = book.item(enterprise, &m.item_no).map(|i| i.quantity_scale).unwrap_or(0);
        let quantity = units(&m.quantity, scale)
            .map_err(|e| problems.push(Problem::new("quantity", format!("materials[{i}].quantity"), e)))
            .ok();
        let per = units(&m.per, product_scale.unwrap_or(0))
            .map_err(|e| problems.push(Problem::new("quantity", format!("materials[{i}].per"), e)))
            .ok();
        materials.push(BomLine { item_no: m.item_no.clone(), quantity: quantity.unwrap_or(1), per: per.unwrap_or(1) });
    }
    let bom = Bom {
        product_item_no: body.product.clone(),
        version: body.version,
        effective_from: body.effective_from,
        materials,
    };
    problems.extend(bom.problems(&book.engine, enterprise));
    if let Some(existing) = book.boms.get(enterprise, &body.product, body.version) {
        if *existing != bom {
            problems.push(Problem::new(
                "bom_version_exists",
                "version",
                format!(
                    "version {} of `{}` exists with other materials; add a new version",
                    body.version, body.product
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    Ok(Planned {
        number: format!("{}@{}", body.product, body.version),
        items: vec![],
        accounts: vec![],
        transfers: vec![],
        result: json!({ "bom": bom }),
    })
}

fn plan_run(book: &LedgerBook, enterprise: &str, body: RunBody, now: DateTime<Utc>) -> AppResult<Planned> {
    let Some(product) = book.item(enterprise, &body.product) else {
        return Err(one_error("item_unknown", "product", format!("item `{}` is not on the ledger", body.product)));
    };
    let quantity = units(&body.quantity, product.quantity_scale).map_err(|m| one_error("quantity", "quantity", m))?;
    let bom = match body.bom_version {
        Some(v) => book.boms.get(enterprise, &body.product, v),
        None => book.boms.in_force(enterprise, &body.product, body.produced_on),
    };
    let Some(bom) = bom else {
        return Err(one_error(
            "bom_unknown",
            "bom_version",
            format!("no bill of materials of `{}` is in force on {}", body.product, body.produced_on),
        ));
    };
    let ids = DocumentIds { enterprise, kind: "processing_run", number: &body.number };
    let plan = plan_processing(&book.engine, ids, bom, quantity, now).map_err(errors_of)?;
    let result = json!({
        "product": body.product,
        "quantity": quantity,
        "bom_version": bom.version,
        "imported_materials_fen": plan.imported_materials_fen,
        "domestic_materials_fen": plan.domestic_materials_fen,
        "imported_materials_cny": cny(plan.imported_materials_fen),
        "domestic_materials_cny": cny(plan.domestic_materials_fen),
        "product_value_cny": cny(plan.product_value_fen),
        "consumed": plan.consumed,
        "transfers": transfers_json(book, &plan.transfers),
    });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers: plan.transfers, result })
}

fn plan_exhibition(
    book: &LedgerBook,
    enterprise: &str,
    body: ExhibitionBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let mut problems = Vec::new();
    let lines = quantity_lines(book, enterprise, &body.lines, "lines", &mut problems);
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let exhibition = Exhibition {
        number: body.number.clone(),
        venue: body.venue,
        opened_on: body.opened_on,
        allowed_until: body.allowed_until,
        lines,
    };
    let ids = DocumentIds { enterprise, kind: "exhibition", number: &body.number };
    let transfers = plan_exhibition_out(&book.engine, ids, &exhibition, EXHIBITION_MAX_DAYS, now).map_err(errors_of)?;
    let result = json!({ "exhibition": exhibition, "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn plan_correction(
    book: &LedgerBook,
    enterprise: &str,
    body: CorrectionBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let mut problems = Vec::new();
    if body.reason.trim().is_empty() {
        problems.push(Problem::new("required", "reason", "a correction states its reason"));
    }
    let corrected = body.corrects.split_once('/').filter(|(kind, number)| {
        book.documents.contains_key(&(enterprise.to_owned(), (*kind).to_owned(), (*number).to_owned()))
    });
    if corrected.is_none() {
        problems.push(Problem::new(
            "document_unknown",
            "corrects",
            format!("`{}` is not a recorded document (`kind/number`) of {enterprise}", body.corrects),
        ));
    }
    let scale = book.item(enterprise, &body.item_no).map_or(0, |i| i.quantity_scale);
    let quantity =
        units(&body.quantity, scale).map_err(|m| problems.push(Problem::new("quantity", "quantity", m))).ok();
    let value = fen(&body.value_cny).map_err(|m| problems.push(Problem::new("value", "value_cny", m))).ok();
    let (Some(quantity), Some(value)) = (quantity, value) else { return Err(errors_of(problems)) };
    let line = Line { item_no: body.item_no.clone(), quantity, value_fen: Some(value) };
    let ids = DocumentIds { enterprise, kind: "correction", number: &body.number };
    let planned =
        plan_movement(&book.engine, ids, 0, TransferCode::Correction, body.from, body.to, &[line], false, now);
    // The body has one line of its own: its problems name the body's fields.
    let planned = planned.map_err(|more| {
        more.into_iter()
            .map(|mut p| {
                p.field = p.field.replace("lines[0].", "");
                p
            })
            .collect()
    });
    let transfers = with_problems(problems, planned).map_err(errors_of)?;
    let result =
        json!({ "corrects": body.corrects, "reason": body.reason, "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

/// A recorded exhibition's state, or `exhibition_unknown`.
fn exhibition_state<'a>(book: &'a LedgerBook, enterprise: &str, number: &str) -> AppResult<&'a ExhibitionState> {
    match book.exhibitions.get(&(enterprise.to_owned(), number.to_owned())) {
        Some((_, state)) => Ok(state),
        None => Err(one_error("exhibition_unknown", "exhibition", format!("exhibition `{number}` is not recorded"))),
    }
}

/// Goods returned or sold from an exhibition must be out on that exhibition (`exceeds_exhibited`).
fn check_on_exhibition(
    state: &ExhibitionState,
    line: usize,
    item_no: &str,
    quantity: u64,
    scale: u8,
    problems: &mut Vec<Problem>,
) {
    let out = state.items.get(item_no).map_or(0, |s| s.on_exhibition());
    if quantity > out {
        problems.push(Problem::new(
            "exceeds_exhibited",
            format!("lines[{line}].quantity"),
            format!("only {} of item `{item_no}` is out on this exhibition", format_quantity(out as i128, scale)),
        ));
    }
}

fn plan_exhibition_return(
    book: &LedgerBook,
    enterprise: &str,
    body: ExhibitionReturnBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let state = exhibition_state(book, enterprise, &body.exhibition)?;
    let mut problems = Vec::new();
    let lines = quantity_lines(book, enterprise, &body.lines, "lines", &mut problems);
    for (i, l) in lines.iter().enumerate() {
        let scale = book.item(enterprise, &l.item_no).map_or(0, |it| it.quantity_scale);
        check_on_exhibition(state, i, &l.item_no, l.quantity, scale, &mut problems);
    }
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let ids = DocumentIds { enterprise, kind: "exhibition_return", number: &body.number };
    let transfers = plan_exhibition_back(&book.engine, ids, &lines, now).map_err(errors_of)?;
    let result = json!({ "exhibition": body.exhibition, "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn plan_patrol(book: &LedgerBook, enterprise: &str, body: PatrolBody) -> AppResult<Planned> {
    exhibition_state(book, enterprise, &body.exhibition)?;
    let mut problems = Vec::new();
    let lines = quantity_lines(book, enterprise, &body.counts, "counts", &mut problems);
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let counts: BTreeMap<String, u64> = lines.into_iter().map(|l| (l.item_no, l.quantity)).collect();
    Ok(Planned {
        number: body.number,
        items: vec![],
        accounts: vec![],
        transfers: vec![],
        result: json!({ "exhibition": body.exhibition, "counted_on": body.counted_on, "counts": counts }),
    })
}

fn plan_lease(book: &LedgerBook, enterprise: &str, body: LeaseBody, now: DateTime<Utc>) -> AppResult<Planned> {
    let mut problems = Vec::new();
    let lines = quantity_lines(book, enterprise, &body.lines, "lines", &mut problems);
    let mut schedule = Vec::new();
    for (i, s) in body.schedule.iter().enumerate() {
        match fen(&s.rent_cny) {
            Ok(rent_fen) => schedule.push(Instalment { due_on: s.due_on, rent_fen }),
            Err(m) => problems.push(Problem::new("value", format!("schedule[{i}].rent_cny"), m)),
        }
    }
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let lease = Lease {
        number: body.number.clone(),
        lessee: body.lessee,
        lessee_in_mainland: body.lessee_in_mainland,
        lines,
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        schedule,
        entrusted_supervision: body.entrusted_supervision,
    };
    let ids = DocumentIds { enterprise, kind: "lease", number: &body.number };
    let transfers = plan_lease_out(&book.engine, ids, &lease, now).map_err(errors_of)?;
    let result = json!({ "lease": lease, "total_rent_cny": cny(lease.total_rent_fen() as i128), "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn plan_return_of_lease(
    book: &LedgerBook,
    enterprise: &str,
    body: LeaseReturnBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    if !book.leases.contains_key(&(enterprise.to_owned(), body.lease.clone())) {
        return Err(one_error("lease_unknown", "lease", format!("lease `{}` is not recorded", body.lease)));
    }
    let mut problems = Vec::new();
    let lines = quantity_lines(book, enterprise, &body.lines, "lines", &mut problems);
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let ids = DocumentIds { enterprise, kind: "lease_return", number: &body.number };
    let transfers = plan_lease_return(&book.engine, ids, &lines, now).map_err(errors_of)?;
    let result = json!({ "lease": body.lease, "transfers": transfers_json(book, &transfers) });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

fn item_json(book: &LedgerBook, item: &LedgerItem) -> Value {
    let scale = item.quantity_scale;
    let mut balances = serde_json::Map::new();
    for kind in [
        AccountKind::Stock,
        AccountKind::Mainland,
        AccountKind::Exhibited,
        AccountKind::Leased,
        AccountKind::Consumed,
        AccountKind::WrittenOff,
    ] {
        if let Some(b) = book.engine.balance(zonegate_ledger::AccountId::derive(&item.key, kind)) {
            let name = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            balances.insert(
                name,
                json!({
                    "quantity": format_quantity(b.posted_quantity, scale),
                    "value_cny": cny(b.posted_value_fen),
                    "available_quantity": format_quantity(b.available_quantity, scale),
                    "reserved_out": format_quantity(b.balances.quantity.debits_pending as i128, scale),
                    "reserved_in": format_quantity(b.balances.quantity.credits_pending as i128, scale),
                }),
            );
        }
    }
    let balanced = book.engine.trial_balance(&item.key).is_some_and(|tb| tb.is_balanced());
    json!({
        "item_no": item.key.item_no,
        "hs": item.hs_code,
        "unit": item.unit,
        "quantity_scale": scale,
        "treatment": item.treatment,
        "balances": balances,
        "trial_balance_zero": balanced,
    })
}

fn report_json(report: &WriteOffReport) -> Value {
    let rows: Vec<Value> = report
        .rows
        .iter()
        .map(|r| {
            let s = r.statement.clone();
            let q = |a: zonegate_ledger::Amount| json!({ "quantity": format_quantity(a.quantity, r.quantity_scale), "value_cny": cny(a.value_fen) });
            json!({
                "item_no": r.item_no,
                "hs": r.hs_code,
                "unit": r.unit,
                "treatment": r.treatment,
                "opening": q(s.opening),
                "entries": q(s.entries),
                "production": q(s.production),
                "exits": q(s.exits),
                "consumption": q(s.consumption),
                "write_offs": q(s.write_offs),
                "other_in": q(s.other_in),
                "other_out": q(s.other_out),
                "closing": q(s.closing),
                "counted": r.counted.map(|c| format_quantity(c as i128, r.quantity_scale)),
                "result": r.result,
            })
        })
        .collect();
    json!({
        "enterprise": report.enterprise,
        "from": report.from.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "to": report.to.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "rows": rows,
    })
}

fn document_body(stored: &StoredLedgerDocument) -> AppResult<Value> {
    let body: Value = serde_json::from_str(&stored.body_json)
        .map_err(|e| AppError::Internal(format!("ledger document {}: {e}", stored.seq)))?;
    let result: Value = serde_json::from_str(&stored.result_json)
        .map_err(|e| AppError::Internal(format!("ledger document {}: {e}", stored.seq)))?;
    Ok(json!({
        "seq": stored.seq,
        "enterprise": stored.enterprise,
        "kind": stored.kind,
        "number": stored.number,
        "recorded_by": stored.recorded_by,
        "recorded_at": stored.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "document": body,
        "result": result,
    }))
}

/// The ids of the transfers a document's result lists (`transfers[].id`).
fn ids_of_transfers(result: &Value) -> Vec<TransferId> {
    result
        .get("transfers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.get("id")?.as_str()?.parse().ok()).map(TransferId).collect())
        .unwrap_or_default()
}

fn ids_of(result: &Value, field: &str) -> Vec<TransferId> {
    result
        .get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).filter_map(|s| s.parse().ok()).map(TransferId).collect())
        .unwrap_or_default()
}

/// Folds a recorded document into the indexes (live after recording, and at start-up).
fn fold(book: &mut LedgerBook, doc: &StoredLedgerDocument) -> AppResult<()> {
    let bad = |e: String| AppError::Internal(format!("ledger document {} ({}): {e}", doc.seq, doc.kind));
    let body: Value = serde_json::from_str(&doc.body_json).map_err(|e| bad(e.to_string()))?;
    let result: Value = serde_json::from_str(&doc.result_json).map_err(|e| bad(e.to_string()))?;
    let e = doc.enterprise.clone();
    book.documents.insert((e.clone(), doc.kind.clone(), doc.number.clone()), doc.body_sha256.clone());
    match doc.kind.as_str() {
        "item" => {
            book.keepers.insert(e.clone());
            if let Some(origin) = body.get("origin").and_then(Value::as_str) {
                book.origins.insert((e, doc.number.clone()), origin.to_owned());
            }
        }
        KIND_CBEC_RELEASE | KIND_CBEC_RETURN => {
            let order = order_of_ref(body.get("order").and_then(Value::as_str).unwrap_or_default()).to_owned();
            let lines: Vec<DrawnLine> = serde_json::from_value(result.get("lines").cloned().unwrap_or(json!([])))
                .map_err(|e| bad(e.to_string()))?;
            if doc.kind == KIND_CBEC_RELEASE {
                let problems = result.get("problems").and_then(Value::as_array).cloned().unwrap_or_default();
                let returned = BTreeSet::new();
                book.cbec_draws
                    .insert(order, CbecDraw { enterprise: e, number: doc.number.clone(), lines, problems, returned });
            } else if let Some(draw) = book.cbec_draws.get_mut(&order) {
                draw.returned.extend(lines.iter().map(|l| l.line));
            }
        }
        "list" => {
            let b: ListBody = serde_json::from_value(body.clone()).map_err(|e| bad(e.to_string()))?;
            let mut content_taken = Vec::new();
            for t in result.get("content_taken").and_then(Value::as_array).into_iter().flatten() {
                let item = t.get("item_no").and_then(Value::as_str).unwrap_or_default().to_owned();
                let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
                if let Some(c) = book.content.get_mut(&(e.clone(), item.clone())) {
                    c.take(n("quantity"));
                }
                content_taken.push((item, n("quantity"), n("imported_materials_fen"), n("domestic_materials_fen")));
            }
            book.lists.insert(
                (e, b.number),
                ListState { declaration_id: b.declaration_id, pendings: ids_of(&result, "reserved"), content_taken },
            );
        }
        "gate_pass" => {
            let list = result.get("list").and_then(Value::as_str).unwrap_or_default().to_owned();
            if let Some(state) = book.lists.get_mut(&(e, list)) {
                state.pendings.extend(ids_of(&result, "reserved"));
            }
        }
        "list_cancellation" => {
            let list = result.get("list").and_then(Value::as_str).unwrap_or_default().to_owned();
            // Processed goods that will not leave give back the material content of what was still
            // reserved (goods that already passed the gate keep theirs out).
            let voided: Vec<(String, u64)> = ids_of_transfers(&result)
                .into_iter()
                .filter_map(|id| book.engine.transfer(id))
                .filter_map(|void| void.pending_id.and_then(|p| book.engine.transfer(p)))
                .filter_map(|pending| {
                    let item = book.engine.account(pending.debit_account_id)?.account.ledger.item_no.clone();
                    Some((item, pending.quantity))
                })
                .collect();
            if let Some(state) = book.lists.get(&(e.clone(), list)) {
                for (item, q, imported, domestic) in state.content_taken.clone() {
                    let back: u64 = voided.iter().filter(|(i, _)| *i == item).map(|(_, v)| *v).sum();
                    if back == 0 || q == 0 {
                        continue;
                    }
                    let back = back.min(q);
                    let (i, d) = (
                        zonegate_ledger::movement::pro_rata(imported, back, q),
                        zonegate_ledger::movement::pro_rata(domestic, back, q),
                    );
                    book.content.entry((e.clone(), item)).or_default().add(back, i, d);
                }
            }
        }
        "bom" => {
            let bom: Bom = serde_json::from_value(result.get("bom").cloned().unwrap_or_default())
                .map_err(|e| bad(e.to_string()))?;
            book.boms.add(&e, bom).map_err(|p| bad(p.message))?;
        }
        "processing_run" => {
            let product = result.get("product").and_then(Value::as_str).unwrap_or_default().to_owned();
            let n = |k: &str| result.get(k).and_then(Value::as_u64).unwrap_or(0);
            book.content.entry((e, product)).or_default().add(
                n("quantity"),
                n("imported_materials_fen"),
                n("domestic_materials_fen"),
            );
        }
        "exhibition" => {
            let exhibition: Exhibition = serde_json::from_value(result.get("exhibition").cloned().unwrap_or_default())
                .map_err(|e| bad(e.to_string()))?;
            let state = ExhibitionState::from_exhibition(&exhibition);
            book.exhibitions.insert((e, exhibition.number.clone()), (exhibition, state));
        }
        "exhibition_return" | "exhibition_sale" => {
            let exhibition = result.get("exhibition").and_then(Value::as_str).unwrap_or_default().to_owned();
            let moved: Vec<(String, u64)> = result
                .get("transfers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((t.get("item_no")?.as_str()?.to_owned(), t.get("id")?.as_str()?.parse::<u128>().ok()?))
                })
                .filter_map(|(item, id)| book.engine.transfer(TransferId(id)).map(|t| (item, t.quantity)))
                .collect();
            if doc.kind == "exhibition_sale" {
                // Sold goods made in the zone leave with their material content.
                for (item, q) in &moved {
                    if let Some(content) = book.content.get_mut(&(e.clone(), item.clone())) {
                        content.take((*q as u128).min(content.quantity) as u64);
                    }
                }
            }
            if let Some((_, state)) = book.exhibitions.get_mut(&(e, exhibition)) {
                for (item, q) in moved {
                    if doc.kind == "exhibition_return" {
                        state.record_back(&item, q);
                    } else {
                        state.record_sale(&item, q);
                    }
                }
            }
        }
        "patrol" => {
            let exhibition = result.get("exhibition").and_then(Value::as_str).unwrap_or_default().to_owned();
            let on: NaiveDate = serde_json::from_value(result.get("counted_on").cloned().unwrap_or_default())
                .map_err(|e| bad(e.to_string()))?;
            let counts: BTreeMap<String, u64> =
                serde_json::from_value(result.get("counts").cloned().unwrap_or_default())
                    .map_err(|e| bad(e.to_string()))?;
            if let Some((_, state)) = book.exhibitions.get_mut(&(e, exhibition)) {
                state.record_patrol(on, counts);
            }
        }
        "lease" => {
            let lease: Lease = serde_json::from_value(result.get("lease").cloned().unwrap_or_default())
                .map_err(|e| bad(e.to_string()))?;
            book.leases.insert((e, lease.number.clone()), LeaseState { lease, taxed: BTreeMap::new() });
        }
        "lease_instalment" => {
            let lease = result.get("lease").and_then(Value::as_str).unwrap_or_default().to_owned();
            let index = result.get("instalment").and_then(Value::as_u64).unwrap_or(0) as usize;
            if let Some(state) = book.leases.get_mut(&(e, lease)) {
                state.taxed.insert(index.saturating_sub(1), doc.number.clone());
            }
        }
        _ => {}
    }
    Ok(())
}

// ---- E-commerce orders (1210) drawing on the ledger ----

/// `cbec_order/{platform}/{order_no}`: how the app's own documents name an e-commerce order.
fn order_ref(order_key: &str) -> String {
    format!("cbec_order/{order_key}")
}

/// The order key (`platform/order_no`) an [`order_ref`] names.
fn order_of_ref(reference: &str) -> &str {
    reference.strip_prefix("cbec_order/").unwrap_or(reference)
}

/// A `cbec_release` the ledger refused: recorded without transfers, every problem kept as its result (as
/// the error envelope lists them).
fn refused_draw(number: &str, body: &Value, errors: FieldErrors) -> Planned {
    let problems = zonegate_wire::errors::envelope(&errors)["errors"].take();
    Planned {
        number: number.to_owned(),
        items: vec![],
        accounts: vec![],
        transfers: vec![],
        result: json!({
            "outcome": "refused",
            "order": body.get("order").cloned().unwrap_or(Value::Null),
            "problems": problems,
        }),
    }
}

/// Sums lines per item (a movement names each item once), in the order items first appear; each entry keeps
/// the index of the item's first line, so a problem of the movement names a line of the document.
fn per_item(lines: &[(usize, DrawnLine)]) -> Vec<(usize, Line)> {
    let mut out: Vec<(usize, Line)> = Vec::new();
    for (index, l) in lines {
        match out.iter_mut().find(|(_, m)| m.item_no == l.item_no) {
            Some((_, m)) => {
                m.quantity += l.quantity;
                m.value_fen = m.value_fen.map(|v| v + l.value_fen);
            }
            None => out.push((
                *index,
                Line { item_no: l.item_no.clone(), quantity: l.quantity, value_fen: Some(l.value_fen) },
            )),
        }
    }
    out
}

/// Renames a movement's `lines[k].field` to the document's `{prefix}[index].field`.
fn name_lines(problems: Vec<Problem>, items: &[(usize, Line)], prefix: &str) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            if let Some(rest) = p.field.strip_prefix("lines[") {
                if let Some((k, tail)) = rest.split_once(']') {
                    if let Some((index, _)) = k.parse::<usize>().ok().and_then(|k| items.get(k)) {
                        p.field = format!("{prefix}[{index}]{tail}");
                    }
                }
            }
            p
        })
        .collect()
}

/// A released order's goods leave stock for the mainland (second-line exit) at average cost. Problems name
/// the order's lines (`items[i].unit`, `items[i].quantity`): a unit other than the item's, a quantity finer
/// than the item's precision, more than the stock holds.
fn plan_cbec_release(
    book: &LedgerBook,
    enterprise: &str,
    body: CbecReleaseBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let mut problems = Vec::new();
    let mut lines: Vec<(usize, DrawnLine)> = Vec::new();
    // Lines whose goods the ledger does not keep (no item number, or one not on the ledger).
    let mut not_on_ledger: Vec<u32> = Vec::new();
    for (i, l) in body.lines.iter().enumerate() {
        let Some(item) = (!l.item_no.is_empty()).then(|| book.item(enterprise, &l.item_no)).flatten() else {
            not_on_ledger.push(l.line);
            continue;
        };
        if item.unit != l.unit {
            problems.push(Problem::new(
                "unit_mismatch",
                format!("items[{i}].unit"),
                format!(
                    "line {}: the order counts item `{}` in `{}`, the ledger in `{}`",
                    l.line, l.item_no, l.unit, item.unit
                ),
            ));
            continue;
        }
        match units(&l.quantity, item.quantity_scale) {
            Ok(quantity) => {
                lines.push((i, DrawnLine { line: l.line, item_no: l.item_no.clone(), quantity, value_fen: 0 }))
            }
            Err(m) => {
                problems.push(Problem::new("quantity", format!("items[{i}].quantity"), format!("line {}: {m}", l.line)))
            }
        }
    }
    if lines.is_empty() && problems.is_empty() {
        return Err(one_error("nothing_to_draw", "items", "no line of the order names an item of the ledger"));
    }
    let items = per_item(&lines);
    let movement: Vec<Line> =
        items.iter().map(|(_, l)| Line { item_no: l.item_no.clone(), quantity: l.quantity, value_fen: None }).collect();
    let ids = DocumentIds { enterprise, kind: KIND_CBEC_RELEASE, number: &body.number };
    let planned = if movement.is_empty() {
        Ok(Vec::new()) // every line named a problem already
    } else {
        plan_movement(
            &book.engine,
            ids,
            0,
            TransferCode::SecondLineExit,
            AccountKind::Stock,
            AccountKind::Mainland,
            &movement,
            false,
            now,
        )
        .map_err(|more| name_lines(more, &items, "items"))
    };
    let transfers = with_problems(problems, planned).map_err(errors_of)?;
    // Each item's value (average cost) shared among its lines by quantity, the last line taking the rest.
    for (t, (_, item)) in transfers.iter().zip(&items) {
        let mut given = 0u64;
        let mine: Vec<&mut DrawnLine> =
            lines.iter_mut().map(|(_, l)| l).filter(|l| l.item_no == item.item_no).collect();
        let count = mine.len();
        for (n, l) in mine.into_iter().enumerate() {
            l.value_fen = if n + 1 == count {
                t.value_fen - given
            } else {
                zonegate_ledger::movement::pro_rata(t.value_fen, l.quantity, item.quantity)
            };
            given += l.value_fen;
        }
    }
    let drawn: Vec<DrawnLine> = lines.into_iter().map(|(_, l)| l).collect();
    let result = json!({
        "outcome": "drawn",
        "order": body.order,
        "lines": drawn,
        "not_on_ledger": not_on_ledger,
        "transfers": transfers_json(book, &transfers),
    });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

/// Returned goods of a drawn order come back from the mainland into stock (second-line entry) at the value
/// they were drawn at.
fn plan_cbec_return(
    book: &LedgerBook,
    enterprise: &str,
    body: CbecReturnBody,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let order = order_of_ref(&body.order);
    let Some(draw) = book.cbec_draws.get(order).filter(|d| d.enterprise == enterprise && d.problems.is_empty()) else {
        return Err(one_error("draw_unknown", "order", format!("order `{order}` drew nothing from the ledger")));
    };
    let mut problems = Vec::new();
    let mut lines: Vec<(usize, DrawnLine)> = Vec::new();
    for (i, line) in body.lines.iter().enumerate() {
        match draw.lines.iter().find(|l| l.line == *line) {
            None => problems.push(Problem::new(
                "line_not_drawn",
                format!("lines[{i}]"),
                format!("line {line} of order `{order}` drew nothing"),
            )),
            Some(_) if draw.returned.contains(line) => problems.push(Problem::new(
                "line_returned",
                format!("lines[{i}]"),
                format!("line {line} of order `{order}` came back before"),
            )),
            Some(drawn) => lines.push((i, drawn.clone())),
        }
    }
    if !problems.is_empty() {
        return Err(errors_of(problems));
    }
    let items = per_item(&lines);
    let movement: Vec<Line> = items.iter().map(|(_, l)| l.clone()).collect();
    let ids = DocumentIds { enterprise, kind: KIND_CBEC_RETURN, number: &body.number };
    let transfers = plan_movement(
        &book.engine,
        ids,
        0,
        TransferCode::MainlandEntry,
        AccountKind::Mainland,
        AccountKind::Stock,
        &movement,
        false,
        now,
    )
    .map_err(|more| errors_of(name_lines(more, &items, "lines")))?;
    let back: Vec<DrawnLine> = lines.into_iter().map(|(_, l)| l).collect();
    let result = json!({
        "order": body.order,
        "return": body.return_of,
        "lines": back,
        "transfers": transfers_json(book, &transfers),
    });
    Ok(Planned { number: body.number, items: vec![], accounts: vec![], transfers, result })
}

/// The number of an order's `cbec_release` document: `{platform}~{order_no}` (`~` is in neither).
pub(crate) fn draw_number(order_key: &str) -> String {
    order_key.replacen('/', "~", 1)
}

impl App {
    /// Whether any enterprise keeps a ledger (in memory: the e-commerce hot path asks this first).
    pub(crate) fn ledger_kept(&self) -> bool {
        self.ledger.book.read().is_ok_and(|book| !book.keepers.is_empty())
    }

    /// Whether the enterprise keeps a ledger (in memory).
    pub(crate) fn ledger_keeper(&self, enterprise: &str) -> bool {
        self.ledger.book.read().is_ok_and(|book| book.keepers.contains(enterprise))
    }

    /// Whether an order's draw (drawn or refused) is on the ledger.
    pub(crate) fn cbec_draw_recorded(&self, enterprise: &str, order_key: &str) -> AppResult<bool> {
        let key = (enterprise.to_owned(), KIND_CBEC_RELEASE.to_owned(), draw_number(order_key));
        Ok(self.ledger_book()?.documents.contains_key(&key))
    }

    /// Whether any line of the order names an item of the enterprise's ledger.
    pub(crate) fn cbec_draws_anything(&self, order: &zonegate_cbec::documents::Order) -> AppResult<bool> {
        let book = self.ledger_book()?;
        Ok(order
            .items
            .iter()
            .any(|i| !i.item_no.is_empty() && book.item(order.enterprise.as_str(), &i.item_no).is_some()))
    }

    /// Draws a released order's goods from its enterprise's stock: one `cbec_release` document numbered by the
    /// order, drawn or (when the ledger cannot) refused; `None` when no line names an item of the ledger.
    /// A repeat answers the first document.
    pub(crate) async fn cbec_draw(
        &self,
        recorded_by: &str,
        order: &zonegate_cbec::documents::Order,
    ) -> AppResult<Option<LedgerRecorded>> {
        let enterprise = order.enterprise.as_str();
        if !self.ledger_keeper(enterprise) || !self.cbec_draws_anything(order)? {
            return Ok(None);
        }
        let key = order.key.to_string();
        let number = draw_number(&key);
        let lines: Vec<Value> = order
            .items
            .iter()
            .map(|i| {
                json!({
                    "line": i.line,
                    "item_no": i.item_no,
                    "quantity": i.quantity.normalize().to_string(),
                    "unit": i.unit.as_str(),
                })
            })
            .collect();
        let body = json!({ "number": number, "order": order_ref(&key), "lines": lines });
        self.record_ledger_as(recorded_by, enterprise, KIND_CBEC_RELEASE, number, &body).await.map(Some)
    }

    /// Brings a return's goods back into stock: the returned lines (`lines` empty: every drawn line not yet
    /// back) of an order that drew on a ledger, as one `cbec_return` document numbered by the return. `None`
    /// when the order drew nothing (no ledger, no ledger item, a refused draw) or the return was recorded.
    pub(crate) async fn cbec_return_goods(
        &self,
        recorded_by: &str,
        order_key: &str,
        return_no: &str,
        lines: &[u32],
    ) -> AppResult<Option<LedgerRecorded>> {
        let number = format!("{}~{return_no}", draw_number(order_key));
        let (enterprise, wanted) = {
            let book = self.ledger_book()?;
            let Some(draw) = book.cbec_draws.get(order_key).filter(|d| d.problems.is_empty()) else {
                return Ok(None);
            };
            let key = (draw.enterprise.clone(), KIND_CBEC_RETURN.to_owned(), number.clone());
            if book.documents.contains_key(&key) {
                return Ok(None);
            }
            let wanted: Vec<u32> = draw
                .lines
                .iter()
                .map(|l| l.line)
                .filter(|line| if lines.is_empty() { !draw.returned.contains(line) } else { lines.contains(line) })
                .collect();
            (draw.enterprise.clone(), wanted)
        };
        if wanted.is_empty() {
            return Ok(None);
        }
        let body = json!({
            "number": number,
            "order": order_ref(order_key),
            "return": format!("cbec_return/{order_key}/{return_no}"),
            "lines": wanted,
        });
        self.record_ledger_as(recorded_by, &enterprise, KIND_CBEC_RETURN, number, &body).await.map(Some)
    }

    /// What an order drew from a ledger, for the order's view: `drawn` (the document and lines), `refused`
    /// (the document and every problem), or `None` when no draw was recorded.
    pub(crate) fn cbec_draw_view(&self, order_key: &str) -> AppResult<Option<Value>> {
        let book = self.ledger_book()?;
        let Some(draw) = book.cbec_draws.get(order_key) else { return Ok(None) };
        let document = format!("{KIND_CBEC_RELEASE}/{}", draw.number);
        if !draw.problems.is_empty() {
            return Ok(Some(json!({
                "status": "refused",
                "enterprise": draw.enterprise,
                "document": document,
                "problems": draw.problems,
            })));
        }
        let lines: Vec<Value> = draw
            .lines
            .iter()
            .map(|l| {
                let scale = book.item(&draw.enterprise, &l.item_no).map_or(0, |i| i.quantity_scale);
                json!({
                    "line": l.line,
                    "item_no": l.item_no,
                    "quantity": format_quantity(l.quantity as i128, scale),
                    "value_cny": cny(l.value_fen),
                    "returned": draw.returned.contains(&l.line),
                })
            })
            .collect();
        Ok(Some(json!({ "status": "drawn", "enterprise": draw.enterprise, "document": document, "lines": lines })))
    }
}
