-- zonegate PostgreSQL schema, version 4: the bonded ledger (电子账册). Each ledger document (an item's
-- registration, a 核注清单, a 核放单, a processing run, …) is recorded once under (enterprise, kind, number)
-- together with the ledger items, accounts and transfers it created, so replaying the tables in order rebuilds
-- the ledger.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0005_*.sql instead.
--
-- Same encodings as before (BIGINT *_us microseconds, COLLATE "C" keys). Ledger ids (u128) are 16-byte
-- big-endian BYTEA; enums are their snake_case names; flags are bitmasks (transfers: linked=1, pending=2,
-- post_pending=4, void_pending=8; accounts: debits_must_not_exceed_credits=1,
-- credits_must_not_exceed_debits=2); quantities and values are BIGINT (the store refuses amounts above
-- i64::MAX). The ordering columns of accounts and transfers (seq) are assigned by the store's single writer,
-- in the order of the document's vectors. Additive only; every new table is insert-only, enforced by triggers.

CREATE TABLE ledger_documents (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enterprise     TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,
    number         TEXT COLLATE "C" NOT NULL,
    body_json      TEXT   NOT NULL,
    body_sha256    TEXT   NOT NULL,
    result_json    TEXT   NOT NULL,
    recorded_by    TEXT   NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    transfer_count BIGINT NOT NULL,
    CONSTRAINT ledger_documents_key UNIQUE (enterprise, kind, number)
);
CREATE INDEX ledger_documents_listing ON ledger_documents (enterprise, kind, seq);

-- Read back in (document_seq, position) order: the order the documents registered them.
CREATE TABLE ledger_items (
    enterprise     TEXT COLLATE "C" NOT NULL,
    item_no        TEXT COLLATE "C" NOT NULL,
    hs_code        TEXT     NOT NULL,
    unit           TEXT     NOT NULL,
    quantity_scale SMALLINT NOT NULL CHECK (quantity_scale BETWEEN 0 AND 255),
    treatment      TEXT     NOT NULL CHECK (treatment IN ('bonded', 'exempt', 'domestic')),
    document_seq   BIGINT   NOT NULL REFERENCES ledger_documents (seq),
    position       INTEGER  NOT NULL,
    PRIMARY KEY (enterprise, item_no)
);
CREATE INDEX ledger_items_order ON ledger_items (document_seq, position);

CREATE TABLE ledger_accounts (
    seq          BIGINT  PRIMARY KEY,
    id           BYTEA   NOT NULL UNIQUE CHECK (length(id) = 16),
    enterprise   TEXT COLLATE "C" NOT NULL,
    item_no      TEXT COLLATE "C" NOT NULL,
    kind         TEXT    NOT NULL,
    flags        INTEGER NOT NULL,
    document_seq BIGINT  NOT NULL REFERENCES ledger_documents (seq)
);

CREATE TABLE ledger_transfers (
    seq               BIGINT  PRIMARY KEY,
    id                BYTEA   NOT NULL UNIQUE CHECK (length(id) = 16),
    debit_account_id  BYTEA   NOT NULL,
    credit_account_id BYTEA   NOT NULL,
    quantity          BIGINT  NOT NULL CHECK (quantity >= 0),
    value_fen         BIGINT  NOT NULL CHECK (value_fen >= 0),
    pending_id        BYTEA,
    code              TEXT    NOT NULL,
    reference         TEXT    NOT NULL,
    timestamp_us      BIGINT  NOT NULL,
    flags             INTEGER NOT NULL,
    document_seq      BIGINT  NOT NULL REFERENCES ledger_documents (seq)
);

CREATE TRIGGER ledger_documents_insert_only BEFORE UPDATE OR DELETE ON ledger_documents
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_documents_no_truncate BEFORE TRUNCATE ON ledger_documents
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_items_insert_only BEFORE UPDATE OR DELETE ON ledger_items
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_items_no_truncate BEFORE TRUNCATE ON ledger_items
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_accounts_insert_only BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_transfers_insert_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION zonegate_insert_only();
CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION zonegate_insert_only();
