//! Duty and tax rates: ad valorem, specific and compound, and the quantity a specific rate is charged on.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use zonegate_domain::UnitCode;

/// The quantity a specific rate is charged per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuantityBasis {
    /// Litres: unit `LTR`, `MLT`, or any unit with attribute `volume_l` (litres per unit).
    #[serde(rename = "LTR")]
    Litre,
    /// Kilograms: `KGM`, `GRM` or `TNE`.
    #[serde(rename = "KGM")]
    Kilogram,
    /// Tonnes: `TNE`, `KGM` or `GRM`.
    #[serde(rename = "TNE")]
    Tonne,
    /// Pieces (`C62`): cigarettes, cars, watches.
    #[serde(rename = "C62")]
    Piece,
}

impl QuantityBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityBasis::Litre => "LTR",
            QuantityBasis::Kilogram => "KGM",
            QuantityBasis::Tonne => "TNE",
            QuantityBasis::Piece => "C62",
        }
    }

    pub fn parse(text: &str) -> Option<QuantityBasis> {
        match text {
            "LTR" => Some(QuantityBasis::Litre),
            "KGM" => Some(QuantityBasis::Kilogram),
            "TNE" => Some(QuantityBasis::Tonne),
            "C62" => Some(QuantityBasis::Piece),
            _ => None,
        }
    }

    /// Converts a declared quantity into this basis, or `None` when the declared unit and attributes do
    /// not say how much there is in this basis.
    pub fn quantity(self, quantity: Decimal, unit: &UnitCode, volume_l: Option<Decimal>) -> Option<Decimal> {
        let thousand = Decimal::from(1000);
        match (self, unit.as_str()) {
            (QuantityBasis::Litre, "LTR") => Some(quantity),
            (QuantityBasis::Litre, "MLT") => Some(quantity / thousand),
            (QuantityBasis::Litre, _) => volume_l.map(|litres| quantity * litres),
            (QuantityBasis::Kilogram, "KGM") => Some(quantity),
            (QuantityBasis::Kilogram, "GRM") => Some(quantity / thousand),
            (QuantityBasis::Kilogram, "TNE") => Some(quantity * thousand),
            (QuantityBasis::Tonne, "TNE") => Some(quantity),
            (QuantityBasis::Tonne, "KGM") => Some(quantity / thousand),
            (QuantityBasis::Tonne, "GRM") => Some(quantity / thousand / thousand),
            (QuantityBasis::Piece, "C62") => Some(quantity),
            _ => None,
        }
    }
}

/// An amount in CNY per unit of a quantity basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Specific {
    pub amount_cny: Decimal,
    pub per: QuantityBasis,
}

/// A duty rate: ad valorem percent, specific amount, or both (compound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DutyRate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_valorem_pct: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specific: Option<Specific>,
}

impl DutyRate {
    pub fn ad_valorem(pct: Decimal) -> DutyRate {
        DutyRate { ad_valorem_pct: Some(pct), specific: None }
    }
    pub fn is_empty(&self) -> bool {
        self.ad_valorem_pct.is_none() && self.specific.is_none()
    }
}

/// The wire form of a rate: `"10"`, `"2.00/LTR"`, `"20+1.00/LTR"`.
impl fmt::Display for DutyRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ad_valorem_pct, self.specific) {
            (Some(pct), None) => write!(f, "{}", pct.normalize()),
            (None, Some(specific)) => write!(f, "{}/{}", specific.amount_cny.normalize(), specific.per.as_str()),
            (Some(pct), Some(specific)) => {
                write!(f, "{}+{}/{}", pct.normalize(), specific.amount_cny.normalize(), specific.per.as_str())
            }
            (None, None) => f.write_str("0"),
        }
    }
}

impl FromStr for DutyRate {
    type Err = String;

    /// Parses the wire form back: `"10"`, `"2.00/LTR"`, `"20+1.00/LTR"`.
    fn from_str(text: &str) -> Result<DutyRate, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a rate; write `10`, `2.00/LTR` or `20+1.00/LTR`");
        let (ad_valorem, specific) = match text.split_once('+') {
            Some((ad_valorem, specific)) => (Some(ad_valorem), Some(specific)),
            None if text.contains('/') => (None, Some(text)),
            None => (Some(text), None),
        };
        let ad_valorem_pct = match ad_valorem {
            Some(pct) => Some(Decimal::from_str(pct.trim()).map_err(|_| bad())?),
            None => None,
        };
        let specific = match specific {
            Some(specific) => {
                let (amount, per) = specific.split_once('/').ok_or_else(bad)?;
                Some(Specific {
                    amount_cny: Decimal::from_str(amount.trim()).map_err(|_| bad())?,
                    per: QuantityBasis::parse(per.trim()).ok_or_else(bad)?,
                })
            }
            None => None,
        };
        let out_of_range = |pct: Decimal| pct.is_sign_negative() || pct > Decimal::from(1000);
        if ad_valorem_pct.is_some_and(out_of_range) || specific.is_some_and(|s| s.amount_cny.is_sign_negative()) {
            return Err(bad());
        }
        Ok(DutyRate { ad_valorem_pct, specific })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_trip_through_text() {
        for text in ["10", "0", "2/LTR", "20+1/LTR", "12.5", "0.003/C62"] {
            let rate = DutyRate::from_str(text).unwrap();
            assert_eq!(rate.to_string(), text);
        }
        assert!(DutyRate::from_str("ten").is_err());
        assert!(DutyRate::from_str("2/BOX").is_err());
        assert!(DutyRate::from_str("-5").is_err());
    }
}
