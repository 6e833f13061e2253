//! Line treatment of one goods item (interchange.md §3.7, domain-rules.md §1).
//!
//! Each decision names the stable ids of the rules behind it, so an officer can see why.

use crate::book::{PolicyBook, ZoneProfile, WHITELIST_CATEGORIES};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use zonegate_domain::{Declaration, Flow, Item, Party, Purpose};
use zonegate_tariff::TaxesDue;

/// What happens to an item's import taxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    Exempt,
    Bonded,
    Taxed,
    ZeroValueAddedDuty,
    Export,
    FreeCirculation,
}

impl Treatment {
    pub const ALL: &'static [Treatment] = &[
        Treatment::Exempt,
        Treatment::Bonded,
        Treatment::Taxed,
        Treatment::ZeroValueAddedDuty,
        Treatment::Export,
        Treatment::FreeCirculation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::Exempt => "exempt",
            Treatment::Bonded => "bonded",
            Treatment::Taxed => "taxed",
            Treatment::ZeroValueAddedDuty => "zero_value_added_duty",
            Treatment::Export => "export",
            Treatment::FreeCirculation => "free_circulation",
        }
    }

    pub fn parse(text: &str) -> Option<Treatment> {
        Treatment::ALL.iter().copied().find(|t| t.as_str() == text)
    }

    /// The taxes due now under this treatment.
    pub fn taxes_due(self) -> TaxesDue {
        match self {
            Treatment::Taxed => TaxesDue::ALL,
            Treatment::ZeroValueAddedDuty => TaxesDue::NO_DUTY,
            Treatment::Exempt | Treatment::Bonded | Treatment::Export | Treatment::FreeCirculation => TaxesDue::NONE,
        }
    }
}

/// How the first line treats goods of eligible importers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstLineModel {
    /// Hengqin: exempt importers' equipment and infrastructure material for own use are exempt.
    ExemptEquipment,
    /// Hainan: eligible entities import everything at zero tariff except the taxable catalogue.
    ZeroTariff,
}

/// A treatment and the rule ids (and explanations) that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreatmentDecision {
    pub treatment: Treatment,
    pub basis: Vec<&'static str>,
    pub trace: Vec<String>,
}

impl TreatmentDecision {
    fn new(treatment: Treatment, basis: &'static str, why: String) -> TreatmentDecision {
        TreatmentDecision { treatment, basis: vec![basis], trace: vec![why] }
    }
}

/// Facts about the parties the treatment depends on.
pub struct PartyFacts<'a> {
    pub declarant: &'a Party,
    pub importer: &'a Party,
}

/// Decides the treatment of one item. `Err` carries (code, field suffix, message) for bad processing data.
pub fn decide(
    book: &PolicyBook,
    profile: &ZoneProfile,
    declaration: &Declaration,
    item: &Item,
    parties: &PartyFacts<'_>,
) -> Result<TreatmentDecision, (&'static str, &'static str, String)> {
    let date = declaration.declared_on;
    let zone = profile.id.as_str();
    Ok(match declaration.flow {
        Flow::FirstLineIn => first_line_in(book, profile, declaration, item, parties.importer, date),
        Flow::SecondLineOut => second_line_out(profile, item, parties.declarant)?,
        Flow::SecondLineIn => TreatmentDecision::new(
            Treatment::Export,
            "second_line_in.export",
            "goods entering the zone from the mainland are treated as exports".into(),
        ),
        Flow::FirstLineOut => TreatmentDecision::new(
            Treatment::Export,
            "first_line_out.export",
            "goods leaving the zone for Macao or abroad are exports".into(),
        ),
        Flow::ZoneTransfer if declaration.purpose == Purpose::SaleToIndividual => TreatmentDecision::new(
            Treatment::Taxed,
            "zone_transfer.sale_to_individual",
            format!("exempt or bonded goods sold to an individual in zone `{zone}` pay import taxes"),
        ),
        Flow::ZoneTransfer => TreatmentDecision::new(
            Treatment::FreeCirculation,
            "zone_transfer.free_circulation",
            format!("goods circulate freely between parties inside zone `{zone}`"),
        ),
    })
}

fn first_line_in(
    book: &PolicyBook,
    profile: &ZoneProfile,
    declaration: &Declaration,
    item: &Item,
    importer: &Party,
    date: NaiveDate,
) -> TreatmentDecision {
    let zone = profile.id.as_str();
    let hs = &item.hs;
    if let Some(prefix) = book.goods_on_list(zone, "not_exempt_or_bonded", hs, date) {
        return TreatmentDecision::new(
            Treatment::Taxed,
            "first_line.not_exempt_or_bonded",
            format!("`{prefix}` is on the zone's not-exempt-or-bonded list"),
        );
    }
    if declaration.purpose == Purpose::SaleToIndividual {
        return TreatmentDecision::new(
            Treatment::Taxed,
            "first_line.sale_to_individual",
            "goods for sale to individuals pay import taxes".into(),
        );
    }
    if !importer.zone_registered {
        return TreatmentDecision::new(
            Treatment::Taxed,
            "first_line.importer_not_in_zone",
            format!(
                "importer `{}` is not registered in the zone, so its goods can be neither exempt nor bonded",
                importer.uscc
            ),
        );
    }
    let fallback = |basis: &'static str, why: String| {
        let mut decision = TreatmentDecision::new(profile.first_line_fallback, basis, why);
        decision.basis.push(match profile.first_line_fallback {
            Treatment::Taxed => "first_line.fallback_taxed",
            _ => "first_line.bonded",
        });
        decision
    };
    match profile.first_line_model {
        FirstLineModel::ZeroTariff => {
            if let Some(prefix) = book.goods_on_list(zone, "taxable_catalogue", hs, date) {
                return TreatmentDecision::new(
                    Treatment::Taxed,
                    "first_line.taxable_catalogue",
                    format!("`{prefix}` is on the taxable catalogue"),
                );
            }
            if book.party_on_list(zone, "zero_tariff_entity", importer, date) {
                return TreatmentDecision::new(
                    Treatment::Exempt,
                    "first_line.zero_tariff",
                    format!(
                        "importer `{}` is an eligible entity and the goods are not on the taxable catalogue",
                        importer.uscc
                    ),
                );
            }
            fallback(
                "first_line.importer_not_eligible",
                format!("importer `{}` is not an eligible entity", importer.uscc),
            )
        }
        FirstLineModel::ExemptEquipment => {
            if !book.party_on_list(zone, "exempt_importer", importer, date) {
                return fallback(
                    "first_line.importer_not_exempt",
                    format!("importer `{}` is not on the exempt-importer list", importer.uscc),
                );
            }
            if !matches!(declaration.purpose, Purpose::OwnUse | Purpose::Infrastructure) {
                return fallback(
                    "first_line.purpose_not_exempt",
                    format!("purpose `{}` is not own use or infrastructure", declaration.purpose),
                );
            }
            if let Some(prefix) = book.goods_on_list(zone, "not_exempt", hs, date) {
                return fallback("first_line.not_exempt_list", format!("`{prefix}` is on the not-exempt list"));
            }
            let equipment = book.goods_on_list(zone, "equipment_scope", hs, date);
            let excluded = book.goods_on_list(zone, "equipment_excluded", hs, date);
            match (equipment, excluded) {
                (Some(scope), None) => {
                    return TreatmentDecision::new(
                        Treatment::Exempt,
                        "first_line.exempt_equipment",
                        format!("exempt importer, purpose `{}`, equipment under `{scope}`", declaration.purpose),
                    );
                }
                (Some(_), Some(prefix)) => {
                    return fallback(
                        "first_line.equipment_excluded",
                        format!("`{prefix}` (aircraft, cars, ships and yachts) is never exempt equipment"),
                    );
                }
                (None, _) => {}
            }
            if declaration.purpose == Purpose::Infrastructure {
                if let Some(prefix) = book.goods_on_list(zone, "infrastructure_material", hs, date) {
                    return TreatmentDecision::new(
                        Treatment::Exempt,
                        "first_line.exempt_infrastructure",
                        format!("exempt importer, infrastructure material under `{prefix}`"),
                    );
                }
            }
            fallback(
                "first_line.goods_out_of_scope",
                format!("line `{hs}` is neither exempt equipment nor infrastructure material"),
            )
        }
    }
}

fn second_line_out(
    profile: &ZoneProfile,
    item: &Item,
    declarant: &Party,
) -> Result<TreatmentDecision, (&'static str, &'static str, String)> {
    let taxed = |basis: &'static str, why: String| {
        let mut decision = TreatmentDecision::new(
            Treatment::Taxed,
            "second_line.import",
            "goods leaving the zone for the mainland are imports".into(),
        );
        decision.basis.push(basis);
        decision.trace.push(why);
        decision
    };
    let Some(processing) = &item.processing else {
        return Ok(TreatmentDecision::new(
            Treatment::Taxed,
            "second_line.import",
            "goods leaving the zone for the mainland are imports".into(),
        ));
    };
    let materials = processing.imported_materials_cny + processing.domestic_materials_cny;
    if materials.is_zero() {
        return Err((
            "processing_materials_zero",
            "processing",
            "imported and domestic materials are both zero: the value added cannot be computed".into(),
        ));
    }
    if !declarant.zone_registered {
        return Ok(taxed(
            "second_line.value_added.not_zone_enterprise",
            format!("declarant `{}` is not a zone enterprise, so the value-added rule does not apply", declarant.uscc),
        ));
    }
    let added = processing.sale_price_cny - materials;
    let threshold = profile.value_added_threshold_pct;
    // Compare without division: added / materials ≥ threshold / 100.
    let meets = added * Decimal::ONE_HUNDRED >= threshold * materials;
    let share = (added * Decimal::ONE_HUNDRED / materials).round_dp(2);
    let figures = format!(
        "value added ({} − {} − {}) / ({} + {}) = {share} % against {threshold} %",
        processing.sale_price_cny,
        processing.imported_materials_cny,
        processing.domestic_materials_cny,
        processing.imported_materials_cny,
        processing.domestic_materials_cny
    );
    if meets {
        let mut decision = TreatmentDecision::new(
            Treatment::ZeroValueAddedDuty,
            "second_line.import",
            "goods leaving the zone for the mainland are imports".into(),
        );
        decision.basis.push("second_line.value_added");
        decision.trace.push(format!("{figures}: duty exempt, VAT and consumption tax due"));
        Ok(decision)
    } else {
        Ok(taxed("second_line.value_added.below_threshold", format!("{figures}: below the threshold, full duty")))
    }
}

/// What the whitelists (measures 4 and 5) make of one item: rule ids of waived documents, with explanations,
/// or problems as (code, field suffix, message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhitelistOutcome {
    pub basis: Vec<&'static str>,
    pub trace: Vec<String>,
    pub problems: Vec<(&'static str, &'static str, String)>,
}

/// The licence and approval checks of measures 4 and 5 for one item.
///
/// `first_line_in`: goods on a category's goods list (`licence_required`, `tcm_approval_required`) carry the
/// document (`licence`, `tcm_approval`), or the importer is whitelisted for them in that category on the
/// declaration date (the waiver's rule id goes on the item's basis); otherwise the document is missing.
/// `second_line_out`: goods whitelisted for the declarant (any category) may not leave over the second line.
/// Other flows are not affected.
pub fn whitelist_checks(book: &PolicyBook, declaration: &Declaration, item: &Item) -> WhitelistOutcome {
    let mut outcome = WhitelistOutcome::default();
    let zone = declaration.zone.as_str();
    let date = declaration.declared_on;
    let hs = &item.hs;
    match declaration.flow {
        Flow::FirstLineIn => {
            for category in WHITELIST_CATEGORIES {
                let Some(prefix) = book.goods_on_list(zone, category.list, hs, date) else { continue };
                if item.documents.iter().any(|document| document.kind == category.document) {
                    continue;
                }
                let importer = declaration.importer.as_str();
                match book.whitelisted_for(zone, importer, category.name, hs, date) {
                    Some(entry) => {
                        outcome.basis.push(category.waived);
                        outcome.trace.push(format!(
                            "`{prefix}` is on the `{}` list; importer `{importer}` is whitelisted ({}) for `{}` \
                             on {date}, so no `{}` document is needed",
                            category.list, category.name, entry.product, category.document
                        ));
                    }
                    None => outcome.problems.push((
                        category.missing,
                        "documents",
                        format!(
                            "line `{hs}` falls under `{prefix}` on the zone's `{}` list: it needs a `{}` document, \
                             and importer `{importer}` is not whitelisted ({}) for it on {date}",
                            category.list, category.document, category.name
                        ),
                    )),
                }
            }
        }
        Flow::SecondLineOut => {
            let declarant = declaration.declarant.as_str();
            if let Some(entry) = book.whitelisted(zone, declarant, hs, date) {
                outcome.problems.push((
                    "whitelist_second_line",
                    "hs",
                    format!(
                        "line `{hs}` is whitelisted ({}, `{}`) for declarant `{declarant}`: whitelisted goods may \
                         circulate in the zone and to Macao but not leave over the second line",
                        entry.category, entry.product
                    ),
                ));
            }
        }
        Flow::FirstLineOut | Flow::SecondLineIn | Flow::ZoneTransfer => {}
    }
    outcome
}
