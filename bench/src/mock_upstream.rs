//! A fast mock upstream for the load benchmark and the end-to-end tests:
//! answers the three APIs (a fixed short reply unless scripted through its
//! `/_mock/*` control routes) and prints `listening on ADDR` once bound.
//!
//! Usage: `mock-upstream [--record]`; with `--record` it keeps every request
//! for `GET /_mock/received` (the benchmark leaves it off).

use mws_core::testing::MockUpstream;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut record = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--record" => record = true,
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("unknown argument {other:?}; usage: mock-upstream [--record]"),
                ))
            }
        }
    }
    let mock = MockUpstream::start_with(record).await?;
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
