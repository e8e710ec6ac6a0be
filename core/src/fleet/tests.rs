//! Lineups over a configured router: which tries a call gets, how many
//! retries each may make, what a call that nothing answered gets.

use std::time::Duration;

use super::health::{now_ms, Outcome};
use super::Route;
use crate::config::Config;
use crate::route::Router;
use crate::{Error, ErrorKind};

fn router(profile: &str) -> Router {
    let text = format!(
        "[[upstreams]]\nname = \"a\"\nkind = \"echo\"\n[[upstreams]]\nname = \"b\"\nkind = \"echo\"\n\
         [[upstreams]]\nname = \"f\"\nkind = \"echo\"\n\
         [[profiles]]\nid = \"p\"\ncontext_window = 1000\ntokens_per_second = 10\n\
         input_price_per_mtok = 1\noutput_price_per_mtok = 1\n{profile}\n\
         [[profiles]]\nid = \"q\"\nupstream = \"a\"\nupstream_model = \"ma\"\ncontext_window = 1000\n\
         tokens_per_second = 10\ninput_price_per_mtok = 1\noutput_price_per_mtok = 1\n\
         [routing]\ndefault_profile = \"p\"\naliases = {{}}\ncircuit_failures = 1\n"
    );
    Router::from_config(&Config::from_toml_str(&text).unwrap()).unwrap()
}

/// The (upstream, model, retries) of every try of one call, none of them answering.
fn tries(r: &Router, id: &str) -> Vec<(String, String, Option<u32>)> {
    let lineup = &r.lookup(id).unwrap().lineup;
    let mut tries = lineup.tries(Route::default());
    let mut out = Vec::new();
    while let Some(a) = tries.next_try() {
        out.push((
            a.upstream_name().to_string(),
            a.model().to_string(),
            a.retries(),
        ));
        // Dropped without a record: nothing learned.
        drop(a);
    }
    out
}

const ALONE: &str = "deployments = [{ upstream = \"a\", upstream_model = \"ma\" }, \
    { upstream = \"b\", upstream_model = \"mb\" }]";

const TWO: &str =
    "deployments = [{ upstream = \"a\", upstream_model = \"ma\", weight = 1000000 }, \
    { upstream = \"b\", upstream_model = \"mb\" }]\nfallbacks = [\"f\"]";

#[test]
fn deployments_then_fallbacks_and_no_retries_while_another_is_ready() {
    let r = router(TWO);
    let t = tries(&r, "p");
    assert_eq!(t.len(), 3);
    // a nearly always first (weight a million to one); the fallback last,
    // asked for the first deployment's model, with its own retries.
    assert_eq!(t[0], ("a".into(), "ma".into(), Some(0)));
    assert_eq!(t[1], ("b".into(), "mb".into(), None));
    assert_eq!(t[2], ("f".into(), "ma".into(), None));
    // The deployment (a, ma) is one, shared by p and q.
    let fleet = r.fleet();
    assert_eq!(fleet.deployments().len(), 3);
    let p = &r.lookup("p").unwrap().lineup;
    let q = &r.lookup("q").unwrap().lineup;
    assert!(std::sync::Arc::ptr_eq(
        &p.members[0].deployment,
        &q.members[0].deployment
    ));
}

#[test]
fn one_deployment_is_always_tried_whatever_its_health() {
    let r = router(TWO);
    let q = &r.lookup("q").unwrap().lineup;
    let d = &q.members[0].deployment;
    d.health.record(
        Outcome::RateLimited(Duration::from_secs(60)),
        false,
        now_ms(),
    );
    assert_eq!(tries(&r, "q"), vec![("a".into(), "ma".into(), None)]);
    // For p, which has others, the same deployment is skipped now.
    let t = tries(&r, "p");
    assert_eq!(t[0].0, "b");
    assert_eq!(t.len(), 2);
}

#[test]
fn nothing_ready_is_a_429_with_the_soonest_reset_or_a_503() {
    let r = router(TWO);
    let p = &r.lookup("p").unwrap().lineup;
    let now = now_ms();
    for (d, secs) in p
        .members
        .iter()
        .map(|m| &m.deployment)
        .chain(&p.fallbacks)
        .zip([30, 20, 40])
    {
        d.health
            .record(Outcome::RateLimited(Duration::from_secs(secs)), false, now);
    }
    // The fallback is tried whatever its health, as fallbacks always were.
    assert_eq!(tries_of(p), ["f"]);
    let r = router(ALONE);
    let p = &r.lookup("p").unwrap().lineup;
    for (d, secs) in p.members.iter().map(|m| &m.deployment).zip([30, 20]) {
        d.health
            .record(Outcome::RateLimited(Duration::from_secs(secs)), false, now);
    }
    let mut tries = p.tries(Route::default());
    assert!(tries.next_try().is_none());
    let e = tries.exhausted(None);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!((19..=20).contains(&e.retry_after_secs().unwrap()), "{e}");
    // A 429 that came back gets the soonest time too.
    let e = tries.exhausted(Some(
        Error::new(ErrorKind::RateLimited, "x").with_retry_after(45),
    ));
    assert!(e.retry_after_secs().unwrap() <= 20);

    let r = router(ALONE);
    let p = &r.lookup("p").unwrap().lineup;
    // circuit_failures = 1: one failure opens each.
    for d in p.members.iter().map(|m| &m.deployment) {
        d.health.record(Outcome::Failed, false, now_ms());
    }
    let mut tries = p.tries(Route::default());
    assert!(tries.next_try().is_none());
    let e = tries.exhausted(None);
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert!((29..=30).contains(&e.retry_after_secs().unwrap()), "{e}");
}

#[test]
fn a_trial_given_up_leaves_the_trial_to_the_next_call() {
    let r = router(TWO);
    let p = &r.lookup("p").unwrap().lineup;
    let a = &p.members[0].deployment;
    let t = now_ms();
    // circuit_failures = 1, open for 30 s: half-open after it.
    a.health.record(Outcome::Failed, false, t - 31_000);
    let mut tries = p.tries(Route::default());
    let first = tries.next_try().unwrap();
    assert_eq!(first.upstream_name(), "a");
    // Meanwhile a is not ready for another call.
    assert_eq!(tries_of(p)[0], "b");
    drop(first);
    assert_eq!(tries_of(p)[0], "a");
}

fn tries_of(lineup: &super::Lineup) -> Vec<String> {
    let mut tries = lineup.tries(Route::default());
    let mut out = Vec::new();
    while let Some(a) = tries.next_try() {
        out.push(a.upstream_name().to_string());
    }
    out
}

#[test]
fn a_recorded_try_counts_and_releases_its_call_in_flight() {
    let r = router(TWO);
    let p = &r.lookup("p").unwrap().lineup;
    let mut tries = p.tries(Route::default());
    let a = tries.next_try().unwrap();
    let d = a.deployment.clone();
    assert_eq!(d.in_flight(), 1);
    let held = tries.record(a, None);
    assert_eq!((d.in_flight(), d.requests(), d.errors()), (1, 1, 0));
    drop(held);
    assert_eq!(d.in_flight(), 0);
    let mut tries = p.tries(Route::default());
    let a = tries.next_try().unwrap();
    let d = a.deployment.clone();
    let held = tries.record(a, Some(&Error::new(ErrorKind::Upstream, "down")));
    // A failed try holds nothing.
    assert_eq!((d.in_flight(), d.errors()), (0, 1));
    drop(held);
    assert_eq!(d.standing(now_ms()).as_str(), "circuit_open");
}
