//! The policy book: tariff data, zone profiles and zone lists, all versioned.

use crate::treatment::{FirstLineModel, Treatment};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The zone → list maps, read several times per order: a fast hash (foldhash, seeded per process).
type FastMap<K, V> = foldhash::HashMap<K, V>;
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
    ("cbec_platform", ListKind::Parties, "cross-border e-commerce platforms (电商平台) registered with customs: send orders, withhold tax"),
    ("cbec_enterprise", ListKind::Parties, "cross-border e-commerce enterprises (电商企业) whose bonded stock is sold (1210)"),
    ("cbec_payment", ListKind::Parties, "payment companies registered for cross-border e-commerce: send payments"),
    ("cbec_logistics", ListKind::Parties, "logistics companies registered for cross-border e-commerce: send waybills"),
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
    (
        "licence_required",
        ListKind::Goods,
        "进口许可证管理货物: goods that need an import licence at the first line unless the importer is whitelisted (macao_brand)",
    ),
    (
        "tcm_approval_required",
        ListKind::Goods,
        "进口药材审批: TCM raw materials that need the herb import approval at the first line unless the importer is whitelisted (tcm_material)",
    ),
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

/// A whitelist category (measures 4 and 5): which goods list's document a whitelisted pair is spared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhitelistCategory {
    /// The `category` of a [`WhitelistEntry`].
    pub name: &'static str,
    /// The goods list (in [`LISTS`]) whose goods need the document at the first line.
    pub list: &'static str,
    /// The document `type` an item carries instead.
    pub document: &'static str,
    /// The rule id put on an item whose document the whitelist waives.
    pub waived: &'static str,
    /// The error code when neither the document nor a whitelist entry is there.
    pub missing: &'static str,
    pub description: &'static str,
}

/// The whitelist categories the platform knows. Their meaning is code; the entries are data.
pub const WHITELIST_CATEGORIES: &[WhitelistCategory] = &[
    WhitelistCategory {
        name: "macao_brand",
        list: "licence_required",
        document: "licence",
        waived: "licence_waived_whitelist",
        missing: "licence_missing",
        description:
            "澳门品牌工业产品 (measure 4): exempt from the import licence; circulate in the zone and to Macao only",
    },
    WhitelistCategory {
        name: "tcm_material",
        list: "tcm_approval_required",
        document: "tcm_approval",
        waived: "tcm_approval_waived_whitelist",
        missing: "tcm_approval_missing",
        description: "研发用中药材 (measure 5): TCM raw materials for R&D, exempt from the herb import approval",
    },
];

pub fn whitelist_category(name: &str) -> Option<&'static WhitelistCategory> {
    WHITELIST_CATEGORIES.iter().find(|category| category.name == name)
}

/// One whitelisted pair of an enterprise and a product (measures 4 and 5), valid from `valid_from` to
/// `valid_to` inclusive. Versioned like a list entry, with `valid_from` as the version's date: a later row
/// under the same key supersedes it from its own `valid_from` on, and `active = false` withdraws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhitelistEntry {
    pub zone: String,
    /// The enterprise's USCC.
    pub enterprise: String,
    /// An HS prefix of 2 to 10 digits.
    pub product: String,
    /// `macao_brand` or `tcm_material` ([`WHITELIST_CATEGORIES`]).
    pub category: String,
    pub valid_from: NaiveDate,
    /// The last day of validity; `None`: until withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
    #[serde(default = "active_default")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

fn active_default() -> bool {
    true
}

impl WhitelistEntry {
    pub fn key(&self) -> String {
        format!("{}/{}/{}/{}", self.zone, self.enterprise, self.category, self.product)
    }

    /// The key inside one enterprise's whitelist of a zone.
    fn item_key(&self) -> String {
        format!("{}/{}", self.category, self.product)
    }

    /// Whether the entry is valid on a date (it is the version in force, so only `valid_to` is left).
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.active && self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Every problem of the entry, as (code, field, message), like [`ListEntry::problems`].
    pub fn problems(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut problems = Vec::new();
        if self.zone.is_empty() {
            problems.push(("zone_missing", "zone", "a whitelist entry names its zone".into()));
        }
        if let Err(error) = Uscc::parse(&self.enterprise) {
            problems.push((error.code, "enterprise", error.message));
        }
        let digits = self.product.len();
        if !(2..=10).contains(&digits) || !self.product.bytes().all(|b| b.is_ascii_digit()) {
            problems.push((
                "hs_format",
                "product",
                format!("`{}` is not an HS prefix of 2 to 10 digits", self.product),
            ));
        }
        if whitelist_category(&self.category).is_none() {
            let known: Vec<&str> = WHITELIST_CATEGORIES.iter().map(|c| c.name).collect();
            problems.push((
                "category_unknown",
                "category",
                format!("`{}` is not a whitelist category; known categories: {}", self.category, known.join(", ")),
            ));
        }
        if let Some(to) = self.valid_to {
            if to < self.valid_from {
                problems.push((
                    "validity_range",
                    "valid_to",
                    format!("valid_to {to} is before valid_from {}", self.valid_from),
                ));
            }
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
    /// zone → list name → entries.
    lists: FastMap<String, FastMap<String, VersionedSet<ListEntry>>>,
    /// `zone/enterprise` → the enterprise's whitelist keyed by `category/product`.
    whitelists: HashMap<String, VersionedSet<WhitelistEntry>>,
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
        let list = self.lists.entry(entry.zone.clone()).or_default().entry(entry.list.clone()).or_default();
        let key = entry.item.clone();
        let effective_from = entry.effective_from;
        let value = entry.active.then_some(entry);
        list.insert(Versioned { key, effective_from, value });
    }

    fn list(&self, zone: &str, list: &str) -> Option<&VersionedSet<ListEntry>> {
        // Looked up per order and check (e-commerce asks several times per order): no key is built.
        self.lists.get(zone)?.get(list)
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

    pub fn add_whitelist_entry(&mut self, entry: WhitelistEntry) {
        let set = self.whitelists.entry(format!("{}/{}", entry.zone, entry.enterprise)).or_default();
        let key = entry.item_key();
        let effective_from = entry.valid_from;
        let value = entry.active.then_some(entry);
        set.insert(Versioned { key, effective_from, value });
    }

    /// The whitelist entry (any category) covering an enterprise's goods on a date: the longest product prefix.
    pub fn whitelisted(&self, zone: &str, enterprise: &str, hs: &HsCode, date: NaiveDate) -> Option<&WhitelistEntry> {
        self.whitelisted_in(zone, enterprise, None, hs, date)
    }

    /// As [`PolicyBook::whitelisted`], limited to one category.
    pub fn whitelisted_for(
        &self,
        zone: &str,
        enterprise: &str,
        category: &str,
        hs: &HsCode,
        date: NaiveDate,
    ) -> Option<&WhitelistEntry> {
        self.whitelisted_in(zone, enterprise, Some(category), hs, date)
    }

    fn whitelisted_in(
        &self,
        zone: &str,
        enterprise: &str,
        category: Option<&str>,
        hs: &HsCode,
        date: NaiveDate,
    ) -> Option<&WhitelistEntry> {
        self.whitelists
            .get(&format!("{zone}/{enterprise}"))?
            .all_in_force(date)
            .map(|(_, entry)| entry)
            .filter(|entry| category.is_none_or(|category| entry.category == category))
            .filter(|entry| hs.starts_with(&entry.product) && entry.valid_on(date))
            .max_by(|a, b| a.product.len().cmp(&b.product.len()).then_with(|| b.category.cmp(&a.category)))
    }

    /// Whitelist entries of a zone valid on a date, sorted by enterprise, category and product.
    pub fn whitelist(&self, zone: &str, date: NaiveDate) -> Vec<&WhitelistEntry> {
        let prefix = format!("{zone}/");
        let mut entries: Vec<&WhitelistEntry> = self
            .whitelists
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .flat_map(|(_, set)| set.all_in_force(date).map(|(_, entry)| entry))
            .filter(|entry| entry.valid_on(date))
            .collect();
        entries.sort_by(|a, b| (&a.enterprise, &a.category, &a.product).cmp(&(&b.enterprise, &b.category, &b.product)));
        entries
    }
}
