//! The shipped Cedar policies, question by question: who may do what, and which policy says so.

use zonegate_auth::{Action, Authorizer, PartyKind, Principal, Resource, Role};

const SHOP: &str = "91440400MA55H0P10R";
const OTHER: &str = "91440400MA4UJ0J57H";

fn user(user_id: &str, party: &str, kind: PartyKind, roles: &[Role]) -> Principal {
    Principal { user_id: user_id.into(), party: party.into(), party_kind: kind, roles: roles.to_vec() }
}

fn declarant() -> Principal {
    user("shop.clerk", SHOP, PartyKind::Enterprise, &[Role::Declarant])
}

fn enterprise_admin() -> Principal {
    user("shop.admin", SHOP, PartyKind::Enterprise, &[Role::EnterpriseAdmin])
}

fn officer() -> Principal {
    user("officer.li", "customs:hengqin", PartyKind::Customs, &[Role::Officer])
}

fn supervisor() -> Principal {
    user("supervisor.chan", "customs:hengqin", PartyKind::Customs, &[Role::Supervisor])
}

fn auditor() -> Principal {
    user("auditor.ho", "customs:hengqin", PartyKind::Customs, &[Role::Auditor])
}

fn authority() -> Principal {
    user("iacm.desk", "authority:iacm", PartyKind::Authority, &[Role::Authority])
}

fn bank() -> Principal {
    user("bank.desk", "bank:boc-hq", PartyKind::Bank, &[Role::Bank])
}

fn declaration(owner: &str, addressees: &[&str]) -> Resource {
    Resource::Declaration {
        id: "1".into(),
        owner: owner.into(),
        addressees: addressees.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn party(id: &str) -> Resource {
    Resource::Party { id: id.into(), kind: PartyKind::Enterprise }
}

fn account(user_id: &str, party: &str, kind: PartyKind) -> Resource {
    Resource::Account { user_id: user_id.into(), party: party.into(), party_kind: kind }
}

fn alert(publisher: &str) -> Resource {
    Resource::Alert {
        key: format!("{publisher}/a-1"),
        publisher: publisher.into(),
        publisher_kind: PartyKind::of_party(publisher),
    }
}

fn analyst() -> Principal {
    user("analyst.ng", "customs:hengqin", PartyKind::Customs, &[Role::RiskAnalyst])
}

/// A resource of the type each action applies to, owned by another party than the users above.
fn resource_for(action: Action) -> Resource {
    match action {
        Action::DeclarationSubmit | Action::DeclarationRead | Action::DeclarationDecide => declaration(OTHER, &[]),
        Action::EnterpriseRead
        | Action::EnterpriseWrite
        | Action::LedgerRead
        | Action::LedgerWrite
        | Action::LedgerSupervise
        | Action::CbecSubmit
        | Action::CbecRead => party(OTHER),
        Action::AccountRead | Action::AccountWrite | Action::TokenIssue | Action::TokenRead | Action::TokenRevoke => {
            account("someone", OTHER, PartyKind::Enterprise)
        }
        Action::AlertWithdraw => alert("authority:other"),
        _ => Resource::Platform,
    }
}

fn allowed(who: &Principal, action: Action, resource: &Resource) -> bool {
    authorizer().decide(who, action, resource).unwrap().allowed
}

fn authorizer() -> &'static Authorizer {
    static AUTHORIZER: std::sync::OnceLock<Authorizer> = std::sync::OnceLock::new();
    AUTHORIZER.get_or_init(|| Authorizer::standard().expect("the shipped policies validate"))
}

#[test]
fn shipped_policies_validate_and_each_has_an_id() {
    let ids = authorizer().policy_ids();
    assert!(ids.len() >= 10, "{ids:?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "policy ids are unique");
}

#[test]
fn a_policy_that_does_not_fit_the_schema_is_refused() {
    let bad = r#"@id("x") permit (principal, action == Zonegate::Action::"declaration.read", resource)
        when { resource.no_such_attribute == "y" };"#;
    assert!(Authorizer::from_sources(bad, zonegate_auth::SCHEMA).is_err());
    let unnamed = r#"permit (principal, action, resource);"#;
    assert!(Authorizer::from_sources(unnamed, zonegate_auth::SCHEMA).is_err());
}

#[test]
fn enterprise_users_see_only_their_own_party() {
    let own = declaration(SHOP, &[]);
    let foreign = declaration(OTHER, &[]);
    assert!(allowed(&declarant(), Action::DeclarationSubmit, &own));
    assert!(allowed(&declarant(), Action::DeclarationRead, &own));
    assert!(!allowed(&declarant(), Action::DeclarationSubmit, &foreign));
    assert!(!allowed(&declarant(), Action::DeclarationRead, &foreign));
    assert!(allowed(&declarant(), Action::DeclarationList, &party(SHOP)));
    assert!(!allowed(&declarant(), Action::DeclarationList, &party(OTHER)));
    assert!(!allowed(&declarant(), Action::DeclarationList, &Resource::Platform));
    assert!(allowed(&declarant(), Action::EnterpriseRead, &party(SHOP)));
    assert!(!allowed(&declarant(), Action::EnterpriseRead, &party(OTHER)));
    assert!(!allowed(&declarant(), Action::DeclarationDecide, &own));
    assert!(!allowed(&declarant(), Action::StatsRead, &Resource::Platform));
    // The admin reads but does not submit; manages the party's accounts, not others'.
    assert!(allowed(&enterprise_admin(), Action::DeclarationRead, &own));
    assert!(!allowed(&enterprise_admin(), Action::DeclarationSubmit, &own));
    assert!(allowed(&enterprise_admin(), Action::AccountWrite, &account("shop.clerk", SHOP, PartyKind::Enterprise)));
    assert!(!allowed(&enterprise_admin(), Action::AccountWrite, &account("x", OTHER, PartyKind::Enterprise)));
}

#[test]
fn the_decision_names_the_policy() {
    let decision = authorizer().decide(&declarant(), Action::DeclarationRead, &declaration(SHOP, &[])).unwrap();
    assert_eq!(decision.policies, vec!["enterprise.declarant_submits_and_reads_own".to_owned()]);
    let refused = authorizer().decide(&declarant(), Action::DeclarationRead, &declaration(OTHER, &[])).unwrap();
    assert!(!refused.allowed);
    assert!(refused.policies.is_empty());
}

#[test]
fn officers_read_all_and_decide_auditors_change_nothing() {
    for who in [officer(), supervisor(), auditor()] {
        assert!(allowed(&who, Action::DeclarationRead, &declaration(OTHER, &[])), "{}", who.user_id);
        assert!(allowed(&who, Action::DeclarationList, &Resource::Platform));
        assert!(allowed(&who, Action::StatsRead, &Resource::Platform));
        assert!(allowed(&who, Action::EnterpriseList, &Resource::Platform));
    }
    assert!(allowed(&officer(), Action::DeclarationDecide, &declaration(OTHER, &[])));
    assert!(allowed(&officer(), Action::EnterpriseWrite, &party(OTHER)));
    assert!(!allowed(&officer(), Action::ZoneListWrite, &Resource::Platform));
    assert!(!allowed(&officer(), Action::ChainVerify, &Resource::Platform));
    assert!(allowed(&supervisor(), Action::ZoneListWrite, &Resource::Platform));
    assert!(allowed(&supervisor(), Action::AccountWrite, &account("x", OTHER, PartyKind::Enterprise)));
    assert!(allowed(&auditor(), Action::ChainVerify, &Resource::Platform));
    assert!(allowed(&auditor(), Action::MetricsRead, &Resource::Platform));
    for action in [Action::DeclarationDecide, Action::EnterpriseWrite, Action::ZoneListWrite, Action::AccountWrite] {
        let resource = match action {
            Action::DeclarationDecide => declaration(OTHER, &[]),
            Action::EnterpriseWrite => party(OTHER),
            Action::AccountWrite => account("x", OTHER, PartyKind::Enterprise),
            _ => Resource::Platform,
        };
        assert!(!allowed(&auditor(), action, &resource), "{action}");
    }
    // An auditor who is also made a supervisor still changes nothing: the forbid wins.
    let both = user("a.s", "customs:hengqin", PartyKind::Customs, &[Role::Auditor, Role::Supervisor]);
    let decision = authorizer().decide(&both, Action::ZoneListWrite, &Resource::Platform).unwrap();
    assert!(!decision.allowed);
    assert_eq!(decision.policies, vec!["customs.auditor_changes_nothing".to_owned()]);
}

#[test]
fn authorities_and_banks_see_what_is_addressed_to_them() {
    let addressed = declaration(SHOP, &["authority:iacm"]);
    assert!(allowed(&authority(), Action::DeclarationRead, &addressed));
    assert!(!allowed(&authority(), Action::DeclarationRead, &declaration(SHOP, &[])));
    assert!(!allowed(&bank(), Action::DeclarationRead, &addressed));
    assert!(allowed(&bank(), Action::DeclarationRead, &declaration(SHOP, &["bank:boc-hq"])));
    for who in [authority(), bank()] {
        assert!(!allowed(&who, Action::DeclarationList, &Resource::Platform));
        assert!(!allowed(&who, Action::TariffRead, &Resource::Platform));
        assert!(!allowed(&who, Action::DeclarationSubmit, &addressed));
    }
}

#[test]
fn everyone_manages_their_own_tokens_only() {
    let mine = account("bank.desk", "bank:boc-hq", PartyKind::Bank);
    let theirs = account("bank.other", "bank:boc-hq", PartyKind::Bank);
    assert!(allowed(&bank(), Action::TokenIssue, &mine));
    assert!(allowed(&bank(), Action::TokenRevoke, &mine));
    assert!(allowed(&bank(), Action::AccountRead, &mine));
    assert!(!allowed(&bank(), Action::TokenIssue, &theirs));
    assert!(!allowed(&bank(), Action::AccountWrite, &mine), "nobody raises their own roles");
}

#[test]
fn the_platform_operator_may_do_anything() {
    let operator = Principal::platform("zonegate-cli");
    for action in Action::ALL {
        assert!(allowed(&operator, action, &resource_for(action)), "{action}");
    }
    // Nobody else may do everything.
    for who in [declarant(), enterprise_admin(), officer(), supervisor(), auditor(), authority(), bank()] {
        assert!(Action::ALL.iter().any(|action| !allowed(&who, *action, &resource_for(*action))), "{}", who.user_id);
    }
}

#[test]
fn roles_belong_to_party_kinds() {
    assert!(PartyKind::Enterprise.roles().contains(&Role::Declarant));
    assert!(!PartyKind::Enterprise.roles().contains(&Role::Officer));
    for kind in PartyKind::account_kinds() {
        assert!(!kind.roles().contains(&Role::Platform));
    }
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Some(role));
    }
    assert_eq!(PartyKind::of_party(SHOP), PartyKind::Enterprise);
    assert_eq!(PartyKind::of_party("bank:boc-hq"), PartyKind::Bank);
    assert_eq!(PartyKind::of_party("authority:iacm"), PartyKind::Authority);
    assert_eq!(PartyKind::of_party("*"), PartyKind::Enterprise);
    // The accounts of a whole party: the enterprise admin may read their own, not another's or everyone's.
    assert!(allowed(&enterprise_admin(), Action::AccountRead, &Resource::accounts_of(Some(SHOP))));
    assert!(!allowed(&enterprise_admin(), Action::AccountRead, &Resource::accounts_of(Some(OTHER))));
    assert!(!allowed(&enterprise_admin(), Action::AccountRead, &Resource::accounts_of(None)));
    assert!(allowed(&supervisor(), Action::AccountRead, &Resource::accounts_of(None)));
    assert!(!allowed(&declarant(), Action::AccountRead, &Resource::accounts_of(Some(SHOP))));
}

#[test]
fn risk_rules_are_drafted_by_analysts_and_put_in_force_by_supervisors() {
    for who in [officer(), analyst(), supervisor(), auditor()] {
        assert!(allowed(&who, Action::RiskRead, &Resource::Platform), "{}", who.user_id);
    }
    assert!(allowed(&analyst(), Action::RiskWrite, &Resource::Platform));
    assert!(
        !allowed(&analyst(), Action::RiskActivate, &Resource::Platform),
        "four eyes: drafts are not put in force by their writer's role"
    );
    assert!(!allowed(&officer(), Action::RiskWrite, &Resource::Platform));
    assert!(allowed(&supervisor(), Action::RiskActivate, &Resource::Platform));
    assert!(allowed(&supervisor(), Action::CreditWrite, &Resource::Platform));
    assert!(!allowed(&officer(), Action::CreditWrite, &Resource::Platform));
    for who in [declarant(), enterprise_admin(), authority(), bank()] {
        assert!(!allowed(&who, Action::RiskRead, &Resource::Platform), "{}", who.user_id);
    }
    let mut auditor_with_supervisor_role = auditor();
    auditor_with_supervisor_role.roles.push(Role::Supervisor);
    assert!(!allowed(&auditor_with_supervisor_role, Action::RiskActivate, &Resource::Platform));
}

#[test]
fn alerts_are_shared_between_customs_and_authorities() {
    for who in [officer(), analyst(), supervisor(), authority()] {
        assert!(allowed(&who, Action::AlertPublish, &Resource::Platform), "{}", who.user_id);
        assert!(allowed(&who, Action::AlertRead, &Resource::Platform), "{}", who.user_id);
    }
    assert!(!allowed(&declarant(), Action::AlertRead, &Resource::Platform));
    assert!(!allowed(&bank(), Action::AlertPublish, &Resource::Platform));
    assert!(!allowed(&auditor(), Action::AlertPublish, &Resource::Platform));
    // A publisher's party withdraws its own alerts; another authority may not; a supervisor may.
    assert!(allowed(&authority(), Action::AlertWithdraw, &alert("authority:iacm")));
    assert!(!allowed(&authority(), Action::AlertWithdraw, &alert("authority:other")));
    assert!(!allowed(&officer(), Action::AlertWithdraw, &alert("authority:iacm")));
    assert!(allowed(&officer(), Action::AlertWithdraw, &alert("customs:hengqin")));
    assert!(allowed(&supervisor(), Action::AlertWithdraw, &alert("authority:iacm")));
}

#[test]
fn enterprises_keep_their_own_ledger_and_customs_supervise_it() {
    let az = authorizer();
    let allowed = |who: &Principal, action: Action, whose: &str| az.decide(who, action, &party(whose)).unwrap().allowed;
    // A declarant keeps its own enterprise's ledger, not another's, and cannot pass its goods at the gate.
    assert!(allowed(&declarant(), Action::LedgerWrite, SHOP));
    assert!(allowed(&declarant(), Action::LedgerRead, SHOP));
    assert!(!allowed(&declarant(), Action::LedgerWrite, OTHER));
    assert!(!allowed(&declarant(), Action::LedgerRead, OTHER));
    assert!(!allowed(&declarant(), Action::LedgerSupervise, SHOP));
    // An enterprise admin reads its own ledger only.
    assert!(allowed(&enterprise_admin(), Action::LedgerRead, SHOP));
    assert!(!allowed(&enterprise_admin(), Action::LedgerWrite, SHOP));
    // Officers read every ledger and record gate passes, patrols and counts; supervisors may also correct.
    assert!(allowed(&officer(), Action::LedgerRead, OTHER));
    assert!(allowed(&officer(), Action::LedgerSupervise, OTHER));
    assert!(!allowed(&officer(), Action::LedgerWrite, OTHER));
    assert!(allowed(&supervisor(), Action::LedgerWrite, OTHER));
    // Auditors read and change nothing; authorities and banks see no ledger.
    assert!(allowed(&auditor(), Action::LedgerRead, OTHER));
    assert!(!allowed(&auditor(), Action::LedgerSupervise, OTHER));
    assert!(!allowed(&auditor(), Action::LedgerWrite, OTHER));
    assert!(!allowed(&authority(), Action::LedgerRead, OTHER));
    assert!(!allowed(&bank(), Action::LedgerRead, OTHER));
}
