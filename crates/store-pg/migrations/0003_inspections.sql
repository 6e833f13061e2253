-- zonegate PostgreSQL schema, version 3: inspection results, one per declaration (the outcome an officer
-- records after inspecting or checking a declaration; training data for the risk model).
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0004_*.sql instead.
--
-- Same encodings as before (BIGINT *_us microseconds). Additive only; the new table is insert-only,
-- enforced by triggers (a correction will be a new table of its own, not an update).

-- Keyed by the declaration, so listing by declaration id and joining for a declarant's history both walk
-- the primary key.
CREATE TABLE inspections (
    declaration_id BIGINT PRIMARY KEY REFERENCES declarations (id),
    outcome        TEXT   NOT NULL CHECK (outcome IN ('no_finding', 'finding')),
    body_json      TEXT   NOT NULL,
    body_sha256    TEXT   NOT NULL,
    recorded_by    TEXT   NOT NULL,
    recorded_at_us BIGINT NOT NULL
);

CREATE TRIGGER inspections_insert_only BEFORE UPDATE OR DELETE ON inspections
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER inspections_no_truncate BEFORE TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
