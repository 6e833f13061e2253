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
    Enterprises,
    Zones,
    Chain,
}

impl Area {
    /// In navigation order.
    pub(crate) const ALL: [Area; 6] =
        [Area::Declarations, Area::Submit, Area::Monitor, Area::Enterprises, Area::Zones, Area::Chain];
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
        Area::Enterprises => (Action::EnterpriseList, Resource::Platform),
        Area::Zones => (Action::ZoneListRead, Resource::Platform),
        Area::Chain => (Action::ChainVerify, Resource::Platform),
    }
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
        assert_eq!(areas(&admin), [Area::Declarations, Area::Zones]);
        let officer = user(PartyKind::Customs, Role::Officer);
        assert_eq!(areas(&officer), [Area::Declarations, Area::Monitor, Area::Enterprises, Area::Zones]);
        let auditor = user(PartyKind::Customs, Role::Auditor);
        assert_eq!(areas(&auditor), [Area::Declarations, Area::Monitor, Area::Enterprises, Area::Zones, Area::Chain]);
        let bank = user(PartyKind::Bank, Role::Bank);
        assert!(areas(&bank).is_empty());
    }
}
