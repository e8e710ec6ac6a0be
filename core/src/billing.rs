//! Who pays for a request and how much: authentication, the account's and the
//! key's rate limits, the worst-case reservation at admission and the
//! settlement of the real cost at the end.

use std::net::IpAddr;
use std::sync::Arc;

use crate::accounts::keys::{hash_key, looks_like_key};
use crate::accounts::money::{cost_nanos, worst_cost_nanos};
use crate::accounts::tiers::{account_ceiling, quota_limit};
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::canonical::Usage;
use crate::config::Config;
use crate::limits::LimitSnapshot;
use crate::route::Profile;
use crate::state::State;
use crate::store::{Reservation, Store};
use crate::{Error, ErrorKind, Result};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: KeyRecord,
    pub account: Account,
    /// Rate-limit subjects counted for this caller: the key (when it has its own
    /// throttle) and the account.
    pub subjects: Vec<String>,
}

/// The snapshot that binds: fewer requests left, then fewer tokens.
fn binding(a: LimitSnapshot, b: LimitSnapshot) -> LimitSnapshot {
    if (b.remaining_requests, b.remaining_tokens) < (a.remaining_requests, a.remaining_tokens) {
        b
    } else {
        a
    }
}

/// What admission decided, with the limit that binds for the headers (set
/// whether the call was let in or refused).
#[derive(Debug)]
pub struct Admitted {
    pub limits: Option<LimitSnapshot>,
    /// The caller to charge; `None` for the unmetered host process.
    pub caller: Result<Option<Caller>>,
}

impl Admitted {
    fn refused(limits: Option<LimitSnapshot>, e: Error) -> Self {
        Admitted {
            limits,
            caller: Err(e),
        }
    }
}

/// Counts a request against `subject`: the snapshot after it, or the refusal
/// with the snapshot that refused it. When the store cannot answer, the
/// headers still report the ceilings, with nothing promised until it can.
async fn counted(
    store: &dyn Store,
    subject: &str,
    rpm: u64,
    tpm: u64,
) -> (LimitSnapshot, Result<()>) {
    match store.admit(subject, rpm, tpm, 0).await {
        Ok(Ok(s)) => (s, Ok(())),
        Ok(Err(refused)) => (refused.snapshot, Err(refused.error())),
        Err(e) => (LimitSnapshot::unknown(rpm, tpm), Err(e)),
    }
}

/// The key and its account, when `api_key` is a live key.
pub async fn authenticate(
    store: &dyn Store,
    api_key: Option<&str>,
) -> Result<Option<(KeyRecord, Account)>> {
    match api_key {
        Some(k) if looks_like_key(k) => store.authenticate(&hash_key(k)).await,
        _ => Ok(None),
    }
}

/// Checks the key and counts the request against its limits (when `count`).
/// Requests without a valid key are counted per client IP (so guessing is
/// throttled) and refused.
pub async fn admit(
    store: &dyn Store,
    config: &Config,
    api_key: Option<&str>,
    ip: Option<IpAddr>,
    count: bool,
) -> Admitted {
    let found = match authenticate(store, api_key).await {
        Ok(found) => found,
        Err(e) => return Admitted::refused(None, e),
    };
    let Some((key, account)) = found else {
        let Some(ip) = ip else {
            // In-process without a key: the host process itself, unmetered.
            return Admitted {
                limits: None,
                caller: match api_key {
                    None => Ok(None),
                    Some(_) => Err(Error::new(
                        ErrorKind::Authentication,
                        "invalid or revoked API key",
                    )),
                },
            };
        };
        let rpm = u64::from(config.limits.unauthenticated_rpm_per_ip);
        let tpm = config.limits.unauthenticated_tpm_per_ip;
        let (snapshot, counted) = counted(store, &format!("ip:{ip}"), rpm, tpm).await;
        let e = counted.err().unwrap_or_else(|| {
            Error::new(
                ErrorKind::Authentication,
                match api_key {
                    None => "missing API key: send Authorization: Bearer mws_live_... or x-api-key",
                    Some(_) => "invalid or revoked API key",
                },
            )
        });
        return Admitted::refused(Some(snapshot), e);
    };
    let (rpm, tpm) = account_ceiling(config, &account);
    let account_subject = format!("acct:{}", account.id);
    if !count {
        return match store.peek(&account_subject, rpm, tpm).await {
            Ok(s) => Admitted {
                limits: Some(s),
                caller: Ok(Some(Caller {
                    key,
                    account,
                    subjects: vec![account_subject],
                })),
            },
            Err(e) => Admitted::refused(Some(LimitSnapshot::unknown(rpm, tpm)), e),
        };
    }
    let mut subjects = Vec::with_capacity(2);
    let mut key_limits = None;
    if key.rpm.is_some() || key.tpm.is_some() {
        let key_subject = format!("key:{}", key.id);
        let krpm = key.rpm.map_or(rpm, |r| u64::from(r).min(rpm));
        let ktpm = key.tpm.map_or(tpm, |t| t.min(tpm));
        let (snapshot, counted) = counted(store, &key_subject, krpm, ktpm).await;
        if let Err(e) = counted {
            return Admitted::refused(Some(snapshot), e);
        }
        key_limits = Some(snapshot);
        subjects.push(key_subject);
    }
    let (snapshot, counted) = counted(store, &account_subject, rpm, tpm).await;
    if let Err(e) = counted {
        return Admitted::refused(Some(snapshot), e);
    }
    subjects.push(account_subject);
    Admitted {
        limits: Some(key_limits.map_or(snapshot, |k| binding(k, snapshot))),
        caller: Ok(Some(Caller {
            key,
            account,
            subjects,
        })),
    }
}

/// Money and tokens held for one request until it settles.
#[derive(Debug)]
pub struct Charge {
    store: Arc<dyn Store>,
    reservation: Reservation,
    caller: Caller,
    profile: Arc<Profile>,
    reserved_tokens: u64,
    /// The runtime the charge was reserved on: a charge dropped outside any
    /// runtime's context (a host thread dropping a stream) still settles there.
    runtime: Option<tokio::runtime::Handle>,
    /// What to settle when dropped unsettled (a stream cut short after some of
    /// it was delivered); `None` gives the whole reservation back.
    on_drop: Option<(Usage, u16)>,
    /// Set once settled or released.
    done: bool,
}

/// The one release-on-drop path: a charge dropped before it settled (the
/// client went away while the upstream worked, or mid-stream) settles what
/// `settle_on_drop` set, else gives its reservation back.
impl Drop for Charge {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let on_drop = self.on_drop.take();
        let charge = Charge {
            store: self.store.clone(),
            reservation: self.reservation.clone(),
            caller: self.caller.clone(),
            profile: self.profile.clone(),
            reserved_tokens: self.reserved_tokens,
            runtime: None,
            on_drop: None,
            done: false,
        };
        let Some(runtime) = self.runtime.take() else {
            tracing::error!(request_id = %self.reservation.request_id, "a charge was dropped with no runtime to release it on");
            return;
        };
        runtime.spawn(async move {
            match on_drop {
                Some((usage, status)) => {
                    let request_id = charge.reservation.request_id.clone();
                    if let Err(e) = charge.settle(usage, status).await {
                        tracing::error!(request_id, error = %e, "could not settle a call cut short");
                    }
                }
                None => charge.release().await,
            }
        });
    }
}

impl Charge {
    /// Reserves the worst case: `input` tokens plus `max_output`, at the
    /// profile's prices (the input at its dearest kind, see
    /// `worst_cost_nanos`); counts them against the token limits.
    pub async fn reserve(
        state: &State,
        caller: &Caller,
        profile: Arc<Profile>,
        request_id: &str,
        input: u64,
        max_output: u64,
    ) -> Result<Charge> {
        let worst = worst_cost_nanos(input, max_output, &profile.prices());
        let store = state.store.clone();
        let quota = quota_limit(&state.config, &caller.account);
        let reserved_tokens = input + max_output;
        let reservation = store
            .reserve_counting(
                request_id,
                &caller.account.id,
                worst,
                quota,
                &caller.subjects,
                reserved_tokens as i64,
            )
            .await?;
        Ok(Charge {
            store,
            reservation,
            caller: caller.clone(),
            profile,
            reserved_tokens,
            runtime: tokio::runtime::Handle::try_current().ok(),
            on_drop: None,
            done: false,
        })
    }

    /// The tokens counted against the limits until it settles.
    pub fn reserved_tokens(&self) -> u64 {
        self.reserved_tokens
    }

    /// What a drop before settling charges instead of releasing everything.
    pub fn settle_on_drop(&mut self, usage: Usage, status: u16) {
        self.on_drop = Some((usage, status));
    }

    /// Charges the real cost of `usage`, writes the ledger row (durably) and
    /// trues up the token windows.
    pub async fn settle(mut self, usage: Usage, status: u16) -> Result<()> {
        self.done = true;
        let input = usage.total_input();
        let cost = cost_nanos(&usage, &self.profile.prices());
        let row = LedgerRow {
            time: unix_now(),
            request_id: self.reservation.request_id.clone(),
            account_id: self.caller.account.id.clone(),
            key_id: self.caller.key.id.clone(),
            profile: self.profile.id.clone(),
            input_tokens: input,
            cache_read_tokens: usage.cache_read_input_tokens,
            cache_write_tokens: usage.cache_creation_input_tokens,
            output_tokens: usage.output_tokens,
            cost_nanos: cost,
            status,
        };
        let used = input + usage.output_tokens;
        self.store
            .settle_counting(
                &self.reservation,
                row,
                &self.caller.subjects,
                used as i64 - self.reserved_tokens as i64,
            )
            .await
    }

    /// Gives everything back: the request failed before any output.
    pub async fn release(mut self) {
        self.done = true;
        self.store
            .release_counting(
                &self.reservation,
                &self.caller.subjects,
                -(self.reserved_tokens as i64),
            )
            .await;
    }
}
