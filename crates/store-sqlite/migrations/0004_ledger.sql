-- zonegate SQLite schema, version 4: the bonded ledger (电子账册). Each ledger document (an item's
-- registration, a 核注清单, a 核放单, a processing run, …) is recorded once under (enterprise, kind, number)
-- together with the ledger items, accounts and transfers it created, so replaying the tables in order rebuilds
-- the ledger.
-- Applied once and recorded in schema_migrations with its checksum: never edit it, add 0005_*.sql instead.
--
-- Same encodings as before (*_us microseconds). Ledger ids (u128) are 16-byte big-endian BLOBs; enums are
-- their snake_case names; flags are bitmasks (transfers: linked=1, pending=2, post_pending=4,
-- void_pending=8; accounts: debits_must_not_exceed_credits=1, credits_must_not_exceed_debits=2); quantities
-- and values are INTEGER (the store refuses amounts above i64::MAX). Additive only; every new table is
-- insert-only, enforced by triggers.

CREATE TABLE ledger_documents (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise     TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    number         TEXT    NOT NULL,
    body_json      TEXT    NOT NULL,
    body_sha256    TEXT    NOT NULL,
    result_json    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    transfer_count INTEGER NOT NULL,
    CONSTRAINT ledger_documents_key UNIQUE (enterprise, kind, number)
);
CREATE INDEX ledger_documents_listing ON ledger_documents (enterprise, kind, seq);

-- Read back in (document_seq, position) order: the order the documents registered them.
CREATE TABLE ledger_items (
    enterprise     TEXT    NOT NULL,
    item_no        TEXT    NOT NULL,
    hs_code        TEXT    NOT NULL,
    unit           TEXT    NOT NULL,
    quantity_scale INTEGER NOT NULL CHECK (quantity_scale BETWEEN 0 AND 255),
    treatment      TEXT    NOT NULL CHECK (treatment IN ('bonded', 'exempt', 'domestic')),
    document_seq   INTEGER NOT NULL REFERENCES ledger_documents (seq),
    position       INTEGER NOT NULL,
    PRIMARY KEY (enterprise, item_no)
);
CREATE INDEX ledger_items_order ON ledger_items (document_seq, position);

-- seq is the order the accounts were opened in.
CREATE TABLE ledger_accounts (
    seq          INTEGER PRIMARY KEY,
    id           BLOB    NOT NULL UNIQUE CHECK (length(id) = 16),
    enterprise   TEXT    NOT NULL,
    item_no      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    flags        INTEGER NOT NULL,
    document_seq INTEGER NOT NULL REFERENCES ledger_documents (seq)
);

-- seq is the order the transfers were applied in.
CREATE TABLE ledger_transfers (
    seq               INTEGER PRIMARY KEY,
    id                BLOB    NOT NULL UNIQUE CHECK (length(id) = 16),
    debit_account_id  BLOB    NOT NULL,
    credit_account_id BLOB    NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity >= 0),
    value_fen         INTEGER NOT NULL CHECK (value_fen >= 0),
    pending_id        BLOB,
    code              TEXT    NOT NULL,
    reference         TEXT    NOT NULL,
    timestamp_us      INTEGER NOT NULL,
    flags             INTEGER NOT NULL,
    document_seq      INTEGER NOT NULL REFERENCES ledger_documents (seq)
);

CREATE TRIGGER ledger_documents_no_update BEFORE UPDATE ON ledger_documents
BEGIN SELECT RAISE(ABORT, 'ledger_documents are insert-only'); END;
CREATE TRIGGER ledger_documents_no_delete BEFORE DELETE ON ledger_documents
BEGIN SELECT RAISE(ABORT, 'ledger_documents are insert-only'); END;
CREATE TRIGGER ledger_items_no_update BEFORE UPDATE ON ledger_items
BEGIN SELECT RAISE(ABORT, 'ledger_items are insert-only'); END;
CREATE TRIGGER ledger_items_no_delete BEFORE DELETE ON ledger_items
BEGIN SELECT RAISE(ABORT, 'ledger_items are insert-only'); END;
CREATE TRIGGER ledger_accounts_no_update BEFORE UPDATE ON ledger_accounts
BEGIN SELECT RAISE(ABORT, 'ledger_accounts are insert-only'); END;
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
BEGIN SELECT RAISE(ABORT, 'ledger_accounts are insert-only'); END;
CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers are insert-only'); END;
CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers are insert-only'); END;
