//! Tariff data and import-tax arithmetic.
//!
//! The schedule (duty rates per 8-digit tariff line), the VAT table and the consumption-tax table are
//! *versioned data*: every row has an `effective_from` date, a rate change is a new row, and a computation
//! uses the rows in force on the declaration's date. [`compute`] turns a customs value and the rows in
//! force into duty, consumption tax and VAT, rounded per item to the fen, with the stable ids of every rule
//! and row that decided them and a human-readable trace (interchange.md §3, domain-rules.md §2).
//!
//! This crate does no I/O: data arrives as text or rows and dates arrive as arguments.

pub mod compute;
pub mod import;
pub mod rates;
pub mod tables;
pub mod versioned;

pub use compute::{
    apportion_fen, compute_item, compute_item_with, customs_values, select_duty, DeclarationTotals, ItemTaxInput,
    ItemTaxes, TaxError, TaxesDue, Trace, Waiver,
};
pub use rates::{DutyRate, QuantityBasis, Specific};
pub use tables::{Bound, Condition, CtRow, ExchangeRateRow, Measure, TariffBook, TariffLine, VatRow};
pub use versioned::{Versioned, VersionedSet};
