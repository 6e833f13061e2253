//! Runs the shared conformance suite against PostgreSQL, each case in a fresh schema that is dropped
//! afterwards. Needs `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it every
//! case prints that it was skipped and passes.

mod common;

use std::sync::Arc;

use zonegate_store::conformance::Case;
use zonegate_store_pg::PgStore;

async fn run(name: &'static str, case: Case) {
    let Some(url) = common::database_url(name) else { return };
    let schema = common::unique_schema();
    let store = PgStore::connect_with_schema(&url, &schema).await.expect("connect");
    // Run the case as its own task so a failing assertion still lets the schema be dropped.
    let outcome = tokio::spawn(case(Arc::new(store))).await;
    common::drop_schema(&url, &schema).await;
    if let Err(failure) = outcome {
        match failure.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(failure) => panic!("{name}: {failure}"),
        }
    }
}

zonegate_store::conformance_tests!(run);
