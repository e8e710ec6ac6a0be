//! The `[responses]` section: how long the Responses API's stored responses
//! (`store: true`, the default) are kept, and how many one account may keep.

use serde::Deserialize;

/// The longest `retention_hours`: a hundred years, far inside what every
/// store's expiry arithmetic takes.
const MAX_RETENTION_HOURS: u64 = 100 * 365 * 24;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ResponsesConfig {
    /// A stored response is gone this long after it was created (720: 30
    /// days, as OpenAI keeps them).
    pub retention_hours: u64,
    /// Past this many stored responses an account's oldest are evicted.
    pub max_per_account: usize,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            retention_hours: 720,
            max_per_account: 10_000,
        }
    }
}

impl ResponsesConfig {
    /// `retention_hours` in seconds: a response created at `t` expires at
    /// `t + retention_secs()`.
    pub fn retention_secs(&self) -> i64 {
        i64::try_from(self.retention_hours.saturating_mul(3600)).unwrap_or(i64::MAX)
    }

    /// (field path, what was expected) for the first field out of range.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let field = |name: &str, msg: String| Err((format!("responses.{name}"), msg));
        if !(1..=MAX_RETENTION_HOURS).contains(&self.retention_hours) {
            let msg = format!(
                "expected a number of hours from 1 to {MAX_RETENTION_HOURS}, got {}",
                self.retention_hours
            );
            return field("retention_hours", msg);
        }
        if self.max_per_account == 0 {
            return field("max_per_account", "expected a positive number".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ResponsesConfig;
    use crate::config::Config;

    #[test]
    fn the_readme_shows_the_defaults() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("### Stored responses").unwrap()..];
        let block = section.split("```toml\n").nth(1).unwrap();
        let block = &block[..block.find("```").unwrap()];
        let shown = Config::from_toml_str(block).unwrap().responses;
        assert_eq!(shown, ResponsesConfig::default());
    }

    #[test]
    fn defaults_and_bounds() {
        let c = Config::from_toml_str("").unwrap().responses;
        assert_eq!((c.retention_hours, c.max_per_account), (720, 10_000));
        assert_eq!(c.retention_secs(), 30 * 24 * 3600);
        let ok = Config::from_toml_str("[responses]\nretention_hours = 1\nmax_per_account = 3\n")
            .unwrap()
            .responses;
        assert_eq!((ok.retention_secs(), ok.max_per_account), (3600, 3));
    }

    #[test]
    fn out_of_range_and_unknown_fields_are_named() {
        for (text, field) in [
            ("retention_hours = 0", "responses.retention_hours"),
            ("retention_hours = 876001", "responses.retention_hours"),
            ("retention_hours = -1", "retention_hours"),
            ("retention_hours = \"long\"", "retention_hours"),
            ("max_per_account = 0", "responses.max_per_account"),
            ("max_per_account = -5", "max_per_account"),
            ("retention_days = 30", "retention_days"),
        ] {
            let e = Config::from_toml_str(&format!("[responses]\n{text}\n")).unwrap_err();
            assert!(e.message().contains(field), "{text}: {}", e.message());
        }
    }
}
