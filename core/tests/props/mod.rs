//! Strategies shared by the property tests of the translations
//! (roundtrip_requests.rs, roundtrip_streams.rs).
// Each test binary uses a different part of this module.
#![expect(
    dead_code,
    reason = "each test crate uses only some of the shared helpers"
)]

pub mod json;
pub mod request;
pub mod response;
pub mod sdk;
pub mod wire;

use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` runs per property, or `PROPTEST_CASES` when set (to run more). Failing
/// cases are kept beside the test file (`roundtrip_*.proptest-regressions`) and
/// replayed first.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}
