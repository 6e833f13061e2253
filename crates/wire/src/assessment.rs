//! The assessment JSON (interchange.md §2). Field names are fixed by the contract; fields may be added.

use serde::{Deserialize, Serialize};
use zonegate_domain::{money::fen_string, Declaration};
use zonegate_policy::Assessment;
use zonegate_risk::Decision;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemJson {
    pub line: usize,
    pub hs: String,
    pub treatment: String,
    pub customs_value_cny: String,
    pub duty_cny: String,
    pub consumption_tax_cny: String,
    pub vat_cny: String,
    pub duty_rate: String,
    pub consumption_tax_rate: String,
    pub vat_rate: String,
    pub basis: Vec<String>,
    pub trace: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsJson {
    pub duty_cny: String,
    pub consumption_tax_cny: String,
    pub vat_cny: String,
    pub payable_cny: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentJson {
    pub reference: String,
    pub zone: String,
    pub flow: String,
    pub declared_on: String,
    pub declarant: String,
    pub items: Vec<ItemJson>,
    pub totals: TotalsJson,
    pub waived: Vec<String>,
    pub channel: String,
    pub reasons: Vec<String>,
    /// The risk engine's explanation: rules fired, alerts, credit class, the draw, the score and its top
    /// features, the rule set and model versions. Absent on declarations recorded before the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<serde_json::Value>,
}

impl AssessmentJson {
    pub fn new(declaration: &Declaration, assessment: &Assessment, decision: &Decision) -> AssessmentJson {
        let items = assessment
            .items
            .iter()
            .map(|item| ItemJson {
                line: item.line,
                hs: item.hs.to_string(),
                treatment: item.treatment.as_str().to_owned(),
                customs_value_cny: fen_string(item.customs_value_cny),
                duty_cny: fen_string(item.taxes.duty_cny),
                consumption_tax_cny: fen_string(item.taxes.consumption_tax_cny),
                vat_cny: fen_string(item.taxes.vat_cny),
                duty_rate: item.taxes.duty_rate.to_string(),
                consumption_tax_rate: item.taxes.consumption_tax_rate.to_string(),
                vat_rate: item.taxes.vat_rate_pct.normalize().to_string(),
                basis: item.basis.clone(),
                trace: item.trace.clone(),
            })
            .collect();
        let totals = &assessment.totals;
        AssessmentJson {
            reference: declaration.reference.to_string(),
            zone: declaration.zone.as_str().to_owned(),
            flow: declaration.flow.as_str().to_owned(),
            declared_on: declaration.declared_on.format("%Y-%m-%d").to_string(),
            declarant: declaration.declarant.to_string(),
            items,
            totals: TotalsJson {
                duty_cny: fen_string(totals.duty_cny),
                consumption_tax_cny: fen_string(totals.consumption_tax_cny),
                vat_cny: fen_string(totals.vat_cny),
                payable_cny: fen_string(totals.payable_cny),
            },
            waived: totals.waived.iter().map(|w| w.as_str().to_owned()).collect(),
            channel: decision.channel.as_str().to_owned(),
            reasons: decision.reasons.clone(),
            risk: serde_json::to_value(decision).ok().map(|mut risk| {
                if let Some(fields) = risk.as_object_mut() {
                    fields.remove("channel");
                    fields.remove("reasons");
                }
                risk
            }),
        }
    }
}
