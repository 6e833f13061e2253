//! The fact schema as the compiler sees it: for every object type, its fields,
//! each with a typed accessor resolved once at compile time.

use crate::facts::{Facts, Item};

/// A typed accessor of one field of `T`.
#[derive(Clone, Copy)]
pub(crate) enum Getter<T: 'static> {
    Str(fn(&T) -> &str),
    Int(fn(&T) -> i64),
    Double(fn(&T) -> f64),
    Bool(fn(&T) -> bool),
    StrList(fn(&T) -> &[String]),
}

/// A field of an object reachable from the root of the facts: its accessor
/// takes the whole [`Facts`].
pub(crate) type FactField = (&'static str, Getter<Facts>);
/// A field of an item: its accessor takes the [`Item`] bound to a variable.
pub(crate) type ItemField = (&'static str, Getter<Item>);

pub(crate) static DECL: &[FactField] = &[
    ("reference", Getter::Str(|f| &f.decl.reference)),
    ("zone", Getter::Str(|f| &f.decl.zone)),
    ("flow", Getter::Str(|f| &f.decl.flow)),
    ("purpose", Getter::Str(|f| &f.decl.purpose)),
    ("declared_on", Getter::Str(|f| &f.decl.declared_on)),
    ("currency", Getter::Str(|f| &f.decl.currency)),
    ("declarant", Getter::Str(|f| &f.decl.declarant)),
    ("importer", Getter::Str(|f| &f.decl.importer)),
    ("value_cny", Getter::Double(|f| f.decl.value_cny)),
    ("value_fen", Getter::Int(|f| f.decl.value_fen)),
    ("items_count", Getter::Int(|f| f.decl.items_count)),
];

macro_rules! party_fields {
    ($name:ident, $party:ident) => {
        pub(crate) static $name: &[FactField] = &[
            ("uscc", Getter::Str(|f| &f.$party.uscc)),
            ("credit", Getter::Str(|f| &f.$party.credit)),
            ("lists", Getter::StrList(|f| &f.$party.lists)),
            ("zone_registered", Getter::Bool(|f| f.$party.zone_registered)),
        ];
    };
}
party_fields!(DECLARANT, declarant);
party_fields!(IMPORTER, importer);

pub(crate) static HISTORY: &[FactField] = &[
    ("declarations", Getter::Int(|f| f.history.declarations)),
    ("inspections", Getter::Int(|f| f.history.inspections)),
    ("findings", Getter::Int(|f| f.history.findings)),
    ("finding_rate", Getter::Double(|f| f.history.finding_rate)),
];

pub(crate) static ITEM: &[ItemField] = &[
    ("line", Getter::Int(|i| i.line)),
    ("hs", Getter::Str(|i| &i.hs)),
    ("hs6", Getter::Str(|i| &i.hs6)),
    ("hs4", Getter::Str(|i| &i.hs4)),
    ("chapter", Getter::Str(|i| &i.chapter)),
    ("description", Getter::Str(|i| &i.description)),
    ("origin", Getter::Str(|i| &i.origin)),
    ("unit", Getter::Str(|i| &i.unit)),
    ("quantity", Getter::Double(|i| i.quantity)),
    ("net_kg", Getter::Double(|i| i.net_kg)),
    ("value_cny", Getter::Double(|i| i.value_cny)),
    ("value_fen", Getter::Int(|i| i.value_fen)),
    ("unit_value_cny", Getter::Double(|i| i.unit_value_cny)),
    ("kg_value_cny", Getter::Double(|i| i.kg_value_cny)),
    ("treatment", Getter::Str(|i| &i.treatment)),
    ("documents", Getter::StrList(|i| &i.documents)),
];

/// The root identifiers of the fact model.
pub(crate) const ROOTS: &[&str] = &["decl", "items", "declarant", "importer", "credit", "history"];

/// The closest of `candidates` to `name` by edit distance, when close enough
/// to be a plausible typo.
pub(crate) fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = match name.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
