//! The assessment of a whole declaration: treatment, taxes and waivers, with reasons. The channel is the risk
//! engine's (`zonegate-risk`).

use crate::book::PolicyBook;
use crate::treatment::{decide, whitelist_checks, PartyFacts, Treatment, WhitelistOutcome};
use rust_decimal::Decimal;
use zonegate_domain::{Declaration, FieldError, FieldErrors, HsCode, Party};
use zonegate_tariff::{compute_item, customs_values, DeclarationTotals, ItemTaxInput, ItemTaxes};

#[derive(Debug, Clone, PartialEq)]
pub struct AssessedItem {
    /// One-based line number.
    pub line: usize,
    pub hs: HsCode,
    pub treatment: Treatment,
    pub customs_value_cny: Decimal,
    pub taxes: ItemTaxes,
    /// Treatment rule ids first, then rate and row ids.
    pub basis: Vec<String>,
    pub trace: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub items: Vec<AssessedItem>,
    pub totals: DeclarationTotals,
}

impl Assessment {
    /// Distinct treatments, in the order they first appear.
    pub fn treatments(&self) -> Vec<Treatment> {
        let mut out = Vec::new();
        for item in &self.items {
            if !out.contains(&item.treatment) {
                out.push(item.treatment);
            }
        }
        out
    }
}

fn party<'a>(found: Option<&'a Party>, field: &'static str, uscc: &str, errors: &mut FieldErrors) -> Option<&'a Party> {
    if found.is_none() {
        errors.add(
            "party_unknown",
            field,
            format!("`{uscc}` is not an enterprise known to the platform; register it first"),
        );
    }
    found
}

/// Assesses a parsed declaration. Parties are looked up by the caller; `None` means unknown.
/// Returns every problem at once when the declaration cannot be assessed.
pub fn assess(
    book: &PolicyBook,
    declaration: &Declaration,
    declarant: Option<&Party>,
    importer: Option<&Party>,
) -> Result<Assessment, FieldErrors> {
    let mut errors = FieldErrors::default();
    let date = declaration.declared_on;
    let profile = book.profile(declaration.zone.as_str(), date);
    if profile.is_none() {
        let zones = book.zones().iter().map(|z| format!("`{z}`")).collect::<Vec<_>>().join(", ");
        errors.add(
            "zone_unknown",
            "zone",
            format!("zone `{}` has no profile in force on {date}; zones: {zones}", declaration.zone.as_str()),
        );
    }
    let declarant = party(declarant, "declarant", declaration.declarant.as_str(), &mut errors);
    let importer = party(importer, "importer", declaration.importer.as_str(), &mut errors);
    let values = match customs_values(declaration, &book.tariff) {
        Ok(values) => values,
        Err(problems) => {
            errors.extend(problems);
            Vec::new()
        }
    };
    // Licences, approvals and the second-line constraint of whitelisted goods (measures 4 and 5), reported
    // together with every other problem.
    let checks: Vec<WhitelistOutcome> = declaration
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let mut outcome = whitelist_checks(book, declaration, item);
            for (code, field, message) in outcome.problems.drain(..) {
                errors.push(FieldError::new(code, format!("items[{index}].{field}"), message));
            }
            outcome
        })
        .collect();
    let (Some(profile), Some(declarant), Some(importer), false) =
        (profile, declarant, importer, values.is_empty() && !declaration.items.is_empty())
    else {
        // Still report unknown tariff lines, so the declarant sees every problem at once.
        for (index, item) in declaration.items.iter().enumerate() {
            if book.tariff.line(&item.hs, date).is_none() {
                errors.push(FieldError::new(
                    "hs_unknown",
                    format!("items[{index}].hs"),
                    format!("tariff line `{}` is not in the schedule in force on {date}", item.hs),
                ));
            }
        }
        return Err(errors);
    };
    let parties = PartyFacts { declarant, importer };
    let mut items = Vec::with_capacity(declaration.items.len());
    for (index, (item, (customs_value_cny, value_trace))) in declaration.items.iter().zip(values).enumerate() {
        let decision = match decide(book, profile, declaration, item, &parties) {
            Ok(decision) => decision,
            Err((code, field, message)) => {
                errors.push(FieldError::new(code, format!("items[{index}].{field}"), message));
                continue;
            }
        };
        let input = ItemTaxInput { index, item, customs_value_cny };
        match compute_item(&book.tariff, date, input, decision.treatment.taxes_due()) {
            Ok(taxes) => {
                let mut basis: Vec<String> = decision.basis.iter().map(|id| (*id).to_owned()).collect();
                basis.extend(checks[index].basis.iter().map(|id| (*id).to_owned()));
                basis.extend(taxes.basis.iter().cloned());
                let mut trace = decision.trace;
                trace.extend(checks[index].trace.iter().cloned());
                trace.push(value_trace);
                trace.extend(taxes.trace.iter().cloned());
                items.push(AssessedItem {
                    line: index + 1,
                    hs: item.hs,
                    treatment: decision.treatment,
                    customs_value_cny,
                    taxes,
                    basis,
                    trace,
                });
            }
            Err(problems) => errors.extend(problems),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let totals = DeclarationTotals::from_items(items.iter().map(|item| &item.taxes), profile.waiver_threshold_cny);
    Ok(Assessment { items, totals })
}
