//! Who pays for a request and how much: authentication, the account's and the
//! key's rate limits, the worst-case reservation at admission and the
//! settlement of the real cost at the end.

use std::net::IpAddr;
use std::sync::Arc;

use crate::accounts::keys::{hash_key, looks_like_key};
use crate::accounts::money::cost_nanos;
use crate::accounts::tiers::{account_ceiling, quota_limit};
use crate::accounts::{Account, KeyRecord, LedgerRow};
use crate::call::unix_now;
use crate::canonical::Usage;
use crate::config::Config;
use crate::limits::LimitSnapshot;
use crate::route::Profile;
use crate::state::State;
use crate::store::{Admission, Reservation, Store};
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

/// Counts a request against `subject`. When the store cannot answer, the
/// headers still report the ceilings, with nothing promised until it can.
async fn counted(
    store: &dyn Store,
    subject: &str,
    rpm: u64,
    tpm: u64,
    limits: &mut Option<LimitSnapshot>,
) -> Result<Admission> {
    let admission = store.admit(subject, rpm, tpm, 0).await;
    if admission.is_err() {
        *limits = Some(LimitSnapshot::unknown(rpm, tpm));
    }
    admission
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
    limits: &mut Option<LimitSnapshot>,
) -> Result<Option<Caller>> {
    let found = match api_key {
        Some(k) if looks_like_key(k) => store.authenticate(&hash_key(k)).await?,
        _ => None,
    };
    let Some((key, account)) = found else {
        let Some(ip) = ip else {
            // In-process without a key: the host process itself, unmetered.
            return match api_key {
                None => Ok(None),
                Some(_) => Err(Error::new(
                    ErrorKind::Authentication,
                    "invalid or revoked API key",
                )),
            };
        };
        let rpm = u64::from(config.limits.unauthenticated_rpm_per_ip);
        let tpm = config.limits.unauthenticated_tpm_per_ip;
        match counted(store, &format!("ip:{ip}"), rpm, tpm, limits).await? {
            Ok(s) => *limits = Some(s),
            Err(refused) => {
                *limits = Some(refused.snapshot);
                return Err(refused.error());
            }
        }
        return Err(Error::new(
            ErrorKind::Authentication,
            match api_key {
                None => "missing API key: send Authorization: Bearer mws_live_... or x-api-key",
                Some(_) => "invalid or revoked API key",
            },
        ));
    };
    let (rpm, tpm) = account_ceiling(config, &account);
    let account_subject = format!("acct:{}", account.id);
    if !count {
        match store.peek(&account_subject, rpm, tpm).await {
            Ok(s) => *limits = Some(s),
            Err(e) => {
                *limits = Some(LimitSnapshot::unknown(rpm, tpm));
                return Err(e);
            }
        }
        return Ok(Some(Caller {
            key,
            account,
            subjects: vec![account_subject],
        }));
    }
    let mut subjects = Vec::with_capacity(2);
    if key.rpm.is_some() || key.tpm.is_some() {
        let key_subject = format!("key:{}", key.id);
        let krpm = key.rpm.map_or(rpm, |r| u64::from(r).min(rpm));
        let ktpm = key.tpm.map_or(tpm, |t| t.min(tpm));
        match counted(store, &key_subject, krpm, ktpm, limits).await? {
            Ok(s) => *limits = Some(s),
            Err(refused) => {
                *limits = Some(refused.snapshot);
                return Err(refused.error());
            }
        }
        subjects.push(key_subject);
    }
    match counted(store, &account_subject, rpm, tpm, limits).await? {
        Ok(s) => *limits = Some(limits.map_or(s, |k| binding(k, s))),
        Err(refused) => {
            *limits = Some(refused.snapshot);
            return Err(refused.error());
        }
    }
    subjects.push(account_subject);
    Ok(Some(Caller {
        key,
        account,
        subjects,
    }))
}

/// Money and tokens held for one request until it settles.
#[derive(Debug)]
pub struct Charge {
    store: Arc<dyn Store>,
    reservation: Reservation,
    caller: Caller,
    profile: Arc<Profile>,
    reserved_tokens: u64,
    /// Set once settled or released; a charge dropped before (the client went
    /// away while the upstream worked) gives its reservation back.
    done: bool,
}

impl Drop for Charge {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (store, reservation) = (self.store.clone(), self.reservation.clone());
        let (subjects, tokens) = (self.caller.subjects.clone(), self.reserved_tokens as i64);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                store.release(&reservation).await;
                for s in &subjects {
                    store.adjust_tokens(s, -tokens).await;
                }
            });
        }
    }
}

impl Charge {
    /// Reserves the worst case: `input` tokens plus `max_output`, at the
    /// profile's prices; counts them against the token limits.
    pub async fn reserve(
        state: &State,
        caller: &Caller,
        profile: Arc<Profile>,
        request_id: &str,
        input: u64,
        max_output: u64,
        limits: &mut Option<LimitSnapshot>,
    ) -> Result<Charge> {
        let worst = cost_nanos(
            input,
            max_output,
            profile.input_nanos_per_mtok,
            profile.output_nanos_per_mtok,
        );
        let store = state.store.clone();
        let quota = quota_limit(&state.config, &caller.account);
        let reservation = store
            .reserve(request_id, &caller.account.id, worst, quota)
            .await?;
        let reserved_tokens = input + max_output;
        for s in &caller.subjects {
            store.adjust_tokens(s, reserved_tokens as i64).await;
        }
        if let Some(l) = limits.as_mut() {
            l.remaining_tokens = l.remaining_tokens.saturating_sub(reserved_tokens);
        }
        Ok(Charge {
            store,
            reservation,
            caller: caller.clone(),
            profile,
            reserved_tokens,
            done: false,
        })
    }

    /// Charges the real cost of `usage`, writes the ledger row (durably) and
    /// trues up the token windows.
    pub async fn settle(mut self, usage: Usage, status: u16) -> Result<()> {
        self.done = true;
        let input =
            usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
        let cost = cost_nanos(
            input,
            usage.output_tokens,
            self.profile.input_nanos_per_mtok,
            self.profile.output_nanos_per_mtok,
        );
        let row = LedgerRow {
            time: unix_now(),
            request_id: self.reservation.request_id.clone(),
            account_id: self.caller.account.id.clone(),
            key_id: self.caller.key.id.clone(),
            profile: self.profile.id.clone(),
            input_tokens: input,
            output_tokens: usage.output_tokens,
            cost_nanos: cost,
            status,
        };
        let used = input + usage.output_tokens;
        for s in &self.caller.subjects {
            self.store
                .adjust_tokens(s, used as i64 - self.reserved_tokens as i64)
                .await;
        }
        self.store.settle(&self.reservation, row).await
    }

    /// Gives everything back: the request failed before any output.
    pub async fn release(mut self) {
        self.done = true;
        self.store.release(&self.reservation).await;
        for s in &self.caller.subjects {
            self.store
                .adjust_tokens(s, -(self.reserved_tokens as i64))
                .await;
        }
    }
}
