//! The goods declaration and the parties, as typed values (interchange.md §1).

use crate::codes::{CountryCode, CurrencyCode, HsCode, Reference, UnitCode, Uscc};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Which line the goods cross, and which way.
    Flow {
        FirstLineIn = "first_line_in",
        FirstLineOut = "first_line_out",
        SecondLineOut = "second_line_out",
        SecondLineIn = "second_line_in",
        ZoneTransfer = "zone_transfer",
    }
);

wire_enum!(
    /// What the goods are for.
    Purpose {
        OwnUse = "own_use",
        Resale = "resale",
        Processing = "processing",
        Research = "research",
        Infrastructure = "infrastructure",
        Exhibition = "exhibition",
        Lease = "lease",
        SaleToIndividual = "sale_to_individual",
    }
);

wire_enum!(
    /// Whether declared values include freight and insurance to the place of import.
    ValueBasis { Cif = "CIF", Fob = "FOB" }
);

wire_enum!(
    /// Customs credit class of an enterprise.
    CreditClass { Advanced = "advanced", Ordinary = "ordinary", Dishonest = "dishonest" }
);

/// A zone profile id (`hengqin`, `hainan`, …): profiles are data, so this is an open set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(pub String);

impl ZoneId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The figures of the 30 % value-added rule, in CNY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processing {
    pub imported_materials_cny: Decimal,
    pub domestic_materials_cny: Decimal,
    pub sale_price_cny: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: String,
    pub id: String,
}

/// One goods item of a declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub hs: HsCode,
    pub description: String,
    pub quantity: Decimal,
    pub unit: UnitCode,
    /// Total value of the item in the declaration's currency.
    pub value: Decimal,
    /// `None` when the origin is unknown: the general rate applies.
    pub origin: Option<CountryCode>,
    /// Facts some rates need (`engine_cc`, `volume_l`, `abv`), as exact decimals.
    pub attributes: BTreeMap<String, Decimal>,
    pub processing: Option<Processing>,
    pub documents: Vec<Document>,
}

/// A goods declaration after parsing: every value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub reference: Reference,
    pub zone: ZoneId,
    pub flow: Flow,
    pub declared_on: NaiveDate,
    pub declarant: Uscc,
    pub importer: Uscc,
    pub purpose: Purpose,
    pub currency: CurrencyCode,
    /// CNY per unit of `currency`; `None` means the monthly rate table is to be used.
    pub exchange_rate: Option<Decimal>,
    pub value_basis: ValueBasis,
    pub freight: Decimal,
    pub insurance: Decimal,
    pub items: Vec<Item>,
}

impl Declaration {
    /// Most items one declaration may carry (the customs declaration form allows 50 goods lines; we allow
    /// more for lists, but bound it).
    pub const MAX_ITEMS: usize = 1000;
}

/// An enterprise or body known to the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub uscc: Uscc,
    pub name: String,
    /// Registered in the zone as an independent legal person.
    pub zone_registered: bool,
    /// Zone lists the party is on through its own registration (`exempt_importer`, `rd_enterprise`, …).
    pub lists: Vec<String>,
    pub credit_class: CreditClass,
}
