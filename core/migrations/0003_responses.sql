-- Stored responses of the Responses API, owned by an account ('' for the
-- in-process host caller), JSON as text. seq is the order they were put in:
-- an account's cap evicts its lowest. Rows past expires_at are never read and
-- are deleted by later puts.
CREATE TABLE responses (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    input_items TEXT NOT NULL,
    response TEXT NOT NULL
);
CREATE INDEX responses_account ON responses(account_id, seq);
CREATE INDEX responses_expiry ON responses(expires_at);
