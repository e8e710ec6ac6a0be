-- Accounts, keys and the usage ledger. Money is integer nano-dollars.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    balance_nanos INTEGER NOT NULL DEFAULT 0,
    lifetime_spend_nanos INTEGER NOT NULL DEFAULT 0,
    plan TEXT,
    quota_used_nanos INTEGER NOT NULL DEFAULT 0,
    quota_period INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    rpm INTEGER,
    tpm INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX keys_account ON keys(account_id);
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX ledger_account ON ledger(account_id, seq);
