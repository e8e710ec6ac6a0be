//! The Lua scripts that make money, limits and stored responses atomic on the
//! server, and typed calls to them. `redis::Script` sends EVALSHA and loads the script once
//! when the server does not know it (a restarted server knows none).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use super::layout::Layout;
use crate::accounts::{current_period, LedgerRow};
use crate::call::unix_now;
use crate::limits::WINDOW;
use crate::store::{Reservation, StoredResponse};

/// How long a settled request id is remembered, so a retried settlement
/// (its reply lost to a dropped connection, retried when Redis answers
/// again) charges once. A day covers any outage worth surviving at about
/// 100 bytes of Redis memory per request.
const DONE_TTL: Duration = Duration::from_secs(24 * 3600);

macro_rules! script {
    ($name:literal) => {
        Script::new(concat!(
            include_str!("lua/common.lua"),
            include_str!(concat!("lua/", $name, ".lua"))
        ))
    };
}

#[derive(Debug)]
pub struct Scripts {
    reserve: Script,
    settle: Script,
    release: Script,
    beat: Script,
    admit: Script,
    peek: Script,
    adjust: Script,
    add_credits: Script,
    put_response: Script,
    delete_response: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts {
            reserve: script!("reserve"),
            settle: script!("settle"),
            release: script!("release"),
            beat: script!("beat"),
            admit: script!("admit"),
            peek: script!("peek"),
            adjust: script!("adjust"),
            add_credits: script!("add_credits"),
            put_response: script!("put_response"),
            delete_response: script!("delete_response"),
        }
    }
}

pub enum Reserved {
    Held {
        from_quota: i64,
        from_balance: i64,
    },
    /// Not enough: what is available.
    Short(i64),
    NoAccount,
    /// The request id already holds a reservation.
    Duplicate,
}

pub enum Settled {
    Charged { lifetime: i64 },
    Already,
    NoAccount,
}

pub enum Credited {
    Balance,
    NoAccount,
    /// The balance would leave the range the scripts compute exactly.
    OutOfRange,
}

fn at(v: &[i64], i: usize) -> i64 {
    v.get(i).copied().unwrap_or_default()
}

/// A window's counts before this request and the time left in it.
pub struct WindowCounts {
    pub requests: u64,
    pub tokens: u64,
    pub reset: Duration,
}

impl From<(u64, u64, u64)> for WindowCounts {
    fn from((requests, tokens, ms): (u64, u64, u64)) -> Self {
        WindowCounts {
            requests,
            tokens,
            reset: Duration::from_millis(ms),
        }
    }
}

fn window_ms() -> u64 {
    WINDOW.as_millis() as u64
}

/// The rate-limit windows of `subjects`, and the correction to their token
/// counts that a money script makes on the way.
#[derive(Clone, Copy)]
pub struct Windows<'a> {
    pub subjects: &'a [String],
    pub tokens: i64,
}

impl Windows<'_> {
    pub const NONE: Windows<'static> = Windows {
        subjects: &[],
        tokens: 0,
    };

    fn keys(self, l: &Layout, call: &mut redis::ScriptInvocation<'_>) {
        for s in self.subjects {
            call.key(l.window(s));
        }
    }
}

impl Scripts {
    /// Holds `worst` for the request and, once held, counts `windows.tokens`
    /// in its windows.
    #[expect(clippy::too_many_arguments, reason = "the script's arguments, named")]
    pub async fn reserve(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        request_id: &str,
        account_id: &str,
        worst: i64,
        quota_limit: i64,
        windows: Windows<'_>,
    ) -> RedisResult<Reserved> {
        let mut call = self.reserve.prepare_invoke();
        call.key(l.account(account_id))
            .key(l.reservations())
            .key(l.instance(&l.me))
            .key(l.instances());
        windows.keys(l, &mut call);
        let v: Vec<i64> = call
            .arg(&l.prefix)
            .arg(request_id)
            .arg(account_id)
            .arg(worst)
            .arg(quota_limit)
            .arg(current_period())
            .arg(&l.me)
            .arg(windows.tokens)
            .invoke_async(conn)
            .await?;
        Ok(match at(&v, 0) {
            1 => Reserved::Held {
                from_quota: at(&v, 1),
                from_balance: at(&v, 2),
            },
            0 => Reserved::Short(at(&v, 1)),
            -2 => Reserved::Duplicate,
            _ => Reserved::NoAccount,
        })
    }

    /// Charges `row` against `r` (at most what remains) and appends it to the
    /// ledger; `row.cost_nanos` is what the request cost, the ledger holds
    /// what was charged. First `windows.tokens` corrects the windows' counts.
    pub async fn settle(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        r: &Reservation,
        row: &LedgerRow,
        windows: Windows<'_>,
    ) -> RedisResult<Settled> {
        let mut call = self.settle.prepare_invoke();
        call.key(l.account(&r.account_id))
            .key(l.reservations())
            .key(l.done(&r.request_id))
            .key(l.ledger(&r.account_id))
            .key(l.totals(&r.account_id));
        windows.keys(l, &mut call);
        let v: Vec<i64> = call
            .arg(&l.prefix)
            .arg(&r.request_id)
            .arg(row.cost_nanos)
            .arg(DONE_TTL.as_secs())
            .arg(row.time)
            .arg(&row.key_id)
            .arg(&row.profile)
            .arg(row.input_tokens)
            .arg(row.output_tokens)
            .arg(row.status)
            .arg(row.cache_read_tokens)
            .arg(row.cache_write_tokens)
            .arg(windows.tokens)
            .invoke_async(conn)
            .await?;
        Ok(match at(&v, 0) {
            1 => Settled::Charged {
                lifetime: at(&v, 2),
            },
            0 => Settled::Already,
            _ => Settled::NoAccount,
        })
    }

    /// Gives the reservation back, then `windows.tokens` corrects the
    /// windows' counts.
    pub async fn release(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        request_id: &str,
        windows: Windows<'_>,
    ) -> RedisResult<()> {
        let mut call = self.release.prepare_invoke();
        call.key(l.reservations());
        windows.keys(l, &mut call);
        let _: i64 = call
            .arg(&l.prefix)
            .arg(request_id)
            .arg(windows.tokens)
            .invoke_async(conn)
            .await?;
        Ok(())
    }

    /// Says this instance is alive and, when `may_reap`, gives back the
    /// reservations of instances silent for `dead_after`. Returns how many.
    pub async fn beat(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        dead_after: Duration,
        may_reap: bool,
    ) -> RedisResult<i64> {
        self.beat
            .key(l.instances())
            .key(l.reservations())
            .arg(&l.prefix)
            .arg(&l.me)
            .arg(dead_after.as_millis() as u64)
            .arg(u8::from(may_reap))
            .invoke_async(conn)
            .await
    }

    /// Counts a request when both ceilings allow it; the counts before it.
    pub async fn admit(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        subject: &str,
        rpm: u64,
        tpm: u64,
        tokens: u64,
    ) -> RedisResult<WindowCounts> {
        let v: (u64, u64, u64) = self
            .admit
            .key(l.window(subject))
            .arg(rpm)
            .arg(tpm)
            .arg(tokens)
            .arg(window_ms())
            .invoke_async(conn)
            .await?;
        Ok(v.into())
    }

    pub async fn peek(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        subject: &str,
    ) -> RedisResult<WindowCounts> {
        let v: (u64, u64, u64) = self
            .peek
            .key(l.window(subject))
            .arg(window_ms())
            .invoke_async(conn)
            .await?;
        Ok(v.into())
    }

    pub async fn adjust(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        subject: &str,
        delta: i64,
    ) -> RedisResult<()> {
        let _: i64 = self
            .adjust
            .key(l.window(subject))
            .arg(delta)
            .invoke_async(conn)
            .await?;
        Ok(())
    }

    /// Stores `r` for what is left of its life (not at all when it has
    /// expired), evicting its account's oldest past `max_per_account`.
    pub async fn put_response(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        r: &StoredResponse,
        max_per_account: usize,
    ) -> RedisResult<()> {
        let ttl = r.expires_at.saturating_sub(unix_now());
        let _: i64 = self
            .put_response
            .key(l.response(&r.id))
            .key(l.account_responses(&r.account_id))
            .key(l.response_seq())
            .arg(&l.prefix)
            .arg(&r.id)
            .arg(&r.account_id)
            .arg(r.created_at)
            .arg(r.expires_at)
            .arg(ttl)
            .arg(r.input_items.to_string())
            .arg(r.response.to_string())
            .arg(max_per_account)
            .invoke_async(conn)
            .await?;
        Ok(())
    }

    /// Whether `account_id` had the live response `id`, now deleted.
    pub async fn delete_response(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        account_id: &str,
        id: &str,
    ) -> RedisResult<bool> {
        let deleted: i64 = self
            .delete_response
            .key(l.response(id))
            .key(l.account_responses(account_id))
            .arg(account_id)
            .arg(id)
            .arg(unix_now())
            .invoke_async(conn)
            .await?;
        Ok(deleted == 1)
    }

    pub async fn add_credits(
        &self,
        conn: &mut ConnectionManager,
        l: &Layout,
        account_id: &str,
        nanos: i64,
    ) -> RedisResult<Credited> {
        let v: Vec<i64> = self
            .add_credits
            .key(l.account(account_id))
            .arg(nanos)
            .invoke_async(conn)
            .await?;
        Ok(match at(&v, 0) {
            1 => Credited::Balance,
            -2 => Credited::OutOfRange,
            _ => Credited::NoAccount,
        })
    }
}
