//! Test plumbing shared by the PostgreSQL test files: the database URL from `TEST_DATABASE_URL` (tests skip
//! when it is unset), a fresh uniquely named schema per test, and a raw client for reaching into it.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, NoTls};

/// The database to test against, or `None` (after saying so) when `TEST_DATABASE_URL` is unset; a panic
/// instead when `ZONEGATE_REQUIRE_PG` is set.
pub fn database_url(test: &str) -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // CI sets ZONEGATE_REQUIRE_PG so that a missing database fails the run instead of skipping it.
            assert!(
                std::env::var("ZONEGATE_REQUIRE_PG").is_err(),
                "{test}: ZONEGATE_REQUIRE_PG is set but TEST_DATABASE_URL is not"
            );
            println!("skipped {test}: TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// A schema name no other test (or test run) uses.
pub fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("zg_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A plain client whose `search_path` is `schema`.
pub async fn raw_client(url: &str, schema: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("raw connection");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client.batch_execute(&format!("SET search_path TO \"{schema}\"")).await.expect("set search_path");
    client
}

pub async fn drop_schema(url: &str, schema: &str) {
    let client = raw_client(url, schema).await;
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await.expect("drop schema");
}
