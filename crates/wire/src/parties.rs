//! Party descriptions (interchange.md §1.1): `[{"uscc", "name", "zone_registered", "lists", "credit_class"}]`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zonegate_domain::{CreditClass, FieldErrors, Party, Uscc};

/// The stored and wire shape of a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyJson {
    pub uscc: String,
    pub name: String,
    #[serde(default)]
    pub zone_registered: bool,
    #[serde(default)]
    pub lists: Vec<String>,
    #[serde(default = "ordinary")]
    pub credit_class: String,
}

fn ordinary() -> String {
    "ordinary".to_owned()
}

/// Most lists a party may name.
pub const PARTY_LISTS_MAX: usize = 32;

impl PartyJson {
    pub fn from_party(party: &Party) -> PartyJson {
        PartyJson {
            uscc: party.uscc.to_string(),
            name: party.name.clone(),
            zone_registered: party.zone_registered,
            lists: party.lists.clone(),
            credit_class: party.credit_class.as_str().to_owned(),
        }
    }

    /// Checks every field; `prefix` is the JSON path of this party (`""` or `"[2]"`).
    pub fn to_party(&self, prefix: &str, errors: &mut FieldErrors) -> Option<Party> {
        let field = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let uscc = Uscc::parse(&self.uscc).map_err(|e| errors.add(e.code, field("uscc"), e.message)).ok();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.add("name", field("name"), "a name of 1 to 200 characters is required");
        }
        let credit_class = CreditClass::parse(&self.credit_class);
        if credit_class.is_none() {
            errors.add(
                "choice",
                field("credit_class"),
                format!("`{}` is not one of {}", self.credit_class, CreditClass::expected()),
            );
        }
        if self.lists.len() > PARTY_LISTS_MAX {
            errors.add("too_many", field("lists"), format!("at most {PARTY_LISTS_MAX} lists"));
        }
        for (index, list) in self.lists.iter().enumerate() {
            if zonegate_policy::book::list_kind(list) != Some(zonegate_policy::ListKind::Parties) {
                errors.add(
                    "list_unknown",
                    format!("{}[{index}]", field("lists")),
                    format!("`{list}` is not a list of enterprises"),
                );
            }
        }
        Some(Party {
            uscc: uscc?,
            name: name.to_owned(),
            zone_registered: self.zone_registered,
            lists: self.lists.clone(),
            credit_class: credit_class?,
        })
    }
}

/// Parses one party object.
pub fn parse_party(value: &Value) -> Result<Party, FieldErrors> {
    let mut errors = FieldErrors::default();
    let json: PartyJson = serde_json::from_value(value.clone())
        .map_err(|e| FieldErrors::from(zonegate_domain::FieldError::new("json", "", format!("not a party: {e}"))))?;
    let party = json.to_party("", &mut errors);
    match party {
        Some(party) if errors.is_empty() => Ok(party),
        _ => Err(errors),
    }
}

/// Parses a party array, reporting every problem.
pub fn parse_parties(value: &Value) -> Result<Vec<Party>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(array) = value.as_array() else {
        errors.add("type", "", "parties must be a JSON array");
        return Err(errors);
    };
    let mut parties = Vec::new();
    for (index, entry) in array.iter().enumerate() {
        match serde_json::from_value::<PartyJson>(entry.clone()) {
            Ok(json) => {
                if let Some(party) = json.to_party(&format!("[{index}]"), &mut errors) {
                    parties.push(party);
                }
            }
            Err(error) => errors.add("json", format!("[{index}]"), format!("not a party: {error}")),
        }
    }
    errors.into_result(parties)
}
