-- zonegate PostgreSQL schema, version 2: who submitted and recorded what, when a submission arrived, what
-- was waived; accounts, API tokens and login sessions; an index for the monitoring statistics.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0003_*.sql instead.
--
-- Same encodings as version 1 (BIGINT *_us microseconds, COLLATE "C" for compared or ordered text). Every
-- new table except account_current is insert-only, enforced by triggers; the triggers of version 1 keep
-- guarding the tables that gain columns here.

-- Declarations recorded before this version read back with nothing waived, no submitter, and received when
-- they were recorded (a NULL received_at_us means exactly that).
ALTER TABLE declarations
    ADD COLUMN waived_fen     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN submitted_by   TEXT   NOT NULL DEFAULT '',
    ADD COLUMN received_at_us BIGINT;

-- Covers the statistics query: a declared_on range scan that filters by zone and declarant and reads the
-- figures (index-only, once autovacuum has marked the pages all-visible) without the documents. Keyed
-- (declared_on, id) so that a new declaration lands at the end of its day; it replaces the index of version
-- 1 on the same key rather than adding another to every insert.
CREATE INDEX declarations_stats ON declarations (declared_on, id)
    INCLUDE (flow, zone, declarant, payable_fen, waived_fen, recorded_at_us, received_at_us, treatments);
DROP INDEX declarations_declared_on;

ALTER TABLE parties ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';

CREATE TABLE accounts (
    version        BIGSERIAL PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL,
    party          TEXT COLLATE "C" NOT NULL,
    party_kind     TEXT    NOT NULL,
    roles          TEXT[]  NOT NULL,
    password_hash  TEXT,             -- NULL for system accounts (API tokens only)
    personal_json  TEXT    NOT NULL,
    active         BOOLEAN NOT NULL,
    recorded_by    TEXT    NOT NULL,
    recorded_at_us BIGINT  NOT NULL
);
CREATE INDEX accounts_user_id ON accounts (user_id, version);

-- Projection: the latest version of each account (and its party, for listing by party), maintained in the
-- same transaction as the insert.
CREATE TABLE account_current (
    user_id TEXT COLLATE "C" PRIMARY KEY,
    party   TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL REFERENCES accounts (version)
);
CREATE INDEX account_current_party ON account_current (party, user_id);

-- API tokens; id is the issue order. Only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id            BIGSERIAL PRIMARY KEY,
    token_id      TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    name          TEXT   NOT NULL,
    secret_sha256 TEXT   NOT NULL,
    issued_by     TEXT   NOT NULL,
    issued_at_us  BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    CONSTRAINT tokens_token_id UNIQUE (token_id)
);
CREATE INDEX tokens_user_id ON tokens (user_id, id);

-- At most one revocation per token: the first one stands.
CREATE TABLE token_revocations (
    token_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES tokens (token_id),
    revoked_by    TEXT   NOT NULL,
    revoked_at_us BIGINT NOT NULL
);

-- Login sessions, keyed by the SHA-256 of the cookie's secret.
CREATE TABLE sessions (
    session_sha256 TEXT COLLATE "C" PRIMARY KEY,
    user_id        TEXT   NOT NULL,
    started_at_us  BIGINT NOT NULL,
    expires_at_us  BIGINT NOT NULL
);

-- At most one end per session: the first logout stands.
CREATE TABLE session_ends (
    session_sha256 TEXT COLLATE "C" PRIMARY KEY REFERENCES sessions (session_sha256),
    ended_at_us    BIGINT NOT NULL
);

CREATE TRIGGER accounts_insert_only BEFORE UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER tokens_insert_only BEFORE UPDATE OR DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER tokens_no_truncate BEFORE TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER token_revocations_insert_only BEFORE UPDATE OR DELETE ON token_revocations
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER token_revocations_no_truncate BEFORE TRUNCATE ON token_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER sessions_insert_only BEFORE UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER sessions_no_truncate BEFORE TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER session_ends_insert_only BEFORE UPDATE OR DELETE ON session_ends
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER session_ends_no_truncate BEFORE TRUNCATE ON session_ends
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();

-- The events about one subject (a declaration's history on its detail page), in chain order.
CREATE INDEX events_subject ON events (subject, seq);
