//! The five-dimension risk engine (measure 18): classification and rules written by officers in CEL, risk
//! alerts shared by authorities, enterprise credit, a reproducible random draw, and a learned score, combined
//! into the channel of every declaration with its reasons.
//!
//! No I/O: rule sets, alerts, parameters, the draw secret, the model and the time come in as arguments.

pub mod alerts;
pub mod backtest;
pub mod build;
pub mod channel;
pub mod defaults;
pub mod draw;
pub mod engine;
pub mod expr;
pub mod facts;
pub mod learned;
pub mod params;
pub mod rules;
pub mod synthetic;

pub use channel::Channel;
pub use engine::{decide, Decision, Inputs, Scorer};
