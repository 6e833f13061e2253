//! Typed values of the customs domain.
//!
//! Everything that crosses the platform's edge is parsed into these types first: a Unified Social Credit
//! Code whose check character has been verified, an HS tariff line, ISO country and currency codes, UN/ECE
//! units, exact decimal money. The core crates (`tariff`, `policy`) take only these types, so they never see
//! an unchecked string. This crate does no I/O: reference code lists are compiled in from `data/ref/`.

pub mod codes;
pub mod declaration;
pub mod diagnostics;
pub mod money;
pub mod rng;

pub use codes::{CountryCode, CurrencyCode, HsCode, Reference, UnitCode, Uscc};
pub use declaration::{CreditClass, Declaration, Document, Flow, Item, Party, Processing, Purpose, ValueBasis, ZoneId};
pub use diagnostics::{FieldError, FieldErrors};
pub use money::{round_fen, Decimal};
