//! The risk engine's use cases: rule sets (draft, back-test, put in force), alerts, credit classes,
//! targeting parameters, inspection results and hit rates, and the decision of every submitted declaration.
//!
//! Everything is policy data in the store (append-only rows with effective dates and an author); this module
//! keeps a compiled in-memory view, rebuilt after each write of this process.

use crate::{now_micros, App, AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use zonegate_auth::{Action, PartyKind, Principal, Resource};
use zonegate_domain::{CreditClass, Declaration, FieldErrors, Party};
use zonegate_policy::{Assessment, PolicyBook};
use zonegate_risk::alerts::{Alert, AlertDef, Withdrawal};
use zonegate_risk::backtest::{self, BacktestReport, Case};
use zonegate_risk::build::{self, AssessedItem, PartyView, Record};
use zonegate_risk::draw::DrawSecret;
use zonegate_risk::params::RiskParameters;
use zonegate_risk::rules::{RuleSet, RuleSetDef};
use zonegate_risk::{Decision, Inputs, Scorer};
use zonegate_store::{InspectionOutcome, InspectionRecord, PolicyRow};

pub const KIND_RULE_SET: &str = "risk_rule_set";
pub const KIND_ACTIVATION: &str = "risk_activation";
pub const KIND_ALERT: &str = "risk_alert";
pub const KIND_PARAMETERS: &str = "risk_parameters";
pub const KIND_CREDIT: &str = "credit_class";

/// The draw secret the demo and tests use when none is configured. Draws made with it are predictable to
/// anyone who reads this source: deployments configure their own (`ZONEGATE_DRAW_SECRET`).
pub const DEMO_DRAW_SECRET: &[u8] = b"zonegate-demo-draw-secret-not-for-production";

/// How the engine is configured for a deployment.
#[derive(Clone)]
pub struct RiskConfig {
    pub secret: DrawSecret,
    pub scorer: Option<Arc<dyn Scorer>>,
}

impl RiskConfig {
    pub fn demo() -> RiskConfig {
        RiskConfig { secret: DrawSecret::new(DEMO_DRAW_SECRET.to_vec()).expect("long enough"), scorer: None }
    }
}

/// A saved rule set.
#[derive(Debug, Clone)]
pub struct SavedRuleSet {
    pub set: Arc<RuleSet>,
    pub def: RuleSetDef,
    pub author: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ActivationBody {
    version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CreditBody {
    class: String,
    #[serde(default)]
    reason: String,
}

/// One entry of an enterprise's credit history.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditEntry {
    pub class: CreditClass,
    pub effective_from: NaiveDate,
    pub reason: String,
    pub author: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Activation {
    version: i64,
    effective_from: NaiveDate,
    author: String,
    recorded_at: DateTime<Utc>,
}

/// The compiled view of the risk data.
#[derive(Default)]
pub(crate) struct RiskState {
    rule_sets: BTreeMap<i64, SavedRuleSet>,
    /// In recording order.
    activations: Vec<Activation>,
    alerts: Arc<Vec<Alert>>,
    /// (effective_from, parameters), in recording order.
    parameters: Vec<(NaiveDate, RiskParameters)>,
    credit: HashMap<String, Vec<CreditEntry>>,
    /// Declarations, inspections and findings per declarant: aggregated from the store once, then kept up to
    /// date in memory by this process's submissions and inspection results.
    history: Option<HashMap<String, Record>>,
}

/// The latest entry in force on `date`: greatest `effective_from` not after it, later recordings winning ties.
fn in_force<'a, T>(entries: impl Iterator<Item = (NaiveDate, &'a T)>, date: NaiveDate) -> Option<&'a T> {
    let mut best: Option<(NaiveDate, &T)> = None;
    for (from, value) in entries {
        if from <= date && best.is_none_or(|(b, _)| from >= b) {
            best = Some((from, value));
        }
    }
    best.map(|(_, v)| v)
}

impl RiskState {
    fn active_version(&self, date: NaiveDate) -> Option<i64> {
        in_force(self.activations.iter().map(|a| (a.effective_from, &a.version)), date).copied()
    }

    fn active_rules(&self, date: NaiveDate) -> Arc<RuleSet> {
        self.active_version(date)
            .and_then(|v| self.rule_sets.get(&v))
            .map(|saved| saved.set.clone())
            .unwrap_or_default()
    }

    fn parameters(&self, date: NaiveDate) -> RiskParameters {
        in_force(self.parameters.iter().map(|(from, p)| (*from, p)), date).cloned().unwrap_or_default()
    }

    fn record(&self, declarant: &str) -> Record {
        self.history.as_ref().and_then(|h| h.get(declarant)).copied().unwrap_or_default()
    }

    fn credit(&self, party: &Party, date: NaiveDate) -> CreditClass {
        self.credit
            .get(party.uscc.as_str())
            .and_then(|entries| in_force(entries.iter().map(|e| (e.effective_from, &e.class)), date))
            .copied()
            .unwrap_or(party.credit_class)
    }
}

fn parse_row<T: for<'de> Deserialize<'de>>(row: &PolicyRow) -> AppResult<T> {
    serde_json::from_str(&row.body_json)
        .map_err(|e| AppError::Internal(format!("stored {} row `{}` is invalid: {e}", row.kind, row.key)))
}

/// Parses a JSON body into `T`, reporting the problem as a field error (serde names the field).
fn from_body<T: for<'de> Deserialize<'de>>(body: &Value) -> AppResult<T> {
    serde_json::from_value(body.clone()).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.add("body", "", e.to_string());
        AppError::Invalid(errors)
    })
}

fn rule_set_key(version: i64) -> String {
    format!("{version:08}")
}

/// The outcome of an inspection as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionInput {
    /// `no_finding` or `finding`.
    pub outcome: String,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

impl App {
    /// Reads every risk row and rebuilds the compiled view. Rule sets that no longer compile (a newer engine
    /// refusing an old expression) are an internal error: the data must be migrated, not skipped.
    pub(crate) async fn load_risk(&self) -> AppResult<()> {
        let mut state = RiskState::default();
        for row in self.store.policy_rows(KIND_RULE_SET).await? {
            let def: RuleSetDef = parse_row(&row)?;
            let version: i64 =
                row.key.parse().map_err(|_| AppError::Internal(format!("rule set key `{}`", row.key)))?;
            let mut set = RuleSet::compile(&def, Some(version))
                .map_err(|e| AppError::Internal(format!("stored rule set {version} no longer compiles: {e}")))?;
            for rule in &mut set.rules {
                rule.def.author.clone_from(&row.author);
            }
            state.rule_sets.insert(
                version,
                SavedRuleSet { set: Arc::new(set), def, author: row.author.clone(), recorded_at: row.recorded_at },
            );
        }
        for row in self.store.policy_rows(KIND_ACTIVATION).await? {
            let body: ActivationBody = parse_row(&row)?;
            state.activations.push(Activation {
                version: body.version,
                effective_from: row.effective_from,
                author: row.author.clone(),
                recorded_at: row.recorded_at,
            });
        }
        let mut alerts: BTreeMap<String, Alert> = BTreeMap::new();
        for row in self.store.policy_rows(KIND_ALERT).await? {
            // A later row of the same alert (its withdrawal) supersedes the earlier one.
            alerts.insert(row.key.clone(), parse_row(&row)?);
        }
        state.alerts = Arc::new(alerts.into_values().collect());
        for row in self.store.policy_rows(KIND_PARAMETERS).await? {
            state.parameters.push((row.effective_from, parse_row(&row)?));
        }
        for row in self.store.policy_rows(KIND_CREDIT).await? {
            let body: CreditBody = parse_row(&row)?;
            let class = CreditClass::parse(&body.class)
                .ok_or_else(|| AppError::Internal(format!("stored credit class `{}`", body.class)))?;
            state.credit.entry(row.key.clone()).or_default().push(CreditEntry {
                class,
                effective_from: row.effective_from,
                reason: body.reason,
                author: row.author.clone(),
                recorded_at: row.recorded_at,
            });
        }
        let loaded = self.risk_state()?.history.is_some();
        if !loaded {
            let records = self.store.declarant_history().await?.into_iter().map(|h| {
                let record = Record { declarations: h.declarations, inspections: h.inspections, findings: h.findings };
                (h.declarant, record)
            });
            state.history = Some(records.collect());
        }
        let mut current = self.risk.write().map_err(|_| AppError::Internal("risk lock poisoned".into()))?;
        // Rebuilt after a write: keep the history counted since start-up.
        if loaded {
            state.history = current.history.take();
        }
        *current = state;
        Ok(())
    }

    /// Seeds the shipped rule set (version 1, in force from 2026-01-01) into a store that has none.
    pub(crate) async fn seed_risk(&self) -> AppResult<()> {
        if !self.store.policy_rows(KIND_RULE_SET).await?.is_empty() {
            return Ok(());
        }
        let def = zonegate_risk::defaults::default_rules()
            .map_err(|e| AppError::Internal(format!("shipped rules are invalid: {e}")))?;
        let at = now_micros(self.clock.as_ref());
        let author = crate::SEED_AUTHOR;
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        let rows = vec![
            crate::rows::row(KIND_RULE_SET, rule_set_key(1), from, &def, author, at),
            crate::rows::row(KIND_ACTIVATION, "active".to_owned(), from, &ActivationBody { version: 1 }, author, at),
            crate::rows::row(KIND_PARAMETERS, "default".to_owned(), from, &RiskParameters::default(), author, at),
        ];
        self.store.append_policy_rows(rows, author, at).await?;
        tracing::info!("seeded the shipped risk rules (version 1)");
        Ok(())
    }

    /// The body's `effective_from`: required, a date, and not before today (risk data is never backdated;
    /// `takes_effect` names what does, in the message).
    fn effective_from(&self, body: &Value, takes_effect: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
        let text = match body.get("effective_from").and_then(Value::as_str) {
            Some(text) => text,
            None => {
                errors.add("required", "effective_from", "`effective_from` is required (YYYY-MM-DD)");
                return None;
            }
        };
        let Ok(from) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
            errors.add("date", "effective_from", format!("`{text}` is not a date (YYYY-MM-DD)"));
            return None;
        };
        let today = self.clock.now().date_naive();
        if from < today {
            errors.add(
                "backdated",
                "effective_from",
                format!("{from} is in the past: {takes_effect} effect from today ({today}) on"),
            );
        }
        Some(from)
    }

    pub(crate) fn risk_state(&self) -> AppResult<std::sync::RwLockReadGuard<'_, RiskState>> {
        self.risk.read().map_err(|_| AppError::Internal("risk lock poisoned".into()))
    }

    /// The risk engine's decision on an assessed declaration, as of now.
    pub fn decide_channel(
        &self,
        book: &PolicyBook,
        declaration: &Declaration,
        assessment: &Assessment,
        declarant: &Party,
        importer: &Party,
    ) -> AppResult<Decision> {
        let state = self.risk_state()?;
        let items = assessed_items(assessment);
        Ok(self.decide_with(&state, book, declaration, &items, (declarant, importer), self.clock.now()))
    }

    /// The channel of a declaration built from another document (an e-commerce order), with the risk data
    /// already read (one read lock for a whole batch).
    pub(crate) fn decide_with(
        &self,
        state: &RiskState,
        book: &PolicyBook,
        declaration: &Declaration,
        items: &[AssessedItem<'_>],
        parties: (&Party, &Party),
        now: chrono::DateTime<chrono::Utc>,
    ) -> Decision {
        let facts = App::facts(state, book, declaration, items, parties);
        let date = declaration.declared_on;
        let rules = state.active_rules(date);
        let params = state.parameters(date);
        let inputs = Inputs {
            rules: &rules,
            alerts: &state.alerts,
            params: &params,
            secret: &self.risk_config.secret,
            scorer: self.risk_config.scorer.as_deref(),
            now,
        };
        zonegate_risk::decide(&facts, date, &inputs)
    }

    /// The facts of a declaration with the credit classes in force and the declarant's record.
    fn facts(
        state: &RiskState,
        book: &PolicyBook,
        declaration: &Declaration,
        items: &[AssessedItem<'_>],
        (declarant, importer): (&Party, &Party),
    ) -> zonegate_risk::facts::Facts {
        let date = declaration.declared_on;
        let record = state.record(declaration.declarant.as_str());
        let credit = (state.credit(declarant, date), state.credit(importer, date));
        facts_for(book, declaration, items, (declarant, importer), credit, record)
    }

    /// Counts a newly recorded declaration in its declarant's history.
    pub(crate) fn count_declaration(&self, declarant: &str) {
        if let Ok(mut state) = self.risk.write() {
            state.history.get_or_insert_default().entry(declarant.to_owned()).or_default().declarations += 1;
        }
    }

    async fn append_risk_rows(&self, who: &Principal, rows: Vec<PolicyRow>) -> AppResult<()> {
        let at = now_micros(self.clock.as_ref());
        let rows = rows.into_iter().map(|mut row| {
            row.author.clone_from(&who.user_id);
            row.recorded_at = at;
            row
        });
        self.store.append_policy_rows(rows.collect(), &who.user_id, at).await?;
        self.load_risk().await
    }

    // ---- Rule sets ----

    /// Saves a draft rule set as the next version. Every problem is reported at once, with the line and
    /// column in each condition. Saving the same rules as the latest version returns that version.
    pub async fn save_rule_set(&self, who: &Principal, body: &Value) -> AppResult<(bool, Value)> {
        self.authorize(who, Action::RiskWrite, &Resource::Platform)?;
        let def: RuleSetDef = from_body(body)?;
        RuleSet::compile(&def, None)?;
        let _guard = self.risk_writes.lock().await;
        let latest = {
            let state = self.risk_state()?;
            state.rule_sets.iter().next_back().map(|(v, saved)| (*v, saved.def.clone()))
        };
        if let Some((version, saved)) = &latest {
            if *saved == def {
                return Ok((false, self.rule_set_body(*version)?));
            }
        }
        let version = latest.map_or(1, |(v, _)| v + 1);
        let today = self.clock.now().date_naive();
        let row = crate::rows::row(KIND_RULE_SET, rule_set_key(version), today, &def, &who.user_id, self.clock.now());
        self.append_risk_rows(who, vec![row]).await?;
        Ok((true, self.rule_set_body(version)?))
    }

    fn rule_set_body(&self, version: i64) -> AppResult<Value> {
        let state = self.risk_state()?;
        let saved = state.rule_sets.get(&version).ok_or_else(|| AppError::not_found(format!("rule set {version}")))?;
        let today = self.clock.now().date_naive();
        let activations: Vec<Value> = state
            .activations
            .iter()
            .filter(|a| a.version == version)
            .map(|a| json!({ "effective_from": a.effective_from.to_string(), "by": a.author, "at": a.recorded_at.to_rfc3339() }))
            .collect();
        let rules: Vec<Value> = saved
            .def
            .rules
            .iter()
            .map(|rule| {
                let mut value = serde_json::to_value(rule).unwrap_or(Value::Null);
                if let Some(object) = value.as_object_mut() {
                    object.insert("author".into(), json!(saved.author));
                }
                value
            })
            .collect();
        Ok(json!({
            "version": version,
            "note": saved.def.note,
            "author": saved.author,
            "recorded_at": saved.recorded_at.to_rfc3339(),
            "in_force": state.active_version(today) == Some(version),
            "activations": activations,
            "rules": rules,
        }))
    }

    pub fn get_rule_set(&self, who: &Principal, version: i64) -> AppResult<Value> {
        self.authorize(who, Action::RiskRead, &Resource::Platform)?;
        self.rule_set_body(version)
    }

    /// Every saved version, newest first, with which is in force today.
    pub fn list_rule_sets(&self, who: &Principal) -> AppResult<Value> {
        self.authorize(who, Action::RiskRead, &Resource::Platform)?;
        let state = self.risk_state()?;
        let today = self.clock.now().date_naive();
        let active = state.active_version(today);
        let sets: Vec<Value> = state
            .rule_sets
            .iter()
            .rev()
            .map(|(version, saved)| {
                json!({
                    "version": version,
                    "note": saved.def.note,
                    "author": saved.author,
                    "recorded_at": saved.recorded_at.to_rfc3339(),
                    "rules": saved.def.rules.len(),
                    "in_force": active == Some(*version),
                })
            })
            .collect();
        Ok(json!({ "in_force": active, "rule_sets": sets }))
    }

    /// Puts a saved version in force from a date (today or later). A supervisor's act: drafts are written by
    /// analysts. Repeating the same activation changes nothing.
    pub async fn activate_rule_set(&self, who: &Principal, version: i64, body: &Value) -> AppResult<Value> {
        self.authorize(who, Action::RiskActivate, &Resource::Platform)?;
        let mut errors = FieldErrors::default();
        let from = self.effective_from(body, "rules take", &mut errors);
        let (Some(from), true) = (from, errors.is_empty()) else {
            return Err(errors.into());
        };
        let _guard = self.risk_writes.lock().await;
        {
            let state = self.risk_state()?;
            if !state.rule_sets.contains_key(&version) {
                return Err(AppError::not_found(format!("rule set {version}")));
            }
            let last = state.activations.iter().rev().find(|a| a.effective_from == from);
            if last.is_some_and(|a| a.version == version) {
                drop(state);
                return self.rule_set_body(version);
            }
        }
        let row = crate::rows::row(
            KIND_ACTIVATION,
            "active".to_owned(),
            from,
            &ActivationBody { version },
            &who.user_id,
            self.clock.now(),
        );
        self.append_risk_rows(who, vec![row]).await?;
        self.rule_set_body(version)
    }

    /// Replays recorded declarations (the most recent `limit`, at most 100,000) against a saved version, with
    /// the inspection outcomes recorded for them.
    pub async fn backtest_rule_set(
        &self,
        who: &Principal,
        version: i64,
        limit: Option<u32>,
    ) -> AppResult<BacktestReport> {
        self.authorize(who, Action::RiskWrite, &Resource::Platform)?;
        let set = {
            let state = self.risk_state()?;
            state
                .rule_sets
                .get(&version)
                .map(|s| s.set.clone())
                .ok_or_else(|| AppError::not_found(format!("rule set {version}")))?
        };
        self.replay(&set, limit).await
    }

    /// Back-tests a draft that has not been saved (the JSON of a rule set), reporting its problems first.
    pub async fn backtest_draft(&self, who: &Principal, body: &Value, limit: Option<u32>) -> AppResult<BacktestReport> {
        self.authorize(who, Action::RiskWrite, &Resource::Platform)?;
        let def: RuleSetDef = from_body(body)?;
        let set = RuleSet::compile(&def, None)?;
        self.replay(&set, limit).await
    }

    async fn replay(&self, set: &RuleSet, limit: Option<u32>) -> AppResult<BacktestReport> {
        let limit = limit.unwrap_or(10_000).clamp(1, 100_000) as usize;
        let recorded = self.recorded_cases(limit).await?;
        let cases: Vec<Case<'_>> = recorded.iter().map(|(facts, finding)| Case { facts, finding: *finding }).collect();
        Ok(backtest::backtest(set, &cases))
    }

    /// The facts of the last `limit` recorded declarations, with their inspection outcome when inspected.
    async fn recorded_cases(&self, limit: usize) -> AppResult<Vec<(zonegate_risk::facts::Facts, Option<bool>)>> {
        let outcomes = self.inspection_outcomes().await?;
        let book = self.book();
        let mut cases = std::collections::VecDeque::new();
        let mut after = None;
        loop {
            let filter =
                zonegate_store::DeclarationFilter { after, limit: zonegate_store::PAGE_SIZE_MAX, ..Default::default() };
            let page = self.store.list_declarations(filter).await?;
            for stored in &page.items {
                if let Some(facts) = self.stored_facts(&book, stored)? {
                    cases.push_back((facts, outcomes.get(&stored.id).copied()));
                    if cases.len() > limit {
                        cases.pop_front();
                    }
                }
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(cases.into())
    }

    /// Training data for the learned score: every recorded declaration with an inspection result. The
    /// declarant's history is today's, less the declaration's own inspection (later inspections of the same
    /// declarant still count: a known approximation until history is kept per point in time).
    pub async fn training_examples(&self, who: &Principal) -> AppResult<Vec<(zonegate_risk::facts::Facts, bool)>> {
        self.authorize(who, Action::RiskWrite, &Resource::Platform)?;
        let book = self.book();
        let mut examples = Vec::new();
        for inspection in &self.all_inspections().await? {
            let stored = self.store.get_declaration(inspection.declaration_id).await?;
            if let Some(mut facts) = self.stored_facts(&book, &stored)? {
                let finding = inspection.outcome == "finding";
                // The history counts this inspection: take it out, or the label leaks into the features.
                let history = &mut facts.history;
                history.inspections = (history.inspections - 1).max(0);
                history.findings = (history.findings - i64::from(finding)).max(0);
                history.finding_rate =
                    if history.inspections == 0 { 0.0 } else { history.findings as f64 / history.inspections as f64 };
                examples.push((facts, finding));
            }
        }
        Ok(examples)
    }

    /// The facts of a recorded declaration, rebuilt from its stored document and assessment with today's
    /// party data. `None` when its parties are no longer known.
    fn stored_facts(
        &self,
        book: &PolicyBook,
        stored: &zonegate_store::StoredDeclaration,
    ) -> AppResult<Option<zonegate_risk::facts::Facts>> {
        let document: Value = serde_json::from_str(&stored.document_json)
            .map_err(|e| AppError::Internal(format!("stored document {}: {e}", stored.id)))?;
        let Ok(declaration) = zonegate_wire::declaration::parse(&document) else { return Ok(None) };
        let assessment: zonegate_wire::assessment::AssessmentJson = serde_json::from_str(&stored.assessment_json)
            .map_err(|e| AppError::Internal(format!("stored assessment {}: {e}", stored.id)))?;
        let (Some(declarant), Some(importer)) =
            (self.party(declaration.declarant.as_str()), self.party(declaration.importer.as_str()))
        else {
            return Ok(None);
        };
        let values: Vec<(rust_decimal::Decimal, String)> = assessment
            .items
            .iter()
            .map(|item| (item.customs_value_cny.parse().unwrap_or_default(), item.treatment.clone()))
            .collect();
        let items: Vec<AssessedItem<'_>> =
            values.iter().map(|(value, treatment)| AssessedItem { customs_value_cny: *value, treatment }).collect();
        let state = self.risk_state()?;
        Ok(Some(App::facts(&state, book, &declaration, &items, (&declarant, &importer))))
    }

    /// Every recorded inspection result, by declaration id, page by page.
    async fn all_inspections(&self) -> AppResult<Vec<InspectionRecord>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_inspections(after, zonegate_store::PAGE_SIZE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.declaration_id);
            out.extend(page);
        }
        Ok(out)
    }

    async fn inspection_outcomes(&self) -> AppResult<HashMap<i64, bool>> {
        Ok(self.all_inspections().await?.iter().map(|i| (i.declaration_id, i.outcome == "finding")).collect())
    }

    // ---- Targeting parameters ----

    pub fn risk_parameters(&self, who: &Principal) -> AppResult<Value> {
        self.authorize(who, Action::RiskRead, &Resource::Platform)?;
        let today = self.clock.now().date_naive();
        let params = self.risk_state()?.parameters(today);
        Ok(json!({ "as_of": today.to_string(), "parameters": params }))
    }

    /// Records targeting parameters in force from a date (today or later).
    pub async fn set_risk_parameters(&self, who: &Principal, body: &Value) -> AppResult<Value> {
        self.authorize(who, Action::RiskActivate, &Resource::Platform)?;
        let mut errors = FieldErrors::default();
        let from = self.effective_from(body, "parameters take", &mut errors);
        let params: Option<RiskParameters> = match body.get("parameters") {
            Some(value) => match serde_json::from_value(value.clone()) {
                Ok(params) => Some(params),
                Err(e) => {
                    errors.add("body", "parameters", e.to_string());
                    None
                }
            },
            None => {
                errors.add("required", "parameters", "`parameters` is required");
                None
            }
        };
        if let Some(params) = &params {
            if let Err(problems) = params.validate() {
                for mut problem in problems.0 {
                    problem.field = format!("parameters.{}", problem.field);
                    errors.push(problem);
                }
            }
        }
        let (Some(from), Some(params), true) = (from, params, errors.is_empty()) else {
            return Err(errors.into());
        };
        let row =
            crate::rows::row(KIND_PARAMETERS, "default".to_owned(), from, &params, &who.user_id, self.clock.now());
        self.append_risk_rows(who, vec![row]).await?;
        Ok(json!({ "effective_from": from.to_string(), "parameters": params }))
    }

    // ---- Credit ----

    /// Records an enterprise's credit class from a date (today or later).
    pub async fn set_credit_class(&self, who: &Principal, uscc: &str, body: &Value) -> AppResult<Value> {
        self.authorize(who, Action::CreditWrite, &Resource::Platform)?;
        if self.party(uscc).is_none() {
            return Err(AppError::not_found(format!("enterprise `{uscc}`")));
        }
        let mut errors = FieldErrors::default();
        let class_text = body.get("class").and_then(Value::as_str);
        let class = class_text.and_then(CreditClass::parse);
        if class.is_none() {
            errors.add("choice", "class", format!("`class` must be one of {}", CreditClass::expected()));
        }
        let from = self.effective_from(body, "a credit class takes", &mut errors);
        let reason = body.get("reason").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        if reason.is_empty() {
            errors.add("required", "reason", "say why the class changes (the decision's reference)");
        }
        let (Some(class), Some(from), true) = (class, from, errors.is_empty()) else {
            return Err(errors.into());
        };
        let body = CreditBody { class: class.as_str().to_owned(), reason };
        let row = crate::rows::row(KIND_CREDIT, uscc.to_owned(), from, &body, &who.user_id, self.clock.now());
        self.append_risk_rows(who, vec![row]).await?;
        self.credit_history(who, uscc)
    }

    /// An enterprise's credit class today and every recorded change.
    pub fn credit_history(&self, who: &Principal, uscc: &str) -> AppResult<Value> {
        self.authorize(
            who,
            Action::EnterpriseRead,
            &Resource::Party { id: uscc.to_owned(), kind: PartyKind::Enterprise },
        )?;
        let party = self.party(uscc).ok_or_else(|| AppError::not_found(format!("enterprise `{uscc}`")))?;
        let state = self.risk_state()?;
        let today = self.clock.now().date_naive();
        let entries: Vec<Value> = state
            .credit
            .get(uscc)
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        json!({
                            "class": e.class.as_str(),
                            "effective_from": e.effective_from.to_string(),
                            "reason": e.reason,
                            "by": e.author,
                            "at": e.recorded_at.to_rfc3339(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({
            "uscc": uscc,
            "class": state.credit(&party, today).as_str(),
            "registered_class": party.credit_class.as_str(),
            "changes": entries,
        }))
    }

    // ---- Alerts ----

    /// Publishes an alert under the caller's party. Publishing the same alert again returns it unchanged;
    /// another body under the same id is a conflict.
    pub async fn publish_alert(&self, who: &Principal, body: &Value) -> AppResult<(bool, Alert)> {
        self.authorize(who, Action::AlertPublish, &Resource::Platform)?;
        let def: AlertDef = from_body(body)?;
        def.validate()?;
        let key = format!("{}/{}", who.party, def.id);
        let _guard = self.risk_writes.lock().await;
        let existing = self.risk_state()?.alerts.iter().find(|a| a.key == key).cloned();
        if let Some(existing) = existing {
            return if existing.def == def {
                Ok((false, existing))
            } else {
                Err(AppError::Clash(format!("alert `{key}` was published before with other content")))
            };
        }
        let alert = Alert {
            key: key.clone(),
            def,
            publisher: who.party.clone(),
            published_by: who.user_id.clone(),
            published_at: now_micros(self.clock.as_ref()),
            withdrawn: None,
        };
        let row = crate::rows::row(KIND_ALERT, key, alert.def.valid_from, &alert, &who.user_id, alert.published_at);
        self.append_risk_rows(who, vec![row]).await?;
        Ok((true, alert))
    }

    /// Alerts, newest first; `active` keeps those in force today.
    pub fn list_alerts(&self, who: &Principal, active_only: bool) -> AppResult<Vec<Alert>> {
        self.authorize(who, Action::AlertRead, &Resource::Platform)?;
        let now = self.clock.now();
        let mut alerts: Vec<Alert> = self
            .risk_state()?
            .alerts
            .iter()
            .filter(|a| !active_only || a.is_active(now.date_naive(), now))
            .cloned()
            .collect();
        alerts.sort_by(|a, b| b.published_at.cmp(&a.published_at).then_with(|| a.key.cmp(&b.key)));
        Ok(alerts)
    }

    /// Withdraws an alert from now on. Withdrawing twice keeps the first withdrawal.
    pub async fn withdraw_alert(&self, who: &Principal, key: &str, reason: &str) -> AppResult<Alert> {
        let _guard = self.risk_writes.lock().await;
        let existing = self.risk_state()?.alerts.iter().find(|a| a.key == key).cloned();
        let Some(mut alert) = existing else { return Err(AppError::not_found(format!("alert `{key}`"))) };
        let resource = Resource::Alert {
            key: key.to_owned(),
            publisher: alert.publisher.clone(),
            publisher_kind: PartyKind::of_party(&alert.publisher),
        };
        self.authorize(who, Action::AlertWithdraw, &resource)?;
        if alert.withdrawn.is_some() {
            return Ok(alert);
        }
        alert.withdrawn = Some(Withdrawal {
            by: who.user_id.clone(),
            at: now_micros(self.clock.as_ref()),
            reason: reason.trim().to_owned(),
        });
        let row =
            crate::rows::row(KIND_ALERT, key.to_owned(), alert.def.valid_from, &alert, &who.user_id, self.clock.now());
        self.append_risk_rows(who, vec![row]).await?;
        Ok(alert)
    }

    // ---- Inspections ----

    /// Records the result of inspecting a declaration (an officer's act). The decision's channel, reasons
    /// and fired rules are kept with it, so hit rates need no replay.
    pub async fn record_inspection(&self, who: &Principal, id: i64, body: &Value) -> AppResult<(bool, Value)> {
        let stored = self.stored_declaration_for(who, id, Action::DeclarationDecide).await?;
        let input: InspectionInput = from_body(body)?;
        let mut errors = FieldErrors::default();
        if !matches!(input.outcome.as_str(), "no_finding" | "finding") {
            errors.add("choice", "outcome", "`outcome` must be `no_finding` or `finding`");
        }
        if input.outcome == "finding" && input.findings.iter().all(|f| f.trim().is_empty()) {
            errors.add("required", "findings", "a finding needs at least one entry in `findings`");
        }
        if input.notes.chars().count() > 4_000 {
            errors.add("length", "notes", "at most 4,000 characters");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let assessment: Value = serde_json::from_str(&stored.assessment_json).unwrap_or(Value::Null);
        let risk = assessment.get("risk").cloned().unwrap_or(Value::Null);
        let details = json!({
            "findings": input.findings,
            "notes": input.notes,
            "channel": stored.channel,
            "reasons": assessment.get("reasons").cloned().unwrap_or(Value::Null),
            "rules_fired": risk.get("rules_fired").cloned().unwrap_or(json!([])),
            "score": risk.get("score").cloned().unwrap_or(Value::Null),
        });
        let record = InspectionRecord {
            declaration_id: id,
            outcome: input.outcome.clone(),
            body_json: details.to_string(),
            body_sha256: zonegate_wire::document_sha256(body),
            recorded_by: who.user_id.clone(),
            recorded_at: now_micros(self.clock.as_ref()),
        };
        match self.store.record_inspection(record).await? {
            InspectionOutcome::Created(record) => {
                if let Ok(mut state) = self.risk.write() {
                    let entry = state.history.get_or_insert_default().entry(stored.declarant.clone()).or_default();
                    entry.inspections += 1;
                    entry.findings += i64::from(record.outcome == "finding");
                }
                Ok((true, inspection_body(&record)))
            }
            InspectionOutcome::Repeat(record) => Ok((false, inspection_body(&record))),
            InspectionOutcome::Conflict(_) => Err(AppError::Clash(format!(
                "an inspection result of declaration {id} was recorded before with other content"
            ))),
        }
    }

    pub async fn get_inspection(&self, who: &Principal, id: i64) -> AppResult<Value> {
        self.stored_declaration(who, id).await?;
        match self.store.get_inspection(id).await {
            Ok(record) => Ok(inspection_body(&record)),
            Err(zonegate_store::StoreError::NotFound) => {
                Err(AppError::not_found(format!("inspection of declaration {id}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Hit rates: per rule that fired on inspected declarations, and per selection reason (rules, score,
    /// random draw, credit, alerts). The random draw's rate is the unbiased baseline.
    pub async fn risk_report(&self, who: &Principal) -> AppResult<Value> {
        self.authorize(who, Action::RiskRead, &Resource::Platform)?;
        #[derive(Default)]
        struct Tally {
            inspected: u64,
            findings: u64,
        }
        let mut by_rule: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_reason: BTreeMap<String, Tally> = BTreeMap::new();
        let mut total = Tally::default();
        for inspection in &self.all_inspections().await? {
            let found = u64::from(inspection.outcome == "finding");
            total.inspected += 1;
            total.findings += found;
            let details: Value = serde_json::from_str(&inspection.body_json).unwrap_or(Value::Null);
            for fired in details.get("rules_fired").and_then(Value::as_array).into_iter().flatten() {
                if let Some(id) = fired.get("id").and_then(Value::as_str) {
                    let t = by_rule.entry(id.to_owned()).or_default();
                    t.inspected += 1;
                    t.findings += found;
                }
            }
            for reason in details.get("reasons").and_then(Value::as_array).into_iter().flatten() {
                if let Some(reason) = reason.as_str() {
                    let kind = reason.split(':').next().unwrap_or(reason).to_owned();
                    let t = by_reason.entry(kind).or_default();
                    t.inspected += 1;
                    t.findings += found;
                }
            }
        }
        let rate =
            |t: &Tally| if t.inspected == 0 { Value::Null } else { json!(t.findings as f64 / t.inspected as f64) };
        let rows = |map: &BTreeMap<String, Tally>, key: &str| -> Vec<Value> {
            map.iter()
                .map(
                    |(id, t)| json!({ key: id, "inspected": t.inspected, "findings": t.findings, "hit_rate": rate(t) }),
                )
                .collect()
        };
        Ok(json!({
            "inspected": total.inspected,
            "findings": total.findings,
            "hit_rate": rate(&total),
            "rules": rows(&by_rule, "rule"),
            "reasons": rows(&by_reason, "reason"),
        }))
    }
}

/// The party as the engine sees it on `date`: its credit class then and the party lists it is on.
fn party_view<'a>(
    book: &PolicyBook,
    party: &'a Party,
    zone: &str,
    date: NaiveDate,
    credit: CreditClass,
) -> PartyView<'a> {
    let lists = zonegate_policy::book::LISTS
        .iter()
        .filter(|(name, kind, _)| {
            *kind == zonegate_policy::ListKind::Parties && book.party_on_list(zone, name, party, date)
        })
        .map(|(name, _, _)| (*name).to_owned())
        .collect();
    PartyView { uscc: party.uscc.as_str(), credit, lists, zone_registered: party.zone_registered }
}

/// What the assessment found for each item, as the facts take it.
fn assessed_items(assessment: &Assessment) -> Vec<AssessedItem<'_>> {
    assessment
        .items
        .iter()
        .map(|item| AssessedItem { customs_value_cny: item.customs_value_cny, treatment: item.treatment.as_str() })
        .collect()
}

/// The facts of an assessed declaration. `credit` is the (declarant, importer) classes in force.
pub fn facts_for(
    book: &PolicyBook,
    declaration: &Declaration,
    items: &[AssessedItem<'_>],
    (declarant, importer): (&Party, &Party),
    credit: (CreditClass, CreditClass),
    record: Record,
) -> zonegate_risk::facts::Facts {
    let (zone, date) = (declaration.zone.as_str(), declaration.declared_on);
    build::facts_of(
        declaration,
        items,
        &party_view(book, declarant, zone, date, credit.0),
        &party_view(book, importer, zone, date, credit.1),
        record,
    )
}

/// The decision of the shipped rules and default parameters, without alerts, history or a model: what the
/// offline `assess` command shows.
pub fn offline_decision(
    book: &PolicyBook,
    declaration: &Declaration,
    assessment: &Assessment,
    parties: (&Party, &Party),
    secret: &DrawSecret,
    now: DateTime<Utc>,
) -> AppResult<Decision> {
    let def = zonegate_risk::defaults::default_rules().map_err(|e| AppError::Internal(e.to_string()))?;
    let rules = RuleSet::compile(&def, Some(1))?;
    let credit = (parties.0.credit_class, parties.1.credit_class);
    let facts = facts_for(book, declaration, &assessed_items(assessment), parties, credit, Record::default());
    let params = RiskParameters::default();
    let inputs = Inputs { rules: &rules, alerts: &[], params: &params, secret, scorer: None, now };
    Ok(zonegate_risk::decide(&facts, declaration.declared_on, &inputs))
}

fn inspection_body(record: &InspectionRecord) -> Value {
    let details: Value = serde_json::from_str(&record.body_json).unwrap_or(Value::Null);
    json!({
        "declaration_id": record.declaration_id,
        "outcome": record.outcome,
        "findings": details.get("findings").cloned().unwrap_or(json!([])),
        "notes": details.get("notes").cloned().unwrap_or(json!("")),
        "channel": details.get("channel").cloned().unwrap_or(Value::Null),
        "rules_fired": details.get("rules_fired").cloned().unwrap_or(json!([])),
        "recorded_by": record.recorded_by,
        "recorded_at": record.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}
