//! A fast mock upstream for the load benchmark and the end-to-end tests:
//! answers the three APIs (a fixed short reply unless scripted through its
//! `/_mock/*` control routes) and prints `listening on ADDR` once bound.
//!
//! Usage: `mock-upstream [--record] [--deltas N] [--gap-ms MS]`; with
//! `--record` it keeps every request for `GET /_mock/received` (the benchmark
//! leaves it off); `--deltas` and `--gap-ms` make its default Chat
//! Completions stream the benchmark's: N content deltas, MS milliseconds apart.

use std::time::Duration;

use mws_core::testing::{MockUpstream, StreamShape};

const USAGE: &str = "usage: mock-upstream [--record] [--deltas N] [--gap-ms MS]";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut record = false;
    let (mut deltas, mut gap) = (None, None);
    let bad = |what: String| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}; {USAGE}"))
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> std::io::Result<u64> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(format!("{name} takes a whole number")))
        };
        match arg.as_str() {
            "--record" => record = true,
            // The default Chat Completions stream as a real upstream sends
            // it: this many content deltas, one body frame each...
            "--deltas" => deltas = Some(number("--deltas")? as usize),
            // ...this many milliseconds apart.
            "--gap-ms" => gap = Some(Duration::from_millis(number("--gap-ms")?)),
            other => return Err(bad(format!("unknown argument {other:?}"))),
        }
    }
    let shape = (deltas.is_some() || gap.is_some()).then(|| StreamShape {
        deltas: deltas.unwrap_or(20),
        gap: gap.unwrap_or(Duration::ZERO),
    });
    let mock = MockUpstream::start_shaped(record, shape).await?;
    #[expect(
        clippy::print_stdout,
        reason = "the bench script and the tests read the address from stdout"
    )]
    {
        println!("listening on {}", mock.addr());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
