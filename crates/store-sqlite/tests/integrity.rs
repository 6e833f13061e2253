//! SQLite-specific guarantees beyond the shared suite: tampering with stored events is detected, the
//! insert-only tables refuse changes, the unique key exists in the schema, migrations are recorded and
//! checked on every open, a database written by schema version 1 is upgraded in place (its declarations
//! read as received when recorded), and one failing request does not spoil the rest of its group commit.
//!
//! These tests reach into the database file with a second, raw rusqlite connection, as an intruder would.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;
use zonegate_store::backend::{self, ChainHead, Migration};
use zonegate_store::conformance::{at, cbec_batch, declaration};
use zonegate_store::{
    AccountRecord, PartyRecord, SessionRecord, StatsQuery, Store, StoreError, SubmitOutcome, TokenRecord,
};
use zonegate_store_sqlite::SqliteStore;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zonegate-sqlite-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("zonegate.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("raw connection");
    conn.busy_timeout(std::time::Duration::from_secs(10)).expect("busy timeout");
    conn
}

async fn three_events(store: &SqliteStore) {
    for i in 0..3 {
        let outcome = store.submit_declaration(declaration("D", &format!("R{i}"), 0)).await.unwrap();
        assert!(matches!(outcome, SubmitOutcome::Created(_)));
    }
    assert_eq!(store.verify_chain().await.unwrap().events, 3);
}

#[tokio::test]
async fn edited_event_payload_breaks_the_chain_at_its_seq() {
    let dir = TempDir::new("tamper-payload");
    let store = SqliteStore::open(&dir.db()).unwrap();
    three_events(&store).await;

    let conn = raw(&dir.db());
    conn.execute_batch(
        "DROP TRIGGER events_no_update;
         UPDATE events SET payload_json = replace(payload_json, '\"payable_fen\":12345', '\"payable_fen\":1') WHERE seq = 2;",
    )
    .unwrap();
    assert_eq!(conn.changes(), 1);

    match store.verify_chain().await {
        Err(StoreError::ChainBroken { seq, detail }) => {
            assert_eq!(seq, 2, "{detail}");
        }
        other => panic!("expected ChainBroken at seq 2, got {other:?}"),
    }
    let message = store.verify_chain().await.unwrap_err().to_string();
    assert!(message.contains("seq 2"), "{message}");
}

#[tokio::test]
async fn deleted_or_relinked_events_break_the_chain() {
    let dir = TempDir::new("tamper-delete");
    let store = SqliteStore::open(&dir.db()).unwrap();
    three_events(&store).await;
    let conn = raw(&dir.db());
    conn.execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 2;").unwrap();
    assert!(matches!(store.verify_chain().await, Err(StoreError::ChainBroken { seq: 2, .. })));

    let dir = TempDir::new("tamper-time");
    let store = SqliteStore::open(&dir.db()).unwrap();
    three_events(&store).await;
    let conn = raw(&dir.db());
    conn.execute_batch(
        "DROP TRIGGER events_no_update; UPDATE events SET recorded_at_us = recorded_at_us + 1 WHERE seq = 3;",
    )
    .unwrap();
    assert!(matches!(store.verify_chain().await, Err(StoreError::ChainBroken { seq: 3, .. })));
}

#[tokio::test]
async fn insert_only_tables_refuse_changes_and_the_key_is_unique() {
    let dir = TempDir::new("append-only");
    let store = SqliteStore::open(&dir.db()).unwrap();
    three_events(&store).await;
    store
        .put_party(PartyRecord {
            uscc: "U".into(),
            name: "n".into(),
            body_json: "{}".into(),
            recorded_by: "admin".into(),
            recorded_at: at(1, 0),
        })
        .await
        .unwrap();
    store
        .put_account(AccountRecord {
            user_id: "alice".into(),
            party: "U".into(),
            party_kind: "enterprise".into(),
            roles: vec!["declarant".into()],
            password_hash: Some("$argon2id$x".into()),
            personal_json: "{}".into(),
            active: true,
            recorded_by: "admin".into(),
            recorded_at: at(2, 0),
        })
        .await
        .unwrap();
    store
        .issue_token(TokenRecord {
            token_id: "tok_1".into(),
            user_id: "alice".into(),
            name: "erp".into(),
            secret_sha256: "00".repeat(32),
            issued_by: "admin".into(),
            issued_at: at(3, 0),
            expires_at: at(4, 0),
            revoked: None,
        })
        .await
        .unwrap();
    store.revoke_token("tok_1", "admin", at(5, 0)).await.unwrap();
    let session = SessionRecord {
        session_sha256: "ab".repeat(32),
        user_id: "alice".into(),
        started_at: at(6, 0),
        expires_at: at(7, 0),
        ended_at: None,
    };
    store.start_session(session.clone()).await.unwrap();
    store.end_session(&session.session_sha256, at(8, 0)).await.unwrap();
    store.enqueue_cbec(cbec_batch(0, &[("order", "SO-1", "P1/SO-1")])).await.unwrap().durable().await.unwrap();
    let conn = raw(&dir.db());
    for sql in [
        "UPDATE events SET payload_json = '{}' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
        "UPDATE declarations SET payable_fen = 0",
        "DELETE FROM declarations",
        "DELETE FROM declaration_treatments",
        "UPDATE parties SET name = 'x'",
        "DELETE FROM parties",
        "INSERT INTO policy_rows (kind, key, effective_from_days, body_json, author, recorded_at_us) VALUES ('k','k',0,'{}','a',0)",
        "UPDATE policy_rows SET body_json = '{}'",
        "UPDATE accounts SET active = 0",
        "UPDATE accounts SET password_hash = NULL",
        "DELETE FROM accounts",
        "UPDATE tokens SET expires_at_us = 0",
        "DELETE FROM tokens",
        "UPDATE token_revocations SET revoked_at_us = 0",
        "DELETE FROM token_revocations",
        "UPDATE sessions SET expires_at_us = 0",
        "DELETE FROM sessions",
        "UPDATE session_ends SET ended_at_us = 0",
        "DELETE FROM session_ends",
        "UPDATE cbec_log SET body_sha256 = 'x'",
        "DELETE FROM cbec_log",
    ] {
        let result = conn.execute_batch(sql);
        if sql.starts_with("INSERT") {
            result.unwrap();
        } else {
            let err = result.expect_err(sql).to_string();
            assert!(err.contains("insert-only"), "{sql}: {err}");
        }
    }
    let duplicate = conn.execute(
        "INSERT INTO declarations (declarant, reference, zone, flow, declared_on_days, treatments_json, channel, \
         payable_fen, document_sha256, document_lz4, assessment_lz4, recorded_at_us) \
         VALUES ('D', 'R0', 'z', 'f', 0, '[]', 'c', 0, 'x', x'', x'', 0)",
        [],
    );
    assert!(duplicate.unwrap_err().to_string().contains("UNIQUE"));
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn reopening_applies_nothing_and_continues_the_chain() {
    let dir = TempDir::new("reopen");
    let first = {
        let store = SqliteStore::open(&dir.db()).unwrap();
        three_events(&store).await;
        store.verify_chain().await.unwrap()
    };
    let store = SqliteStore::open(&dir.db()).unwrap();
    assert_eq!(store.verify_chain().await.unwrap(), first);
    let outcome = store.submit_declaration(declaration("D", "R9", 0)).await.unwrap();
    assert!(matches!(outcome, SubmitOutcome::Created(_)));
    let events = store.events(0, 10).await.unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].prev_hash, first.head_hash);
    drop(store);

    let conn = raw(&dir.db());
    let applied: Vec<(i64, String)> = conn
        .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied.iter().map(|(version, _)| *version).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert!(applied.iter().all(|(_, checksum)| checksum.len() == 64));
}

/// A database written by schema version 1 (before attribution, accounts and statistics) is upgraded when
/// opened: its declarations read back with nothing waived, no submitter and received when recorded, its
/// parties with no recorder, its chain still verifies and continues, and the statistics cover it.
#[tokio::test]
async fn a_version_1_database_is_upgraded_in_place() {
    let dir = TempDir::new("upgrade");
    let old = declaration("D", "R-OLD", 0);
    let head_hash = {
        let conn = raw(&dir.db());
        let init = Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") };
        conn.execute_batch(init.sql).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at_us INTEGER NOT NULL)",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (1, 'init', ?1, 0)",
            [init.checksum()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO declarations (id, declarant, reference, zone, flow, declared_on_days, treatments_json, \
             channel, payable_fen, document_sha256, document_lz4, assessment_lz4, recorded_at_us) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, '[\"bonded\"]', ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                old.declarant,
                old.reference,
                old.zone,
                old.flow,
                backend::date_to_days(old.declared_on),
                old.channel,
                old.payable_fen,
                old.document_sha256,
                lz4_flex::block::compress_prepend_size(old.document_json.as_bytes()),
                lz4_flex::block::compress_prepend_size(old.assessment_json.as_bytes()),
                backend::to_micros(old.recorded_at),
            ],
        )
        .unwrap();
        conn.execute("INSERT INTO declaration_treatments (treatment, declaration_id) VALUES ('bonded', 1)", [])
            .unwrap();
        conn.execute_batch(
            "INSERT INTO parties (version, uscc, name, body_json, recorded_at_us) VALUES (1, 'U', 'n', '{}', 0);
             INSERT INTO party_current (uscc, version) VALUES ('U', 1);",
        )
        .unwrap();
        let mut head = ChainHead::genesis();
        let event = head.next(old.recorded_at, backend::DECLARATION_RECORDED, "D/R-OLD".into(), "{\"id\":1}".into());
        conn.execute(
            "INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                event.seq,
                backend::to_micros(event.recorded_at),
                event.kind,
                event.subject,
                event.payload_json,
                event.prev_hash,
                event.hash
            ],
        )
        .unwrap();
        event.hash
    };

    let store = SqliteStore::open(&dir.db()).unwrap();
    let read = store.get_declaration(1).await.unwrap();
    assert_eq!((read.waived_fen, read.submitted_by.as_str()), (0, ""));
    assert_eq!(read.received_at, old.recorded_at);
    assert_eq!(read.document_json, old.document_json);
    assert_eq!(store.get_party("U").await.unwrap().recorded_by, "");
    assert_eq!(store.verify_chain().await.unwrap().head_hash, head_hash);

    let mut new = declaration("D", "R-NEW", 1);
    new.received_at = new.recorded_at - chrono::TimeDelta::microseconds(800);
    let SubmitOutcome::Created(created) = store.submit_declaration(new).await.unwrap() else {
        panic!("expected Created")
    };
    assert_eq!(created.id, 2);
    assert_eq!(store.verify_chain().await.unwrap().events, 2);
    let stats = store
        .declaration_stats(StatsQuery {
            zone: None,
            declarant: Some("D".into()),
            declared_from: old.declared_on,
            declared_to: old.declared_on,
        })
        .await
        .unwrap();
    assert_eq!(stats.daily.len(), 1);
    assert_eq!(stats.daily[0].declarations, 2);
    assert_eq!(stats.daily[0].waived_fen, 251);
    assert_eq!(stats.treatments, vec![("bonded".to_owned(), 2)]);
    // The old declaration's latency is 0 (received when recorded), the new one's 800 µs.
    assert_eq!((stats.decision_us_p50, stats.decision_us_p90), (Some(0), Some(800)));
}

#[tokio::test]
async fn edited_or_unknown_migrations_are_refused() {
    let dir = TempDir::new("migrations");
    drop(SqliteStore::open(&dir.db()).unwrap());
    let conn = raw(&dir.db());
    conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", []).unwrap();
    let err = SqliteStore::open(&dir.db()).err().expect("an edited migration must be refused").to_string();
    assert!(err.contains("changed after it was applied"), "{err}");

    let dir = TempDir::new("migrations-newer");
    drop(SqliteStore::open(&dir.db()).unwrap());
    let conn = raw(&dir.db());
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (99, 'future', 'x', 0)",
        [],
    )
    .unwrap();
    let err = SqliteStore::open(&dir.db()).err().expect("an unknown migration must be refused").to_string();
    assert!(err.contains("does not know"), "{err}");
}

/// A request that fails inside a group commit is rolled back alone: the others in the same batch commit,
/// and the chain has no hole where the failed one would have been.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_does_not_spoil_its_batch() {
    let dir = TempDir::new("poison");
    let store = Arc::new(SqliteStore::open(&dir.db()).unwrap());
    let conn = raw(&dir.db());
    conn.execute_batch(
        "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.subject LIKE '%/POISON%'
         BEGIN SELECT RAISE(ABORT, 'poisoned request'); END;",
    )
    .unwrap();

    let mut batch = Vec::new();
    for i in 0..300 {
        let reference = if i % 50 == 7 { format!("POISON-{i}") } else { format!("R{i}") };
        batch.push(declaration("D", &reference, 0));
    }
    // submit_many queues everything at once, so the poisoned requests share batches with good ones.
    let err = store.submit_many(batch.clone()).await.unwrap_err();
    assert!(err.to_string().contains("poisoned request"), "{err}");

    let mut tasks = Vec::new();
    for d in batch {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { (d.reference.clone(), store.submit_declaration(d).await) }));
    }
    let mut created = 0;
    for task in tasks {
        let (reference, outcome) = task.await.unwrap();
        if reference.starts_with("POISON") {
            assert!(
                matches!(outcome, Err(StoreError::Backend(ref m)) if m.contains("poisoned request")),
                "{outcome:?}"
            );
            assert!(matches!(store.find_declaration("D", &reference).await, Err(StoreError::NotFound)));
        } else {
            // Recorded by submit_many already: now a repeat.
            assert!(matches!(outcome, Ok(SubmitOutcome::Repeat(_))), "{outcome:?}");
            created += 1;
        }
    }
    assert_eq!(created, 294);
    let report = store.verify_chain().await.unwrap();
    assert_eq!(report.events, 294);
}

/// Refusals answered inside a group commit (a taken token id, an unknown token to revoke) are not failures:
/// the other writes of the batch, and the chain, stay intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_do_not_spoil_their_batch() {
    let dir = TempDir::new("refusals");
    let store = Arc::new(SqliteStore::open(&dir.db()).unwrap());
    let token = |token_id: &str| TokenRecord {
        token_id: token_id.into(),
        user_id: "alice".into(),
        name: "erp".into(),
        secret_sha256: "00".repeat(32),
        issued_by: "admin".into(),
        issued_at: at(3, 0),
        expires_at: at(4, 0),
        revoked: None,
    };
    store.issue_token(token("tok_taken")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..120u32 {
        let (store, taken, fresh) = (store.clone(), token("tok_taken"), token(&format!("tok_{i}")));
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                0 => store.issue_token(taken).await.map(drop),
                1 => store.revoke_token("tok_unknown", "admin", at(9, 0)).await.map(drop),
                2 => store.issue_token(fresh).await,
                _ => store.submit_declaration(declaration("D", &format!("R{i}"), 0)).await.map(drop),
            }
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let outcome = task.await.unwrap();
        match i % 4 {
            0 => assert!(matches!(outcome, Err(StoreError::AlreadyExists(_))), "{outcome:?}"),
            1 => assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}"),
            _ => outcome.unwrap(),
        }
    }
    assert_eq!(store.list_tokens(Some("alice")).await.unwrap().len(), 31);
    assert_eq!(store.verify_chain().await.unwrap().events, 61);
}
