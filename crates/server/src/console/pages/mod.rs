//! The console's pages, one module per area: each handler reads the request, calls the use case as the
//! logged-in user, and renders the outcome (or an error page).

pub(crate) mod account;
pub(crate) mod accounts;
pub(crate) mod alerts;
pub(crate) mod chain;
pub(crate) mod declarations;
pub(crate) mod detail;
pub(crate) mod enterprises;
pub(crate) mod login;
pub(crate) mod monitor;
pub(crate) mod risk;
pub(crate) mod submit;
pub(crate) mod zones;
