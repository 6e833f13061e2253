//! Zone policy: which treatment each goods item gets on each line, and the whole assessment.
//!
//! A zone is configuration, not code: a [`ZoneProfile`] (versioned by date) picks the first-line model
//! (`exempt_equipment` for Hengqin, `zero_tariff` for Hainan), the fallback for other goods, the value-added
//! threshold and the waiver threshold; zone lists (exempt importers, equipment scope, not-exempt goods, …)
//! are [`ListEntry`] rows with effective dates; whitelisted enterprise × product pairs (measures 4 and 5) are
//! [`WhitelistEntry`] rows, versioned the same way. [`assess`] combines them with the tariff book into an
//! [`Assessment`]. Pure: parties, dates and data come in as arguments.

pub mod assess;
pub mod book;
pub mod defaults;
pub mod treatment;

pub use assess::{assess, AssessedItem, Assessment};
pub use book::{
    ListEntry, ListKind, PolicyBook, ProfileError, WhitelistCategory, WhitelistEntry, ZoneProfile, WHITELIST_CATEGORIES,
};
pub use treatment::{FirstLineModel, Treatment, TreatmentDecision};
