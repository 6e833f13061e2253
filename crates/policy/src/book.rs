//! The policy book: tariff data, zone profiles and zone lists, all versioned.

use crate::treatment::{FirstLineModel, Treatment};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use zonegate_domain::{HsCode, Party, Uscc};
use zonegate_tariff::{TariffBook, Versioned, VersionedSet};

/// The parameters of one zone, as in force from a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneProfile {
    pub id: String,
    pub name: String,
    pub effective_from: NaiveDate,
    pub first_line_model: FirstLineModel,
    /// Treatment of first-line goods that the model does not exempt (`bonded` in Hengqin, `taxed` in Hainan).
    pub first_line_fallback: Treatment,
    /// The processing value-added share (percent of imported + domestic materials) that frees goods from
    /// duty on the second line.
    pub value_added_threshold_pct: Decimal,
    /// Per declaration, a tax type totalling at most this is waived.
    pub waiver_threshold_cny: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError(pub String);

impl ZoneProfile {
    /// Reads a profile from TOML (`data/zones/*.toml`), checking its values.
    pub fn from_toml(text: &str) -> Result<ZoneProfile, ProfileError> {
        let profile: ZoneProfile =
            toml::from_str(text).map_err(|error| ProfileError(format!("zone profile: {error}")))?;
        if profile.id.is_empty() || !profile.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(ProfileError(format!("zone profile id `{}` must be lowercase letters and `_`", profile.id)));
        }
        if !matches!(profile.first_line_fallback, Treatment::Bonded | Treatment::Taxed) {
            return Err(ProfileError("first_line_fallback must be `bonded` or `taxed`".into()));
        }
        if profile.value_added_threshold_pct.is_sign_negative() || profile.waiver_threshold_cny.is_sign_negative() {
            return Err(ProfileError("thresholds must not be negative".into()));
        }
        Ok(profile)
    }
}

/// What a list holds: enterprises (USCC) or goods (HS prefixes of 2 to 8 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Parties,
    Goods,
}

/// The zone lists the platform knows, with what they hold. A list's meaning is fixed in code; its
/// content is data.
pub const LISTS: &[(&str, ListKind, &str)] = &[
    (
        "exempt_importer",
        ListKind::Parties,
        "免税进口主体: may import equipment and infrastructure material exempt over the first line",
    ),
    ("rd_enterprise", ListKind::Parties, "research and development enterprises"),
    ("zero_tariff_entity", ListKind::Parties, "享惠主体 (Hainan): import at zero tariff except the taxable catalogue"),
    (
        "equipment_scope",
        ListKind::Goods,
        "goods that count as equipment for first-line exemption (ch. 84, 85, 90, heading 9508)",
    ),
    ("equipment_excluded", ListKind::Goods, "equipment never exempt: aircraft, cars, ships and yachts"),
    (
        "infrastructure_material",
        ListKind::Goods,
        "infrastructure materials exempt for infrastructure use (not interior fit-out)",
    ),
    ("not_exempt", ListKind::Goods, "不予免税商品清单: goods excluded from exemption (they enter bonded)"),
    ("not_exempt_or_bonded", ListKind::Goods, "不予免（保）税货物清单: goods taxed at the first line"),
    ("taxable_catalogue", ListKind::Goods, "进口征税商品目录 (Hainan): goods taxed at the first line"),
];

pub fn list_kind(list: &str) -> Option<ListKind> {
    LISTS.iter().find(|(name, _, _)| *name == list).map(|(_, kind, _)| *kind)
}

/// One entry of a zone list, in force from `effective_from`; `active = false` removes the item from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub zone: String,
    pub list: String,
    /// A USCC or an HS prefix.
    pub item: String,
    pub effective_from: NaiveDate,
    pub active: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl ListEntry {
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.zone, self.list, self.item)
    }

    /// Checks the entry against the list's kind: every problem, as messages naming the field.
    pub fn problems(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut problems = Vec::new();
        match list_kind(&self.list) {
            None => {
                let known: Vec<&str> = LISTS.iter().map(|(name, _, _)| *name).collect();
                problems.push((
                    "list_unknown",
                    "list",
                    format!("`{}` is not a zone list; known lists: {}", self.list, known.join(", ")),
                ));
            }
            Some(ListKind::Parties) => {
                if let Err(error) = Uscc::parse(&self.item) {
                    problems.push((error.code, "item", error.message));
                }
            }
            Some(ListKind::Goods) => {
                let digits = self.item.len();
                if !(2..=8).contains(&digits) || !self.item.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push((
                        "hs_format",
                        "item",
                        format!("`{}` is not an HS prefix of 2 to 8 digits", self.item),
                    ));
                }
            }
        }
        if self.zone.is_empty() {
            problems.push(("zone_missing", "zone", "a list entry names its zone".into()));
        }
        problems
    }
}

/// Everything an assessment reads.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    pub tariff: TariffBook,
    profiles: VersionedSet<ZoneProfile>,
    /// `zone/list` → the list's entries keyed by item (USCC or HS prefix).
    lists: HashMap<String, VersionedSet<ListEntry>>,
}

impl PolicyBook {
    pub fn new(tariff: TariffBook) -> PolicyBook {
        PolicyBook { tariff, ..PolicyBook::default() }
    }

    pub fn add_profile(&mut self, profile: ZoneProfile) {
        self.profiles.insert(Versioned {
            key: profile.id.clone(),
            effective_from: profile.effective_from,
            value: Some(profile),
        });
    }

    pub fn add_list_entry(&mut self, entry: ListEntry) {
        let list = self.lists.entry(format!("{}/{}", entry.zone, entry.list)).or_default();
        let key = entry.item.clone();
        let effective_from = entry.effective_from;
        let value = entry.active.then_some(entry);
        list.insert(Versioned { key, effective_from, value });
    }

    fn list(&self, zone: &str, list: &str) -> Option<&VersionedSet<ListEntry>> {
        // Lists are few; a short key built on the stack would save little next to the scan itself.
        self.lists.get(&format!("{zone}/{list}"))
    }

    pub fn profile(&self, zone: &str, date: NaiveDate) -> Option<&ZoneProfile> {
        self.profiles.in_force(zone, date)
    }

    pub fn zones(&self) -> Vec<&str> {
        self.profiles.keys()
    }

    /// Entries of a list in force on a date, sorted by item.
    pub fn list_items(&self, zone: &str, list: &str, date: NaiveDate) -> Vec<&ListEntry> {
        let Some(set) = self.list(zone, list) else { return Vec::new() };
        let mut entries: Vec<&ListEntry> = set.all_in_force(date).map(|(_, entry)| entry).collect();
        entries.sort_by(|a, b| a.item.cmp(&b.item));
        entries
    }

    /// Whether a party is on a list: through a zone list entry in force, or its own registration.
    pub fn party_on_list(&self, zone: &str, list: &str, party: &Party, date: NaiveDate) -> bool {
        party.lists.iter().any(|name| name == list)
            || self.list(zone, list).is_some_and(|set| set.in_force(party.uscc.as_str(), date).is_some())
    }

    /// The longest prefix on a goods list covering the line, if any.
    pub fn goods_on_list(&self, zone: &str, list: &str, hs: &HsCode, date: NaiveDate) -> Option<String> {
        self.list(zone, list)?
            .all_in_force(date)
            .filter(|(item, _)| hs.starts_with(item))
            .map(|(item, _)| item)
            .max_by_key(|item| item.len())
            .map(str::to_owned)
    }
}
