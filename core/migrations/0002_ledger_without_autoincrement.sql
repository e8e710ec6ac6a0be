-- The ledger's seq without AUTOINCREMENT: rows are never deleted, so the rowid
-- alias still grows with every insert, and an insert no longer updates
-- sqlite_sequence (a fourth b-tree write per settled request).
CREATE TABLE ledger_next (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    profile TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_nanos INTEGER NOT NULL,
    status INTEGER NOT NULL
);
INSERT INTO ledger_next SELECT seq, time, request_id, account_id, key_id, profile,
    input_tokens, output_tokens, cost_nanos, status FROM ledger ORDER BY seq;
DROP TABLE ledger;
ALTER TABLE ledger_next RENAME TO ledger;
CREATE INDEX ledger_account ON ledger(account_id, seq);
