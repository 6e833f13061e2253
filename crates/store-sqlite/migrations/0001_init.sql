-- zonegate SQLite schema, version 1: declarations, parties, policy rows and the hash-chained event log.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0002_*.sql instead.
--
-- Timestamps are integer microseconds since the Unix epoch (*_us); dates are integer days since 1970-01-01
-- (*_days), so both compare and sort correctly as numbers. Every table except party_current is insert-only,
-- enforced by triggers.

CREATE TABLE declarations (
    id               INTEGER PRIMARY KEY,
    declarant        TEXT    NOT NULL,
    reference        TEXT    NOT NULL,
    zone             TEXT    NOT NULL,
    flow             TEXT    NOT NULL,
    declared_on_days INTEGER NOT NULL,
    treatments_json  TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    payable_fen      INTEGER NOT NULL,
    document_sha256  TEXT    NOT NULL,
    document_lz4     BLOB    NOT NULL, -- LZ4 block, size-prefixed: the JSON text compresses 3-4 times
    assessment_lz4   BLOB    NOT NULL,
    recorded_at_us   INTEGER NOT NULL,
    CONSTRAINT declarations_key UNIQUE (declarant, reference)
);
CREATE INDEX declarations_flow ON declarations (flow, id);
CREATE INDEX declarations_declarant ON declarations (declarant, id);
CREATE INDEX declarations_declared_on ON declarations (declared_on_days, id);

-- One row per distinct treatment of a declaration, for the membership filter.
CREATE TABLE declaration_treatments (
    treatment      TEXT    NOT NULL,
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    PRIMARY KEY (treatment, declaration_id)
) WITHOUT ROWID;

CREATE TABLE parties (
    version        INTEGER PRIMARY KEY,
    uscc           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    body_json      TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL
);
CREATE INDEX parties_uscc ON parties (uscc, version);

-- Projection: the latest version of each party, maintained in the same transaction as the insert.
CREATE TABLE party_current (
    uscc    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL REFERENCES parties (version)
) WITHOUT ROWID;

CREATE TABLE policy_rows (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL,
    key                 TEXT    NOT NULL,
    effective_from_days INTEGER NOT NULL,
    body_json           TEXT    NOT NULL,
    author              TEXT    NOT NULL,
    recorded_at_us      INTEGER NOT NULL
);
CREATE INDEX policy_rows_kind ON policy_rows (kind, id);

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    recorded_at_us INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    payload_json   TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);

CREATE TRIGGER declarations_no_update BEFORE UPDATE ON declarations
BEGIN SELECT RAISE(ABORT, 'declarations are insert-only'); END;
CREATE TRIGGER declarations_no_delete BEFORE DELETE ON declarations
BEGIN SELECT RAISE(ABORT, 'declarations are insert-only'); END;
CREATE TRIGGER declaration_treatments_no_update BEFORE UPDATE ON declaration_treatments
BEGIN SELECT RAISE(ABORT, 'declaration_treatments are insert-only'); END;
CREATE TRIGGER declaration_treatments_no_delete BEFORE DELETE ON declaration_treatments
BEGIN SELECT RAISE(ABORT, 'declaration_treatments are insert-only'); END;
CREATE TRIGGER parties_no_update BEFORE UPDATE ON parties
BEGIN SELECT RAISE(ABORT, 'parties are insert-only'); END;
CREATE TRIGGER parties_no_delete BEFORE DELETE ON parties
BEGIN SELECT RAISE(ABORT, 'parties are insert-only'); END;
CREATE TRIGGER policy_rows_no_update BEFORE UPDATE ON policy_rows
BEGIN SELECT RAISE(ABORT, 'policy_rows are insert-only'); END;
CREATE TRIGGER policy_rows_no_delete BEFORE DELETE ON policy_rows
BEGIN SELECT RAISE(ABORT, 'policy_rows are insert-only'); END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are insert-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are insert-only'); END;
