//! The background task of a redis store, one per store, ending when the store
//! is dropped (it holds only a weak reference between ticks):
//!
//! - change messages on the `changes` channel re-read one key or account
//!   into the cache, so a key revoked on one instance is refused by the
//!   others within milliseconds;
//! - a poll of the `version` counter every second reloads everything when a
//!   message was missed (subscription lost, Redis restarted), and a full
//!   reload every half minute brings other instances' lifetime spend (tiers);
//! - a heartbeat every few seconds keeps this instance's reservations, and
//!   gives back those of instances that died (beat.lua);
//! - settlements and releases that waited for Redis are written.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::aio::PubSubStream;
use tokio::time::MissedTickBehavior;

use super::pending::Pending;
use super::state::{is_outage, Inner, CONNECT_TIMEOUT};

const TICK: Duration = Duration::from_millis(200);
const VERSION_POLL: Duration = Duration::from_secs(1);
const FULL_RELOAD: Duration = Duration::from_secs(30);
const RESUBSCRIBE: Duration = Duration::from_secs(1);
const BEAT: Duration = Duration::from_secs(5);
/// An instance silent this long is dead and its reservations are given back.
/// Long next to `BEAT`, so a busy instance is never taken for dead.
const DEAD_AFTER: Duration = Duration::from_secs(30);

/// When each periodic job last ran.
struct Clock {
    polled: Instant,
    reloaded: Instant,
    subscribe_tried: Option<Instant>,
    beat: Option<Instant>,
    /// Since when this instance's heartbeats have all landed.
    beating_since: Option<Instant>,
    /// Whether the last contact with Redis worked, to log changes only.
    up: bool,
}

async fn next_message(events: &mut Option<PubSubStream>) -> Option<String> {
    match events {
        Some(s) => s
            .next()
            .await
            .map(|m| String::from_utf8_lossy(m.get_payload_bytes()).into_owned()),
        None => std::future::pending().await,
    }
}

async fn subscribe(inner: &Inner) -> redis::RedisResult<PubSubStream> {
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, inner.client.get_async_pubsub());
    let mut pubsub = connect
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    pubsub.subscribe(inner.layout.channel()).await?;
    Ok(pubsub.into_on_message())
}

pub(super) async fn run(store: Weak<Inner>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut events: Option<PubSubStream> = None;
    let mut clock = Clock {
        polled: Instant::now(),
        reloaded: Instant::now(),
        subscribe_tried: None,
        beat: None,
        beating_since: None,
        up: true,
    };
    loop {
        let message = tokio::select! {
            m = next_message(&mut events) => Some(m),
            _ = tick.tick() => None,
        };
        let Some(inner) = store.upgrade() else { return };
        match message {
            Some(Some(what)) => {
                if let Err(e) = inner.refresh(&what).await {
                    tracing::debug!(error = %e, "store: cannot re-read a changed record; the version poll will");
                }
                continue;
            }
            Some(None) => {
                tracing::debug!("store: the change subscription ended; subscribing again");
                events = None;
            }
            None => {}
        }
        if events.is_none()
            && clock
                .subscribe_tried
                .is_none_or(|t| t.elapsed() >= RESUBSCRIBE)
        {
            clock.subscribe_tried = Some(Instant::now());
            if let Ok(s) = subscribe(&inner).await {
                events = Some(s);
                // Changes published while unsubscribed were missed.
                clock.reloaded = Instant::now() - FULL_RELOAD;
            }
        }
        periodic(&inner, &mut clock).await;
        drain(&inner).await;
    }
}

async fn periodic(inner: &Inner, clock: &mut Clock) {
    let reload_due = clock.reloaded.elapsed() >= FULL_RELOAD;
    if reload_due || clock.polled.elapsed() >= VERSION_POLL {
        clock.polled = Instant::now();
        let stale = match inner.version().await {
            Ok(v) => reload_due || v != inner.seen_version.load(Ordering::Acquire),
            Err(e) => {
                note(clock, false, &e.to_string());
                false
            }
        };
        if stale {
            match inner.reload().await {
                Ok(()) => clock.reloaded = Instant::now(),
                Err(e) => note(clock, false, e.message()),
            }
        }
    }
    if clock.beat.is_none_or(|t| t.elapsed() >= BEAT) {
        clock.beat = Some(Instant::now());
        let may_reap = clock
            .beating_since
            .is_some_and(|t| t.elapsed() >= DEAD_AFTER);
        match inner.beat(DEAD_AFTER, may_reap).await {
            Ok(freed) => {
                note(clock, true, "");
                clock.beating_since.get_or_insert_with(Instant::now);
                if freed > 0 {
                    tracing::warn!(
                        freed,
                        "store: gave back reservations of gateway instances that stopped"
                    );
                }
            }
            Err(e) => {
                clock.beating_since = None;
                note(clock, false, e.message());
            }
        }
    }
}

/// Logs when Redis goes away or comes back, not every failed tick.
fn note(clock: &mut Clock, up: bool, why: &str) {
    if up != clock.up {
        if up {
            tracing::info!("store: redis answers again");
        } else {
            tracing::warn!(error = why, "store: redis does not answer");
        }
        clock.up = up;
    }
}

/// Writes what waited for Redis, oldest first, until it is written or Redis
/// fails again.
async fn drain(inner: &Inner) {
    let mut written = 0usize;
    while let Some(p) = inner.pending.pop() {
        match inner.apply(&p).await {
            Ok(()) => written += 1,
            Err(e) if is_outage(&e) => {
                inner.pending.unpop(p);
                break;
            }
            Err(e) => {
                let what = match &p {
                    Pending::Settle(r, _) => format!("settlement of {}", r.request_id),
                    Pending::Release(id) => format!("release of {id}"),
                };
                tracing::error!(error = %e, "store: redis refused the {what}; dropped");
            }
        }
    }
    if written > 0 {
        tracing::info!(
            written,
            left = inner.pending.len(),
            "store: wrote settlements that waited for redis"
        );
    }
}
