//! Rows with effective dates. Each row has a key; a later row under the same key supersedes the earlier
//! one from its `effective_from` on. A row never changes once recorded, so an assessment can always be
//! recomputed from the rows that were in force on its date.

use chrono::NaiveDate;
/// Looked up for every tariff line, rate and list entry an assessment reads: a fast hash (foldhash, seeded
/// per process) rather than SipHash; the keys are policy data, not caller input.
type HashMap<K, V> = foldhash::HashMap<K, V>;

/// One version of a keyed row.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub key: String,
    pub effective_from: NaiveDate,
    /// `None` retires the key from `effective_from` on.
    pub value: Option<T>,
}

/// All versions of all keys, kept sorted by date per key.
#[derive(Debug, Clone)]
pub struct VersionedSet<T> {
    by_key: HashMap<String, Vec<(NaiveDate, Option<T>)>>,
}

impl<T> Default for VersionedSet<T> {
    fn default() -> Self {
        VersionedSet { by_key: HashMap::default() }
    }
}

impl<T> VersionedSet<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a version. Two versions of a key on the same date: the one inserted last wins, so a
    /// correction recorded later replaces a mistaken row without editing it.
    pub fn insert(&mut self, row: Versioned<T>) {
        let versions = self.by_key.entry(row.key).or_default();
        let position = versions.partition_point(|(date, _)| *date <= row.effective_from);
        versions.insert(position, (row.effective_from, row.value));
    }

    /// The version of `key` in force on `date`.
    pub fn in_force(&self, key: &str, date: NaiveDate) -> Option<&T> {
        let versions = self.by_key.get(key)?;
        Self::pick(versions, date)
    }

    /// The version of `key` in force on `date` together with the date it took effect.
    pub fn in_force_since(&self, key: &str, date: NaiveDate) -> Option<(NaiveDate, &T)> {
        let versions = self.by_key.get(key)?;
        let index = versions.partition_point(|(from, _)| *from <= date);
        let (from, value) = versions.get(index.checked_sub(1)?)?;
        value.as_ref().map(|value| (*from, value))
    }

    fn pick(versions: &[(NaiveDate, Option<T>)], date: NaiveDate) -> Option<&T> {
        let index = versions.partition_point(|(from, _)| *from <= date);
        versions.get(index.checked_sub(1)?)?.1.as_ref()
    }

    /// Every key's version in force on `date`, in no particular order.
    pub fn all_in_force(&self, date: NaiveDate) -> impl Iterator<Item = (&str, &T)> {
        self.by_key
            .iter()
            .filter_map(move |(key, versions)| Self::pick(versions, date).map(|value| (key.as_str(), value)))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.by_key.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_later_row_supersedes_from_its_date() {
        let mut set = VersionedSet::new();
        set.insert(Versioned { key: "a".into(), effective_from: date("2026-01-01"), value: Some(10) });
        set.insert(Versioned { key: "a".into(), effective_from: date("2026-07-01"), value: Some(5) });
        set.insert(Versioned { key: "a".into(), effective_from: date("2027-01-01"), value: None });
        assert_eq!(set.in_force("a", date("2025-12-31")), None);
        assert_eq!(set.in_force("a", date("2026-01-01")), Some(&10));
        assert_eq!(set.in_force("a", date("2026-06-30")), Some(&10));
        assert_eq!(set.in_force("a", date("2026-07-01")), Some(&5));
        assert_eq!(set.in_force("a", date("2027-01-01")), None);
        assert_eq!(set.in_force_since("a", date("2026-08-01")), Some((date("2026-07-01"), &5)));
    }

    #[test]
    fn a_correction_on_the_same_date_wins() {
        let mut set = VersionedSet::new();
        set.insert(Versioned { key: "a".into(), effective_from: date("2026-01-01"), value: Some(10) });
        set.insert(Versioned { key: "a".into(), effective_from: date("2026-01-01"), value: Some(12) });
        assert_eq!(set.in_force("a", date("2026-03-01")), Some(&12));
    }
}
