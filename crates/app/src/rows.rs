//! Policy rows as the store keeps them: each typed row serialized to JSON under a kind and a key.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{de::DeserializeOwned, Serialize};
use zonegate_policy::defaults::PolicyRows;
use zonegate_policy::{ListEntry, WhitelistEntry, ZoneProfile};
use zonegate_store::PolicyRow;
use zonegate_tariff::Versioned;

pub const KIND_TARIFF_LINE: &str = "tariff_line";
pub const KIND_VAT: &str = "vat_rate";
pub const KIND_CONSUMPTION_TAX: &str = "consumption_tax";
pub const KIND_EXCHANGE_RATE: &str = "exchange_rate";
pub const KIND_GENERAL_RATE_ORIGIN: &str = "general_rate_origin";
pub const KIND_ZONE_PROFILE: &str = "zone_profile";
pub const KIND_LIST_ENTRY: &str = "list_entry";
pub const KIND_WHITELIST_ENTRY: &str = "whitelist_entry";

pub const KINDS: &[&str] = &[
    KIND_TARIFF_LINE,
    KIND_VAT,
    KIND_CONSUMPTION_TAX,
    KIND_EXCHANGE_RATE,
    KIND_GENERAL_RATE_ORIGIN,
    KIND_ZONE_PROFILE,
    KIND_LIST_ENTRY,
    KIND_WHITELIST_ENTRY,
];

/// One policy row of `value`, serialized to JSON.
pub(crate) fn row<T: Serialize>(
    kind: &str,
    key: String,
    effective_from: NaiveDate,
    value: &T,
    author: &str,
    at: DateTime<Utc>,
) -> PolicyRow {
    PolicyRow {
        kind: kind.to_owned(),
        key,
        effective_from,
        body_json: serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()),
        author: author.to_owned(),
        recorded_at: at,
    }
}

fn versioned<T: Serialize>(
    kind: &str,
    rows: &[Versioned<T>],
    author: &str,
    at: DateTime<Utc>,
    out: &mut Vec<PolicyRow>,
) {
    out.extend(rows.iter().map(|r| row(kind, r.key.clone(), r.effective_from, &r.value, author, at)));
}

/// Typed rows → store rows.
pub fn to_store_rows(rows: &PolicyRows, author: &str, at: DateTime<Utc>) -> Vec<PolicyRow> {
    let mut out = Vec::with_capacity(rows.len());
    versioned(KIND_TARIFF_LINE, &rows.tariff_lines, author, at, &mut out);
    versioned(KIND_VAT, &rows.vat, author, at, &mut out);
    versioned(KIND_CONSUMPTION_TAX, &rows.consumption_tax, author, at, &mut out);
    versioned(KIND_EXCHANGE_RATE, &rows.exchange_rates, author, at, &mut out);
    versioned(KIND_GENERAL_RATE_ORIGIN, &rows.general_rate_origins, author, at, &mut out);
    out.extend(rows.profiles.iter().map(|p| row(KIND_ZONE_PROFILE, p.id.clone(), p.effective_from, p, author, at)));
    out.extend(rows.lists.iter().map(|e| row(KIND_LIST_ENTRY, e.key(), e.effective_from, e, author, at)));
    out.extend(rows.whitelist.iter().map(|e| row(KIND_WHITELIST_ENTRY, e.key(), e.valid_from, e, author, at)));
    out
}

fn decode<T: DeserializeOwned>(rows: &[PolicyRow]) -> Result<Vec<Versioned<T>>, String> {
    rows.iter()
        .map(|r| {
            let value: Option<T> = serde_json::from_str(&r.body_json)
                .map_err(|e| format!("stored {} row `{}` cannot be read: {e}", r.kind, r.key))?;
            Ok(Versioned { key: r.key.clone(), effective_from: r.effective_from, value })
        })
        .collect()
}

/// Store rows of one kind → typed rows, appended to `into`.
pub fn from_store_rows(kind: &str, rows: &[PolicyRow], into: &mut PolicyRows) -> Result<(), String> {
    match kind {
        KIND_TARIFF_LINE => into.tariff_lines.extend(decode(rows)?),
        KIND_VAT => into.vat.extend(decode(rows)?),
        KIND_CONSUMPTION_TAX => into.consumption_tax.extend(decode(rows)?),
        KIND_EXCHANGE_RATE => into.exchange_rates.extend(decode(rows)?),
        KIND_GENERAL_RATE_ORIGIN => into.general_rate_origins.extend(decode(rows)?),
        KIND_ZONE_PROFILE => into.profiles.extend(decode::<ZoneProfile>(rows)?.into_iter().filter_map(|v| v.value)),
        KIND_LIST_ENTRY => into.lists.extend(decode::<ListEntry>(rows)?.into_iter().filter_map(|v| v.value)),
        KIND_WHITELIST_ENTRY => {
            into.whitelist.extend(decode::<WhitelistEntry>(rows)?.into_iter().filter_map(|v| v.value))
        }
        other => return Err(format!("unknown policy row kind `{other}`")),
    }
    Ok(())
}
