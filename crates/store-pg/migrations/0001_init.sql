-- zonegate PostgreSQL schema, version 1: declarations, parties, policy rows and the hash-chained event log.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0002_*.sql instead.
--
-- Timestamps are BIGINT microseconds since the Unix epoch (*_us), exactly what the app hands in. Text that
-- is compared or ordered uses COLLATE "C" (bytewise, like SQLite), so both backends sort and match alike.
-- Declaration ids and policy row ids are assigned by the store's single writer (the event payload carries
-- the id, and its hash is computed before the insert). Every table except party_current is insert-only,
-- enforced by triggers.

CREATE TABLE declarations (
    id              BIGINT      PRIMARY KEY,
    declarant       TEXT COLLATE "C" NOT NULL,
    reference       TEXT COLLATE "C" NOT NULL,
    zone            TEXT        NOT NULL,
    flow            TEXT COLLATE "C" NOT NULL,
    declared_on     DATE        NOT NULL,
    treatments      TEXT[] COLLATE "C" NOT NULL,
    channel         TEXT        NOT NULL,
    payable_fen     BIGINT      NOT NULL,
    document_sha256 TEXT        NOT NULL,
    document_json   TEXT        NOT NULL,
    assessment_json TEXT        NOT NULL,
    recorded_at_us  BIGINT      NOT NULL,
    CONSTRAINT declarations_key UNIQUE (declarant, reference)
);
CREATE INDEX declarations_flow ON declarations (flow, id);
CREATE INDEX declarations_declarant ON declarations (declarant, id);
CREATE INDEX declarations_declared_on ON declarations (declared_on, id);
CREATE INDEX declarations_treatments ON declarations USING GIN (treatments);

CREATE TABLE parties (
    version        BIGSERIAL   PRIMARY KEY,
    uscc           TEXT COLLATE "C" NOT NULL,
    name           TEXT        NOT NULL,
    body_json      TEXT        NOT NULL,
    recorded_at_us BIGINT      NOT NULL
);
CREATE INDEX parties_uscc ON parties (uscc, version);

-- Projection: the latest version of each party, maintained in the same transaction as the insert.
CREATE TABLE party_current (
    uscc    TEXT COLLATE "C" PRIMARY KEY,
    version BIGINT NOT NULL REFERENCES parties (version)
);

CREATE TABLE policy_rows (
    id             BIGINT      PRIMARY KEY,
    kind           TEXT COLLATE "C" NOT NULL,
    key            TEXT        NOT NULL,
    effective_from DATE        NOT NULL,
    body_json      TEXT        NOT NULL,
    author         TEXT        NOT NULL,
    recorded_at_us BIGINT      NOT NULL
);
CREATE INDEX policy_rows_kind ON policy_rows (kind, id);

CREATE TABLE events (
    seq            BIGINT      PRIMARY KEY,
    recorded_at_us BIGINT      NOT NULL,
    kind           TEXT        NOT NULL,
    subject        TEXT        NOT NULL,
    payload_json   TEXT        NOT NULL,
    prev_hash      TEXT        NOT NULL,
    hash           TEXT        NOT NULL
);

CREATE FUNCTION zonegate_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'zonegate: % is insert-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER declarations_insert_only BEFORE UPDATE OR DELETE ON declarations
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER declarations_no_truncate BEFORE TRUNCATE ON declarations
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER parties_insert_only BEFORE UPDATE OR DELETE ON parties
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER parties_no_truncate BEFORE TRUNCATE ON parties
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER policy_rows_insert_only BEFORE UPDATE OR DELETE ON policy_rows
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER policy_rows_no_truncate BEFORE TRUNCATE ON policy_rows
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER events_insert_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
