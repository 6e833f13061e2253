//! The whitelist registry of measures 4 and 5: enterprise × product pairs exempt from the import licence
//! (`macao_brand`) or the herb import approval (`tcm_material`). Entries are versioned policy rows like zone
//! list entries: an edit is a new row, `active: false` withdraws a pair from its `valid_from` on.

use crate::{App, AppResult};
use chrono::NaiveDate;
use zonegate_auth::{Action, Principal, Resource};
use zonegate_domain::FieldErrors;
use zonegate_policy::defaults::PolicyRows;
use zonegate_policy::WhitelistEntry;

impl App {
    /// Appends whitelist entries after checking each (zone known, enterprise a USCC, product an HS prefix,
    /// category known, validity in order). Every problem at once, as `entries[i].field`.
    pub async fn add_whitelist_entries(&self, who: &Principal, entries: Vec<WhitelistEntry>) -> AppResult<usize> {
        self.authorize(who, Action::ZoneListWrite, &Resource::Platform)?;
        let book = self.book();
        let zones = book.zones();
        let mut errors = FieldErrors::default();
        for (index, entry) in entries.iter().enumerate() {
            if !entry.zone.is_empty() && !zones.contains(&entry.zone.as_str()) {
                errors.add(
                    "zone_unknown",
                    format!("entries[{index}].zone"),
                    format!("zone `{}` has no profile", entry.zone),
                );
            }
            for (code, field, message) in entry.problems() {
                errors.add(code, format!("entries[{index}].{field}"), message);
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        self.append_policy(who, PolicyRows { whitelist: entries, ..PolicyRows::default() }).await
    }

    /// The whitelist entries of a zone valid on a date, sorted by enterprise, category and product.
    pub fn list_whitelist(&self, who: &Principal, zone: &str, date: NaiveDate) -> AppResult<Vec<WhitelistEntry>> {
        self.authorize(who, Action::ZoneListRead, &Resource::Platform)?;
        Ok(self.book().whitelist(zone, date).into_iter().cloned().collect())
    }
}
