-- zonegate SQLite schema, version 2: who submitted and recorded what, when a submission arrived, what was
-- waived; accounts, API tokens and login sessions; indexes for the monitoring statistics.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0003_*.sql instead.
--
-- Same encodings as version 1 (*_us microseconds, *_days days since 1970-01-01). Every new table except
-- account_current is insert-only, enforced by triggers; the triggers of version 1 keep guarding the tables
-- that gain columns here.

-- Declarations recorded before this version read back with nothing waived, no submitter, and received when
-- they were recorded (a NULL received_at_us means exactly that).
ALTER TABLE declarations ADD COLUMN waived_fen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE declarations ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE declarations ADD COLUMN received_at_us INTEGER;

-- Covers the statistics queries: a declared_on range scan that filters by zone and declarant and reads the
-- figures without touching the table rows (which carry the compressed documents). Keyed like
-- declarations_declared_on, (day, id), so that a new declaration lands at the end of its day as before
-- instead of at a scattered position; the other columns only ride along. It serves the listing's
-- declared_on filter as well, so it replaces that index rather than adding a fourth one to every insert.
CREATE INDEX declarations_stats ON declarations (
    declared_on_days, id, flow, zone, declarant, payable_fen, waived_fen, recorded_at_us, received_at_us
);
DROP INDEX declarations_declared_on;
-- The treatments of given declarations (the primary key serves the other direction).
CREATE INDEX declaration_treatments_declaration ON declaration_treatments (declaration_id, treatment);

ALTER TABLE parties ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';

CREATE TABLE accounts (
    version        INTEGER PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    party          TEXT    NOT NULL,
    party_kind     TEXT    NOT NULL,
    roles_json     TEXT    NOT NULL,
    password_hash  TEXT,             -- NULL for system accounts (API tokens only)
    personal_json  TEXT    NOT NULL,
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    recorded_by    TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL
);
CREATE INDEX accounts_user_id ON accounts (user_id, version);

-- Projection: the latest version of each account (and its party, for listing by party), maintained in the
-- same transaction as the insert.
CREATE TABLE account_current (
    user_id TEXT    PRIMARY KEY,
    party   TEXT    NOT NULL,
    version INTEGER NOT NULL REFERENCES accounts (version)
) WITHOUT ROWID;
CREATE INDEX account_current_party ON account_current (party, user_id);

-- API tokens; id is the issue order. Only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    token_id      TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    secret_sha256 TEXT    NOT NULL,
    issued_by     TEXT    NOT NULL,
    issued_at_us  INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    CONSTRAINT tokens_token_id UNIQUE (token_id)
);
CREATE INDEX tokens_user_id ON tokens (user_id, id);

-- At most one revocation per token: the first one stands.
CREATE TABLE token_revocations (
    token_id      TEXT    PRIMARY KEY REFERENCES tokens (token_id),
    revoked_by    TEXT    NOT NULL,
    revoked_at_us INTEGER NOT NULL
) WITHOUT ROWID;

-- Login sessions, keyed by the SHA-256 of the cookie's secret.
CREATE TABLE sessions (
    session_sha256 TEXT    PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    started_at_us  INTEGER NOT NULL,
    expires_at_us  INTEGER NOT NULL
) WITHOUT ROWID;

-- At most one end per session: the first logout stands.
CREATE TABLE session_ends (
    session_sha256 TEXT    PRIMARY KEY REFERENCES sessions (session_sha256),
    ended_at_us    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER accounts_no_update BEFORE UPDATE ON accounts
BEGIN SELECT RAISE(ABORT, 'accounts are insert-only'); END;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'accounts are insert-only'); END;
CREATE TRIGGER tokens_no_update BEFORE UPDATE ON tokens
BEGIN SELECT RAISE(ABORT, 'tokens are insert-only'); END;
CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
BEGIN SELECT RAISE(ABORT, 'tokens are insert-only'); END;
CREATE TRIGGER token_revocations_no_update BEFORE UPDATE ON token_revocations
BEGIN SELECT RAISE(ABORT, 'token_revocations are insert-only'); END;
CREATE TRIGGER token_revocations_no_delete BEFORE DELETE ON token_revocations
BEGIN SELECT RAISE(ABORT, 'token_revocations are insert-only'); END;
CREATE TRIGGER sessions_no_update BEFORE UPDATE ON sessions
BEGIN SELECT RAISE(ABORT, 'sessions are insert-only'); END;
CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions
BEGIN SELECT RAISE(ABORT, 'sessions are insert-only'); END;
CREATE TRIGGER session_ends_no_update BEFORE UPDATE ON session_ends
BEGIN SELECT RAISE(ABORT, 'session_ends are insert-only'); END;
CREATE TRIGGER session_ends_no_delete BEFORE DELETE ON session_ends
BEGIN SELECT RAISE(ABORT, 'session_ends are insert-only'); END;

-- The events about one subject (a declaration's history on its detail page), in chain order.
CREATE INDEX events_subject ON events (subject, seq);
