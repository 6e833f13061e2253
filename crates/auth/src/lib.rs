//! Who may do what on zonegate.
//!
//! A [`Principal`] is a user acting for a party with some roles. Every use case asks the [`Authorizer`]
//! whether the principal may take an [`Action`] on a [`Resource`]; the answer comes from the Cedar policy
//! set in `policies/zonegate.cedar` (validated against `policies/zonegate.cedarschema`), never from `if`s
//! scattered over handlers. A decision names the `@id` of every policy that decided it.
//!
//! [`credentials`] holds the pieces of authentication that need no I/O: password hashing (Argon2id) and
//! API-token and session-secret generation and hashing. Nothing here does I/O except drawing randomness
//! from the operating system in [`credentials`].

pub mod credentials;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::str::FromStr;
use std::sync::{PoisonError, RwLock};

use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

/// The Cedar policies, shipped with the binary.
pub const POLICIES: &str = include_str!("../policies/zonegate.cedar");
/// The Cedar schema the policies are validated against.
pub const SCHEMA: &str = include_str!("../policies/zonegate.cedarschema");

/// The kind of party a user acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyKind {
    /// A zone enterprise; its party id is its USCC.
    Enterprise,
    /// A customs office (`customs:<office>`).
    Customs,
    /// A Macao or mainland authority (`authority:<body>`).
    Authority,
    /// A bank (`bank:<code>`).
    Bank,
    /// The platform itself (local operator); never an account's kind.
    Platform,
}

impl PartyKind {
    pub const ALL: [PartyKind; 5] =
        [PartyKind::Enterprise, PartyKind::Customs, PartyKind::Authority, PartyKind::Bank, PartyKind::Platform];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Enterprise => "enterprise",
            PartyKind::Customs => "customs",
            PartyKind::Authority => "authority",
            PartyKind::Bank => "bank",
            PartyKind::Platform => "platform",
        }
    }

    pub fn parse(text: &str) -> Option<PartyKind> {
        PartyKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The roles an account of this kind may hold.
    pub fn roles(self) -> &'static [Role] {
        match self {
            PartyKind::Enterprise => &[Role::Declarant, Role::EnterpriseAdmin],
            PartyKind::Customs => &[Role::Officer, Role::RiskAnalyst, Role::Supervisor, Role::Auditor],
            PartyKind::Authority => &[Role::Authority],
            PartyKind::Bank => &[Role::Bank],
            PartyKind::Platform => &[Role::Platform],
        }
    }

    /// The kind of party an id names: `<kind>:<name>` for bodies (an unknown kind reads as customs, which no
    /// policy grants anything by kind), anything else is an enterprise's USCC.
    pub fn of_party(id: &str) -> PartyKind {
        match id.split_once(':') {
            Some((kind, _)) => PartyKind::parse(kind).unwrap_or(PartyKind::Customs),
            None => PartyKind::Enterprise,
        }
    }

    /// The kinds an account may have (all but the platform).
    pub fn account_kinds() -> [PartyKind; 4] {
        [PartyKind::Enterprise, PartyKind::Customs, PartyKind::Authority, PartyKind::Bank]
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role: what a user may do follows from their roles and their party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Submits and reads their enterprise's declarations.
    Declarant,
    /// Reads their enterprise's declarations and manages its accounts and tokens.
    EnterpriseAdmin,
    /// Reads everything, decides on declarations, registers enterprises.
    Officer,
    /// Reads everything (risk rules and the risk engine are theirs in a later release).
    RiskAnalyst,
    /// An officer who also administers zone lists, accounts and tokens, and reads the audit trail.
    Supervisor,
    /// Reads everything, verifies the chain, changes nothing.
    Auditor,
    /// A Macao or mainland authority: reads what is addressed to it.
    Authority,
    /// A bank: reads what is addressed to it.
    Bank,
    /// The local operator (CLI, seed): may do anything. Never given to an account.
    Platform,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Declarant,
        Role::EnterpriseAdmin,
        Role::Officer,
        Role::RiskAnalyst,
        Role::Supervisor,
        Role::Auditor,
        Role::Authority,
        Role::Bank,
        Role::Platform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Declarant => "declarant",
            Role::EnterpriseAdmin => "enterprise_admin",
            Role::Officer => "officer",
            Role::RiskAnalyst => "risk_analyst",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Authority => "authority",
            Role::Bank => "bank",
            Role::Platform => "platform",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking: an authenticated user (or the local platform operator).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub user_id: String,
    /// The party id: a USCC, `customs:<office>`, `authority:<body>`, `bank:<code>`, or `platform`.
    pub party: String,
    pub party_kind: PartyKind,
    pub roles: Vec<Role>,
}

impl Principal {
    /// The local operator: the CLI on the host, the seed, the benchmarks. May do anything.
    pub fn platform(name: &str) -> Principal {
        Principal {
            user_id: name.to_owned(),
            party: "platform".to_owned(),
            party_kind: PartyKind::Platform,
            roles: vec![Role::Platform],
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the principal is customs staff or the platform (sees every party's records).
    pub fn sees_all_parties(&self) -> bool {
        matches!(self.party_kind, PartyKind::Customs | PartyKind::Platform)
    }
}

/// Everything a principal may be allowed or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    DeclarationSubmit,
    DeclarationRead,
    DeclarationDecide,
    DeclarationList,
    StatsRead,
    EnterpriseRead,
    EnterpriseWrite,
    EnterpriseList,
    ZoneListRead,
    ZoneListWrite,
    TariffRead,
    ChainVerify,
    MetricsRead,
    AccountRead,
    AccountWrite,
    TokenIssue,
    TokenRead,
    TokenRevoke,
    RiskRead,
    RiskWrite,
    RiskActivate,
    CreditWrite,
    AlertRead,
    AlertPublish,
    AlertWithdraw,
    LedgerRead,
    LedgerWrite,
    LedgerSupervise,
    CbecSubmit,
    CbecRead,
    CbecSupervise,
}

impl Action {
    pub const ALL: [Action; 31] = [
        Action::DeclarationSubmit,
        Action::DeclarationRead,
        Action::DeclarationDecide,
        Action::DeclarationList,
        Action::StatsRead,
        Action::EnterpriseRead,
        Action::EnterpriseWrite,
        Action::EnterpriseList,
        Action::ZoneListRead,
        Action::ZoneListWrite,
        Action::TariffRead,
        Action::ChainVerify,
        Action::MetricsRead,
        Action::AccountRead,
        Action::AccountWrite,
        Action::TokenIssue,
        Action::TokenRead,
        Action::TokenRevoke,
        Action::RiskRead,
        Action::RiskWrite,
        Action::RiskActivate,
        Action::CreditWrite,
        Action::AlertRead,
        Action::AlertPublish,
        Action::AlertWithdraw,
        Action::LedgerRead,
        Action::LedgerWrite,
        Action::LedgerSupervise,
        Action::CbecSubmit,
        Action::CbecRead,
        Action::CbecSupervise,
    ];

    /// The action's Cedar id, also used in error messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::DeclarationSubmit => "declaration.submit",
            Action::DeclarationRead => "declaration.read",
            Action::DeclarationDecide => "declaration.decide",
            Action::DeclarationList => "declaration.list",
            Action::StatsRead => "stats.read",
            Action::EnterpriseRead => "enterprise.read",
            Action::EnterpriseWrite => "enterprise.write",
            Action::EnterpriseList => "enterprise.list",
            Action::ZoneListRead => "zone_list.read",
            Action::ZoneListWrite => "zone_list.write",
            Action::TariffRead => "tariff.read",
            Action::ChainVerify => "chain.verify",
            Action::MetricsRead => "metrics.read",
            Action::AccountRead => "account.read",
            Action::AccountWrite => "account.write",
            Action::TokenIssue => "token.issue",
            Action::TokenRead => "token.read",
            Action::TokenRevoke => "token.revoke",
            Action::RiskRead => "risk.read",
            Action::RiskWrite => "risk.write",
            Action::RiskActivate => "risk.activate",
            Action::CreditWrite => "credit.write",
            Action::AlertRead => "alert.read",
            Action::AlertPublish => "alert.publish",
            Action::AlertWithdraw => "alert.withdraw",
            Action::LedgerRead => "ledger.read",
            Action::LedgerWrite => "ledger.write",
            Action::LedgerSupervise => "ledger.supervise",
            Action::CbecSubmit => "cbec.submit",
            Action::CbecRead => "cbec.read",
            Action::CbecSupervise => "cbec.supervise",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an action is taken on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A declaration, owned by its declarant's party, possibly addressed to authorities or banks.
    Declaration { id: String, owner: String, addressees: Vec<String> },
    /// A party: whose declarations are listed, which enterprise is read or written.
    Party { id: String, kind: PartyKind },
    /// The platform: reference data, the chain, metrics, every party's records at once.
    Platform,
    /// An account (for account and token management).
    Account { user_id: String, party: String, party_kind: PartyKind },
    /// A published risk alert, withdrawn by its publisher's party (or a supervisor).
    Alert { key: String, publisher: String, publisher_kind: PartyKind },
}

impl Resource {
    /// The accounts of a party as a whole — an account id nobody holds, so only policies about the whole
    /// party can allow it — or, with `None`, of every party (the party `*`, which nobody belongs to).
    pub fn accounts_of(party: Option<&str>) -> Resource {
        let party = party.unwrap_or("*");
        Resource::Account { user_id: String::new(), party: party.to_owned(), party_kind: PartyKind::of_party(party) }
    }
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The `@id`s of the policies that decided (the permits that allowed, or the forbids that refused); empty
    /// when nothing permitted the request.
    pub policies: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the authorization policies are invalid: {0}")]
    InvalidPolicies(String),
    #[error("the authorization request could not be built: {0}")]
    Request(String),
}

/// Most decisions the [`Authorizer`] remembers; past this the memory is cleared and refilled.
pub const DECISIONS_CACHED_MAX: usize = 4096;

/// One remembered question and its answer.
struct CachedDecision {
    who: Principal,
    action: Action,
    resource: Resource,
    decision: Decision,
}

/// Decisions already taken, by a hash of the whole question; each bucket keeps the question itself, so a
/// hash collision is told apart by comparing principal, action and resource in full.
#[derive(Default)]
struct DecisionCache {
    /// Keyed hashing, so callers cannot choose colliding questions.
    hasher: RandomState,
    entries: RwLock<CachedDecisions>,
}

#[derive(Default)]
struct CachedDecisions {
    buckets: HashMap<u64, Vec<CachedDecision>>,
    len: usize,
}

impl CachedDecision {
    fn answers(&self, who: &Principal, action: Action, resource: &Resource) -> bool {
        self.action == action && self.who == *who && self.resource == *resource
    }
}

impl DecisionCache {
    fn key(&self, who: &Principal, action: Action, resource: &Resource) -> u64 {
        self.hasher.hash_one((who, action, resource))
    }

    fn get(&self, key: u64, who: &Principal, action: Action, resource: &Resource) -> Option<Decision> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.buckets.get(&key)?.iter().find(|e| e.answers(who, action, resource)).map(|e| e.decision.clone())
    }

    fn put(&self, key: u64, who: &Principal, action: Action, resource: &Resource, decision: &Decision) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len >= DECISIONS_CACHED_MAX {
            *entries = CachedDecisions::default();
        }
        let bucket = entries.buckets.entry(key).or_default();
        if bucket.iter().any(|e| e.answers(who, action, resource)) {
            return;
        }
        bucket.push(CachedDecision {
            who: who.clone(),
            action,
            resource: resource.clone(),
            decision: decision.clone(),
        });
        entries.len += 1;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len
    }
}

/// Evaluates the Cedar policy set. Build it once ([`Authorizer::standard`]) and share it.
///
/// The policy set and schema never change after construction, and a decision depends on nothing but the
/// principal (user id, party, party kind, roles), the action and the resource (every field of it): the
/// entities are built from those alone and the request context is empty. So [`Authorizer::decide`]
/// remembers decisions keyed by exactly those values (at most [`DECISIONS_CACHED_MAX`]); errors are not
/// remembered.
pub struct Authorizer {
    policies: PolicySet,
    schema: Schema,
    cedar: CedarAuthorizer,
    decisions: DecisionCache,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer").finish_non_exhaustive()
    }
}

fn type_name(name: &str) -> EntityTypeName {
    // The names are constants of this file; a typo is caught by every test.
    EntityTypeName::from_str(&format!("Zonegate::{name}")).unwrap_or_else(|e| panic!("entity type {name}: {e}"))
}

fn uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(kind), EntityId::new(id))
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

fn party_entity(id: &str, kind: PartyKind) -> Result<Entity, AuthError> {
    Entity::new(uid("Party", id), HashMap::from([("kind".to_owned(), string(kind.as_str()))]), HashSet::new())
        .map_err(|e| AuthError::Request(e.to_string()))
}

impl Authorizer {
    /// The shipped policies, validated against the shipped schema.
    pub fn standard() -> Result<Authorizer, AuthError> {
        Authorizer::from_sources(POLICIES, SCHEMA)
    }

    /// Policies and schema from text; policies that do not validate against the schema, or lack an `@id`,
    /// are refused.
    pub fn from_sources(policies: &str, schema: &str) -> Result<Authorizer, AuthError> {
        let policies = PolicySet::from_str(policies).map_err(|e| AuthError::InvalidPolicies(e.to_string()))?;
        let (schema, _warnings) =
            Schema::from_cedarschema_str(schema).map_err(|e| AuthError::InvalidPolicies(e.to_string()))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let problems: Vec<String> = validation.validation_errors().map(|e| e.to_string()).collect();
            return Err(AuthError::InvalidPolicies(problems.join("; ")));
        }
        if let Some(policy) = policies.policies().find(|p| p.annotation("id").is_none()) {
            return Err(AuthError::InvalidPolicies(format!("policy {} has no @id", policy.id())));
        }
        Ok(Authorizer { policies, schema, cedar: CedarAuthorizer::new(), decisions: DecisionCache::default() })
    }

    /// Whether `who` may take `action` on `resource`, and which policies decided: the remembered answer to
    /// the same question if there is one, else [`Authorizer::evaluate`]'s.
    pub fn decide(&self, who: &Principal, action: Action, resource: &Resource) -> Result<Decision, AuthError> {
        let key = self.decisions.key(who, action, resource);
        if let Some(decision) = self.decisions.get(key, who, action, resource) {
            return Ok(decision);
        }
        let decision = self.evaluate(who, action, resource)?;
        self.decisions.put(key, who, action, resource, &decision);
        Ok(decision)
    }

    /// Whether `who` may take `action` on `resource`, evaluating the policy set now (no remembered answers).
    pub fn evaluate(&self, who: &Principal, action: Action, resource: &Resource) -> Result<Decision, AuthError> {
        let mut entities = Vec::with_capacity(4);
        let principal = uid("User", &who.user_id);
        let mut parents: HashSet<EntityUid> = who.roles.iter().map(|role| uid("Role", role.as_str())).collect();
        parents.insert(uid("Party", &who.party));
        entities.push(
            Entity::new(
                principal.clone(),
                HashMap::from([
                    ("user_id".to_owned(), string(&who.user_id)),
                    ("party".to_owned(), RestrictedExpression::new_entity_uid(uid("Party", &who.party))),
                ]),
                parents,
            )
            .map_err(|e| AuthError::Request(e.to_string()))?,
        );
        let mut parties: HashMap<String, PartyKind> = HashMap::from([(who.party.clone(), who.party_kind)]);
        let resource_uid = match resource {
            Resource::Declaration { id, owner, addressees } => {
                let addressee_uids = addressees.iter().map(|a| RestrictedExpression::new_entity_uid(uid("Party", a)));
                let attrs = HashMap::from([
                    ("owner".to_owned(), RestrictedExpression::new_entity_uid(uid("Party", owner))),
                    ("addressees".to_owned(), RestrictedExpression::new_set(addressee_uids)),
                ]);
                parties.entry(owner.clone()).or_insert(PartyKind::Enterprise);
                for addressee in addressees {
                    parties.entry(addressee.clone()).or_insert(PartyKind::Authority);
                }
                let resource = uid("Declaration", id);
                entities.push(
                    Entity::new(resource.clone(), attrs, HashSet::new())
                        .map_err(|e| AuthError::Request(e.to_string()))?,
                );
                resource
            }
            Resource::Party { id, kind } => {
                parties.insert(id.clone(), *kind);
                uid("Party", id)
            }
            Resource::Platform => {
                entities.push(Entity::new_no_attrs(uid("Platform", "zonegate"), HashSet::new()));
                uid("Platform", "zonegate")
            }
            Resource::Alert { key, publisher, publisher_kind } => {
                parties.entry(publisher.clone()).or_insert(*publisher_kind);
                let attrs = HashMap::from([(
                    "publisher".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Party", publisher)),
                )]);
                let resource = uid("Alert", key);
                entities.push(
                    Entity::new(resource.clone(), attrs, HashSet::new())
                        .map_err(|e| AuthError::Request(e.to_string()))?,
                );
                resource
            }
            Resource::Account { user_id, party, party_kind } => {
                parties.entry(party.clone()).or_insert(*party_kind);
                let attrs = HashMap::from([
                    ("party".to_owned(), RestrictedExpression::new_entity_uid(uid("Party", party))),
                    ("holder".to_owned(), string(user_id)),
                ]);
                let resource = uid("Account", user_id);
                entities.push(
                    Entity::new(resource.clone(), attrs, HashSet::new())
                        .map_err(|e| AuthError::Request(e.to_string()))?,
                );
                resource
            }
        };
        for (id, kind) in &parties {
            entities.push(party_entity(id, *kind)?);
        }
        for role in &who.roles {
            entities.push(Entity::new_no_attrs(uid("Role", role.as_str()), HashSet::new()));
        }
        let entities =
            Entities::from_entities(entities, Some(&self.schema)).map_err(|e| AuthError::Request(e.to_string()))?;
        let action_uid = EntityUid::from_type_name_and_id(
            EntityTypeName::from_str("Zonegate::Action").map_err(|e| AuthError::Request(e.to_string()))?,
            EntityId::new(action.as_str()),
        );
        let request = Request::new(principal, action_uid, resource_uid, Context::empty(), Some(&self.schema))
            .map_err(|e| AuthError::Request(e.to_string()))?;
        let response = self.cedar.is_authorized(&request, &self.policies, &entities);
        if let Some(error) = response.diagnostics().errors().next() {
            return Err(AuthError::Request(error.to_string()));
        }
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| self.policies.annotation(id, "id").map_or_else(|| id.to_string(), str::to_owned))
            .collect();
        policies.sort();
        Ok(Decision { allowed: response.decision() == CedarDecision::Allow, policies })
    }

    /// The `@id`s of every shipped policy, in file order.
    pub fn policy_ids(&self) -> Vec<String> {
        self.policies.policies().filter_map(|p| p.annotation("id").map(str::to_owned)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "91440400MA55H0P10R";
    const HQ: &str = "91440400MA4UJ0J57H";

    fn user(user_id: &str, party: &str, party_kind: PartyKind, roles: &[Role]) -> Principal {
        Principal { user_id: user_id.into(), party: party.into(), party_kind, roles: roles.to_vec() }
    }

    fn principals() -> Vec<Principal> {
        vec![
            user("shop.clerk", SHOP, PartyKind::Enterprise, &[Role::Declarant]),
            // Same user id, another party: must not share the first one's answers.
            user("shop.clerk", HQ, PartyKind::Enterprise, &[Role::Declarant]),
            // Same user and party, another role.
            user("shop.clerk", SHOP, PartyKind::Enterprise, &[Role::EnterpriseAdmin]),
            user("shop.clerk", SHOP, PartyKind::Enterprise, &[]),
            user("officer.li", "customs:hengqin", PartyKind::Customs, &[Role::Officer]),
            user("officer.li", "customs:hengqin", PartyKind::Customs, &[Role::Supervisor]),
            user("auditor.ho", "customs:hengqin", PartyKind::Customs, &[Role::Auditor]),
            user("iacm.desk", "authority:iacm", PartyKind::Authority, &[Role::Authority]),
            user("bank.desk", "bank:boc-hq", PartyKind::Bank, &[Role::Bank]),
            Principal::platform("operator"),
        ]
    }

    fn resources() -> Vec<Resource> {
        let declaration = |owner: &str, addressees: &[&str]| Resource::Declaration {
            id: "1".into(),
            owner: owner.into(),
            addressees: addressees.iter().map(|a| (*a).to_owned()).collect(),
        };
        vec![
            declaration(SHOP, &[]),
            declaration(HQ, &[]),
            declaration(HQ, &["authority:iacm"]),
            declaration(HQ, &["bank:boc-hq"]),
            Resource::Party { id: SHOP.into(), kind: PartyKind::Enterprise },
            Resource::Party { id: HQ.into(), kind: PartyKind::Enterprise },
            Resource::Platform,
            Resource::Account { user_id: "shop.clerk".into(), party: SHOP.into(), party_kind: PartyKind::Enterprise },
            Resource::Account { user_id: "other".into(), party: SHOP.into(), party_kind: PartyKind::Enterprise },
            Resource::accounts_of(Some(SHOP)),
            Resource::accounts_of(None),
            Resource::Alert {
                key: "customs:hengqin/a-1".into(),
                publisher: "customs:hengqin".into(),
                publisher_kind: PartyKind::Customs,
            },
        ]
    }

    #[test]
    fn remembered_decisions_are_the_evaluated_ones() {
        let authorizer = Authorizer::standard().unwrap();
        let answer = |result: Result<Decision, AuthError>| result.map_err(|e| e.to_string());
        let mut evaluated = Vec::new();
        for who in &principals() {
            for action in Action::ALL {
                for resource in &resources() {
                    let expected = answer(authorizer.evaluate(who, action, resource));
                    evaluated.push((who.clone(), action, resource.clone(), expected));
                }
            }
        }
        let allowed = evaluated.iter().filter(|(.., e)| e.as_ref().is_ok_and(|d| d.allowed)).count();
        let refused = evaluated.iter().filter(|(.., e)| e.as_ref().is_ok_and(|d| !d.allowed)).count();
        assert!(allowed > 100 && refused > 100, "{allowed} allowed, {refused} refused");
        // Twice: the first pass fills the memory, the second answers from it (errors are never remembered).
        for pass in 0..2 {
            for (who, action, resource, expected) in &evaluated {
                let decided = answer(authorizer.decide(who, *action, resource));
                assert_eq!(&decided, expected, "pass {pass}: {who:?} {action} {resource:?}");
            }
        }
        let remembered = evaluated.iter().filter(|(.., e)| e.is_ok()).count();
        assert_eq!(authorizer.decisions.len(), remembered);
    }

    #[test]
    fn the_memory_tells_parties_roles_and_resources_apart() {
        let authorizer = Authorizer::standard().unwrap();
        let shop_declarant = user("clerk", SHOP, PartyKind::Enterprise, &[Role::Declarant]);
        let hq_declarant = user("clerk", HQ, PartyKind::Enterprise, &[Role::Declarant]);
        let shop_admin = user("clerk", SHOP, PartyKind::Enterprise, &[Role::EnterpriseAdmin]);
        let own = Resource::Declaration { id: "7".into(), owner: SHOP.into(), addressees: Vec::new() };
        for _ in 0..2 {
            assert!(authorizer.decide(&shop_declarant, Action::DeclarationSubmit, &own).unwrap().allowed);
            assert!(!authorizer.decide(&hq_declarant, Action::DeclarationSubmit, &own).unwrap().allowed);
            assert!(!authorizer.decide(&shop_admin, Action::DeclarationSubmit, &own).unwrap().allowed);
            assert!(authorizer.decide(&shop_admin, Action::DeclarationRead, &own).unwrap().allowed);
            let other = Resource::Declaration { id: "7".into(), owner: HQ.into(), addressees: Vec::new() };
            assert!(!authorizer.decide(&shop_declarant, Action::DeclarationSubmit, &other).unwrap().allowed);
        }
    }

    #[test]
    fn the_memory_stays_bounded() {
        let authorizer = Authorizer::standard().unwrap();
        let who = user("clerk", SHOP, PartyKind::Enterprise, &[Role::Declarant]);
        for id in 0..DECISIONS_CACHED_MAX + 10 {
            let resource = Resource::Declaration { id: id.to_string(), owner: SHOP.into(), addressees: Vec::new() };
            assert!(authorizer.decide(&who, Action::DeclarationRead, &resource).unwrap().allowed);
            assert!(authorizer.decisions.len() <= DECISIONS_CACHED_MAX);
        }
    }
}
