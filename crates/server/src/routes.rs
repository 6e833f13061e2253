//! The route table: one list from which both the router and [`ROUTES`] are generated, so the router, the
//! OpenAPI test and the documentation cannot drift apart.

use axum::Router;

use crate::handlers::{access, cbec, declarations, enterprises, ledger, ops, risk, tariff, whitelist, zones};
use crate::Shared;

/// Routes anyone may call without credentials; every other route answers `401` without them.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/session"),
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/01/{gtin}/21/{serial}"),
    ("get", "/v1/cbec/trace/{gtin}/{serial}/qr.svg"),
];

/// Declares every route once: `method "path" => handler;`. Generates [`ROUTES`] and `api_routes()`.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every route of the API as (lowercase HTTP method, path template in OpenAPI/axum `{param}` syntax).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The router of every route in [`ROUTES`], before fallbacks and layers.
        pub(crate) fn api_routes() -> Router<Shared> {
            Router::new()$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

routes! {
    post "/v1/session" => access::login;
    get "/v1/session" => access::whoami;
    delete "/v1/session" => access::logout;
    post "/v1/accounts" => access::create_account;
    get "/v1/accounts" => access::list_accounts;
    get "/v1/accounts/{user_id}" => access::get_account;
    post "/v1/accounts/{user_id}/deactivate" => access::deactivate_account;
    post "/v1/tokens" => access::issue_token;
    get "/v1/tokens" => access::list_tokens;
    delete "/v1/tokens/{token_id}" => access::revoke_token;
    post "/v1/declarations" => declarations::submit;
    get "/v1/declarations" => declarations::list;
    get "/v1/declarations/{id}" => declarations::get_one;
    get "/v1/declarations/{id}/events" => declarations::events;
    post "/v1/declarations/{id}/inspection" => risk::record_inspection;
    get "/v1/declarations/{id}/inspection" => risk::get_inspection;
    get "/v1/stats/declarations" => declarations::stats;
    post "/v1/enterprises" => enterprises::create;
    get "/v1/enterprises" => enterprises::list;
    get "/v1/enterprises/{uscc}" => enterprises::get_one;
    get "/v1/enterprises/{uscc}/credit" => risk::get_credit;
    post "/v1/enterprises/{uscc}/credit" => risk::set_credit;
    get "/v1/risk/rulesets" => risk::list_rule_sets;
    post "/v1/risk/rulesets" => risk::save_rule_set;
    get "/v1/risk/rulesets/{version}" => risk::get_rule_set;
    post "/v1/risk/rulesets/{version}/activate" => risk::activate_rule_set;
    get "/v1/risk/rulesets/{version}/backtest" => risk::backtest;
    get "/v1/risk/parameters" => risk::get_parameters;
    post "/v1/risk/parameters" => risk::set_parameters;
    get "/v1/risk/report" => risk::report;
    post "/v1/alerts" => risk::publish_alert;
    get "/v1/alerts" => risk::list_alerts;
    post "/v1/alerts/{publisher}/{id}/withdraw" => risk::withdraw_alert;
    get "/v1/ledgers/{uscc}" => ledger::overview;
    post "/v1/ledgers/{uscc}/{kind}" => ledger::record;
    get "/v1/ledgers/{uscc}/items/{item_no}" => ledger::item;
    get "/v1/ledgers/{uscc}/documents" => ledger::documents;
    get "/v1/ledgers/{uscc}/documents/{kind}/{number}" => ledger::document;
    get "/v1/ledgers/{uscc}/patrol" => ledger::patrol;
    get "/v1/ledgers/{uscc}/writeoff" => ledger::write_off;
    post "/v1/cbec/orders" => cbec::submit_order;
    post "/v1/cbec/payments" => cbec::submit_payment;
    post "/v1/cbec/waybills" => cbec::submit_waybill;
    post "/v1/cbec/batches" => cbec::batch;
    get "/v1/cbec/orders/{platform}/{order_no}" => cbec::get_order;
    post "/v1/cbec/orders/{platform}/{order_no}/cancellation" => cbec::cancel;
    post "/v1/cbec/orders/{platform}/{order_no}/returns" => cbec::return_goods;
    post "/v1/cbec/orders/{platform}/{order_no}/inspection" => cbec::inspect;
    post "/v1/cbec/tax-payments" => cbec::pay;
    get "/v1/cbec/agents/{uscc}/bills" => cbec::bills;
    post "/v1/cbec/agents/{uscc}/keys" => cbec::add_key;
    post "/v1/cbec/agents/{uscc}/guarantee" => cbec::set_guarantee;
    get "/v1/cbec/incomplete" => cbec::incomplete;
    get "/v1/cbec/overview" => cbec::overview;
    post "/v1/cbec/quota-lookups" => cbec::quota;
    get "/01/{gtin}/21/{serial}" => cbec::trace;
    get "/v1/cbec/trace/{gtin}/{serial}/qr.svg" => cbec::trace_qr;
    get "/v1/zones" => zones::list_zones;
    get "/v1/zones/{zone}/lists" => zones::list_lists;
    get "/v1/zones/{zone}/lists/{list}" => zones::list_entries;
    post "/v1/zones/{zone}/lists/{list}" => zones::append_entries;
    get "/v1/zones/{zone}/whitelist" => whitelist::list;
    post "/v1/zones/{zone}/whitelist" => whitelist::append;
    get "/v1/tariff/lines/{hs}" => tariff::line;
    get "/v1/tariff/search" => tariff::search;
    get "/v1/chain/verify" => ops::verify_chain;
    get "/healthz" => ops::healthz;
    get "/metrics" => ops::metrics;
    get "/openapi.json" => ops::openapi;
}
