//! Cross-border e-commerce bonded retail import (1210, measure 3): the use cases over `zonegate-cbec`.
//!
//! Documents (orders, payments, waybills) arrive alone or in batches; each is parsed and authorized outside
//! any lock, then the engine takes them in one step under the e-commerce mutex, which also numbers the
//! records and queues them to the store (`Store::enqueue_cbec`) before it is released. The caller then
//! waits, outside the mutex, until its batch is durable: concurrent callers share the store's group
//! commit, and nobody is answered before what they sent is on disk. If a batch fails to commit, the
//! engine (which already applied it) is rebuilt from the store, and every later batch, which the store
//! refuses because the log is not where it expected, is answered with the error too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zonegate_auth::{Action, PartyKind, Principal, Resource};
use zonegate_cbec::bills::{self, AgentKey};
use zonegate_cbec::checks::{self, Role};
use zonegate_cbec::decision::{Assessment, Decision, Problem};
use zonegate_cbec::documents::{self, DocKind, Document, Order, OrderKey};
use zonegate_cbec::engine::{self, Config, Engine, Policy, Refusal, RiskDetail, Step, TaxPayment, Verdict};
use zonegate_cbec::json::Json;
use zonegate_cbec::positive::{self, PositiveEntry, PositiveList};
use zonegate_cbec::tax::{self, Limits, OrderTax, TaxMode};
use zonegate_domain::{
    CreditClass, CurrencyCode, Declaration, FieldError, FieldErrors, Flow, HsCode, Item, Party, Purpose, Reference,
    Uscc, ValueBasis, ZoneId,
};
use zonegate_policy::PolicyBook;
use zonegate_risk::build::AssessedItem;
use zonegate_store::{CbecRecord, NewCbecBatch, PolicyRow, CBEC_LOG_PAGE_MAX};

use crate::risk::RiskState;
use crate::{now_micros, App, AppError, AppResult};

/// Policy-row kinds of the e-commerce data.
pub const KIND_AGENT_KEY: &str = "cbec_agent_key";
pub const KIND_GUARANTEE: &str = "cbec_guarantee";

/// How e-commerce orders are decided besides the policy data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CbecConfig {
    pub engine: Config,
    /// `None`: every accepted order goes through the risk engine. `Some(channel)`: the risk engine is not
    /// consulted and every accepted order gets this channel (a zone without risk rules for e-commerce).
    pub default_channel: Option<String>,
}

/// A guarantee (保函) an agent lodged: the tax it secures until the agent's bills are paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guarantee {
    pub agent: String,
    /// CNY, a decimal string.
    pub amount: String,
    pub bank: String,
    pub effective_from: NaiveDate,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// An agent's registered public key, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentKeyRow {
    pub agent: String,
    pub key_id: String,
    pub public_key: String,
    pub effective_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<NaiveDate>,
}

/// The policy data of e-commerce kept beside the engine.
#[derive(Default)]
struct CbecData {
    positive: Option<PositiveList>,
    limits: Vec<Limits>,
    /// agent → guarantees ascending by effective date (fen).
    guarantees: HashMap<String, Vec<(NaiveDate, i64)>>,
    keys: Vec<AgentKey>,
    config: CbecConfig,
}

impl CbecData {
    /// The single and annual limits in force on `day`, if any row covers it.
    fn limits_on(&self, day: NaiveDate) -> Option<&Limits> {
        tax::limits_on(&self.limits, day)
    }
}

/// The engine, its mutex and its data.
pub struct CbecState {
    engine: Mutex<Engine>,
    /// The last seq given to a record, and the turn of the last batch to reach the store's queue; held while
    /// a step is applied and numbered, so seqs are in order.
    queued: tokio::sync::Mutex<Queue>,
    data: RwLock<CbecData>,
    /// Set when a batch failed to commit: the engine is ahead of the store until it is rebuilt.
    stale: Arc<AtomicBool>,
    /// Orders of enterprises keeping a bonded ledger, decided but not yet released (held, awaiting tax):
    /// order key → enterprise. Their release draws on the ledger; others never look.
    awaiting_draw: Mutex<HashMap<String, String>>,
}

/// The numbering of the e-commerce log's records and the order of their batches in the store's queue.
#[derive(Default)]
struct Queue {
    /// The last seq given to a record.
    seq: i64,
    /// Resolves (or fails, if that batch's task ended early) once the last numbered batch is in the store's
    /// queue: the next one waits for it, so batches are queued, and committed, in seq order.
    turn: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Default for CbecState {
    fn default() -> CbecState {
        CbecState {
            engine: Mutex::new(Engine::new(Config::default())),
            queued: tokio::sync::Mutex::new(Queue::default()),
            data: RwLock::new(CbecData::default()),
            stale: Arc::new(AtomicBool::new(false)),
            awaiting_draw: Mutex::new(HashMap::new()),
        }
    }
}

/// The answer to one document or command.
#[derive(Debug, Clone, PartialEq)]
pub struct CbecAnswer {
    /// Recorded now (`false`: a repeat of what was recorded before).
    pub created: bool,
    pub body: Value,
}

fn poisoned() -> AppError {
    AppError::Internal("e-commerce lock poisoned".into())
}

fn one(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(FieldErrors(vec![FieldError::new(code, field, message)]))
}

fn refusal_error(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::Conflict { kind, key } => {
            AppError::Clash(format!("{kind} `{key}` was recorded before with other content"))
        }
        Refusal::Invalid(errors) => AppError::Invalid(errors),
    }
}

fn result_of(step: &Step) -> &'static str {
    match step.disposition {
        engine::Disposition::Recorded => "recorded",
        engine::Disposition::Repeat => "repeat",
    }
}

/// The answer to one document or command, with the whole decision when the step made one.
fn step_body(kind: &str, key: &str, step: &Step) -> Value {
    let mut body = json!({
        "kind": kind,
        "key": key,
        "result": result_of(step),
        "status": step.status.as_str(),
    });
    if !step.order_key.is_empty() {
        body["order"] = json!(step.order_key);
    }
    if !step.waiting_for.is_empty() {
        body["waiting_for"] = json!(step.waiting_for);
    }
    if let Some(decision) = &step.decision {
        body["decision"] = json!(decision);
    }
    if !step.released.is_empty() {
        body["released"] = json!(step.released);
    }
    body
}

/// The answer to a batch: counts, then every entry in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CbecBatchAnswer {
    pub recorded: u64,
    pub repeated: u64,
    pub refused: u64,
    pub results: Vec<BatchEntry>,
}

impl CbecBatchAnswer {
    /// The answer as JSON.
    pub fn to_value(&self) -> Value {
        json!(self)
    }
}

/// One entry of a batch: what happened to it, or why it was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    Answered {
        index: usize,
        kind: &'static str,
        key: String,
        /// `recorded` or `repeat`.
        result: &'static str,
        status: &'static str,
        #[serde(skip_serializing_if = "String::is_empty")]
        order: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        waiting_for: Vec<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        decision: Option<DecisionBrief>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        released: Vec<String>,
    },
    Refused {
        index: usize,
        error: EntryError,
    },
}

impl BatchEntry {
    fn refused(index: usize, error: &AppError) -> BatchEntry {
        let problems = match error {
            AppError::Invalid(errors) => errors.iter().map(Problem::from).collect(),
            _ => Vec::new(),
        };
        BatchEntry::Refused { index, error: EntryError { code: error.code(), message: error.to_string(), problems } }
    }
}

/// A batch entry's decision, briefly: the whole decision is at `GET /v1/cbec/orders/…`. The traceability
/// codes are kept: the platform prints them on the parcels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionBrief {
    pub status: engine::Status,
    pub channel: Option<String>,
    pub tax_fen: Option<i64>,
    pub reasons: Vec<String>,
    pub trace: Option<Vec<zonegate_cbec::trace::TraceCode>>,
}

impl DecisionBrief {
    fn of(decision: Decision) -> DecisionBrief {
        let Decision { status, reasons, assessment, .. } = decision;
        let (channel, tax_fen, trace) = match assessment {
            Some(assessment) => {
                let Assessment { risk, tax, trace, .. } = *assessment;
                (Some(risk.channel), Some(tax.total_fen), trace)
            }
            None => (None, None, None),
        };
        DecisionBrief { status, channel, tax_fen, reasons, trace }
    }
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryError {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

fn party_resource(uscc: &str) -> Resource {
    Resource::Party { id: uscc.to_owned(), kind: PartyKind::Enterprise }
}

/// The policy the engine sees during one step: everything read once, under read locks.
struct StepPolicy<'a> {
    app: &'a App,
    book: &'a PolicyBook,
    parties: &'a HashMap<String, Party>,
    risk: &'a RiskState,
    data: &'a CbecData,
}

fn stand_in(uscc: &Uscc) -> Party {
    Party {
        uscc: uscc.clone(),
        name: String::new(),
        zone_registered: false,
        lists: Vec::new(),
        credit_class: CreditClass::Ordinary,
    }
}

impl Policy for StepPolicy<'_> {
    fn registered(&self, zone: &str, uscc: &Uscc, role: Role, on: NaiveDate) -> bool {
        match self.parties.get(uscc.as_str()) {
            Some(party) => self.book.party_on_list(zone, role.list(), party, on),
            None => self.book.party_on_list(zone, role.list(), &stand_in(uscc), on),
        }
    }

    fn limits(&self, on: NaiveDate) -> Option<Limits> {
        self.data.limits_on(on).cloned()
    }

    fn positive(&self, hs: &HsCode, on: NaiveDate) -> Option<PositiveEntry> {
        self.data.positive.as_ref()?.covering(hs, on).cloned()
    }

    fn taxes(&self, order: &Order, on: NaiveDate, mode: TaxMode) -> Result<OrderTax, FieldErrors> {
        tax::order_figures(&self.book.tariff, order, on, mode)
    }

    fn guarantee_fen(&self, agent: &Uscc, on: NaiveDate) -> i64 {
        self.data
            .guarantees
            .get(agent.as_str())
            .and_then(|rows| rows.iter().rev().find(|(from, _)| *from <= on))
            .map_or(0, |(_, fen)| *fen)
    }

    fn risk(&self, order: &Order, tax: &OrderTax, now: DateTime<Utc>) -> Verdict {
        if let Some(channel) = &self.data.config.default_channel {
            return Verdict { channel: channel.clone(), reasons: vec!["cbec.default_channel".into()], detail: None };
        }
        let Some(declaration) = order_declaration(order, tax, engine::china_day(now)) else {
            return Verdict {
                channel: "document_check".into(),
                reasons: vec!["cbec.not_assessable".into()],
                detail: None,
            };
        };
        let values: Vec<Decimal> = tax.lines.iter().map(|line| Decimal::new(line.value_fen, 2)).collect();
        let items: Vec<AssessedItem<'_>> =
            values.iter().map(|value| AssessedItem { customs_value_cny: *value, treatment: "cbec_1210" }).collect();
        let party =
            |uscc: &Uscc| self.parties.get(uscc.as_str()).map_or_else(|| Cow::Owned(stand_in(uscc)), Cow::Borrowed);
        let (platform, enterprise) = (party(&order.key.platform), party(&order.enterprise));
        let decision = self.app.decide_with(self.risk, self.book, &declaration, &items, (&platform, &enterprise), now);
        Verdict {
            channel: decision.channel.as_str().to_owned(),
            detail: Some(RiskDetail {
                rules_fired: decision.rules_fired.into_iter().map(|f| f.id).collect(),
                credit_class: Cow::Borrowed(decision.credit_class.as_str()),
                draw: decision.draw,
                risk: decision.risk,
                rule_set: decision.rule_set,
                model: decision.model,
            }),
            reasons: decision.reasons,
        }
    }
}

/// The order as the risk engine sees a declaration: a second-line sale to individuals by the platform of
/// the enterprise's goods, each line at its share of the transaction value.
fn order_declaration(order: &Order, tax: &OrderTax, day: NaiveDate) -> Option<Declaration> {
    let items = order
        .items
        .iter()
        .zip(&tax.lines)
        .map(|(item, line)| Item {
            hs: item.hs,
            description: item.name.clone(),
            quantity: item.quantity,
            unit: item.unit.clone(),
            value: Decimal::new(line.value_fen, 2),
            origin: Some(item.origin.clone()),
            attributes: item.net_kg.map(|kg| [("net_kg".to_owned(), kg)].into_iter().collect()).unwrap_or_default(),
            processing: None,
            documents: Vec::new(),
        })
        .collect();
    Some(Declaration {
        reference: Reference::parse(&order.key.order_no).ok()?,
        zone: ZoneId(order.zone.clone()),
        flow: Flow::SecondLineOut,
        declared_on: day,
        declarant: order.key.platform.clone(),
        importer: order.enterprise.clone(),
        purpose: Purpose::SaleToIndividual,
        currency: CurrencyCode::parse("CNY").ok()?,
        exchange_rate: Some(Decimal::ONE),
        value_basis: ValueBasis::Cif,
        freight: Decimal::ZERO,
        insurance: Decimal::ZERO,
        items,
    })
}

/// One entry of a batch as received: its kind and body, or what was wrong with it.
type Entry<'a> = Result<(DocKind, Json<'a>), FieldErrors>;

/// A document the engine took: its kind, key and step.
struct Ingested {
    kind: &'static str,
    key: String,
    step: Step,
}

/// A parsed, authorized document on its way into the engine.
struct Ready {
    index: usize,
    document: Document,
    /// The document's canonical JSON, written once: hashed here, stored as is.
    json: String,
}

impl App {
    /// Sets the e-commerce configuration (trace base, incomplete time, default channel).
    pub fn configure_cbec(&self, config: CbecConfig) -> AppResult<()> {
        self.cbec.data.write().map_err(|_| poisoned())?.config = config;
        self.load_cbec_engine_config()
    }

    fn load_cbec_engine_config(&self) -> AppResult<()> {
        let config = self.cbec.data.read().map_err(|_| poisoned())?.config.engine.clone();
        // The configuration only changes new steps: the state replayed from the store is kept.
        self.cbec.engine.lock().map_err(|_| poisoned())?.set_config(config);
        Ok(())
    }

    /// Loads the e-commerce policy data and rebuilds the engine from the stored log.
    pub(crate) async fn load_cbec(&self) -> AppResult<()> {
        self.load_cbec_data().await?;
        let config = self.cbec.data.read().map_err(|_| poisoned())?.config.engine.clone();
        let mut engine = Engine::new(config);
        let mut after = 0;
        // Orders of enterprises keeping a ledger (none at all: nothing is looked at), and their returns.
        let kept = self.ledger_kept();
        let mut ledger_orders: HashMap<String, String> = HashMap::new();
        let mut returns: Vec<(String, String, Vec<u32>)> = Vec::new();
        loop {
            let page = self.store.cbec_log(after, CBEC_LOG_PAGE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                engine
                    .replay(&record.kind, &record.key, &record.body_json, &record.body_sha256, record.recorded_at)
                    .map_err(|e| AppError::Internal(format!("cbec record {}: {e}", record.seq)))?;
                if kept {
                    note_ledger_record(self, record, &mut ledger_orders, &mut returns);
                }
            }
        }
        let mut to_draw = Vec::new();
        let mut waiting = HashMap::new();
        for (key, enterprise) in ledger_orders {
            let Some((platform, order_no)) = key.split_once('/') else { continue };
            let Ok(order_key) = App::order_key(platform, order_no) else { continue };
            match engine.order(&order_key).map(|view| view.status) {
                Some(status) if status.was_released() => to_draw.push((key, enterprise)),
                Some(engine::Status::Held | engine::Status::AwaitingTax) => {
                    waiting.insert(key, enterprise);
                }
                _ => {}
            }
        }
        *self.cbec.engine.lock().map_err(|_| poisoned())? = engine;
        *self.cbec.awaiting_draw.lock().map_err(|_| poisoned())? = waiting;
        self.cbec.queued.lock().await.seq = after;
        self.cbec.stale.store(false, Ordering::SeqCst);
        tracing::info!(records = after, "e-commerce log replayed");
        self.reconcile_draws(to_draw, returns).await;
        Ok(())
    }

    /// Draws every released order of an enterprise keeping a ledger whose draw is not on the ledger (the
    /// process stopped between the e-commerce commit and the draw), then brings back the goods of their
    /// returns not yet back, in the order the returns were recorded. Both are idempotent by document
    /// number, so nothing is drawn twice; a failure is logged and retried at the next start.
    async fn reconcile_draws(&self, mut to_draw: Vec<(String, String)>, returns: Vec<(String, String, Vec<u32>)>) {
        to_draw.sort();
        let (mut drawn, mut back) = (0u64, 0u64);
        for (key, enterprise) in to_draw {
            match self.cbec_draw_recorded(&enterprise, &key) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, order = %key, "e-commerce draw not reconciled");
                    continue;
                }
            }
            match self.cbec_draw_order(RECONCILER, &key).await {
                Ok(Some(_)) => drawn += 1,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, order = %key, "e-commerce draw not reconciled"),
            }
        }
        for (key, return_no, lines) in returns {
            match self.cbec_return_goods(RECONCILER, &key, &return_no, &lines).await {
                Ok(Some(_)) => back += 1,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, order = %key, "e-commerce return not reconciled"),
            }
        }
        if drawn + back > 0 {
            tracing::info!(drawn, back, "e-commerce draws reconciled with the bonded ledgers");
        }
    }

    /// Draws a released order's goods from its enterprise's ledger, reading the stored order for its lines.
    async fn cbec_draw_order(&self, recorded_by: &str, key: &str) -> AppResult<Option<crate::ledger::LedgerRecorded>> {
        let record = self.store.get_cbec_record("order", key).await?;
        let order =
            stored_order(&record.body_json).map_err(|e| AppError::Internal(format!("stored order {key}: {e}")))?;
        self.cbec_draw(recorded_by, &order).await
    }

    /// After a batch is durable: the orders it released draw on their enterprises' ledgers. Orders of
    /// enterprises keeping no ledger cost a set lookup (none at all: one flag). A draw that fails to record
    /// is logged; the next start draws it.
    async fn draw_released(&self, who: &Principal, steps: &[Result<Step, Refusal>]) {
        if !self.ledger_kept() {
            return;
        }
        let mut draws: Vec<String> = Vec::new();
        {
            let Ok(mut waiting) = self.cbec.awaiting_draw.lock() else { return };
            for step in steps.iter().flatten().filter(|s| s.disposition == engine::Disposition::Recorded) {
                let enterprise = step.decision.as_ref().and_then(|d| d.assessment.as_ref()).map(|a| &a.enterprise);
                match (enterprise, step.status) {
                    (Some(enterprise), status) if self.ledger_keeper(enterprise) => match status {
                        engine::Status::Released => draws.push(step.order_key.clone()),
                        engine::Status::Held | engine::Status::AwaitingTax => {
                            waiting.insert(step.order_key.clone(), enterprise.clone());
                        }
                        _ => {}
                    },
                    (Some(_), _) => {}
                    // Released later: by an inspection with no finding.
                    (None, engine::Status::Released) => {
                        if waiting.remove(&step.order_key).is_some() {
                            draws.push(step.order_key.clone());
                        }
                    }
                    (None, engine::Status::Cancelled | engine::Status::Refused) => {
                        waiting.remove(&step.order_key);
                    }
                    (None, _) => {}
                }
                // Released by this step besides its own order (a tax payment, a larger guarantee).
                for key in &step.released {
                    if waiting.remove(key).is_some() {
                        draws.push(key.clone());
                    }
                }
            }
        }
        for key in draws {
            if let Err(error) = self.cbec_draw_order(&who.user_id, &key).await {
                tracing::warn!(%error, order = %key, "a released e-commerce order did not draw on its ledger");
            }
        }
    }

    async fn load_cbec_data(&self) -> AppResult<()> {
        let mut guarantees: HashMap<String, Vec<(NaiveDate, i64)>> = HashMap::new();
        for row in self.store.policy_rows(KIND_GUARANTEE).await? {
            let guarantee: Guarantee =
                serde_json::from_str(&row.body_json).map_err(|e| AppError::Internal(format!("guarantee row: {e}")))?;
            let amount: Decimal =
                guarantee.amount.parse().map_err(|e| AppError::Internal(format!("guarantee: {e}")))?;
            let fen = tax::to_fen(amount).unwrap_or(0);
            let rows = guarantees.entry(guarantee.agent).or_default();
            rows.push((row.effective_from, fen));
            rows.sort_by_key(|(from, _)| *from);
        }
        let mut keys = Vec::new();
        for row in self.store.policy_rows(KIND_AGENT_KEY).await? {
            let key: AgentKeyRow =
                serde_json::from_str(&row.body_json).map_err(|e| AppError::Internal(format!("agent key row: {e}")))?;
            keys.push(AgentKey {
                agent: Uscc::parse(&key.agent).map_err(|e| AppError::Internal(format!("agent key: {e:?}")))?,
                key_id: key.key_id,
                public_key: AgentKey::parse_public(&key.public_key).map_err(|e| AppError::Internal(e.message))?,
                effective_from: key.effective_from,
                effective_to: key.effective_to,
            });
        }
        let mut data = self.cbec.data.write().map_err(|_| poisoned())?;
        if data.positive.is_none() {
            data.positive = Some(positive::shipped());
            data.limits = tax::shipped_limits();
        }
        data.guarantees = guarantees;
        data.keys = keys;
        Ok(())
    }

    fn authorize_cbec(&self, who: &Principal, action: Action, party: &str) -> AppResult<()> {
        self.authorize(who, action, &party_resource(party))
    }

    /// Runs engine steps and makes their records durable. `run` gets the engine and the policy and returns
    /// one result per input; the records of the accepted steps are stored in one batch.
    async fn cbec_steps<F>(&self, who: &Principal, run: F) -> AppResult<Vec<Result<Step, Refusal>>>
    where
        F: FnOnce(&mut Engine, &dyn Policy, DateTime<Utc>) -> Vec<Result<Step, Refusal>>,
    {
        if self.cbec.stale.load(Ordering::SeqCst) {
            self.load_cbec().await?;
        }
        let mut queue = self.cbec.queued.lock().await;
        let now = now_micros(self.clock.as_ref());
        let (steps, batch) = {
            let state = self.state.read().map_err(|_| poisoned())?;
            let risk = self.risk_state()?;
            let data = self.cbec.data.read().map_err(|_| poisoned())?;
            let policy = StepPolicy { app: self, book: &state.book, parties: &state.parties, risk: &risk, data: &data };
            let mut engine = self.cbec.engine.lock().map_err(|_| poisoned())?;
            let mut steps = run(&mut engine, &policy, now);
            let mut seq = queue.seq;
            let mut records = Vec::new();
            for step in steps.iter_mut().flatten() {
                // The texts move to the store: a step keeps only its records' kinds.
                for record in &mut step.records {
                    seq += 1;
                    records.push(CbecRecord {
                        seq,
                        kind: record.kind.to_owned(),
                        key: std::mem::take(&mut record.key),
                        order_key: std::mem::take(&mut record.order_key),
                        body_sha256: std::mem::take(&mut record.sha256),
                        body_json: std::mem::take(&mut record.json),
                        recorded_by: who.user_id.clone(),
                        recorded_at: now,
                    });
                }
            }
            let batch = (!records.is_empty()).then(|| NewCbecBatch { after_seq: queue.seq, records });
            (steps, batch)
        };
        let Some(batch) = batch else { return Ok(steps) };
        // The engine has applied the batch: from here it must reach the store, or the engine be marked stale,
        // even if the caller goes away (a dropped request future). So the rest runs as its own task. The next
        // step may be applied and numbered at once; this batch is compressed and hashed (the store's
        // `prepare_cbec`) alongside it, then waits for the batch before it to be queued, and queues.
        queue.seq = batch.records.last().map_or(queue.seq, |r| r.seq);
        let (queued, next_turn) = tokio::sync::oneshot::channel();
        let previous = queue.turn.replace(next_turn);
        drop(queue);
        let (store, stale) = (self.store.clone(), self.cbec.stale.clone());
        let commit = tokio::spawn(async move {
            let prepared = store.prepare_cbec(batch);
            if let Some(previous) = previous {
                // An error means that batch's task ended without queueing: this one then fails the store's
                // check of the log's end, as it must.
                let _ = previous.await;
            }
            let receipt = match prepared {
                Ok(prepared) => store.enqueue_prepared_cbec(prepared).await,
                Err(error) => Err(error),
            };
            // The next batch's turn, whether this one was queued or not.
            let _ = queued.send(());
            let receipt = match receipt {
                Ok(receipt) => receipt,
                Err(error) => {
                    stale.store(true, Ordering::SeqCst);
                    return Err(error);
                }
            };
            receipt.durable().await.map_err(|error| {
                // The engine applied what the store did not keep: rebuild it before anyone else steps.
                stale.store(true, Ordering::SeqCst);
                tracing::warn!(%error, "an e-commerce batch did not commit; the engine is rebuilt from the store");
                error
            })
        });
        match commit.await {
            Ok(Ok(_)) => {
                self.draw_released(who, &steps).await;
                Ok(steps)
            }
            Ok(Err(error)) => Err(AppError::Store(error)),
            Err(error) => {
                self.cbec.stale.store(true, Ordering::SeqCst);
                Err(AppError::Internal(format!("the e-commerce commit task failed: {error}")))
            }
        }
    }

    /// Parses and authorizes entries; the rest of the batch goes on past a bad one.
    fn ready_entries(&self, who: &Principal, entries: Vec<Entry<'_>>) -> (Vec<Ready>, Vec<(usize, AppError)>) {
        let mut ready = Vec::with_capacity(entries.len());
        let mut refused = Vec::new();
        let mut allowed: HashMap<Uscc, bool> = HashMap::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let (kind, body) = match entry {
                Ok(entry) => entry,
                Err(errors) => {
                    refused.push((index, AppError::Invalid(errors)));
                    continue;
                }
            };
            let document = match documents::parse_json_document(kind, &body) {
                Ok(document) => document,
                Err(errors) => {
                    refused.push((index, AppError::Invalid(errors)));
                    continue;
                }
            };
            let sender = document.sender().clone();
            let may = *allowed
                .entry(sender.clone())
                .or_insert_with(|| self.allows(who, Action::CbecSubmit, &party_resource(sender.as_str())));
            if !may {
                refused.push((
                    index,
                    AppError::Forbidden { user_id: who.user_id.clone(), action: Action::CbecSubmit.as_str().into() },
                ));
                continue;
            }
            let json = body.canonical();
            ready.push(Ready { index, document, json });
        }
        (ready, refused)
    }

    /// Takes documents (each its kind and JSON body) and answers each: its kind, key and step, or its error.
    async fn cbec_ingest(
        &self,
        who: &Principal,
        entries: Vec<Entry<'_>>,
    ) -> AppResult<Vec<Result<Ingested, AppError>>> {
        let count = entries.len();
        let (ready, refused) = self.ready_entries(who, entries);
        let keys: Vec<(usize, &'static str, String)> =
            ready.iter().map(|r| (r.index, r.document.kind().as_str(), r.document.key())).collect();
        let steps = self
            .cbec_steps(who, move |engine, policy, now| {
                ready
                    .into_iter()
                    .map(|r| {
                        let sha256 = documents::sha256_hex(&r.json);
                        engine.receive(policy, r.document, r.json, sha256, now)
                    })
                    .collect()
            })
            .await?;
        let mut answers: Vec<Option<Result<Ingested, AppError>>> = (0..count).map(|_| None).collect();
        for (index, error) in refused {
            answers[index] = Some(Err(error));
        }
        for ((index, kind, key), step) in keys.into_iter().zip(steps) {
            answers[index] = Some(step.map(|step| Ingested { kind, key, step }).map_err(refusal_error));
        }
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(AppError::Internal("entry not answered".into()))))
            .collect())
    }

    /// One document of a known kind (`order`, `payment`, `waybill`).
    pub async fn cbec_submit(&self, who: &Principal, kind: &str, body: Value) -> AppResult<CbecAnswer> {
        let Some(kind) = DocKind::parse(kind) else {
            return Err(AppError::not_found(format!(
                "e-commerce document kind `{kind}` (known: order, payment, waybill)"
            )));
        };
        let mut answers = self.cbec_ingest(who, vec![Ok((kind, Json::from(&body)))]).await?;
        let ingested = answers.pop().unwrap_or_else(|| Err(AppError::Internal("no answer".into())))?;
        let mut answer = CbecAnswer {
            created: ingested.step.disposition == engine::Disposition::Recorded,
            body: step_body(ingested.kind, &ingested.key, &ingested.step),
        };
        // A repeat answers what the first time answered: the decision, once there is one.
        if !answer.created && answer.body["status"] != json!("incomplete") {
            if let Some(order) = answer.body["order"].as_str().map(str::to_owned) {
                match self.store.get_cbec_record("decision", &order).await {
                    Ok(record) => {
                        answer.body["decision"] = serde_json::from_str(&record.body_json)
                            .map_err(|e| AppError::Internal(format!("decision of {order}: {e}")))?;
                    }
                    Err(zonegate_store::StoreError::NotFound) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(answer)
    }

    /// A batch as received (a JSON array of `{kind, document}` or NDJSON of the same): every entry answered.
    pub async fn cbec_batch(&self, who: &Principal, text: &str) -> AppResult<CbecBatchAnswer> {
        // A caller who may send documents for no company at all (customs, a bank, an auditor) is refused
        // as a whole; each entry is still authorized against its own sending company below.
        self.authorize_cbec(who, Action::CbecSubmit, &who.party)?;
        let entries: Vec<Entry<'_>> = documents::split_batch(text)
            .into_iter()
            .map(|entry| entry.map(|envelope| (envelope.kind, envelope.body)))
            .collect();
        let answers = self.cbec_ingest(who, entries).await?;
        let mut batch =
            CbecBatchAnswer { recorded: 0, repeated: 0, refused: 0, results: Vec::with_capacity(answers.len()) };
        for (index, answer) in answers.into_iter().enumerate() {
            batch.results.push(match answer {
                Ok(Ingested { kind, key, step }) => {
                    let result = result_of(&step);
                    if step.disposition == engine::Disposition::Recorded {
                        batch.recorded += 1;
                    } else {
                        batch.repeated += 1;
                    }
                    BatchEntry::Answered {
                        index,
                        kind,
                        key,
                        result,
                        status: step.status.as_str(),
                        order: step.order_key,
                        waiting_for: step.waiting_for,
                        decision: step.decision.map(|decision| DecisionBrief::of(*decision)),
                        released: step.released,
                    }
                }
                Err(error) => {
                    batch.refused += 1;
                    BatchEntry::refused(index, &error)
                }
            });
        }
        Ok(batch)
    }

    fn order_key(platform: &str, order_no: &str) -> AppResult<OrderKey> {
        let platform = Uscc::parse(platform).map_err(|e| one(e.code, "platform", e.message))?;
        Ok(OrderKey { platform, order_no: order_no.to_owned() })
    }

    async fn cbec_command<F>(&self, who: &Principal, run: F) -> AppResult<CbecAnswer>
    where
        F: FnOnce(&mut Engine, &dyn Policy, DateTime<Utc>) -> Result<Step, Refusal>,
    {
        let mut steps = self.cbec_steps(who, move |engine, policy, now| vec![run(engine, policy, now)]).await?;
        match steps.pop() {
            Some(Ok(step)) => Ok(CbecAnswer {
                created: step.disposition == engine::Disposition::Recorded,
                body: step_body(step.records.first().map_or("", |r| r.kind), &step.order_key, &step),
            }),
            Some(Err(refusal)) => Err(refusal_error(refusal)),
            None => Err(AppError::Internal("no step".into())),
        }
    }

    /// The platform cancels an order before release.
    pub async fn cbec_cancel(
        &self,
        who: &Principal,
        platform: &str,
        order_no: &str,
        body: Value,
    ) -> AppResult<CbecAnswer> {
        let key = App::order_key(platform, order_no)?;
        self.authorize_cbec(who, Action::CbecSubmit, platform)?;
        let reason = body.get("reason").and_then(Value::as_str).unwrap_or_default();
        if reason.trim().is_empty() || reason.len() > 500 {
            return Err(one("required", "reason", "a cancellation gives its reason (1–500 characters)"));
        }
        let sha = documents::canonical_sha256(&body);
        self.cbec_command(who, move |engine, _, now| engine.cancel(&key, body, sha, now)).await
    }

    /// The platform records a return of released goods.
    pub async fn cbec_return(
        &self,
        who: &Principal,
        platform: &str,
        order_no: &str,
        body: Value,
    ) -> AppResult<CbecAnswer> {
        let key = App::order_key(platform, order_no)?;
        self.authorize_cbec(who, Action::CbecSubmit, platform)?;
        let return_no = body.get("return_no").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut errors = FieldErrors::default();
        if return_no.is_empty()
            || return_no.len() > 50
            || !return_no.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            errors.add("required", "return_no", "the return's number: 1–50 characters of A-Z, a-z, 0-9, `_`, `.`, `-`");
        }
        let request = engine::return_request(&return_no, &body);
        if let Err(problem) = &request {
            errors.add("return_format", "", problem.clone());
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let request = request.map_err(|e| one("return_format", "", e))?;
        let sha = documents::canonical_sha256(&body);
        let (order_key, lines) = (key.to_string(), request.lines.clone());
        let answer =
            self.cbec_command(who, move |engine, _, now| engine.return_goods(&key, &request, body, sha, now)).await?;
        // Durable: the returned goods come back into stock when the order drew on a ledger.
        if answer.created {
            if let Err(error) = self.cbec_return_goods(&who.user_id, &order_key, &return_no, &lines).await {
                tracing::warn!(%error, order = %order_key, "returned e-commerce goods did not come back on the ledger");
            }
        }
        Ok(answer)
    }

    /// An officer records the inspection result of a held order.
    pub async fn cbec_inspect(
        &self,
        who: &Principal,
        platform: &str,
        order_no: &str,
        body: Value,
    ) -> AppResult<CbecAnswer> {
        let key = App::order_key(platform, order_no)?;
        self.authorize(who, Action::CbecSupervise, &Resource::Platform)?;
        let finding = match body.get("outcome").and_then(Value::as_str) {
            Some("no_finding") => false,
            Some("finding") => true,
            _ => return Err(one("outcome", "outcome", "`no_finding` or `finding`")),
        };
        let sha = documents::canonical_sha256(&body);
        self.cbec_command(who, move |engine, _, now| engine.inspect(&key, finding, body, sha, now)).await
    }

    /// A signed payment notice for an agent's bill: verified against the agent's registered keys.
    pub async fn cbec_pay(&self, who: &Principal, body: Value) -> AppResult<CbecAnswer> {
        let notice = bills::parse_notice(&body)?;
        self.authorize_cbec(who, Action::CbecSubmit, notice.agent.as_str())?;
        {
            let data = self.cbec.data.read().map_err(|_| poisoned())?;
            let day = engine::china_day(self.now());
            bills::verify_notice(&body, &notice, &data.keys, day)
                .map_err(|e| AppError::Invalid(FieldErrors(vec![e])))?;
        }
        let payment = TaxPayment {
            notice_id: notice.notice_id.clone(),
            agent: notice.agent.clone(),
            period: notice.period.clone(),
            amount_fen: notice.amount_fen,
        };
        let sha = documents::canonical_sha256(&body);
        let mut answer = self.cbec_command(who, move |engine, _, now| engine.pay(&payment, body, sha, now)).await?;
        answer.body["kind"] = json!("tax_payment");
        answer.body["key"] = json!(notice.notice_id);
        Ok(answer)
    }

    /// An order's state and its records.
    pub async fn cbec_order(&self, who: &Principal, platform: &str, order_no: &str) -> AppResult<Value> {
        let key = App::order_key(platform, order_no)?;
        self.authorize_cbec(who, Action::CbecRead, platform)?;
        let view = self.cbec.engine.lock().map_err(|_| poisoned())?.order(&key);
        let Some(view) = view else { return Err(AppError::not_found(format!("e-commerce order `{key}`"))) };
        let order_key = key.to_string();
        let records = self.store.cbec_records_for_order(&order_key).await?;
        let ledger_draw = self.ledger_draw_of(&order_key, view.status, &records)?;
        let mut values: Vec<Value> = records.iter().map(record_json).collect::<AppResult<_>>()?;
        self.explain_decision(&records, &mut values)?;
        Ok(json!({"order": view, "records": values, "ledger_draw": ledger_draw}))
    }

    /// Puts back what the order's decision does not store: the text of each passed check (a decision
    /// stores passed checks by id) and the trace of each tax line (it stores the figures and the basis ids).
    /// Both come from the stored order and the policy data loaded now for the decision's day.
    fn explain_decision(&self, records: &[CbecRecord], values: &mut [Value]) -> AppResult<()> {
        let Some(at) = records.iter().rposition(|r| r.kind == "decision") else { return Ok(()) };
        let order = records.iter().find(|r| r.kind == "order").map(|r| stored_order(&r.body_json));
        let body = &mut values[at]["body"];
        let day = body["day"].as_str().and_then(|day| day.parse::<NaiveDate>().ok());
        let limits = match day {
            Some(day) => self.cbec.data.read().map_err(|_| poisoned())?.limits_on(day).cloned(),
            None => None,
        };
        let with = checks::Explain {
            order: order.as_ref().and_then(|order| order.as_ref().ok()),
            amount_fen: body["amount"].as_str().and_then(|amount| amount.parse().ok()).and_then(tax::to_fen),
            limits: limits.as_ref(),
        };
        for check in body["checks"].as_array_mut().into_iter().flatten() {
            if check["passed"] == json!(true) && check.get("detail").is_none() {
                if let Some(text) = check["id"].as_str().and_then(|id| checks::explain_pass(id, &with)) {
                    check["detail"] = json!(text);
                }
            }
        }
        match day {
            Some(day) => self.explain_tax(body, order.as_ref(), day),
            None => Ok(()),
        }
    }

    /// Puts back the trace of each tax line: the tax computed again from the stored order with the tariff
    /// data loaded now for the decision's day. If that gives other figures (a rate row corrected since), the
    /// lines stay as stored and `tax_trace_unavailable` says so: the stored figures are what was decided.
    fn explain_tax(&self, body: &mut Value, order: Option<&Result<Order, String>>, day: NaiveDate) -> AppResult<()> {
        let (Some(mode), Ok(stored)) = (
            serde_json::from_value::<TaxMode>(body["mode"].clone()).ok(),
            serde_json::from_value::<OrderTax>(body["tax"].clone()),
        ) else {
            return Ok(()); // refused before it was taxed
        };
        if stored.lines.iter().any(|line| !line.trace.is_empty()) {
            return Ok(()); // stored with its texts
        }
        let again = match order {
            Some(Ok(order)) => {
                let state = self.state.read().map_err(|_| poisoned())?;
                tax::order_taxes(&state.book.tariff, order, day, mode).map_err(|errors| errors.to_string())
            }
            Some(Err(error)) => Err(format!("the stored order {error}")),
            None => Err("the order document is not stored".to_owned()),
        };
        match again {
            Ok(again) if again.explains(&stored) => {
                for (line, explained) in again.lines.into_iter().enumerate() {
                    body["tax"]["lines"][line]["trace"] = json!(explained.trace);
                }
            }
            Ok(_) => {
                body["tax_trace_unavailable"] = json!(format!(
                    "the tariff data loaded now gives other figures for {day}: the stored figures stand"
                ));
            }
            Err(why) => body["tax_trace_unavailable"] = json!(why),
        }
        Ok(())
    }

    /// What the order drew from its enterprise's bonded ledger: `drawn`, `refused` (with every problem), or
    /// `none` with why (`no_ledger`, `not_released`, `no_ledger_items`), or `pending` (released, the draw
    /// not yet recorded: the next start records it).
    fn ledger_draw_of(&self, order_key: &str, status: engine::Status, records: &[CbecRecord]) -> AppResult<Value> {
        if let Some(view) = self.cbec_draw_view(order_key)? {
            return Ok(view);
        }
        let decision = records.iter().rev().find(|r| r.kind == "decision");
        let enterprise =
            decision.and_then(|r| serde_json::from_str::<EnterpriseOf>(&r.body_json).ok()).and_then(|d| d.enterprise);
        let Some(enterprise) = enterprise.filter(|e| self.ledger_keeper(e)) else {
            return Ok(json!({"status": "none", "reason": "no_ledger"}));
        };
        if !status.was_released() {
            return Ok(json!({"status": "none", "reason": "not_released", "enterprise": enterprise}));
        }
        let order = records.iter().find(|r| r.kind == "order").and_then(|r| stored_order(&r.body_json).ok());
        match order {
            Some(order) if !self.cbec_draws_anything(&order)? => {
                Ok(json!({"status": "none", "reason": "no_ledger_items", "enterprise": enterprise}))
            }
            _ => Ok(json!({"status": "pending", "enterprise": enterprise})),
        }
    }

    /// Orders whose documents have waited longer than the configured time.
    pub fn cbec_incomplete(&self, who: &Principal) -> AppResult<Value> {
        self.authorize(who, Action::CbecSupervise, &Resource::Platform)?;
        let engine = self.cbec.engine.lock().map_err(|_| poisoned())?;
        let after = engine.config().incomplete_after;
        let found = engine.incomplete(self.now());
        Ok(json!({"older_than_seconds": after.num_seconds(), "orders": found}))
    }

    /// Orders by status and the agent count (customs).
    pub fn cbec_overview(&self, who: &Principal) -> AppResult<Value> {
        self.authorize(who, Action::CbecRead, &Resource::Platform)?;
        let engine = self.cbec.engine.lock().map_err(|_| poisoned())?;
        Ok(json!({"orders": engine.counts()}))
    }

    /// A buyer's year (customs): looked up by the resident ID number, which is not kept in the answer.
    pub fn cbec_quota(&self, who: &Principal, id_number: &str, year: i32) -> AppResult<Value> {
        self.authorize(who, Action::CbecSupervise, &Resource::Platform)?;
        let id = zonegate_cbec::identity::ResidentId::parse(id_number)
            .map_err(|e| one(e.code(), "id_number", e.to_string()))?;
        let data = self.cbec.data.read().map_err(|_| poisoned())?;
        let on = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| one("year", "year", "a calendar year"))?;
        let limits = data.limits_on(on).cloned().ok_or_else(|| one("year", "year", "no limits that year"))?;
        let engine = self.cbec.engine.lock().map_err(|_| poisoned())?;
        let view = engine.quota_view(&id.buyer_key(), year, &limits);
        Ok(json!({"buyer": id.masked(), "quota": view}))
    }

    /// The agent's tax bills.
    pub fn cbec_bills(&self, who: &Principal, agent: &str) -> AppResult<Value> {
        self.authorize_cbec(who, Action::CbecRead, agent)?;
        let engine = self.cbec.engine.lock().map_err(|_| poisoned())?;
        let bills = engine.bills().bills_of(agent);
        let guarantee = engine.bills().guarantee(agent);
        Ok(json!({"agent": agent, "bills": bills, "guarantee": guarantee}))
    }

    /// What a traceability code shows anyone who scans it: the goods' origin, clearance and release.
    pub async fn cbec_trace(&self, gtin: &str, serial: &str) -> AppResult<Value> {
        let key = self.cbec.engine.lock().map_err(|_| poisoned())?.traced(serial).cloned();
        let Some(key) = key else { return Err(AppError::not_found(format!("traceability code `{gtin}/{serial}`"))) };
        let records = self.store.cbec_records_for_order(&key.to_string()).await?;
        let decision = records.iter().find(|r| r.kind == "decision").ok_or_else(|| AppError::not_found("decision"))?;
        let decision: Value =
            serde_json::from_str(&decision.body_json).map_err(|e| AppError::Internal(format!("decision: {e}")))?;
        let release =
            records.iter().rev().find(|r| r.kind == "release").map(|r| serde_json::from_str::<Value>(&r.body_json));
        let release = match release {
            Some(Ok(body)) => Some(body),
            Some(Err(e)) => return Err(AppError::Internal(format!("release: {e}"))),
            None => None,
        };
        let trace = release.as_ref().map_or(&decision["trace"], |r| &r["trace"]);
        let code = trace
            .as_array()
            .and_then(|codes| {
                codes.iter().find(|c| c["uri"].as_str().is_some_and(|u| u.ends_with(&format!("/21/{serial}"))))
            })
            .cloned();
        let Some(code) = code else { return Err(AppError::not_found(format!("traceability code `{gtin}/{serial}`"))) };
        let line = code["line"].as_u64().unwrap_or_default();
        let goods = decision["origin"]
            .as_array()
            .and_then(|lines| lines.iter().find(|l| l["line"].as_u64() == Some(line)))
            .cloned();
        if goods.as_ref().and_then(|g| g["gtin"].as_str()) != Some(&format!("{gtin:0>14}")) {
            return Err(AppError::not_found(format!("traceability code `{gtin}/{serial}`")));
        }
        let status = self.cbec.engine.lock().map_err(|_| poisoned())?.order(&key).map(|v| v.status.as_str());
        Ok(json!({
            "code": code,
            "goods": goods,
            "clearance": {
                "mode": "1210",
                "zone": decision["zone"],
                "enterprise": decision["enterprise"],
                "platform": decision["agent"],
                "order": key.order_no,
                "decided_at": decision["decided_at"],
                "checks_passed": decision["checks"].as_array().map_or(0, |c| c.iter().filter(|c| c["passed"] == json!(true)).count()),
                "tax_mode": decision["mode"],
                "channel": decision["risk"]["channel"],
            },
            "release": {
                "released_at": release.as_ref().map_or(&decision["released_at"], |r| &r["released_at"]),
                "status": status,
            },
        }))
    }

    /// Registers an agent's public key for its payment notices (customs).
    pub async fn cbec_add_agent_key(&self, who: &Principal, agent: &str, body: &Value) -> AppResult<Value> {
        self.authorize(who, Action::CbecSupervise, &Resource::Platform)?;
        let mut errors = FieldErrors::default();
        let agent = Uscc::parse(agent).map_err(|e| one(e.code, "agent", e.message))?;
        let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let key_id = text("key_id");
        if key_id.is_empty() || key_id.len() > 32 || key_id.contains('/') {
            errors.add("required", "key_id", "the key's id: 1–32 characters, no `/`");
        }
        let public_key = text("public_key");
        if let Err(error) = AgentKey::parse_public(&public_key) {
            errors.push(error);
        }
        let date = |name: &str, errors: &mut FieldErrors| match body.get(name).and_then(Value::as_str) {
            None => None,
            Some(text) => match text.parse::<NaiveDate>() {
                Ok(date) => Some(date),
                Err(_) => {
                    errors.add("date", name, format!("`{text}` is not a date (YYYY-MM-DD)"));
                    None
                }
            },
        };
        let effective_from = date("effective_from", &mut errors);
        let effective_to = date("effective_to", &mut errors);
        if effective_from.is_none() && !errors.iter().any(|e| e.field == "effective_from") {
            errors.add("required", "effective_from", "the first day the key is in force");
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let row = AgentKeyRow {
            agent: agent.to_string(),
            key_id: key_id.clone(),
            public_key,
            effective_from: effective_from.unwrap_or_default(),
            effective_to,
        };
        self.append_cbec_row(who, KIND_AGENT_KEY, format!("{agent}/{key_id}"), row.effective_from, &row).await?;
        Ok(json!(row))
    }

    /// Records an agent's guarantee from a date (customs).
    pub async fn cbec_set_guarantee(&self, who: &Principal, agent: &str, body: &Value) -> AppResult<Value> {
        self.authorize(who, Action::CbecSupervise, &Resource::Platform)?;
        let agent = Uscc::parse(agent).map_err(|e| one(e.code, "agent", e.message))?;
        let mut errors = FieldErrors::default();
        let amount = body.get("amount").and_then(Value::as_str).unwrap_or_default().to_owned();
        match amount.parse::<Decimal>() {
            Ok(value) if value >= Decimal::ZERO && tax::to_fen(value).is_some() => {}
            _ => errors.add("amount", "amount", "the guaranteed amount: a CNY decimal string, at most 2 decimals, ≥ 0"),
        }
        let bank = body.get("bank").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        if bank.is_empty() || bank.len() > 100 {
            errors.add("required", "bank", "the guaranteeing bank (1–100 characters)");
        }
        let from = body.get("effective_from").and_then(Value::as_str).and_then(|t| t.parse::<NaiveDate>().ok());
        if from.is_none() {
            errors.add("required", "effective_from", "the first day of the guarantee (YYYY-MM-DD)");
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let guarantee = Guarantee {
            agent: agent.to_string(),
            amount,
            bank,
            effective_from: from.unwrap_or_default(),
            note: body.get("note").and_then(Value::as_str).unwrap_or_default().to_owned(),
        };
        self.append_cbec_row(who, KIND_GUARANTEE, agent.to_string(), guarantee.effective_from, &guarantee).await?;
        Ok(json!(guarantee))
    }

    async fn append_cbec_row<T: Serialize>(
        &self,
        who: &Principal,
        kind: &str,
        key: String,
        effective_from: NaiveDate,
        value: &T,
    ) -> AppResult<()> {
        let at = now_micros(self.clock.as_ref());
        let row = PolicyRow {
            kind: kind.to_owned(),
            key,
            effective_from,
            body_json: serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))?,
            author: who.user_id.clone(),
            recorded_at: at,
        };
        self.store.append_policy_rows(vec![row], &who.user_id, at).await?;
        self.load_cbec_data().await
    }
}

/// The zone-list rows that register the synthetic e-commerce companies (`zonegate_cbec::synthetic`) from
/// `from`: what `zonegate cbec register`, the bench and the tests add before sending synthetic traffic.
pub fn synthetic_registrations(from: NaiveDate, note: &str) -> Vec<zonegate_policy::ListEntry> {
    zonegate_cbec::synthetic::REGISTRATIONS
        .iter()
        .map(|(list, uscc)| zonegate_policy::ListEntry {
            zone: zonegate_cbec::synthetic::ZONE.into(),
            list: (*list).into(),
            item: (*uscc).into(),
            effective_from: from,
            active: true,
            note: note.into(),
        })
        .collect()
}

/// An order as stored in the log (its canonical JSON), parsed again.
fn stored_order(json: &str) -> Result<Order, String> {
    let body = Json::parse(json).map_err(|e| e.to_string())?;
    match documents::parse_json_document(DocKind::Order, &body) {
        Ok(Document::Order(order)) => Ok(order),
        Ok(_) => Err("not an order".into()),
        Err(errors) => {
            Err(format!("no longer parses: {}", errors.0.first().map(ToString::to_string).unwrap_or_default()))
        }
    }
}

/// Who records the draws the app makes up at start-up.
const RECONCILER: &str = "zonegate-reconcile";

/// The enterprise of a stored decision (absent when the checks refused the order).
#[derive(Deserialize)]
struct EnterpriseOf {
    #[serde(default)]
    enterprise: Option<String>,
}

/// Notes, while the log replays, the orders of enterprises keeping a ledger (from their decisions) and
/// their returns (`platform/order_no/return_no`, with the lines asked for).
fn note_ledger_record(
    app: &App,
    record: &CbecRecord,
    orders: &mut HashMap<String, String>,
    returns: &mut Vec<(String, String, Vec<u32>)>,
) {
    match record.kind.as_str() {
        "decision" => {
            let enterprise = serde_json::from_str::<EnterpriseOf>(&record.body_json).ok().and_then(|d| d.enterprise);
            if let Some(enterprise) = enterprise.filter(|e| app.ledger_keeper(e)) {
                orders.insert(record.order_key.clone(), enterprise);
            }
        }
        "return" if orders.contains_key(&record.order_key) => {
            let Some(return_no) = record.key.strip_prefix(&format!("{}/", record.order_key)) else { return };
            let body: Value = serde_json::from_str(&record.body_json).unwrap_or(Value::Null);
            let lines = engine::return_request(return_no, &body).map(|r| r.lines).unwrap_or_default();
            returns.push((record.order_key.clone(), return_no.to_owned(), lines));
        }
        _ => {}
    }
}

fn record_json(record: &CbecRecord) -> AppResult<Value> {
    let body: Value = serde_json::from_str(&record.body_json)
        .map_err(|e| AppError::Internal(format!("cbec record {}: {e}", record.seq)))?;
    Ok(json!({
        "seq": record.seq,
        "kind": record.kind,
        "key": record.key,
        "recorded_by": record.recorded_by,
        "recorded_at": record.recorded_at,
        "body": body,
    }))
}
