//! How the sqlite store reads its rows (accounts, keys) and names its errors:
//! shared by the store's reader and its writer thread.

use crate::accounts::{Account, KeyRecord};
use crate::Error;
use rusqlite::Connection;

pub(super) fn db_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("store: {e}"))
}

pub(super) fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        balance_nanos: r.get(2)?,
        lifetime_spend_nanos: r.get(3)?,
        plan: r.get(4)?,
        quota_used_nanos: r.get(5)?,
        quota_period: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub(super) fn read_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let hash: Vec<u8> = r.get(3)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        hash: hash.try_into().unwrap_or([0; 32]),
        prefix: r.get(4)?,
        rpm: r.get(5)?,
        tpm: r.get::<_, Option<i64>>(6)?.map(|t| t.max(0) as u64),
        revoked: r.get(7)?,
        created_at: r.get(8)?,
    })
}

pub(super) fn load_all(conn: &Connection) -> rusqlite::Result<(Vec<Account>, Vec<KeyRecord>)> {
    let accounts = conn
        .prepare("SELECT id, name, balance_nanos, lifetime_spend_nanos, plan, quota_used_nanos, quota_period, created_at FROM accounts")?
        .query_map([], read_account)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let keys = conn
        .prepare(
            "SELECT id, account_id, name, hash, prefix, rpm, tpm, revoked, created_at FROM keys",
        )?
        .query_map([], read_key)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((accounts, keys))
}
