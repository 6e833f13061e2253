-- zonegate PostgreSQL schema, version 5: the cross-border e-commerce log (customs mode 1210). Every document
-- received (order, payment, waybill, …) and every state change the app decided (decision, release,
-- cancellation, return, tax payment, …) is one row, in the order the app assigned (seq, contiguous from 1).
-- Each batch of rows is recorded with one cbec.batch_recorded event whose digest pins the rows.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0006_*.sql instead.
--
-- Same encodings as before (BIGINT *_us microseconds, COLLATE "C" keys, JSON as TEXT like declarations:
-- PostgreSQL compresses large values itself). seq is assigned by the app and checked by the store's single
-- writer (the log must be at the batch's after_seq). Insert-only, enforced by triggers.

CREATE TABLE cbec_log (
    seq            BIGINT PRIMARY KEY CHECK (seq >= 1),
    kind           TEXT COLLATE "C" NOT NULL,
    key            TEXT COLLATE "C" NOT NULL,
    order_key      TEXT COLLATE "C" NOT NULL,
    body_sha256    TEXT   NOT NULL,
    body_json      TEXT   NOT NULL,
    recorded_by    TEXT   NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    CONSTRAINT cbec_log_key UNIQUE (kind, key)
);
CREATE INDEX cbec_log_order ON cbec_log (order_key, seq);

CREATE TRIGGER cbec_log_insert_only BEFORE UPDATE OR DELETE ON cbec_log
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER cbec_log_no_truncate BEFORE TRUNCATE ON cbec_log
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
