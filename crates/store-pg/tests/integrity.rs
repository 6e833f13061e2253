//! PostgreSQL-specific guarantees beyond the shared suite: tampering with stored events is detected, the
//! insert-only tables refuse changes, the unique key exists in the schema, migrations are recorded and
//! checked on every connect, a schema written by version 1 is upgraded in place (its declarations read as
//! received when recorded), one failing request does not spoil the rest of its group commit, a key
//! submitted twice in one batch is classified against the first, refusals (a taken token id, an unknown
//! token) share a batch with other writes without spoiling it, and two stores (as two processes would)
//! writing to one schema keep one valid chain.
//!
//! These tests reach into the store's schema with a second, raw connection, as an intruder would. They
//! need `TEST_DATABASE_URL`; without it each prints that it was skipped and passes.

mod common;

use std::sync::Arc;

use zonegate_store::backend::{self, ChainHead, Migration};
use zonegate_store::conformance::{at, cbec_batch, declaration};
use zonegate_store::{
    AccountRecord, PartyRecord, PolicyRow, SessionRecord, StatsQuery, Store, StoreError, SubmitOutcome, TokenRecord,
};
use zonegate_store_pg::PgStore;

/// A fresh schema for one test.
#[derive(Clone)]
struct Fixture {
    url: String,
    schema: String,
}

impl Fixture {
    async fn store(&self) -> PgStore {
        PgStore::connect_with_schema(&self.url, &self.schema).await.expect("connect")
    }

    async fn raw(&self) -> tokio_postgres::Client {
        common::raw_client(&self.url, &self.schema).await
    }
}

/// Runs `body` with a fresh schema (unless the tests are skipped), as its own task so that a failing
/// assertion still lets the schema be dropped afterwards.
async fn with_fixture<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(url) = common::database_url(test) else { return };
    let fixture = Fixture { url, schema: common::unique_schema() };
    let outcome = tokio::spawn(body(fixture.clone())).await;
    common::drop_schema(&fixture.url, &fixture.schema).await;
    if let Err(failure) = outcome {
        match failure.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(failure) => panic!("{test}: {failure}"),
        }
    }
}

fn policy_row() -> PolicyRow {
    PolicyRow {
        kind: "tariff_line".into(),
        key: "8471300000".into(),
        effective_from: "2024-01-01".parse().unwrap(),
        body_json: "{}".into(),
        author: String::new(),
        recorded_at: at(0, 0),
    }
}

fn token(token_id: &str) -> TokenRecord {
    TokenRecord {
        token_id: token_id.into(),
        user_id: "alice".into(),
        name: "erp".into(),
        secret_sha256: "00".repeat(32),
        issued_by: "admin".into(),
        issued_at: at(3, 0),
        expires_at: at(4, 0),
        revoked: None,
    }
}

async fn three_events(store: &PgStore) {
    for i in 0..3 {
        let outcome = store.submit_declaration(declaration("D", &format!("R{i}"), 0)).await.unwrap();
        assert!(matches!(outcome, SubmitOutcome::Created(_)));
    }
    assert_eq!(store.verify_chain().await.unwrap().events, 3);
}

#[tokio::test]
async fn edited_event_payload_breaks_the_chain_at_its_seq() {
    with_fixture("edited_event_payload_breaks_the_chain_at_its_seq", |fixture| async move {
        let store = fixture.store().await;
        three_events(&store).await;

        let raw = fixture.raw().await;
        raw.batch_execute("ALTER TABLE events DISABLE TRIGGER events_insert_only").await.unwrap();
        let changed = raw
            .execute(
                "UPDATE events SET payload_json = replace(payload_json, '\"payable_fen\":12345', '\"payable_fen\":1') \
                 WHERE seq = 2",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);

        match store.verify_chain().await {
            Err(StoreError::ChainBroken { seq, detail }) => assert_eq!(seq, 2, "{detail}"),
            other => panic!("expected ChainBroken at seq 2, got {other:?}"),
        }
        let message = store.verify_chain().await.unwrap_err().to_string();
        assert!(message.contains("seq 2"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn deleted_or_retimed_events_break_the_chain() {
    with_fixture("deleted_or_retimed_events_break_the_chain", |fixture| async move {
        let store = fixture.store().await;
        three_events(&store).await;
        let raw = fixture.raw().await;
        raw.batch_execute("ALTER TABLE events DISABLE TRIGGER events_insert_only; UPDATE events SET recorded_at_us = recorded_at_us + 1 WHERE seq = 3;")
            .await
            .unwrap();
        assert!(matches!(store.verify_chain().await, Err(StoreError::ChainBroken { seq: 3, .. })));
        raw.batch_execute("DELETE FROM events WHERE seq = 2").await.unwrap();
        assert!(matches!(store.verify_chain().await, Err(StoreError::ChainBroken { seq: 2, .. })));
    })
    .await;
}

#[tokio::test]
async fn insert_only_tables_refuse_changes_and_the_key_is_unique() {
    with_fixture("insert_only_tables_refuse_changes_and_the_key_is_unique", |fixture| async move {
        let store = fixture.store().await;
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
        store.append_policy_rows(vec![policy_row()], "seed", at(2, 0)).await.unwrap();
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
        store.issue_token(token("tok_1")).await.unwrap();
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
        let raw = fixture.raw().await;
        for sql in [
            "UPDATE events SET payload_json = '{}' WHERE seq = 1",
            "DELETE FROM events WHERE seq = 1",
            "TRUNCATE events",
            "UPDATE declarations SET payable_fen = 0",
            "DELETE FROM declarations",
            "UPDATE parties SET name = 'x'",
            "DELETE FROM parties",
            "UPDATE policy_rows SET body_json = '{}'",
            "TRUNCATE policy_rows",
            "UPDATE accounts SET active = false",
            "DELETE FROM accounts",
            "TRUNCATE accounts CASCADE",
            "UPDATE tokens SET expires_at_us = 0",
            "DELETE FROM tokens",
            "TRUNCATE tokens CASCADE",
            "UPDATE token_revocations SET revoked_at_us = 0",
            "DELETE FROM token_revocations",
            "TRUNCATE token_revocations",
            "UPDATE sessions SET expires_at_us = 0",
            "DELETE FROM sessions",
            "TRUNCATE sessions CASCADE",
            "UPDATE session_ends SET ended_at_us = 0",
            "DELETE FROM session_ends",
            "TRUNCATE session_ends",
            "UPDATE cbec_log SET body_sha256 = 'x'",
            "DELETE FROM cbec_log",
            "TRUNCATE cbec_log",
        ] {
            let err = raw.batch_execute(sql).await.expect_err(sql);
            let text = err.as_db_error().map(|db| db.message().to_owned()).unwrap_or_else(|| err.to_string());
            assert!(text.contains("insert-only"), "{sql}: {text}");
        }
        let duplicate = raw
            .execute(
                "INSERT INTO declarations (id, declarant, reference, zone, flow, declared_on, treatments, channel, \
                 payable_fen, document_sha256, document_json, assessment_json, recorded_at_us) \
                 VALUES (999, 'D', 'R0', 'z', 'f', '2024-01-01', '{}', 'c', 0, 'x', '{}', '{}', 0)",
                &[],
            )
            .await
            .unwrap_err();
        assert_eq!(duplicate.code(), Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION));
        assert_eq!(store.verify_chain().await.unwrap().events, 9);
    })
    .await;
}

#[tokio::test]
async fn reconnecting_applies_nothing_and_continues_the_chain() {
    with_fixture("reconnecting_applies_nothing_and_continues_the_chain", |fixture| async move {
        let first = {
            let store = fixture.store().await;
            three_events(&store).await;
            store.verify_chain().await.unwrap()
        };
        let store = fixture.store().await;
        assert_eq!(store.verify_chain().await.unwrap(), first);
        let outcome = store.submit_declaration(declaration("D", "R9", 0)).await.unwrap();
        let SubmitOutcome::Created(record) = outcome else { panic!("expected Created") };
        let events = store.events(0, 10).await.unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[3].prev_hash, first.head_hash);
        let payload: serde_json::Value = serde_json::from_str(&events[3].payload_json).unwrap();
        assert_eq!(payload["id"], record.id);
        assert_eq!(record.id, 4);

        let raw = fixture.raw().await;
        let rows = raw.query("SELECT version, checksum FROM schema_migrations ORDER BY version", &[]).await.unwrap();
        assert_eq!(rows.iter().map(|row| row.get::<_, i64>(0)).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert!(rows.iter().all(|row| row.get::<_, String>(1).len() == 64));
    })
    .await;
}

#[tokio::test]
async fn edited_migration_is_refused() {
    with_fixture("edited_migration_is_refused", |fixture| async move {
        drop(fixture.store().await);
        let raw = fixture.raw().await;
        raw.batch_execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").await.unwrap();
        let err = PgStore::connect_with_schema(&fixture.url, &fixture.schema).await.err().expect("refused").to_string();
        assert!(err.contains("changed after it was applied"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn unknown_migration_is_refused() {
    with_fixture("unknown_migration_is_refused", |fixture| async move {
        drop(fixture.store().await);
        let raw = fixture.raw().await;
        raw.batch_execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (99, 'future', 'x', 0)",
        )
        .await
        .unwrap();
        let err = PgStore::connect_with_schema(&fixture.url, &fixture.schema).await.err().expect("refused").to_string();
        assert!(err.contains("does not know"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn schema_names_are_quoted_and_checked() {
    let Some(url) = common::database_url("schema_names_are_quoted_and_checked") else { return };
    assert!(PgStore::connect_with_schema(&url, "").await.is_err());
    assert!(PgStore::connect_with_schema(&url, &"x".repeat(64)).await.is_err());
    let odd = format!("zg test \"quoted\" {}", common::unique_schema().trim_start_matches("zg_test_"));
    let store = PgStore::connect_with_schema(&url, &odd).await.expect("odd but valid schema name");
    three_events(&store).await;
    drop(store);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", odd.replace('"', "\"\""))).await.unwrap();
}

/// A request that fails inside a group commit is rolled back alone: the others in the same batch commit,
/// and the chain has no hole where the failed one would have been.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_does_not_spoil_its_batch() {
    with_fixture("a_failing_request_does_not_spoil_its_batch", |fixture| async move {
        let store = Arc::new(fixture.store().await);
        let raw = fixture.raw().await;
        raw.batch_execute(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.subject LIKE '%/POISON%' THEN RAISE EXCEPTION 'poisoned request'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison();",
        )
        .await
        .unwrap();

        let mut batch = Vec::new();
        for i in 0..300 {
            let reference = if i % 50 == 7 { format!("POISON-{i}") } else { format!("R{i}") };
            batch.push(declaration("D", &reference, 0));
        }
        let err = store.submit_many(batch.clone()).await.unwrap_err();
        assert!(err.to_string().contains("poisoned request"), "{err}");

        let mut tasks = Vec::new();
        for d in batch {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { (d.reference.clone(), store.submit_declaration(d).await) }));
        }
        let mut recorded = 0;
        for task in tasks {
            let (reference, outcome) = task.await.unwrap();
            if reference.starts_with("POISON") {
                assert!(
                    matches!(outcome, Err(StoreError::Backend(ref m)) if m.contains("poisoned request")),
                    "{outcome:?}"
                );
                assert!(matches!(store.find_declaration("D", &reference).await, Err(StoreError::NotFound)));
            } else {
                assert!(matches!(outcome, Ok(SubmitOutcome::Repeat(_))), "{outcome:?}");
                recorded += 1;
            }
        }
        assert_eq!(recorded, 294);
        assert_eq!(store.verify_chain().await.unwrap().events, 294);
        // Ids stay dense and increasing although failed requests were rolled back.
        let page = store
            .list_declarations(zonegate_store::DeclarationFilter { limit: 500, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page.items.iter().map(|d| d.id).collect::<Vec<_>>(), (1..=294).collect::<Vec<_>>());
    })
    .await;
}

/// Two stores on one schema (two processes, say) serialise their batches with an advisory lock: the chain
/// stays one valid sequence and ids never collide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_schema_keep_one_chain() {
    with_fixture("two_stores_on_one_schema_keep_one_chain", |fixture| async move {
        let stores = [Arc::new(fixture.store().await), Arc::new(fixture.store().await)];
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = stores[i % 2].clone();
            tasks.push(tokio::spawn(
                async move { store.submit_declaration(declaration("D", &format!("R{i}"), 0)).await },
            ));
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Ok(SubmitOutcome::Created(_))));
        }
        for store in &stores {
            assert_eq!(store.verify_chain().await.unwrap().events, 200);
        }
    })
    .await;
}

/// Within one batch the first submission of a key wins: a later identical one is a repeat of it, a later
/// different one a conflict; ragged treatments (none, one, several) read back exactly.
#[tokio::test]
async fn duplicates_within_a_batch_are_classified_against_the_first() {
    with_fixture("duplicates_within_a_batch_are_classified_against_the_first", |fixture| async move {
        let store = fixture.store().await;
        let mut none = declaration("D", "T0", 0);
        none.treatments = Vec::new();
        let mut several = declaration("D", "T2", 0);
        several.treatments = vec!["bonded".into(), "exempt".into(), "processing".into()];
        let first = declaration("D", "R1", 0);
        let outcomes = store
            .submit_many(vec![
                none.clone(),
                first.clone(),
                declaration("D", "R1", 0),
                declaration("D", "R1", 1),
                several.clone(),
                declaration("E", "R1", 1),
            ])
            .await
            .unwrap();
        let ids: Vec<(&str, i64)> = outcomes
            .iter()
            .map(|outcome| match outcome {
                SubmitOutcome::Created(d) => ("created", d.id),
                SubmitOutcome::Repeat(d) => ("repeat", d.id),
                SubmitOutcome::Conflict(d) => ("conflict", d.id),
            })
            .collect();
        assert_eq!(
            ids,
            [("created", 1), ("created", 2), ("repeat", 2), ("conflict", 2), ("created", 3), ("created", 4)]
        );
        for outcome in &outcomes[2..4] {
            let (SubmitOutcome::Repeat(d) | SubmitOutcome::Conflict(d)) = outcome else { unreachable!() };
            assert_eq!(d.document_sha256, first.document_sha256);
        }
        assert!(store.find_declaration("D", "T0").await.unwrap().treatments.is_empty());
        assert_eq!(store.find_declaration("D", "T2").await.unwrap().treatments, several.treatments);
        assert_eq!(store.find_declaration("D", "R1").await.unwrap().document_sha256, first.document_sha256);
        assert_eq!(store.verify_chain().await.unwrap().events, 4);
    })
    .await;
}

/// A declaration the server refuses fails alone, whichever statement of the bulk path it broke.
#[tokio::test]
async fn a_refused_declaration_row_does_not_spoil_its_batch() {
    with_fixture("a_refused_declaration_row_does_not_spoil_its_batch", |fixture| async move {
        let store = fixture.store().await;
        let raw = fixture.raw().await;
        raw.batch_execute(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.reference LIKE 'POISON%' THEN RAISE EXCEPTION 'poisoned row'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER poison BEFORE INSERT ON declarations FOR EACH ROW EXECUTE FUNCTION poison();",
        )
        .await
        .unwrap();
        let batch = vec![declaration("D", "R0", 0), declaration("D", "POISON", 0), declaration("D", "R1", 0)];
        let err = store.submit_many(batch).await.unwrap_err();
        assert!(err.to_string().contains("poisoned row"), "{err}");
        assert_eq!(store.find_declaration("D", "R0").await.unwrap().id, 1);
        assert_eq!(store.find_declaration("D", "R1").await.unwrap().id, 2);
        assert!(matches!(store.find_declaration("D", "POISON").await, Err(StoreError::NotFound)));
        assert_eq!(store.verify_chain().await.unwrap().events, 2);
        // The store carries on.
        let outcome = store.submit_declaration(declaration("D", "R2", 0)).await.unwrap();
        assert!(matches!(outcome, SubmitOutcome::Created(ref d) if d.id == 3), "{outcome:?}");
    })
    .await;
}

/// A schema written by version 1 (before attribution, accounts and statistics) is upgraded on connect: its
/// declarations read back with nothing waived, no submitter and received when recorded, its parties with
/// no recorder, its chain still verifies and continues, and the statistics cover it.
#[tokio::test]
async fn a_version_1_schema_is_upgraded_in_place() {
    with_fixture("a_version_1_schema_is_upgraded_in_place", |fixture| async move {
        let old = declaration("D", "R-OLD", 0);
        let head_hash = {
            let raw = fixture.raw().await;
            let init = Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") };
            raw.batch_execute(&format!("CREATE SCHEMA \"{}\"", fixture.schema)).await.unwrap();
            raw.batch_execute(init.sql).await.unwrap();
            raw.batch_execute(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
                 checksum TEXT NOT NULL, applied_at_us BIGINT NOT NULL)",
            )
            .await
            .unwrap();
            raw.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (1, 'init', $1, 0)",
                &[&init.checksum()],
            )
            .await
            .unwrap();
            raw.execute(
                "INSERT INTO declarations (id, declarant, reference, zone, flow, declared_on, treatments, channel, \
                 payable_fen, document_sha256, document_json, assessment_json, recorded_at_us) \
                 VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &old.declarant,
                    &old.reference,
                    &old.zone,
                    &old.flow,
                    &old.declared_on,
                    &old.treatments,
                    &old.channel,
                    &old.payable_fen,
                    &old.document_sha256,
                    &old.document_json,
                    &old.assessment_json,
                    &backend::to_micros(old.recorded_at),
                ],
            )
            .await
            .unwrap();
            raw.batch_execute(
                "INSERT INTO parties (uscc, name, body_json, recorded_at_us) VALUES ('U', 'n', '{}', 0);
                 INSERT INTO party_current (uscc, version) SELECT uscc, version FROM parties;",
            )
            .await
            .unwrap();
            let mut head = ChainHead::genesis();
            let event =
                head.next(old.recorded_at, backend::DECLARATION_RECORDED, "D/R-OLD".into(), "{\"id\":1}".into());
            raw.execute(
                "INSERT INTO events (seq, recorded_at_us, kind, subject, payload_json, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &event.seq,
                    &backend::to_micros(event.recorded_at),
                    &event.kind,
                    &event.subject,
                    &event.payload_json,
                    &event.prev_hash,
                    &event.hash,
                ],
            )
            .await
            .unwrap();
            event.hash
        };

        let store = fixture.store().await;
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
    })
    .await;
}

/// Refusals answered inside a group commit (a taken token id, an unknown token to revoke, a session that
/// exists) leave the other writes of the batch, and the chain, intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_do_not_spoil_their_batch() {
    with_fixture("refusals_do_not_spoil_their_batch", |fixture| async move {
        let store = Arc::new(fixture.store().await);
        store.issue_token(token("tok_taken")).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..120u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    0 => store.issue_token(token("tok_taken")).await.map(drop),
                    1 => store.revoke_token("tok_unknown", "admin", at(9, 0)).await.map(drop),
                    2 => store.issue_token(token(&format!("tok_{i}"))).await,
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
    })
    .await;
}
