//! A profile's lineup (its deployments with their weights, then its
//! fallbacks) and the tries of one call over it (`Tries`), which the
//! pipeline's `with_fallbacks` walks:
//!
//! - the deployments first, in the order the strategy gives, a sticky
//!   session's deployment ahead of the others while it is healthy; then the
//!   fallbacks in their order;
//! - among several deployments, one cooling down or with an open circuit is
//!   skipped, and a half-open one takes one trial call at a time; a profile
//!   with one deployment (its `upstream`) always calls it, and the fallbacks
//!   are always tried after the deployments, as they always were;
//! - a try with another ready deployment after it makes no retries on its
//!   own upstream: the next try goes to the other deployment instead;
//! - when nothing could be tried (every deployment held back, no
//!   fallbacks), `exhausted` answers 429 with the soonest reset when a rate
//!   limit holds one back, else 503.

use std::sync::Arc;
use std::time::Instant;

use super::affinity::{self, Conversation, Pin};
use super::common::Common;
use super::deployment::{Deployment, InFlight};
use super::health::{now_ms, Outcome, Standing, DEFAULT_COOLDOWN};
use super::pick::{self, Candidate};
use crate::config::{Strategy, MAX_DEPLOYMENTS};
use crate::upstream::Upstream;
use crate::{Error, ErrorKind};

/// A deployment of a profile, with its weight there.
#[derive(Debug)]
pub struct Member {
    pub deployment: Arc<Deployment>,
    pub weight: u32,
}

#[derive(Debug)]
pub struct Lineup {
    pub profile: String,
    pub strategy: Strategy,
    pub members: Vec<Member>,
    pub fallbacks: Vec<Arc<Deployment>>,
    pub(super) common: Arc<Common>,
}

/// What one call asks of the lineup.
#[derive(Debug, Clone, Copy, Default)]
pub struct Route {
    /// The conversation's key in the sticky-session table.
    pub sticky: Option<u64>,
    /// Another key to pin where the call is served: the Responses API
    /// response this call makes, which the next turn names.
    pub also: Option<u64>,
    /// Only the deployments, not the fallbacks (embeddings and rerank).
    pub no_fallbacks: bool,
}

impl Lineup {
    /// A lineup with nothing in it (a profile built by hand, say to render
    /// requests for an upstream); a call over it fails as having no upstream.
    pub fn empty(profile: &str) -> Lineup {
        Lineup {
            profile: profile.to_string(),
            strategy: Strategy::default(),
            members: Vec::new(),
            fallbacks: Vec::new(),
            common: Arc::new(Common::new(0)),
        }
    }

    /// Whether calls choose between deployments (sticky sessions matter).
    pub fn chooses(&self) -> bool {
        self.members.len() > 1 && self.common.affinity.is_some()
    }

    /// The route of a call in `conversation` (`made`: the id of the
    /// Responses API response it makes); the key is worked out only where
    /// there is a choice to keep.
    pub fn route<'c>(
        &self,
        conversation: impl FnOnce() -> Conversation<'c>,
        made: Option<&str>,
    ) -> Route {
        if !self.chooses() {
            return Route::default();
        }
        let c = conversation();
        Route {
            sticky: Some(affinity::key(&c)),
            also: made.map(|id| affinity::response_key(c.profile, c.account, id)),
            no_fallbacks: false,
        }
    }

    /// The tries of one call.
    pub fn tries(&self, route: Route) -> Tries<'_> {
        self.common.start_sharing();
        let now = now_ms();
        let fallbacks = if route.no_fallbacks {
            0
        } else {
            self.fallbacks.len()
        };
        let guarded = self.members.len() > 1;
        let mut tries = Tries {
            lineup: self,
            route,
            now,
            guarded,
            order: [0; MAX_DEPLOYMENTS],
            len: 0,
            pos: 0,
            fallbacks,
            fallback_pos: 0,
            pinned: None,
            blocked: Blocked::default(),
        };
        tries.order_members();
        tries
    }
}

/// The soonest a skipped entry takes calls again.
#[derive(Debug, Default, Clone, Copy)]
struct Blocked {
    rate_limited: Option<u64>,
    other: Option<u64>,
}

impl Blocked {
    fn note(&mut self, standing: Standing, now: u64) {
        let slot = match standing {
            Standing::CoolingDown(_) => &mut self.rate_limited,
            _ => &mut self.other,
        };
        // A half-open one whose trial is under way: about a second.
        let until = standing.blocked_until().unwrap_or(now + 1000);
        *slot = Some(slot.map_or(until, |s| s.min(until)));
    }

    fn soonest(&self) -> Option<u64> {
        match (self.rate_limited, self.other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The tries of one call, in order.
#[derive(Debug)]
pub struct Tries<'a> {
    lineup: &'a Lineup,
    route: Route,
    now: u64,
    /// Health decides which deployments are tried (there are several).
    guarded: bool,
    /// The members in the order they are tried (ready ones only, when
    /// guarded): the first `len`, inline, so a call allocates nothing for it.
    order: [u8; MAX_DEPLOYMENTS],
    len: usize,
    pos: usize,
    fallbacks: usize,
    fallback_pos: usize,
    /// The sticky pin found, to rewrite only when the call lands elsewhere.
    pinned: Option<Pin>,
    blocked: Blocked,
}

/// One try: a deployment called with the model it is asked for.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub deployment: &'a Arc<Deployment>,
    member: Option<u16>,
    trial: bool,
    retries: Option<u32>,
    started: Instant,
    in_flight: InFlight,
}

/// A try given up before its outcome (the caller went away) leaves the
/// deployment's half-open trial to the next call.
impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.trial {
            self.deployment.health.abandon_trial();
        }
    }
}

impl<'a> Attempt<'a> {
    pub fn upstream(&self) -> &'a Upstream {
        &self.deployment.upstream
    }
    pub fn upstream_name(&self) -> &'a str {
        &self.deployment.upstream_name
    }
    pub fn model(&self) -> &'a str {
        &self.deployment.model
    }
    /// The retries this try may make on its upstream, when fewer than its own
    /// `max_retries` (none while another deployment is ready for the next try).
    pub fn retries(&self) -> Option<u32> {
        self.retries
    }
}

impl<'a> Tries<'a> {
    fn order_members(&mut self) {
        let members = &self.lineup.members;
        if members.len() <= 1 {
            self.len = members.len();
            return;
        }
        let mut candidates = Vec::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            let d = &m.deployment;
            if !d.health.ready(self.now) {
                self.blocked.note(d.standing(self.now), self.now);
                continue;
            }
            candidates.push(Candidate {
                member: i,
                weight: m.weight,
                in_flight: d.in_flight(),
                score: match self.lineup.strategy {
                    Strategy::P2c => d.score(),
                    Strategy::Weighted | Strategy::LeastBusy => 0.0,
                },
            });
        }
        pick::order(self.lineup.strategy, &mut candidates, &mut rand::rng());
        // A sticky session's deployment first, while the pin holds.
        let pin = self.sticky_pin();
        if let Some(pin) = pin {
            if let Some(at) = candidates
                .iter()
                .position(|c| c.member == usize::from(pin.member))
            {
                let c = candidates.remove(at);
                candidates.insert(0, c);
            }
        }
        for (slot, c) in self.order.iter_mut().zip(&candidates) {
            // Fewer than MAX_DEPLOYMENTS members (config validation).
            *slot = c.member as u8;
            self.len += 1;
        }
    }

    /// The pin of the call's conversation, if it still holds: its deployment
    /// has not turned unhealthy since.
    fn sticky_pin(&mut self) -> Option<Pin> {
        let table = self.lineup.common.affinity.as_ref()?;
        let pin = table.get(self.route.sticky?)?;
        self.pinned = Some(pin);
        let m = self.lineup.members.get(usize::from(pin.member))?;
        (m.deployment.health.epoch() == pin.epoch).then_some(pin)
    }

    /// The next try, or `None` when every entry was tried or skipped.
    pub fn next_try(&mut self) -> Option<Attempt<'a>> {
        loop {
            let (deployment, member) = if self.pos < self.len {
                let m = self.order[self.pos];
                self.pos += 1;
                (
                    &self.lineup.members[usize::from(m)].deployment,
                    Some(u16::from(m)),
                )
            } else if self.fallback_pos < self.fallbacks {
                self.fallback_pos += 1;
                (&self.lineup.fallbacks[self.fallback_pos - 1], None)
            } else {
                return None;
            };
            let claim = deployment.health.claim(self.now);
            let trial = match (claim, self.guarded && member.is_some()) {
                (Some(trial), _) => trial,
                // The only deployment, or a fallback: tried whatever its health.
                (None, false) => false,
                (None, true) => {
                    self.blocked.note(deployment.standing(self.now), self.now);
                    continue;
                }
            };
            let another_ready = member.is_some()
                && self.order[self.pos..self.len].iter().any(|&m| {
                    self.lineup.members[usize::from(m)]
                        .deployment
                        .health
                        .ready(self.now)
                });
            return Some(Attempt {
                deployment,
                member,
                trial,
                retries: another_ready.then_some(0),
                started: Instant::now(),
                in_flight: deployment.start(),
            });
        }
    }

    /// Takes in how a try went (`error`: how it failed); the call in flight
    /// on its deployment when it answered, to hold while the answer streams.
    pub fn record(&mut self, mut attempt: Attempt<'a>, error: Option<&Error>) -> InFlight {
        let outcome = match error.map(Error::kind) {
            None => Outcome::Answered,
            Some(ErrorKind::RateLimited) => Outcome::RateLimited(
                error
                    .and_then(Error::retry_after)
                    .unwrap_or(DEFAULT_COOLDOWN),
            ),
            Some(ErrorKind::Upstream | ErrorKind::Timeout | ErrorKind::Overloaded) => {
                Outcome::Failed
            }
            // The request's own fault (a 400, a 404...): the deployment answered.
            Some(_) => Outcome::Answered,
        };
        let d = attempt.deployment;
        d.observe(
            outcome,
            error.map(|e| e.kind().as_str()),
            attempt.started.elapsed(),
        );
        let now = now_ms();
        self.now = now;
        let trial = std::mem::take(&mut attempt.trial);
        if let Some(mark) = d.health.record(outcome, trial, now) {
            self.lineup.common.share(&d.id, mark);
        }
        if error.is_some() {
            return InFlight::none();
        }
        if let (Some(member), Some(table)) = (attempt.member, &self.lineup.common.affinity) {
            let pin = Pin {
                member,
                epoch: d.health.epoch(),
            };
            if let Some(key) = self.route.sticky.filter(|_| self.pinned != Some(pin)) {
                table.put(key, pin);
            }
            if let Some(key) = self.route.also {
                table.put(key, pin);
            }
        }
        std::mem::take(&mut attempt.in_flight)
    }

    /// The error of a call that no try answered: the last failure, or, when
    /// nothing could be tried, 429 (a rate limit holds an entry back) or 503,
    /// with the soonest time one takes calls again as `retry-after`.
    pub fn exhausted(&self, last: Option<Error>) -> Error {
        let now = now_ms();
        let mut blocked = Blocked::default();
        let lineup = self.lineup;
        let entries = lineup
            .members
            .iter()
            .map(|m| &m.deployment)
            .chain(lineup.fallbacks.iter().take(self.fallbacks));
        for d in entries {
            let s = d.standing(now);
            if s.blocked_until().is_some() {
                blocked.note(s, now);
            }
        }
        let wait = |until: u64| until.saturating_sub(now).max(1);
        match last {
            Some(e) if e.kind() == ErrorKind::RateLimited => match blocked.soonest() {
                Some(until) if self.guarded => {
                    let ms = e.retry_after().map_or(u64::MAX, |d| d.as_millis() as u64);
                    e.with_retry_after_ms(ms.min(wait(until)))
                }
                _ => e,
            },
            Some(e) => e,
            None => {
                let seen = if self.blocked.soonest().is_some() {
                    self.blocked
                } else {
                    blocked
                };
                let id = &lineup.profile;
                match (seen.rate_limited, seen.soonest()) {
                    (Some(_), Some(until)) => Error::new(
                        ErrorKind::RateLimited,
                        format!(
                            "every deployment of {id} is rate limited or unavailable; the soonest takes requests again in {:.1}s",
                            wait(until) as f64 / 1000.0
                        ),
                    )
                    .with_retry_after_ms(wait(until)),
                    (None, Some(until)) => Error::new(
                        ErrorKind::Overloaded,
                        format!(
                            "every deployment of {id} is unavailable (circuit open after failures); the soonest is tried again in {:.1}s",
                            wait(until) as f64 / 1000.0
                        ),
                    )
                    .with_retry_after_ms(wait(until)),
                    (_, None) => Error::internal(format!("profile {id} has no upstream")),
                }
            }
        }
    }
}
