//! Search over the HS 2022 nomenclature (6,940 codes, English) compiled in from `data/ref/hs2022.csv`.

use std::collections::HashMap;
use std::sync::OnceLock;

pub const HS_2022: &str = include_str!("../../../data/ref/hs2022.csv");
/// Most results one search returns.
pub const SEARCH_RESULTS_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsEntry {
    pub code: String,
    pub description: String,
    pub level: u8,
    pub section: String,
}

fn entries() -> &'static [HsEntry] {
    static ENTRIES: OnceLock<Vec<HsEntry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut reader = csv::Reader::from_reader(HS_2022.as_bytes());
        reader
            .records()
            .filter_map(Result::ok)
            .filter_map(|r| {
                let level: u8 = r.get(4)?.parse().ok()?;
                // Section `TOTAL` holds UN Comtrade's own codes (99, 9999, 999999), not the WCO nomenclature.
                let nomenclature = r.get(0).is_some_and(|section| section != "TOTAL");
                (nomenclature && (level == 2 || level == 4 || level == 6)).then(|| HsEntry {
                    section: r.get(0).unwrap_or("").to_owned(),
                    code: r.get(1).unwrap_or("").to_owned(),
                    description: r.get(2).unwrap_or("").to_owned(),
                    level,
                })
            })
            .collect()
    })
}

fn index() -> &'static HashMap<&'static str, usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    INDEX.get_or_init(|| entries().iter().enumerate().map(|(position, e)| (e.code.as_str(), position)).collect())
}

/// The nomenclature entry for a 2-, 4- or 6-digit code.
pub fn lookup(code: &str) -> Option<&'static HsEntry> {
    index().get(code).and_then(|position| entries().get(*position))
}

/// Codes starting with the query's digits, or descriptions containing every word of it (case-insensitive);
/// code matches first, then shallower levels first.
pub fn search(query: &str, limit: usize) -> Vec<&'static HsEntry> {
    let query = query.trim();
    let limit = limit.clamp(1, SEARCH_RESULTS_MAX);
    if query.is_empty() {
        return Vec::new();
    }
    if query.bytes().all(|b| b.is_ascii_digit()) {
        let prefix = &query[..query.len().min(6)];
        return entries().iter().filter(|e| e.code.starts_with(prefix)).take(limit).collect();
    }
    let words: Vec<String> = query.to_lowercase().split_whitespace().map(str::to_owned).collect();
    let mut found: Vec<&HsEntry> = entries()
        .iter()
        .filter(|e| {
            let text = e.description.to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect();
    found.sort_by_key(|e| e.level);
    found.truncate(limit);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_code_and_by_words() {
        assert_eq!(lookup("847130").map(|e| e.level), Some(6));
        assert!(search("8471", 10).iter().all(|e| e.code.starts_with("8471")));
        let found = search("portable data processing", 10);
        assert!(found.iter().any(|e| e.code == "847130"), "{found:?}");
        assert!(search("", 10).is_empty());
        assert!(lookup("999999").is_none(), "UN Comtrade's catch-all is not an HS subheading");
        assert_eq!(search("a", 1000).len(), SEARCH_RESULTS_MAX);
    }
}
