//! Processing: bills of materials with versions, processing runs, material content for the 30 % rule.
//!
//! A bill of materials ([`Bom`], 单耗) says how much of each material one unit of the product consumes,
//! loss included. A processing run ([`plan_processing`]) consumes the materials at average cost
//! (`processing_consume`, stock → consumed) and produces the product at the summed value
//! (`processing_produce`, produced → stock), all in one linked chain. The run also splits the material
//! value into imported (bonded / exempt, no import tax paid) and domestic (境内区外采购) parts, which the
//! app accumulates per product in a [`MaterialContent`] for the 30 % value-added rule at a later
//! second-line exit:
//! `VA% = (P_sale − ΣP_imp − ΣP_dom) / (ΣP_imp + ΣP_dom) × 100 % ≥ 30 %`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::documents::Problem;
use crate::engine::Ledger;
use crate::model::{AccountKind, LedgerKey, Transfer, TransferCode, Treatment};
use crate::movement::{format_quantity, link, plan_movement, DocumentIds, Line};

/// One material of a bill of materials: `quantity` smallest units of the material are consumed per `per`
/// smallest units of the product (net consumption including loss).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BomLine {
    /// Item number (料号) of the material on the enterprise's ledger.
    pub item_no: String,
    /// Material consumed, in the material's smallest unit, per `per` units of product.
    pub quantity: u64,
    /// Product quantity (smallest units) the `quantity` refers to.
    pub per: u64,
}

impl BomLine {
    /// Material quantity consumed for `product_quantity` of the product: `ceil(product_quantity ×
    /// quantity / per)` (`None` if `per` is zero or the result exceeds `u64`).
    pub fn consumption(&self, product_quantity: u64) -> Option<u64> {
        if self.per == 0 {
            return None;
        }
        let n = product_quantity as u128 * self.quantity as u128;
        u64::try_from(n.div_ceil(self.per as u128)).ok()
    }
}

/// A bill of materials (单耗) of one product, in one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bom {
    /// Item number of the product on the enterprise's ledger.
    pub product_item_no: String,
    /// Version (≥ 1).
    pub version: u32,
    /// First day the version applies.
    pub effective_from: NaiveDate,
    /// The materials (at least one, distinct, not the product itself).
    pub materials: Vec<BomLine>,
}

impl Bom {
    /// Every problem with the bill for `enterprise`'s ledger, at once: `version_zero` (`version`),
    /// `item_unknown` (`product_item_no`, `materials[i].item_no`), `materials_empty` (`materials`),
    /// `item_repeated` and `material_is_product` (`materials[i].item_no`), `quantity_zero`
    /// (`materials[i].quantity`), `per_zero` (`materials[i].per`).
    pub fn problems(&self, ledger: &Ledger, enterprise: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.version == 0 {
            problems.push(Problem::new("version_zero", "version", "BOM versions start at 1"));
        }
        if ledger.item(&LedgerKey::new(enterprise, &self.product_item_no)).is_none() {
            problems.push(Problem::new(
                "item_unknown",
                "product_item_no",
                format!("product `{}` is not on the ledger of {enterprise}", self.product_item_no),
            ));
        }
        if self.materials.is_empty() {
            problems.push(Problem::new("materials_empty", "materials", "a BOM lists at least one material"));
        }
        let mut seen = HashSet::new();
        for (i, m) in self.materials.iter().enumerate() {
            let field = |name: &str| format!("materials[{i}].{name}");
            if m.item_no == self.product_item_no {
                problems.push(Problem::new(
                    "material_is_product",
                    field("item_no"),
                    format!("`{}` is the product itself", m.item_no),
                ));
            } else if !seen.insert(m.item_no.as_str()) {
                problems.push(Problem::new(
                    "item_repeated",
                    field("item_no"),
                    format!("material `{}` appears on more than one line", m.item_no),
                ));
            } else if ledger.item(&LedgerKey::new(enterprise, &m.item_no)).is_none() {
                problems.push(Problem::new(
                    "item_unknown",
                    field("item_no"),
                    format!("material `{}` is not on the ledger of {enterprise}", m.item_no),
                ));
            }
            if m.quantity == 0 {
                problems.push(Problem::new("quantity_zero", field("quantity"), "the consumption must be above zero"));
            }
            if m.per == 0 {
                problems.push(Problem::new("per_zero", field("per"), "the product quantity must be above zero"));
            }
        }
        problems
    }
}

/// The versions of bills of materials per (enterprise, product).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BomBook {
    /// enterprise → product item number → version → bill.
    boms: BTreeMap<String, BTreeMap<String, BTreeMap<u32, Bom>>>,
}

impl BomBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a version. Adding the same body again is fine; a different body for an existing version is
    /// refused with `bom_version_exists` (`version`).
    pub fn add(&mut self, enterprise: &str, bom: Bom) -> Result<(), Problem> {
        let versions =
            self.boms.entry(enterprise.to_string()).or_default().entry(bom.product_item_no.clone()).or_default();
        match versions.get(&bom.version) {
            Some(existing) if *existing == bom => Ok(()),
            Some(_) => Err(Problem::new(
                "bom_version_exists",
                "version",
                format!(
                    "version {} of the BOM of `{}` already exists with a different body; file a new version",
                    bom.version, bom.product_item_no
                ),
            )),
            None => {
                versions.insert(bom.version, bom);
                Ok(())
            }
        }
    }

    /// The version in force on `date`: the latest `effective_from ≤ date`, ties broken by the highest
    /// version.
    pub fn in_force(&self, enterprise: &str, product_item_no: &str, date: NaiveDate) -> Option<&Bom> {
        self.boms
            .get(enterprise)?
            .get(product_item_no)?
            .values()
            .filter(|b| b.effective_from <= date)
            .max_by_key(|b| (b.effective_from, b.version))
    }

    /// A given version.
    pub fn get(&self, enterprise: &str, product_item_no: &str, version: u32) -> Option<&Bom> {
        self.boms.get(enterprise)?.get(product_item_no)?.get(&version)
    }

    /// All versions of a product, ascending.
    pub fn versions(&self, enterprise: &str, product_item_no: &str) -> Vec<&Bom> {
        self.boms.get(enterprise).and_then(|p| p.get(product_item_no)).map(|v| v.values().collect()).unwrap_or_default()
    }
}

/// One material consumed by a processing run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    /// Material item number.
    pub item_no: String,
    /// Quantity consumed (material's smallest unit).
    pub quantity: u64,
    /// Value consumed at average cost (fen).
    pub value_fen: u64,
    /// Whether the material counts as imported (bonded / exempt, [`Treatment::is_imported`]).
    pub imported: bool,
}

/// The planned transfers of a processing run and its value split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingPlan {
    /// One linked chain: one `processing_consume` per material, then one `processing_produce`.
    pub transfers: Vec<Transfer>,
    /// The materials consumed, in BOM order.
    pub consumed: Vec<Consumed>,
    /// Σ value of imported materials (fen).
    pub imported_materials_fen: u64,
    /// Σ value of domestic materials (fen).
    pub domestic_materials_fen: u64,
    /// Value of the product produced: Σ consumed values (fen).
    pub product_value_fen: u64,
}

/// Renames a [`plan_movement`] problem field `lines[i].tail` (or `lines`) with `f(i, tail)`.
fn remap(mut p: Problem, f: impl Fn(&str, &str) -> String) -> Problem {
    if let Some((i, tail)) = p.field.strip_prefix("lines[").and_then(|r| r.split_once(']')) {
        p.field = f(i, tail.trim_start_matches('.'));
    } else if p.field == "lines" {
        p.field = f("", "");
    }
    p
}

/// Plans a processing run of `quantity` (product's smallest unit) under `bom`.
///
/// Each material is consumed `ceil(quantity × bom.quantity / bom.per)` at the average cost of its stock;
/// the product enters stock at the sum of the consumed values. Transfer ids: materials get indices
/// `0..n` in BOM order, the product `n`.
///
/// Problems (all at once): those of [`Bom::problems`], `quantity_zero` (`quantity`), and per short
/// material `stock_insufficient` on `materials[i].quantity`, naming the material, what the run needs,
/// what is available and what is missing.
pub fn plan_processing(
    ledger: &Ledger,
    ids: DocumentIds<'_>,
    bom: &Bom,
    quantity: u64,
    at: DateTime<Utc>,
) -> Result<ProcessingPlan, Vec<Problem>> {
    let mut problems = bom.problems(ledger, ids.enterprise);
    if quantity == 0 {
        problems.push(Problem::new("quantity_zero", "quantity", "the product quantity must be above zero"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut lines = Vec::with_capacity(bom.materials.len());
    for (i, m) in bom.materials.iter().enumerate() {
        let field = format!("materials[{i}].quantity");
        let Some(need) = m.consumption(quantity) else {
            problems.push(Problem::new("quantity_too_large", field, "the consumption overflows"));
            continue;
        };
        let scale = ledger.item(&LedgerKey::new(ids.enterprise, &m.item_no)).map_or(0, |it| it.quantity_scale);
        let available = ledger
            .account_of(ids.enterprise, &m.item_no, AccountKind::Stock)
            .and_then(|id| ledger.balance(id))
            .map_or(0, |b| b.available_quantity.max(0));
        if need as i128 > available {
            problems.push(Problem::new(
                "stock_insufficient",
                field,
                format!(
                    "material `{}`: {} needed, {} available in stock, {} missing",
                    m.item_no,
                    format_quantity(need as i128, scale),
                    format_quantity(available, scale),
                    format_quantity(need as i128 - available, scale)
                ),
            ));
            continue;
        }
        lines.push(Line { item_no: m.item_no.clone(), quantity: need, value_fen: None });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut transfers = plan_movement(
        ledger,
        ids,
        0,
        TransferCode::ProcessingConsume,
        AccountKind::Stock,
        AccountKind::Consumed,
        &lines,
        false,
        at,
    )
    .map_err(|ps| {
        let field = |i: &str, tail: &str| match (i, tail) {
            ("", _) => "materials".to_string(),
            (i, "") => format!("materials[{i}]"),
            (i, tail) => format!("materials[{i}].{tail}"),
        };
        ps.into_iter().map(|p| remap(p, field)).collect::<Vec<_>>()
    })?;
    let mut consumed = Vec::with_capacity(lines.len());
    let (mut imported, mut domestic, mut total) = (0u64, 0u64, 0u64);
    for (line, t) in lines.iter().zip(&transfers) {
        let treatment = ledger.item(&LedgerKey::new(ids.enterprise, &line.item_no)).map(|it| it.treatment);
        let is_imported = treatment.is_some_and(|t| t.is_imported());
        if is_imported {
            imported += t.value_fen;
        } else if treatment == Some(Treatment::Domestic) {
            domestic += t.value_fen;
        }
        total += t.value_fen;
        consumed.push(Consumed {
            item_no: line.item_no.clone(),
            quantity: t.quantity,
            value_fen: t.value_fen,
            imported: is_imported,
        });
    }
    let product = [Line { item_no: bom.product_item_no.clone(), quantity, value_fen: Some(total) }];
    let produce = plan_movement(
        ledger,
        ids,
        transfers.len() as u32,
        TransferCode::ProcessingProduce,
        AccountKind::Produced,
        AccountKind::Stock,
        &product,
        false,
        at,
    )
    .map_err(|ps| {
        ps.into_iter()
            .map(|p| remap(p, |_, tail| if tail == "quantity" { "quantity".into() } else { "product_item_no".into() }))
            .collect::<Vec<_>>()
    })?;
    transfers.extend(produce);
    link(&mut transfers);
    Ok(ProcessingPlan {
        transfers,
        consumed,
        imported_materials_fen: imported,
        domestic_materials_fen: domestic,
        product_value_fen: total,
    })
}

/// Imported and domestic material value carried by goods produced in the zone, for the 30 % value-added
/// rule at a later second-line exit. The app adds each processing run's output
/// (`add(quantity, plan.imported_materials_fen, plan.domestic_materials_fen)`) and takes the share of the
/// goods leaving.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialContent {
    /// Quantity of goods held (smallest unit).
    pub quantity: u128,
    /// Imported material value in those goods (fen).
    pub imported_fen: u128,
    /// Domestic material value in those goods (fen).
    pub domestic_fen: u128,
}

impl MaterialContent {
    /// Adds goods carrying the given imported / domestic material value.
    pub fn add(&mut self, quantity: u64, imported_fen: u64, domestic_fen: u64) {
        self.quantity += quantity as u128;
        self.imported_fen += imported_fen as u128;
        self.domestic_fen += domestic_fen as u128;
    }

    /// `(imported_fen, domestic_fen)` of `quantity` of the goods: pro rata, rounded half up; exactly the
    /// remainder when `quantity` is all that is held. `None` if more than is held (or beyond `u64`).
    pub fn share(&self, quantity: u64) -> Option<(u64, u64)> {
        let q = quantity as u128;
        if q > self.quantity {
            return None;
        }
        if q == self.quantity {
            return Some((u64::try_from(self.imported_fen).ok()?, u64::try_from(self.domestic_fen).ok()?));
        }
        let part = |v: u128| u64::try_from((v * q + self.quantity / 2) / self.quantity).ok();
        Some((part(self.imported_fen)?, part(self.domestic_fen)?))
    }

    /// [`share`](Self::share), then removes that quantity and value from the content.
    pub fn take(&mut self, quantity: u64) -> Option<(u64, u64)> {
        let (imported, domestic) = self.share(quantity)?;
        self.quantity -= quantity as u128;
        self.imported_fen -= imported as u128;
        self.domestic_fen -= domestic as u128;
        Some((imported, domestic))
    }
}
