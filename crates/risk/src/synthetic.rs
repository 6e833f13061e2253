//! Deterministic synthetic traffic for tests, benchmarks and demos: declarations with a planted risk
//! pattern (some importers, origins and undervalued goods are found at fault far more often), generated
//! from a seed so every run sees the same data.

use crate::facts::{Decl, Facts, History, Item, Party};

/// The generator of synthetic traffic (the platform's one SplitMix64).
pub use zonegate_domain::rng::SplitMix64 as Rng;

const HS: [&str; 12] = [
    "84713000", "85171300", "85287211", "90183900", "61091000", "64039900", "33049900", "22042100", "03061790",
    "39159000", "73181500", "94036090",
];
const ORIGINS: [&str; 8] = ["MO", "PT", "JP", "DE", "US", "VN", "KR", "TH"];
const FLOWS: [&str; 3] = ["first_line_in", "second_line_out", "zone_transfer"];
const CREDIT: [&str; 3] = ["advanced", "ordinary", "dishonest"];

fn uscc(n: usize) -> String {
    // Shape of a USCC; the check character is not computed (rules and the model never check it).
    format!("914404{:012}", n)
}

/// A declaration of `items` items, and whether inspecting it finds a problem. Importers 0..9, origin `VN`
/// and goods under 5 CNY a unit are the planted risks; about a fifth of declarations are at fault.
pub fn declaration(rng: &mut Rng, n: usize, items: usize) -> (Facts, bool) {
    let importer = rng.index(200);
    let declarant = importer % 50;
    let credit = CREDIT[[1, 1, 1, 1, 1, 1, 1, 1, 0, 2][rng.index(10)]];
    let mut risk: f64 = 0.06;
    if importer < 10 {
        risk += 0.6;
    }
    let items: Vec<Item> = (0..items.max(1))
        .map(|line| {
            let hs = HS[rng.index(HS.len())];
            let origin = ORIGINS[rng.index(ORIGINS.len())];
            let quantity = (1 + rng.index(500)) as f64;
            let unit_value = if rng.unit() < 0.1 { 1.0 + rng.unit() * 3.0 } else { 20.0 + rng.unit() * 2_000.0 };
            let value = (quantity * unit_value * 100.0).round() / 100.0;
            if origin == "VN" {
                risk += 0.1;
            }
            if unit_value < 5.0 {
                risk += 0.35;
            }
            let net_kg = (quantity * (0.1 + rng.unit() * 3.0) * 10.0).round() / 10.0;
            Item {
                line: line as i64 + 1,
                hs: hs.to_owned(),
                hs6: hs[..6].to_owned(),
                hs4: hs[..4].to_owned(),
                chapter: hs[..2].to_owned(),
                description: format!("goods of heading {}", &hs[..4]),
                origin: origin.to_owned(),
                unit: "C62".to_owned(),
                quantity,
                net_kg,
                value_cny: value,
                value_fen: (value * 100.0).round() as i64,
                unit_value_cny: unit_value,
                kg_value_cny: if net_kg > 0.0 { value / net_kg } else { 0.0 },
                treatment: "bonded".to_owned(),
                documents: vec!["invoice".to_owned()],
            }
        })
        .collect();
    let value: f64 = items.iter().map(|i| i.value_cny).sum();
    let party = |id: usize| Party {
        uscc: uscc(id),
        credit: credit.to_owned(),
        lists: if id % 7 == 0 { vec!["rd_enterprise".to_owned()] } else { Vec::new() },
        zone_registered: true,
    };
    let inspections = rng.index(20) as i64;
    let findings = (inspections as f64 * risk.min(1.0) * rng.unit()).round() as i64;
    let facts = Facts {
        decl: Decl {
            reference: format!("SYN-{n:08}"),
            zone: "hengqin".to_owned(),
            flow: FLOWS[rng.index(FLOWS.len())].to_owned(),
            purpose: if rng.unit() < 0.05 { "research".to_owned() } else { "resale".to_owned() },
            declared_on: "2026-11-27".to_owned(),
            currency: "CNY".to_owned(),
            declarant: uscc(declarant),
            importer: uscc(importer),
            value_cny: value,
            value_fen: (value * 100.0).round() as i64,
            items_count: items.len() as i64,
        },
        items,
        declarant: party(declarant),
        importer: party(importer),
        credit: credit.to_owned(),
        history: History {
            declarations: inspections * 10,
            inspections,
            findings,
            finding_rate: if inspections > 0 { findings as f64 / inspections as f64 } else { 0.0 },
        },
    };
    let finding = rng.unit() < risk.min(0.95);
    (facts, finding)
}

/// `count` declarations from `seed`, with 1 to `max_items` items each.
pub fn traffic(seed: u64, count: usize, max_items: usize) -> Vec<(Facts, bool)> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|n| {
            let items = 1 + rng.index(max_items.max(1));
            declaration(&mut rng, n, items)
        })
        .collect()
}
