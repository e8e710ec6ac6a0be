//! Accounting overhead: the same chat requests through `Gateway::call`, once
//! unmetered (no key: accounting off) and once with a key (authenticated,
//! limited, charged and written to the sqlite ledger), printing the process's
//! CPU time per request for both. HTTP is left out: it costs the same in both.
#![expect(clippy::expect_used, reason = "a benchmark: any failure ends it")]

use std::time::Instant;

use futures::StreamExt;
use mws_core::testing::MockUpstream;
use mws_core::{CallContext, Endpoint, Gateway};
use serde_json::json;

// The same allocator as the mws-gateway binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 64;
const ROUNDS: usize = 15;

/// The round with the median CPU time (zeros for a side that did not run).
fn median(mut rounds: Vec<(f64, f64)>) -> (f64, f64) {
    rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    rounds.get(rounds.len() / 2).copied().unwrap_or_default()
}

/// CPU seconds of this process's threads, from each one's schedstat (exact
/// nanoseconds; /proc/self/stat counts in 10 ms ticks, too coarse for a
/// difference of a few microseconds per request).
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

async fn run(gw: &Gateway, key: Option<&str>) -> (f64, f64) {
    let body = serde_json::to_vec(&json!({"model": "dragon", "max_tokens": 64,
        "messages": [{"role": "user", "content": "Write one short sentence about dragons."}]}))
    .unwrap_or_default();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let ok = futures::stream::iter(0..REQUESTS)
        .map(|_| {
            let ctx = CallContext {
                api_key: key.map(str::to_string),
                ..CallContext::new()
            };
            let body = body.clone();
            async move { gw.call(Endpoint::Messages, &body, ctx).await.status() == 200 }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    assert_eq!(ok, REQUESTS, "every request succeeds");
    (
        (cpu_seconds() - cpu0) * 1e6 / REQUESTS as f64,
        REQUESTS as f64 / t0.elapsed().as_secs_f64(),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mock = MockUpstream::start_with(false)
        .await
        .expect("mock upstream");
    let dir = std::env::temp_dir().join(format!("mws-accounting-{}", std::process::id()));
    let cfg = format!(
        "[store]\nkind = \"{}\"\npath = \"{}\"\n[limits]\n[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 1000000000\ntpm = 1000000000000\n\
         [[upstreams]]\nname = \"oai\"\nkind = \"openai\"\nbase_url = \"{}\"\n\
         [[profiles]]\nid = \"dragon\"\nupstream = \"oai\"\ncontext_window = 262144\ntokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\n",
        std::env::var("MWS_BENCH_STORE").unwrap_or_else(|_| "sqlite".into()),
        dir.join("gw.db").display(),
        mock.base_url()
    );
    let gw = Gateway::from_toml_str(&cfg).expect("config");
    let admin = gw.admin();
    let account = admin
        .create_account(&json!({"name": "bench"}))
        .await
        .expect("account");
    let id = account["id"].as_str().unwrap_or_default().to_string();
    admin
        .add_credits(&id, &json!({"amount_usd": 100000}))
        .await
        .expect("credits");
    let key = admin.create_key(&id, &json!({})).await.expect("key")["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    run(&gw, None).await; // warm-up: connections, caches
                          // Alternating rounds; the cost is the median of each round's difference
                          // with the round before it, since the machine's speed drifts between
                          // rounds more than accounting costs. MWS_BENCH_ONLY=on|off runs one side
                          // only, for profiling it; MWS_BENCH_ROUNDS=1 prints every round.
    let only = std::env::var("MWS_BENCH_ONLY").unwrap_or_default();
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        if only != "on" {
            offs.push(run(&gw, None).await);
        }
        if only != "off" {
            ons.push(run(&gw, Some(&key)).await);
        }
    }

    #[expect(clippy::print_stderr, reason = "asked for: every round's figures")]
    if std::env::var_os("MWS_BENCH_ROUNDS").is_some() {
        eprintln!("off {offs:?}\non {ons:?}");
    }
    let cost = median(
        offs.iter()
            .zip(&ons)
            .map(|(off, on)| (on.0 - off.0, 0.0))
            .collect(),
    )
    .0;
    let ((off, off_rps), (on, on_rps)) = (median(offs), median(ons));
    let rows = admin.usage(&id).await.expect("usage")["totals"]["requests"]
        .as_u64()
        .unwrap_or(0);
    #[expect(clippy::print_stdout, reason = "the bench prints its result")]
    {
        println!("| accounting | CPU us/req | req/s |\n|---|---|---|");
        println!("| off (no key) | {off:.1} | {off_rps:.0} |\n| on (key, limits, credits, sqlite ledger) | {on:.1} | {on_rps:.0} |");
        println!(
            "\naccounting costs {cost:.1} us of CPU per request (median of {ROUNDS} paired rounds; {rows} ledger rows written)"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
