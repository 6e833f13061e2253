-- zonegate SQLite schema, version 5: the cross-border e-commerce log (customs mode 1210). Every document
-- received (order, payment, waybill, …) and every state change the app decided (decision, release,
-- cancellation, return, tax payment, …) is one row, in the order the app assigned (seq, contiguous from 1).
-- Each batch of rows is recorded with one cbec.batch_recorded event whose digest pins the rows.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0006_*.sql instead.
--
-- seq is the rowid (appended in ascending order, so inserts go to the end of the table's B-tree). The body
-- is the JSON LZ4-compressed (lz4_flex block format, size prepended), like declarations' documents;
-- recorded_at_us is microseconds. Insert-only, enforced by triggers.

CREATE TABLE cbec_log (
    seq            INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    order_key      TEXT    NOT NULL,
    body_sha256    TEXT    NOT NULL,
    body_lz4       BLOB    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    CONSTRAINT cbec_log_key UNIQUE (kind, key)
);
-- Ordered by (order_key, rowid): an order's records come back in seq order without a sort.
CREATE INDEX cbec_log_order ON cbec_log (order_key);

CREATE TRIGGER cbec_log_no_update BEFORE UPDATE ON cbec_log
BEGIN SELECT RAISE(ABORT, 'cbec_log is insert-only'); END;
CREATE TRIGGER cbec_log_no_delete BEFORE DELETE ON cbec_log
BEGIN SELECT RAISE(ABORT, 'cbec_log is insert-only'); END;
