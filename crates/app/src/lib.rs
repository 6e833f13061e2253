//! The use cases of zonegate, in domain terms: the one boundary that HTTP and the CLI adapt.
//!
//! The flow of a submission: parse the document at the edge (every problem at once) → assess against the
//! policy book in force on `declared_on` (pure) → record the declaration, its assessment and an event in one
//! transaction, idempotently under (declarant, reference). Time comes from a [`Clock`] the caller provides.

pub mod accounts;
pub mod cbec;
pub mod credential_cache;
pub mod error;
pub mod hs_search;
pub mod ledger;
pub mod risk;
pub mod rows;
mod whitelist;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use zonegate_auth::{Action, Authorizer, Principal, Resource};
use zonegate_domain::{money::fen_string, Declaration, FieldError, FieldErrors, HsCode, Party};
use zonegate_policy::defaults::{self, PolicyRows};
use zonegate_policy::{assess, Assessment, ListEntry, PolicyBook};
use zonegate_store::{DeclarationFilter, NewDeclaration, PartyRecord, Store, StoredDeclaration, SubmitOutcome};
use zonegate_wire::assessment::AssessmentJson;
use zonegate_wire::parties::PartyJson;

pub use error::{AppError, AppResult};
pub use zonegate_auth as auth;
pub use zonegate_store::{ChainReport, DeclarationStats, Event, Page, StatsQuery};

/// Where the current time comes from: the system clock in production, a fixed one in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The demo accounts: (user id, party, party kind, role, display name), one per role.
pub const DEMO_ACCOUNTS: &[(&str, &str, &str, &str, &str)] = &[
    ("hq.declarant", "91440400MA4UJ0J57H", "enterprise", "declarant", "Demo declarant, exempt importer"),
    ("hq.admin", "91440400MA4UJ0J57H", "enterprise", "enterprise_admin", "Demo enterprise admin"),
    ("shop.declarant", "91440400MA55H0P10R", "enterprise", "declarant", "Demo declarant, duty-free shop"),
    ("officer", "customs:hengqin", "customs", "officer", "Demo customs officer"),
    ("analyst", "customs:hengqin", "customs", "risk_analyst", "Demo risk analyst"),
    ("supervisor", "customs:hengqin", "customs", "supervisor", "Demo supervisor"),
    ("auditor", "customs:hengqin", "customs", "auditor", "Demo auditor"),
    ("macao.iacm", "authority:macao-iacm", "authority", "authority", "Demo Macao authority desk"),
    ("bank.boc", "bank:boc-hengqin", "bank", "bank", "Demo bank desk"),
];

/// The password of every demo account. Demo data only: never load the demo on a platform others reach.
pub const DEMO_PASSWORD: &str = "hengqin-demo-2026";

/// Author recorded on rows the platform writes itself.
pub const SEED_AUTHOR: &str = "zonegate-seed";

/// How a submission ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Recorded now.
    Created(Value),
    /// Recorded before with the same content: the first result.
    Repeat(Value),
}

impl Submitted {
    pub fn body(&self) -> &Value {
        match self {
            Submitted::Created(body) | Submitted::Repeat(body) => body,
        }
    }
}

/// A prepared submission: the parsed document and its assessment, not yet recorded.
pub struct Prepared {
    pub record: NewDeclaration,
}

/// Filters of a declaration listing, as the API takes them.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub flow: Option<String>,
    pub declarant: Option<String>,
    pub declared_from: Option<NaiveDate>,
    pub declared_to: Option<NaiveDate>,
    pub treatment: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

impl ListQuery {
    /// Every problem with the filters: unknown flow or treatment, a limit outside 1..=500, an empty range.
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        if let Some(flow) = &self.flow {
            if zonegate_domain::Flow::parse(flow).is_none() {
                errors.add("choice", "flow", format!("`{flow}` is not one of {}", zonegate_domain::Flow::expected()));
            }
        }
        if let Some(treatment) = &self.treatment {
            if zonegate_policy::Treatment::parse(treatment).is_none() {
                errors.add("choice", "treatment", format!("`{treatment}` is not a treatment"));
            }
        }
        let limit = self.limit.unwrap_or(PAGE_SIZE_DEFAULT);
        if limit == 0 || limit > zonegate_store::PAGE_SIZE_MAX {
            errors.add("range", "limit", format!("`{limit}` is outside 1..={}", zonegate_store::PAGE_SIZE_MAX));
        }
        if let (Some(from), Some(to)) = (self.declared_from, self.declared_to) {
            if from > to {
                errors.add("range", "declared_from", format!("{from} is after declared_to {to}"));
            }
        }
        errors
    }
}

/// Default page size of listings.
pub const PAGE_SIZE_DEFAULT: u32 = 50;

struct State {
    book: Arc<PolicyBook>,
    parties: HashMap<String, Party>,
}

pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    authorizer: Authorizer,
    risk: RwLock<risk::RiskState>,
    risk_config: risk::RiskConfig,
    /// Serialises this process's risk-data writes (rule-set versions are numbered in order).
    risk_writes: tokio::sync::Mutex<()>,
    /// The bonded ledgers: the engine, its indexes and the writers' mutex.
    ledger: ledger::LedgerState,
    /// Cross-border e-commerce (1210): the engine, its data and the writers' mutex.
    cbec: cbec::CbecState,
    /// Tokens and principals recently read from the store, for authenticating requests.
    credentials: credential_cache::CredentialCache,
}

fn now_micros(clock: &dyn Clock) -> DateTime<Utc> {
    clock.now().trunc_subsecs(6)
}

impl App {
    /// Opens the app over a store with the demo risk configuration ([`risk::RiskConfig::demo`]: the public
    /// demo draw secret, no model). Deployments use [`App::open_with`].
    pub async fn open(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> AppResult<App> {
        App::open_with(store, clock, risk::RiskConfig::demo()).await
    }

    /// Opens the app over a store. A store that has never held policy data is seeded with the shipped data,
    /// and one without risk rules with the shipped rule set.
    pub async fn open_with(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        risk_config: risk::RiskConfig,
    ) -> AppResult<App> {
        if store.policy_row_count().await? == 0 {
            let shipped =
                defaults::shipped_rows().map_err(|e| AppError::Internal(format!("shipped data is invalid: {e}")))?;
            let at = now_micros(clock.as_ref());
            store.append_policy_rows(rows::to_store_rows(&shipped, SEED_AUTHOR, at), SEED_AUTHOR, at).await?;
            tracing::info!(rows = shipped.len(), "seeded the store with the shipped policy data");
        }
        let authorizer = Authorizer::standard().map_err(|e| AppError::Internal(e.to_string()))?;
        let app = App {
            store,
            clock,
            state: RwLock::new(State { book: Arc::new(PolicyBook::default()), parties: HashMap::new() }),
            authorizer,
            risk: RwLock::new(risk::RiskState::default()),
            risk_config,
            risk_writes: tokio::sync::Mutex::new(()),
            ledger: ledger::LedgerState::default(),
            cbec: cbec::CbecState::default(),
            credentials: credential_cache::CredentialCache::default(),
        };
        app.seed_risk().await?;
        app.reload().await?;
        app.load_ledger().await?;
        app.load_cbec().await?;
        Ok(app)
    }

    /// Rebuilds the in-memory policy book and party index from the store.
    pub async fn reload(&self) -> AppResult<()> {
        let mut policy = PolicyRows::default();
        for kind in rows::KINDS {
            let stored = self.store.policy_rows(kind).await?;
            rows::from_store_rows(kind, &stored, &mut policy).map_err(AppError::Internal)?;
        }
        let book = Arc::new(policy.to_book());
        let mut parties = HashMap::new();
        let mut after = None;
        loop {
            let page = self.store.list_parties(after.clone(), zonegate_store::PAGE_SIZE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.uscc.clone());
            for record in &page {
                let party = decode_party(record)?;
                parties.insert(record.uscc.clone(), party);
            }
        }
        {
            let mut state = self.state.write().map_err(|_| AppError::Internal("state lock poisoned".into()))?;
            *state = State { book, parties };
        }
        self.load_risk().await
    }

    pub fn book(&self) -> Arc<PolicyBook> {
        self.state.read().map(|s| s.book.clone()).unwrap_or_default()
    }

    /// Refuses with [`AppError::Forbidden`] unless the policies allow `who` to take `action` on `resource`.
    pub fn authorize(&self, who: &Principal, action: Action, resource: &Resource) -> AppResult<()> {
        let decision = self.authorizer.decide(who, action, resource).map_err(|e| AppError::Internal(e.to_string()))?;
        if decision.allowed {
            Ok(())
        } else {
            let actor = auth::credentials::fingerprint(&who.user_id);
            tracing::info!(%actor, action = %action, policies = ?decision.policies, "refused");
            Err(AppError::Forbidden { user_id: who.user_id.clone(), action: action.as_str().to_owned() })
        }
    }

    /// Authorizes an action over declarations of one declarant, or of every declarant when `declarant` is
    /// `None`. A caller who may not act on every party's (an enterprise user) is scoped to their own party
    /// first; naming another party stays refused.
    fn authorize_party_scope(&self, who: &Principal, action: Action, declarant: &mut Option<String>) -> AppResult<()> {
        if declarant.is_none() && !self.allows(who, action, &Resource::Platform) {
            *declarant = Some(who.party.clone());
        }
        let resource = match declarant {
            Some(party) => Resource::Party { id: party.clone(), kind: auth::PartyKind::Enterprise },
            None => Resource::Platform,
        };
        self.authorize(who, action, &resource)
    }

    /// Whether the policies allow it, without an error (for showing or hiding what a user may do).
    pub fn allows(&self, who: &Principal, action: Action, resource: &Resource) -> bool {
        self.authorizer.decide(who, action, resource).is_ok_and(|d| d.allowed)
    }

    fn party(&self, uscc: &str) -> Option<Party> {
        self.state.read().ok().and_then(|s| s.parties.get(uscc).cloned())
    }

    /// Loads the demo data: illustrative list entries, exchange rates, enterprises, and one account per role
    /// (see [`DEMO_ACCOUNTS`], password [`DEMO_PASSWORD`]). Safe to repeat.
    pub async fn load_demo(&self) -> AppResult<usize> {
        let operator = Principal::platform("zonegate-demo");
        let mut added = 0;
        if self.party("91440400MA4UJ0J57H").is_none() {
            let demo = defaults::demo_rows().map_err(|e| AppError::Internal(format!("demo data is invalid: {e}")))?;
            let at = now_micros(self.clock.as_ref());
            let author = operator.user_id.as_str();
            self.store.append_policy_rows(rows::to_store_rows(&demo, author, at), author, at).await?;
            let parties: Value =
                serde_json::from_str(defaults::DEMO_PARTIES).map_err(|e| AppError::Internal(e.to_string()))?;
            for party in zonegate_wire::parties::parse_parties(&parties)? {
                self.put_party(&operator, &party).await?;
                added += 1;
            }
            self.reload().await?;
        }
        for (user_id, party, kind, role, display_name) in DEMO_ACCOUNTS {
            let input = accounts::AccountInput {
                user_id: Some((*user_id).to_owned()),
                party: Some((*party).to_owned()),
                party_kind: Some((*kind).to_owned()),
                roles: Some(vec![(*role).to_owned()]),
                password: Some(DEMO_PASSWORD.to_owned()),
                display_name: Some((*display_name).to_owned()),
                id_number: None,
            };
            match self.create_account(&operator, input).await {
                Ok(_) => added += 1,
                Err(AppError::AccountExists(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(added)
    }

    /// Assesses a document and decides its channel, without recording it.
    pub fn assess_document(&self, document: &Value) -> AppResult<(Declaration, Assessment, zonegate_risk::Decision)> {
        let book = self.book();
        let enriched = match self.with_ledger_processing(document) {
            Ok(enriched) => enriched,
            // Every problem at once: the ledger's and the document's own.
            Err(AppError::Invalid(mut errors)) => {
                if let Err(more) = parse_declaration(&book, document) {
                    errors.0.extend(more.0);
                }
                return Err(AppError::Invalid(errors));
            }
            Err(error) => return Err(error),
        };
        let document = enriched.as_ref().unwrap_or(document);
        let declaration = parse_declaration(&book, document)?;
        let declarant = self.party(declaration.declarant.as_str());
        let importer = self.party(declaration.importer.as_str());
        let assessment = assess(&book, &declaration, declarant.as_ref(), importer.as_ref())?;
        let (Some(declarant), Some(importer)) = (declarant, importer) else {
            return Err(AppError::Internal("an assessed declaration has known parties".into()));
        };
        let decision = self.decide_channel(&book, &declaration, &assessment, &declarant, &importer)?;
        Ok((declaration, assessment, decision))
    }

    /// Parses and assesses, producing the record to store, attributed to `who`.
    pub fn prepare(&self, who: &Principal, document: &Value) -> AppResult<Prepared> {
        let (declaration, assessment, decision) = self.assess_document(document)?;
        let assessment_json = serde_json::to_string(&AssessmentJson::new(&declaration, &assessment, &decision))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let payable_fen = fen_to_i64(assessment.totals.payable_cny);
        let waived_fen = fen_to_i64(assessment.totals.waived_cny());
        let now = now_micros(self.clock.as_ref());
        let record = NewDeclaration {
            declarant: declaration.declarant.to_string(),
            reference: declaration.reference.to_string(),
            zone: declaration.zone.as_str().to_owned(),
            flow: declaration.flow.as_str().to_owned(),
            declared_on: declaration.declared_on,
            treatments: assessment.treatments().iter().map(|t| t.as_str().to_owned()).collect(),
            channel: decision.channel.as_str().to_owned(),
            payable_fen,
            document_sha256: zonegate_wire::document_sha256(document),
            document_json: zonegate_wire::canonical_json(document),
            assessment_json,
            waived_fen,
            submitted_by: who.user_id.clone(),
            received_at: now,
            recorded_at: now,
        };
        Ok(Prepared { record })
    }

    /// Submits a declaration: assessed and recorded once under (declarant, reference). The caller must be
    /// allowed `declaration.submit` for the declarant named in the document (checked before validation, so a
    /// refused caller learns nothing about the document's problems).
    pub async fn submit(&self, who: &Principal, document: &Value) -> AppResult<Submitted> {
        // A declarant that is not a USCC fails validation below and is reported as such; any valid one is
        // checked here, before the rest of the document is looked at.
        let declarant =
            document.get("declarant").and_then(Value::as_str).filter(|d| zonegate_domain::Uscc::parse(d).is_ok());
        let owner = declarant.unwrap_or(&who.party);
        self.authorize(who, Action::DeclarationSubmit, &declaration_resource("new", owner))?;
        let received_at = self.now();
        match self.prepare(who, document) {
            Ok(mut prepared) => {
                // Received when the request reached the use case; decided when the assessment is recorded.
                prepared.record.received_at = received_at;
                prepared.record.recorded_at = self.now().max(received_at);
                self.record(prepared).await
            }
            // A repeat of a recorded document gets its first result even if today's data would now refuse
            // it (a party or a list changed since): look it up before reporting the problems.
            Err(AppError::Invalid(errors)) => match key_of(document) {
                Some((declarant, reference)) => match self.store.find_declaration(&declarant, &reference).await {
                    Ok(existing) => self.repeat_or_conflict(existing, document),
                    Err(zonegate_store::StoreError::NotFound) => Err(AppError::Invalid(errors)),
                    Err(error) => Err(error.into()),
                },
                None => Err(AppError::Invalid(errors)),
            },
            Err(error) => Err(error),
        }
    }

    fn repeat_or_conflict(&self, existing: StoredDeclaration, document: &Value) -> AppResult<Submitted> {
        if existing.document_sha256 == zonegate_wire::document_sha256(document) {
            Ok(Submitted::Repeat(response_body(&existing)?))
        } else {
            Err(AppError::Conflict {
                declarant: existing.declarant,
                reference: existing.reference,
                existing_id: existing.id,
            })
        }
    }

    /// Records a prepared submission.
    pub async fn record(&self, prepared: Prepared) -> AppResult<Submitted> {
        match self.store.submit_declaration(prepared.record).await? {
            SubmitOutcome::Created(stored) => {
                tracing::debug!(declaration.id = stored.id, declaration.flow = %stored.flow, "declaration recorded");
                self.count_declaration(&stored.declarant);
                Ok(Submitted::Created(response_body(&stored)?))
            }
            SubmitOutcome::Repeat(stored) => Ok(Submitted::Repeat(response_body(&stored)?)),
            SubmitOutcome::Conflict(stored) => Err(AppError::Conflict {
                declarant: stored.declarant,
                reference: stored.reference,
                existing_id: stored.id,
            }),
        }
    }

    async fn stored_declaration(&self, who: &Principal, id: i64) -> AppResult<StoredDeclaration> {
        self.stored_declaration_for(who, id, Action::DeclarationRead).await
    }

    /// A recorded declaration, if `who` may take `action` on it (a missing one is `NotFound` to anyone).
    async fn stored_declaration_for(&self, who: &Principal, id: i64, action: Action) -> AppResult<StoredDeclaration> {
        let stored = match self.store.get_declaration(id).await {
            Ok(stored) => stored,
            Err(zonegate_store::StoreError::NotFound) => return Err(AppError::not_found(format!("declaration {id}"))),
            Err(error) => return Err(error.into()),
        };
        self.authorize(who, action, &declaration_resource(&id.to_string(), &stored.declarant))?;
        Ok(stored)
    }

    pub async fn get_declaration(&self, who: &Principal, id: i64) -> AppResult<Value> {
        declaration_body(&self.stored_declaration(who, id).await?)
    }

    /// Lists declarations. Callers who may not list every party's (enterprise users) are limited to their
    /// own party; asking for another party's is refused.
    pub async fn list_declarations(
        &self,
        who: &Principal,
        mut query: ListQuery,
    ) -> AppResult<(Vec<Value>, Option<i64>)> {
        self.authorize_party_scope(who, Action::DeclarationList, &mut query.declarant)?;
        let errors = query.validate();
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let limit = query.limit.unwrap_or(PAGE_SIZE_DEFAULT);
        let filter = DeclarationFilter {
            flow: query.flow,
            declarant: query.declarant,
            declared_from: query.declared_from,
            declared_to: query.declared_to,
            treatment: query.treatment,
            after: query.after,
            limit,
        };
        let page = self.store.list_declarations(filter).await?;
        let items = page.items.iter().map(summary_body).collect();
        Ok((items, page.next_after))
    }

    /// Records a party (a new version if it exists).
    pub async fn put_party(&self, who: &Principal, party: &Party) -> AppResult<()> {
        let resource = Resource::Party { id: party.uscc.to_string(), kind: auth::PartyKind::Enterprise };
        self.authorize(who, Action::EnterpriseWrite, &resource)?;
        let body =
            serde_json::to_string(&PartyJson::from_party(party)).map_err(|e| AppError::Internal(e.to_string()))?;
        let record = PartyRecord {
            uscc: party.uscc.to_string(),
            name: party.name.clone(),
            body_json: body,
            recorded_by: who.user_id.clone(),
            recorded_at: now_micros(self.clock.as_ref()),
        };
        self.store.put_party(record).await?;
        if let Ok(mut state) = self.state.write() {
            state.parties.insert(party.uscc.to_string(), party.clone());
        }
        Ok(())
    }

    pub fn get_party(&self, who: &Principal, uscc: &str) -> AppResult<Party> {
        self.authorize(
            who,
            Action::EnterpriseRead,
            &Resource::Party { id: uscc.to_owned(), kind: auth::PartyKind::Enterprise },
        )?;
        self.party(uscc).ok_or_else(|| AppError::not_found(format!("enterprise `{uscc}`")))
    }

    pub fn list_parties(&self, who: &Principal) -> AppResult<Vec<Party>> {
        self.authorize(who, Action::EnterpriseList, &Resource::Platform)?;
        let mut parties: Vec<Party> =
            self.state.read().map(|s| s.parties.values().cloned().collect()).unwrap_or_default();
        parties.sort_by(|a, b| a.uscc.cmp(&b.uscc));
        Ok(parties)
    }

    /// Appends policy rows (list entries, tariff lines, rates) and makes them effective at once.
    pub async fn append_policy(&self, who: &Principal, rows: PolicyRows) -> AppResult<usize> {
        self.authorize(who, Action::ZoneListWrite, &Resource::Platform)?;
        let author = who.user_id.as_str();
        if rows.is_empty() {
            return Ok(0);
        }
        // A tariff line must subdivide a subheading of the HS 2022 nomenclature.
        let mut errors = FieldErrors::default();
        for (index, line) in rows.tariff_lines.iter().enumerate() {
            if hs_search::lookup(line.key.get(..6).unwrap_or("")).is_none_or(|entry| entry.level != 6) {
                errors.add(
                    "hs_not_in_nomenclature",
                    format!("tariff_lines[{index}]"),
                    format!("`{}` does not fall under an HS 2022 subheading", line.key),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let at = now_micros(self.clock.as_ref());
        let count = rows.len();
        self.store.append_policy_rows(rows::to_store_rows(&rows, author, at), author, at).await?;
        self.reload().await?;
        Ok(count)
    }

    /// Appends zone list entries after checking each (zone known, list known, item fits the list).
    pub async fn add_list_entries(&self, who: &Principal, entries: Vec<ListEntry>) -> AppResult<usize> {
        self.authorize(who, Action::ZoneListWrite, &Resource::Platform)?;
        let book = self.book();
        let zones = book.zones();
        let mut errors = FieldErrors::default();
        for (index, entry) in entries.iter().enumerate() {
            if !zones.contains(&entry.zone.as_str()) {
                errors.add("zone_unknown", format!("[{index}].zone"), format!("zone `{}` has no profile", entry.zone));
            }
            for (code, field, message) in entry.problems() {
                errors.add(code, format!("[{index}].{field}"), message);
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        self.append_policy(who, PolicyRows { lists: entries, ..PolicyRows::default() }).await
    }

    /// Verifies the event hash chain from the first event.
    pub async fn verify(&self, who: &Principal) -> AppResult<ChainReport> {
        self.authorize(who, Action::ChainVerify, &Resource::Platform)?;
        Ok(self.store.verify_chain().await?)
    }

    /// Aggregates for the monitoring centre. Callers who may not see every party's figures are limited to
    /// their own party.
    pub async fn stats(&self, who: &Principal, mut query: StatsQuery) -> AppResult<DeclarationStats> {
        self.authorize_party_scope(who, Action::StatsRead, &mut query.declarant)?;
        if query.declared_from > query.declared_to {
            let message = format!("{} is after declared_to {}", query.declared_from, query.declared_to);
            return Err(FieldErrors::from(FieldError::new("range", "declared_from", message)).into());
        }
        Ok(self.store.declaration_stats(query).await?)
    }

    /// The policy book, for reading zone profiles and lists (`zone_list.read`).
    pub fn reference_book(&self, who: &Principal) -> AppResult<Arc<PolicyBook>> {
        self.authorize(who, Action::ZoneListRead, &Resource::Platform)?;
        Ok(self.book())
    }

    /// The events recorded about a declaration, ascending, for whoever may read it.
    pub async fn declaration_events(&self, who: &Principal, id: i64) -> AppResult<Vec<zonegate_store::Event>> {
        let stored = self.stored_declaration(who, id).await?;
        let subject = zonegate_store::backend::declaration_subject(&stored.declarant, &stored.reference);
        Ok(self.store.events_for_subject(&subject, zonegate_store::PAGE_SIZE_MAX).await?)
    }

    /// Whether the caller may take an action on the platform as a whole (for showing or hiding pages).
    pub fn may(&self, who: &Principal, action: Action) -> bool {
        self.allows(who, action, &Resource::Platform)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        now_micros(self.clock.as_ref())
    }

    /// A tariff line as in force on a date, with the VAT and consumption-tax rows that may apply.
    pub fn tariff_line(&self, who: &Principal, hs: &str, date: NaiveDate) -> AppResult<Value> {
        self.authorize(who, Action::TariffRead, &Resource::Platform)?;
        let code = HsCode::parse(hs).map_err(|e| FieldErrors::from(FieldError::new(e.code, "hs", e.message)))?;
        let book = self.book();
        let line = book
            .tariff
            .line(&code, date)
            .ok_or_else(|| AppError::not_found(format!("tariff line `{code}` on {date}")))?;
        let since = book.tariff.lines.in_force_since(code.as_str(), date).map(|(from, _)| from.to_string());
        let vat = book.tariff.vat_row(&code, date);
        let ct: Vec<Value> = book
            .tariff
            .ct_candidates(&code, date)
            .iter()
            .map(|row| json!({ "id": row.id, "rate": row.rate().to_string(), "condition": row.condition.map(|c| format!("{c:?}")), "suspended": row.suspended }))
            .collect();
        let hs6 = hs_search::lookup(&code.as_str()[..6]).map(|e| e.description.clone());
        Ok(json!({
            "hs": code.as_str(),
            "name": line.name,
            "description_hs2022": hs6,
            "effective_from": since,
            "as_of": date.to_string(),
            "mfn_rate": line.mfn.map(|r| r.to_string()),
            "general_rate": line.general.map(|r| r.to_string()),
            "provisional_rate": line.provisional.map(|r| r.to_string()),
            "ex_line": line.ex_line,
            "vat_rate": vat.map(|v| v.rate_pct.normalize().to_string()),
            "vat_row": vat.map(|v| v.id.clone()),
            "consumption_tax_rows": ct,
        }))
    }
}

/// A declaration as a resource of the policies: owned by its declarant's party.
fn declaration_resource(id: &str, declarant: &str) -> Resource {
    Resource::Declaration { id: id.to_owned(), owner: declarant.to_owned(), addressees: Vec::new() }
}

fn fen_to_i64(amount: rust_decimal::Decimal) -> i64 {
    let fen = zonegate_domain::round_fen(amount) * rust_decimal::Decimal::ONE_HUNDRED;
    i64::try_from(fen.trunc().mantissa() / 10i128.pow(fen.trunc().scale())).unwrap_or(i64::MAX)
}

fn key_of(document: &Value) -> Option<(String, String)> {
    let declarant = document.get("declarant")?.as_str()?;
    let reference = document.get("reference")?.as_str()?;
    Some((declarant.to_owned(), reference.to_owned()))
}

/// Parses a declaration; on failure also reports tariff lines unknown to the book, so every problem comes
/// back at once.
pub fn parse_declaration(book: &PolicyBook, document: &Value) -> Result<Declaration, FieldErrors> {
    zonegate_wire::declaration::parse(document).map_err(|mut errors| {
        let date = document
            .get("declared_on")
            .and_then(Value::as_str)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        for (index, hs) in zonegate_wire::declaration::hs_codes(document) {
            // Without a valid date, a line is unknown only if no version of it was ever recorded.
            let known = match date {
                Some(date) => book.tariff.line(&hs, date).is_some(),
                None => book.tariff.lines.contains_key(hs.as_str()),
            };
            if !known {
                let when = date.map(|d| format!(" in force on {d}")).unwrap_or_default();
                errors.add(
                    "hs_unknown",
                    format!("items[{index}].hs"),
                    format!("tariff line `{hs}` is not in the schedule{when}"),
                );
            }
        }
        errors
    })
}

fn decode_party(record: &PartyRecord) -> AppResult<Party> {
    let json: PartyJson = serde_json::from_str(&record.body_json)
        .map_err(|e| AppError::Internal(format!("stored party `{}`: {e}", record.uscc)))?;
    let mut errors = FieldErrors::default();
    json.to_party("", &mut errors)
        .ok_or_else(|| AppError::Internal(format!("stored party `{}` is invalid: {errors}", record.uscc)))
}

fn response_body(stored: &StoredDeclaration) -> AppResult<Value> {
    let mut body: Value = serde_json::from_str(&stored.assessment_json)
        .map_err(|e| AppError::Internal(format!("stored assessment {}: {e}", stored.id)))?;
    if let Some(object) = body.as_object_mut() {
        object.insert("id".into(), json!(stored.id));
        object.insert(
            "recorded_at".into(),
            json!(stored.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
    }
    Ok(body)
}

fn declaration_body(stored: &StoredDeclaration) -> AppResult<Value> {
    let assessment = response_body(stored)?;
    let document: Value = serde_json::from_str(&stored.document_json)
        .map_err(|e| AppError::Internal(format!("stored document {}: {e}", stored.id)))?;
    Ok(json!({
        "id": stored.id,
        "declarant": stored.declarant,
        "reference": stored.reference,
        "recorded_at": stored.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "document_sha256": stored.document_sha256,
        "declaration": document,
        "assessment": assessment,
    }))
}

/// The monitoring figures as the API shows them: amounts in CNY strings, times in milliseconds.
pub fn stats_body(stats: &DeclarationStats, from: NaiveDate, to: NaiveDate) -> Value {
    let cny = |fen: i64| fen_string(rust_decimal::Decimal::new(fen, 2));
    let ms = |us: Option<i64>| us.map(|us| rust_decimal::Decimal::new(us, 3).round_dp(1).to_string());
    json!({
        "declared_from": from.to_string(),
        "declared_to": to.to_string(),
        "declarations": stats.daily.iter().map(|d| d.declarations).sum::<i64>(),
        "payable_cny": cny(stats.daily.iter().map(|d| d.payable_fen).sum()),
        "waived_cny": cny(stats.daily.iter().map(|d| d.waived_fen).sum()),
        "daily": stats.daily.iter().map(|d| json!({
            "day": d.day.to_string(),
            "flow": d.flow,
            "declarations": d.declarations,
            "payable_cny": cny(d.payable_fen),
            "waived_cny": cny(d.waived_fen),
        })).collect::<Vec<_>>(),
        "treatments": stats.treatments.iter().map(|(t, n)| json!({ "treatment": t, "declarations": n })).collect::<Vec<_>>(),
        "decision_ms_p50": ms(stats.decision_us_p50),
        "decision_ms_p90": ms(stats.decision_us_p90),
    })
}

fn summary_body(stored: &StoredDeclaration) -> Value {
    json!({
        "id": stored.id,
        "declarant": stored.declarant,
        "reference": stored.reference,
        "zone": stored.zone,
        "flow": stored.flow,
        "declared_on": stored.declared_on.to_string(),
        "treatments": stored.treatments,
        "channel": stored.channel,
        "payable_cny": fen_string(rust_decimal::Decimal::new(stored.payable_fen, 2)),
        "recorded_at": stored.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}
