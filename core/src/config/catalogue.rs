//! The built-in catalogue: the eleven Dragon profiles as the service publishes them.

use std::collections::BTreeMap;

use super::ProfileConfig;

pub const DEFAULT_PROFILE: &str = "dragon";
pub const ECHO_UPSTREAM: &str = "echo";

/// (id, context window, tokens/s, USD in, USD out per million tokens)
const DRAGONS: [(&str, u32, u32, f64, f64); 11] = [
    ("dragon", 262_144, 189, 0.48, 1.08),
    ("dragon-flash", 131_072, 1400, 1.20, 2.40),
    ("dragon-blitz", 131_072, 698, 0.30, 1.20),
    ("dragon-pro", 128_000, 447, 0.22, 0.68),
    ("dragon-spark", 163_840, 143, 0.60, 0.90),
    ("dragon-think", 131_072, 383, 0.30, 2.40),
    ("dragon-thinkmaxing", 1_048_576, 178, 3.48, 6.96),
    ("dragon-reason", 262_144, 172, 0.40, 1.20),
    ("dragon-seer", 262_144, 383, 1.00, 5.00),
    ("dragon-coder", 262_144, 189, 0.48, 1.08),
    ("dragon-nova", 262_144, 310, 1.20, 7.20),
];

const DEFAULT_ALIASES: [&str; 5] = [
    "claude-sonnet-4-6",
    "claude-haiku-4",
    "claude-opus-4",
    "gpt-4o",
    "gpt-4o-mini",
];

pub fn builtin_profiles(upstream: &str) -> Vec<ProfileConfig> {
    DRAGONS
        .iter()
        .map(
            |&(id, context_window, tokens_per_second, inp, out)| ProfileConfig {
                id: id.into(),
                upstream: Some(upstream.into()),
                upstream_model: None,
                deployments: Vec::new(),
                strategy: Default::default(),
                context_window,
                tokens_per_second,
                input_price_per_mtok: inp,
                output_price_per_mtok: out,
                cache_read_price_per_mtok: None,
                cache_write_price_per_mtok: None,
                fallbacks: Vec::new(),
            },
        )
        .collect()
}

pub fn default_aliases() -> BTreeMap<String, String> {
    DEFAULT_ALIASES
        .iter()
        .map(|a| ((*a).to_string(), DEFAULT_PROFILE.to_string()))
        .collect()
}
