-- zonegate SQLite schema, version 3: inspection results, one per declaration (the outcome an officer
-- records after inspecting or checking a declaration; training data for the risk model).
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0004_*.sql instead.
--
-- Same encodings as before (*_us microseconds). Additive only; the new table is insert-only, enforced by
-- triggers (a correction will be a new table of its own, not an update).

-- Keyed by the declaration (a rowid alias), so listing by declaration id and joining for a declarant's
-- history both walk the primary key.
CREATE TABLE inspections (
    declaration_id INTEGER PRIMARY KEY REFERENCES declarations (id),
    outcome        TEXT    NOT NULL CHECK (outcome IN ('no_finding', 'finding')),
    body_json      TEXT    NOT NULL,
    body_sha256    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL
);

CREATE TRIGGER inspections_no_update BEFORE UPDATE ON inspections
BEGIN SELECT RAISE(ABORT, 'inspections are insert-only'); END;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN SELECT RAISE(ABORT, 'inspections are insert-only'); END;
