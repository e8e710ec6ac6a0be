-- The parts of a ledger row's input_tokens (which stays the whole input) read
-- from and written to the upstream's prompt cache. Rows settled before this
-- migration read 0: their split was not kept, and all of their input was
-- charged at the input price.
ALTER TABLE ledger ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
