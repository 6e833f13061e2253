//! Connecting to PostgreSQL and bringing the schema up to date.
//!
//! Every connection gets the same `search_path` (the store's schema, when one is given), so tests and
//! tenants can live side by side in one database. Migrations are embedded SQL files applied in order in
//! one transaction, under an advisory lock so that two processes starting together do not race, and
//! recorded in `schema_migrations(version, checksum)`; an applied migration whose text changed is refused.

use tokio_postgres::{Client, NoTls};
use zonegate_store::backend::{pending_migrations, to_micros, Migration};
use zonegate_store::{StoreError, StoreResult};

use crate::error::Context;

/// The schema, in order. Applied migrations must never be edited: add a new file instead.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
    Migration {
        version: 2,
        name: "accounts_attribution_stats",
        sql: include_str!("../migrations/0002_accounts_attribution_stats.sql"),
    },
    Migration { version: 3, name: "inspections", sql: include_str!("../migrations/0003_inspections.sql") },
    Migration { version: 4, name: "ledger", sql: include_str!("../migrations/0004_ledger.sql") },
    Migration { version: 5, name: "cbec", sql: include_str!("../migrations/0005_cbec.sql") },
];

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks a schema name given by the caller: non-empty, at most 63 bytes (PostgreSQL's limit), no NUL.
pub(crate) fn check_schema_name(schema: &str) -> StoreResult<()> {
    if schema.is_empty() || schema.len() > 63 || schema.contains('\0') {
        return Err(StoreError::Backend(format!("postgres: invalid schema name {schema:?}")));
    }
    Ok(())
}

/// Opens one connection (its I/O driven by a spawned task) and points its `search_path` at `schema`.
pub(crate) async fn connect(url: &str, schema: Option<&str>) -> StoreResult<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.ctx("connect")?;
    tokio::spawn(async move {
        // The connection ends when its client is dropped, or with an error every query on it then reports.
        let _ = connection.await;
    });
    if let Some(schema) = schema {
        client.batch_execute(&format!("SET search_path TO {}", quote_ident(schema))).await.ctx("set search_path")?;
    }
    Ok(client)
}

/// Creates `schema` if it is missing.
pub(crate) async fn create_schema(client: &Client, schema: &str) -> StoreResult<()> {
    match client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema))).await {
        Ok(()) => Ok(()),
        // Two connections creating it at once: one loses the race on the catalog, and the schema exists.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Ok(()),
        Err(e) => Err(e).ctx("create schema"),
    }
}

/// Applies the pending migrations of `migrations` in one transaction.
pub(crate) async fn migrate(client: &mut Client, migrations: &[Migration]) -> StoreResult<()> {
    let tx = client.transaction().await.ctx("begin migration")?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.zonegate.migrations'))", &[])
        .await
        .ctx("lock migrations")?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       BIGINT PRIMARY KEY,
             name          TEXT   NOT NULL,
             checksum      TEXT   NOT NULL,
             applied_at_us BIGINT NOT NULL
         )",
    )
    .await
    .ctx("create schema_migrations")?;
    let applied: Vec<(i64, String)> = tx
        .query("SELECT version, checksum FROM schema_migrations ORDER BY version", &[])
        .await
        .ctx("read migrations")?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .ctx("read migrations")?;
    for migration in pending_migrations(migrations, &applied)? {
        tx.batch_execute(migration.sql)
            .await
            .ctx(&format!("apply migration {} ({})", migration.version, migration.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES ($1, $2, $3, $4)",
            &[&migration.version, &migration.name, &migration.checksum(), &to_micros(chrono::Utc::now())],
        )
        .await
        .ctx("record migration")?;
    }
    tx.commit().await.ctx("commit migrations")
}
