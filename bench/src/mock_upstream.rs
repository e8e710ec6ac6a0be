//! A fast mock upstream for the load benchmark: answers both APIs with a fixed
//! short reply and prints `listening on ADDR` once bound.

use mws_core::testing::MockUpstream;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mock = MockUpstream::start_with(false).await?;
    #[expect(
        clippy::print_stdout,
        reason = "the bench script reads the address from stdout"
    )]
    {
        println!("listening on {}", mock.addr());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
