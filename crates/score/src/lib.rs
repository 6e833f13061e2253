//! The learned risk score: gradient-boosted trees trained on declarations with inspection outcomes.
//!
//! The crate is generic over a tabular [`Schema`] (named categorical and numeric columns); the [`kcs`] module is one
//! adapter (the Korea Customs Service synthetic declarations). Everything is a pure function over in-memory data,
//! plus explicit readers and writers; there is no global state and no network.
//!
//! - [`Model::train`] fits the encoders (leak-free out-of-fold target encoding and frequency encoding of the
//!   categorical columns) and the boosted trees (logistic loss, Newton leaves, histogram splits, L2, subsampling,
//!   early stopping on a validation set). Training is deterministic for a given seed.
//! - [`Model::prepare`] looks the encodings up once; [`Model::score`] and [`Model::contributions`] then walk flat
//!   node arrays.
//! - [`metrics`] has the AUC and precision/recall at an inspection rate.

mod encode;
mod error;
mod gbdt;
pub mod kcs;
pub mod metrics;
mod model;
mod rng;
mod schema;

pub use error::ScoreError;
pub use gbdt::TrainOptions;
pub use model::{Model, PreparedRow, TrainReport, FORMAT_VERSION};
pub use schema::{Row, Schema};
