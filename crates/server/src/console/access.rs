//! Which parts of the console a user may open, asked of the Cedar policy set (never decided by `if`s on
//! roles here): the navigation shows only these, and pages that read no guarded use case check them.
//!
//! The use cases authorize again on every call; this only keeps the console from offering what would be
//! refused.

use zonegate_app::App;
use zonegate_auth::{Action, PartyKind, Principal, Resource};
use zonegate_domain::Party;

/// A part of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    Declarations,
    Submit,
    Monitor,
    Risk,
    Alerts,
    Enterprises,
    Zones,
    Chain,
    Accounts,
}

impl Area {
    /// In navigation order.
    pub(crate) const ALL: [Area; 9] = [
        Area::Declarations,
        Area::Submit,
        Area::Monitor,
        Area::Risk,
        Area::Alerts,
        Area::Enterprises,
        Area::Zones,
        Area::Chain,
        Area::Accounts,
    ];
}

impl Area {
    /// Whether the area has an entry in the header's navigation. The accounts and risk pages have none yet: a seventh
    /// entry makes the header of customs supervisors and auditors wrap at 1366 px (the browser test checks
    /// it stays on one row) until the header's style lets the navigation wrap within its row. It is linked
    /// from "my account" instead, and the risk page from the monitoring centre and each declaration's channel.
    pub(crate) fn in_navigation(self, areas: &[Area]) -> bool {
        match self {
            Area::Accounts | Area::Risk => false,
            // Authorities find alerts in the navigation; customs from the risk page.
            Area::Alerts => !areas.contains(&Area::Risk),
            _ => true,
        }
    }
}

/// The question the policies answer for an area: may `who` take this action on this resource?
fn question(who: &Principal, area: Area) -> (Action, Resource) {
    match area {
        Area::Declarations => {
            (Action::DeclarationList, Resource::Party { id: who.party.clone(), kind: who.party_kind })
        }
        Area::Submit => (
            Action::DeclarationSubmit,
            Resource::Declaration { id: String::new(), owner: who.party.clone(), addressees: Vec::new() },
        ),
        Area::Monitor => (Action::StatsRead, Resource::Platform),
        Area::Risk => (Action::RiskRead, Resource::Platform),
        Area::Alerts => (Action::AlertRead, Resource::Platform),
        Area::Enterprises => (Action::EnterpriseList, Resource::Platform),
        Area::Zones => (Action::ZoneListRead, Resource::Platform),
        Area::Chain => (Action::ChainVerify, Resource::Platform),
        Area::Accounts => (Action::AccountRead, accounts_probe(who)),
    }
}

/// The party whose accounts the accounts page lists by default: every party (`*`, which nobody belongs to)
/// for those who see all parties, else the user's own.
pub(crate) fn default_accounts_party(who: &Principal) -> Option<&str> {
    (!who.sees_all_parties()).then_some(who.party.as_str())
}

/// The resource `App::list_accounts` asks about: the accounts of a party as a whole (an account id nobody
/// holds), the party `*` standing for every party.
fn accounts_probe(who: &Principal) -> Resource {
    Resource::accounts_of(default_accounts_party(who))
}

/// May `who` create accounts for `party` (their own party, or every party as `*`)?
pub(crate) fn may_create_accounts(app: &App, who: &Principal) -> bool {
    app.allows(who, Action::AccountWrite, &accounts_probe(who))
}

/// May `who` read (`write == false`) or change this account?
pub(crate) fn may_touch_account(
    app: &App,
    who: &Principal,
    user_id: &str,
    party: &str,
    kind: &str,
    write: bool,
) -> bool {
    let Some(party_kind) = PartyKind::parse(kind) else { return false };
    let resource = Resource::Account { user_id: user_id.to_owned(), party: party.to_owned(), party_kind };
    app.allows(who, if write { Action::AccountWrite } else { Action::AccountRead }, &resource)
}

/// The areas `who` may use, asked of the app's policies.
pub(crate) fn areas(app: &App, who: &Principal) -> Vec<Area> {
    Area::ALL
        .into_iter()
        .filter(|area| {
            let (action, resource) = question(who, *area);
            app.allows(who, action, &resource)
        })
        .collect()
}

/// The record of an enterprise, if `who` may read it (asked first, so that a name the page merely leaves out
/// is not logged as a refusal).
pub(crate) fn readable_party(app: &App, who: &Principal, uscc: &str) -> Option<Party> {
    let resource = Resource::Party { id: uscc.to_owned(), kind: PartyKind::Enterprise };
    if app.allows(who, Action::EnterpriseRead, &resource) {
        app.get_party(who, uscc).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonegate_auth::{Authorizer, Role};

    fn user(kind: PartyKind, role: Role) -> Principal {
        let party = if kind == PartyKind::Enterprise { "91440400MA4UJ0J57H" } else { "customs:hengqin" };
        Principal { user_id: "u".into(), party: party.into(), party_kind: kind, roles: vec![role] }
    }

    /// The same filter as [`super::areas`], over the shipped policies without an app.
    fn areas(who: &Principal) -> Vec<Area> {
        let authorizer = Authorizer::standard().expect("the shipped policies load");
        Area::ALL
            .into_iter()
            .filter(|area| {
                let (action, resource) = question(who, *area);
                authorizer.decide(who, action, &resource).is_ok_and(|d| d.allowed)
            })
            .collect()
    }

    #[test]
    fn each_role_sees_its_own_part_of_the_console() {
        let declarant = user(PartyKind::Enterprise, Role::Declarant);
        assert_eq!(areas(&declarant), [Area::Declarations, Area::Submit, Area::Zones]);
        let admin = user(PartyKind::Enterprise, Role::EnterpriseAdmin);
        assert_eq!(areas(&admin), [Area::Declarations, Area::Zones, Area::Accounts]);
        let officer = user(PartyKind::Customs, Role::Officer);
        assert_eq!(
            areas(&officer),
            [Area::Declarations, Area::Monitor, Area::Risk, Area::Alerts, Area::Enterprises, Area::Zones]
        );
        let auditor = user(PartyKind::Customs, Role::Auditor);
        assert_eq!(
            areas(&auditor),
            [
                Area::Declarations,
                Area::Monitor,
                Area::Risk,
                Area::Alerts,
                Area::Enterprises,
                Area::Zones,
                Area::Chain,
                Area::Accounts
            ]
        );
        let supervisor = user(PartyKind::Customs, Role::Supervisor);
        assert!(areas(&supervisor).contains(&Area::Accounts));
        let bank = user(PartyKind::Bank, Role::Bank);
        assert!(areas(&bank).is_empty());
        let authority = user(PartyKind::Authority, Role::Authority);
        assert_eq!(areas(&authority), [Area::Alerts]);
    }
}
