//! The TOML configuration: schema, loading and validation. Every message names
//! the file and the field.

mod catalogue;
mod profile;
mod responses;
mod server;
mod telemetry;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use catalogue::{builtin_profiles, default_aliases, DEFAULT_PROFILE, ECHO_UPSTREAM};
pub use profile::{DeploymentConfig, ProfileConfig, Strategy, MAX_DEPLOYMENTS};
pub use responses::ResponsesConfig;
pub use server::ServerConfig;
pub use telemetry::{check_endpoint, TelemetryConfig};

use crate::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub admin: AdminConfig,
    pub upstreams: Vec<UpstreamConfig>,
    pub profiles: Vec<ProfileConfig>,
    pub routing: RoutingConfig,
    pub limits: LimitsConfig,
    pub plans: Vec<PlanConfig>,
    pub responses: ResponsesConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Memory,
    #[default]
    Sqlite,
    Redis,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// sqlite: the database file.
    pub path: String,
    /// redis: `redis://[user:password@]host:port[/db]` or `unix:///path`.
    pub url: Option<String>,
    /// redis: an environment variable holding the URL instead, so a password
    /// never sits in the file.
    pub url_env: Option<String>,
    /// redis: put before every key and channel name, so several gateways (or
    /// test runs) can share one server without seeing each other's data.
    pub key_prefix: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::Sqlite,
            path: "mws-data/gateway.db".into(),
            url: None,
            url_env: None,
            key_prefix: "mws:".into(),
        }
    }
}

impl StoreConfig {
    /// The redis URL from `url` or the variable `url_env` names.
    pub fn redis_url(&self) -> Result<String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        let var = self.url_env.as_deref().unwrap_or_default();
        std::env::var(var)
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "store.url_env: the environment variable {var:?} holds no redis URL"
                ))
            })
    }

    fn validate(&self) -> std::result::Result<(), (String, String)> {
        if self.kind != StoreKind::Redis {
            return Ok(());
        }
        match (&self.url, &self.url_env) {
            (Some(url), None) => {
                let schemes = ["redis://", "unix://", "redis+unix://"];
                if !schemes.iter().any(|s| url.starts_with(s)) {
                    let shown = url.split_once("://").map_or("", |(s, _)| s);
                    return Err((
                        "store.url".into(),
                        format!("expected a URL such as redis://127.0.0.1:6379 or unix:///run/redis.sock, got scheme {shown:?} (TLS is not built in)"),
                    ));
                }
            }
            (None, Some(var)) if !var.is_empty() => {}
            (Some(_), Some(_)) => {
                return Err((
                    "store.url_env".into(),
                    "set store.url or store.url_env, not both".into(),
                ))
            }
            _ => {
                return Err((
                    "store.url".into(),
                    "kind = \"redis\" needs url = \"redis://host:port\" (or url_env naming a variable that holds it)".into(),
                ))
            }
        }
        let p = &self.key_prefix;
        if p.is_empty() || p.len() > 64 || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err((
                "store.key_prefix".into(),
                format!("expected 1 to 64 characters without spaces, such as \"mws:\", got {p:?}"),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Environment variable holding the admin bearer token; admin API off when unset.
    pub token_env: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    /// Chat Completions.
    Openai,
    /// The Responses API (POST {base_url}/responses).
    #[serde(rename = "openai-responses")]
    OpenaiResponses,
    Anthropic,
    Echo,
}

/// The tool-call ids an upstream accepts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolIdStyle {
    /// Any string (OpenAI, Anthropic).
    #[default]
    Verbatim,
    /// Exactly nine ASCII letters and digits (Mistral-style servers).
    Alphanumeric9,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub name: String,
    pub kind: UpstreamKind,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Echo only: pace the stream at the profile's tokens per second.
    #[serde(default)]
    pub simulate_speed: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// OpenAI only: the tool-call ids the upstream accepts; others are mapped and restored.
    #[serde(default)]
    pub tool_id_style: ToolIdStyle,
    /// Anthropic only: the `anthropic-beta` values clients may pass on (`"*"`
    /// for any); unset, every value goes on, as the body it belongs to does.
    #[serde(default)]
    pub anthropic_beta_allow: Option<Vec<String>>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    #[serde(default = "default_first_byte_timeout")]
    pub first_byte_timeout_secs: f64,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: f64,
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Consecutive failed calls (connect errors, timeouts, 5xx) that open its
    /// circuit; `[routing]`'s when unset, 0 for never.
    #[serde(default)]
    pub circuit_failures: Option<u32>,
    /// How long an open circuit stays open before one trial call; `[routing]`'s when unset.
    #[serde(default)]
    pub circuit_open_secs: Option<f64>,
}

fn default_connect_timeout() -> f64 {
    10.0
}
fn default_first_byte_timeout() -> f64 {
    120.0
}
fn default_idle_timeout() -> f64 {
    120.0
}
fn default_max_retries() -> u32 {
    2
}

impl UpstreamConfig {
    pub fn echo(name: &str) -> Self {
        UpstreamConfig {
            name: name.into(),
            kind: UpstreamKind::Echo,
            base_url: None,
            api_key_env: None,
            simulate_speed: false,
            headers: BTreeMap::new(),
            anthropic_beta_allow: None,
            tool_id_style: ToolIdStyle::Verbatim,
            connect_timeout_secs: default_connect_timeout(),
            first_byte_timeout_secs: default_first_byte_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            max_retries: default_max_retries(),
            circuit_failures: None,
            circuit_open_secs: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    pub default_profile: String,
    pub aliases: BTreeMap<String, String>,
    /// Consecutive failed calls (connect errors, timeouts, 5xx) that open a
    /// deployment's circuit; 0 for never. An upstream may set its own.
    pub circuit_failures: u32,
    /// How long an open circuit skips its deployment before one trial call.
    pub circuit_open_secs: f64,
    /// Conversations remembered for sticky sessions (least recently seen
    /// forgotten first); 0 turns sticky sessions off.
    pub sticky_session_capacity: usize,
}

fn default_circuit_failures() -> u32 {
    5
}
fn default_circuit_open_secs() -> f64 {
    30.0
}
fn default_sticky_session_capacity() -> usize {
    10_000
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            default_profile: DEFAULT_PROFILE.into(),
            aliases: default_aliases(),
            circuit_failures: default_circuit_failures(),
            circuit_open_secs: default_circuit_open_secs(),
            sticky_session_capacity: default_sticky_session_capacity(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub unauthenticated_rpm_per_ip: u32,
    /// Token ceiling per IP for requests without a valid key.
    pub unauthenticated_tpm_per_ip: u64,
    pub tiers: Vec<TierConfig>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            unauthenticated_rpm_per_ip: 60,
            unauthenticated_tpm_per_ip: 200_000,
            tiers: vec![
                TierConfig {
                    min_lifetime_spend_usd: 0.0,
                    rpm: 60,
                    tpm: 200_000,
                },
                TierConfig {
                    min_lifetime_spend_usd: 50.0,
                    rpm: 600,
                    tpm: 2_000_000,
                },
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    pub min_lifetime_spend_usd: f64,
    pub rpm: u32,
    pub tpm: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub name: String,
    #[serde(default)]
    pub min_tier: usize,
    #[serde(default)]
    pub monthly_quota_usd: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            admin: AdminConfig::default(),
            upstreams: vec![UpstreamConfig::echo(ECHO_UPSTREAM)],
            profiles: builtin_profiles(ECHO_UPSTREAM),
            routing: RoutingConfig::default(),
            limits: LimitsConfig::default(),
            plans: Vec::new(),
            responses: ResponsesConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

impl Config {
    /// Reads and validates a TOML file; errors name the file and the field.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("cannot read config file {}: {e}", path.display()),
            )
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in messages.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse(text, "<config string>")
    }

    fn parse(text: &str, origin: &str) -> Result<Self> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("invalid config {origin}: {}", e.to_string().trim_end()),
            )
        })?;
        // A file that configures no profiles still gets the built-in catalogue.
        if config.profiles.is_empty() {
            if !config.upstreams.iter().any(|u| u.name == ECHO_UPSTREAM) {
                config.upstreams.push(UpstreamConfig::echo(ECHO_UPSTREAM));
            }
            config.profiles = builtin_profiles(ECHO_UPSTREAM);
        }
        config.validate().map_err(|(field, msg)| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("invalid config {origin}: {field}: {msg}"),
            )
        })?;
        Ok(config)
    }

    /// Cross-field checks that serde cannot express: (field path, what was expected).
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        self.server.validate()?;
        self.store.validate()?;
        self.responses.validate()?;
        self.telemetry.validate()?;
        for (i, u) in self.upstreams.iter().enumerate() {
            if u.name.is_empty() {
                return Err((
                    format!("upstreams[{i}].name"),
                    "expected a non-empty name".into(),
                ));
            }
            if self.upstreams[..i].iter().any(|o| o.name == u.name) {
                return Err((
                    format!("upstreams[{i}].name"),
                    format!("duplicate upstream {:?}", u.name),
                ));
            }
            if u.kind != UpstreamKind::Echo && u.base_url.as_deref().unwrap_or("").is_empty() {
                return Err((
                    format!("upstreams[{i}].base_url"),
                    "expected a URL such as http://127.0.0.1:9000/v1".into(),
                ));
            }
            for (field, v) in [
                ("connect_timeout_secs", u.connect_timeout_secs),
                ("first_byte_timeout_secs", u.first_byte_timeout_secs),
                ("idle_timeout_secs", u.idle_timeout_secs),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return Err((
                        format!("upstreams[{i}].{field}"),
                        "expected a positive number of seconds".into(),
                    ));
                }
            }
            if let Some(v) = u.circuit_open_secs {
                profile::check_open_secs(format!("upstreams[{i}].circuit_open_secs"), v)?;
            }
        }
        profile::check_open_secs(
            "routing.circuit_open_secs".into(),
            self.routing.circuit_open_secs,
        )?;
        let upstream_known = |name: &str| self.upstreams.iter().any(|u| u.name == name);
        for (i, p) in self.profiles.iter().enumerate() {
            if p.id.is_empty() {
                return Err((
                    format!("profiles[{i}].id"),
                    "expected a non-empty id".into(),
                ));
            }
            if self.profiles[..i].iter().any(|o| o.id == p.id) {
                return Err((
                    format!("profiles[{i}].id"),
                    format!("duplicate profile {:?}", p.id),
                ));
            }
            p.validate(i, &upstream_known)?;
            for (j, f) in p.fallbacks.iter().enumerate() {
                if !upstream_known(f) {
                    return Err((
                        format!("profiles[{i}].fallbacks[{j}]"),
                        format!("expected the name of an [[upstreams]] entry, got {f:?}"),
                    ));
                }
            }
            for (field, v) in [
                ("input_price_per_mtok", p.input_price_per_mtok),
                ("output_price_per_mtok", p.output_price_per_mtok),
                ("cache_read_price_per_mtok", p.cache_read_price()),
                ("cache_write_price_per_mtok", p.cache_write_price()),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err((
                        format!("profiles[{i}].{field}"),
                        "expected a non-negative number".into(),
                    ));
                }
            }
            if p.context_window == 0 {
                return Err((
                    format!("profiles[{i}].context_window"),
                    "expected a positive number".into(),
                ));
            }
        }
        let profile_known = |id: &str| self.profiles.iter().any(|p| p.id == id);
        if !profile_known(&self.routing.default_profile) {
            return Err((
                "routing.default_profile".into(),
                format!(
                    "expected the id of a profile, got {:?}",
                    self.routing.default_profile
                ),
            ));
        }
        for (alias, target) in &self.routing.aliases {
            if !profile_known(target) {
                return Err((
                    format!("routing.aliases.{alias}"),
                    format!("expected the id of a profile, got {target:?}"),
                ));
            }
        }
        for (i, t) in self.limits.tiers.iter().enumerate() {
            if !(t.min_lifetime_spend_usd.is_finite() && t.min_lifetime_spend_usd >= 0.0) {
                return Err((
                    format!("limits.tiers[{i}].min_lifetime_spend_usd"),
                    "expected a non-negative number".into(),
                ));
            }
        }
        for (i, p) in self.plans.iter().enumerate() {
            if p.min_tier >= self.limits.tiers.len().max(1) {
                return Err((
                    format!("plans[{i}].min_tier"),
                    "expected an index into limits.tiers".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_builtin_catalogue_on_echo() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.profiles.len(), 11);
        assert_eq!(c.upstreams[0].kind, UpstreamKind::Echo);
        assert_eq!(c.routing.default_profile, "dragon");
        assert_eq!(c.routing.aliases["claude-sonnet-4-6"], "dragon");
    }

    #[test]
    fn design_example_parses() {
        let text = r#"
[server]
listen = "127.0.0.1:8080"
[store]
kind = "sqlite"
path = "mws-data/gateway.db"
[admin]
token_env = "MWS_ADMIN_TOKEN"
[[upstreams]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:9000/v1"
api_key_env = "LOCAL_UPSTREAM_KEY"
[[profiles]]
id = "dragon"
upstream = "local"
upstream_model = "my-model"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
fallbacks = []
[routing]
default_profile = "dragon"
aliases = { "gpt-4o" = "dragon", "claude-sonnet-4-6" = "dragon" }
[limits]
unauthenticated_rpm_per_ip = 60
[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 60
tpm = 200000
[[plans]]
name = "pro"
min_tier = 0
monthly_quota_usd = 100
[responses]
retention_hours = 720
"#;
        let c = Config::from_toml_str(text).unwrap();
        assert_eq!(c.profiles[0].upstream_model.as_deref(), Some("my-model"));
        assert_eq!(c.upstreams[0].kind, UpstreamKind::Openai);
        assert_eq!(c.responses, ResponsesConfig::default());
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = Config::from_toml_str("[server]\nmax_body_bytes = \"big\"\n").unwrap_err();
        assert!(e.message().contains("max_body_bytes"), "{}", e.message());
    }

    #[test]
    fn unknown_field_is_refused() {
        let e = Config::from_toml_str("[server]\nlisten_addr = \"x\"\n").unwrap_err();
        assert!(e.message().contains("listen_addr"), "{}", e.message());
        let e = Config::from_toml_str("[responses]\nretention = 1\n").unwrap_err();
        assert!(e.message().contains("retention"), "{}", e.message());
    }

    #[test]
    fn profile_with_unknown_upstream_names_the_field() {
        let text = r#"
[[profiles]]
id = "a"
upstream = "nowhere"
context_window = 1000
tokens_per_second = 10
input_price_per_mtok = 1
output_price_per_mtok = 1
[routing]
default_profile = "a"
"#;
        let e = Config::from_toml_str(text).unwrap_err();
        assert!(
            e.message().contains("profiles[0].upstream"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn cache_prices_default_to_the_input_price_and_are_checked() {
        let profile = |extra: &str| {
            format!(
                "[[upstreams]]\nname = \"e\"\nkind = \"echo\"\n[[profiles]]\nid = \"a\"\nupstream = \"e\"\n\
                 context_window = 1000\ntokens_per_second = 10\ninput_price_per_mtok = 3\noutput_price_per_mtok = 15\n\
                 {extra}[routing]\ndefault_profile = \"a\"\naliases = {{}}\n"
            )
        };
        let c = Config::from_toml_str(&profile("")).unwrap();
        assert_eq!(
            (
                c.profiles[0].cache_read_price(),
                c.profiles[0].cache_write_price()
            ),
            (3.0, 3.0)
        );
        let c = Config::from_toml_str(&profile(
            "cache_read_price_per_mtok = 0.3\ncache_write_price_per_mtok = 3.75\n",
        ))
        .unwrap();
        assert_eq!(
            (
                c.profiles[0].cache_read_price(),
                c.profiles[0].cache_write_price()
            ),
            (0.3, 3.75)
        );
        for field in ["cache_read_price_per_mtok", "cache_write_price_per_mtok"] {
            for bad in ["-0.5", "nan", "inf"] {
                let e = Config::from_toml_str(&profile(&format!("{field} = {bad}\n"))).unwrap_err();
                assert!(
                    e.message().contains(&format!("profiles[0].{field}")),
                    "{field} = {bad}: {}",
                    e.message()
                );
            }
        }
    }

    #[test]
    fn redis_store_needs_a_url_and_names_the_field() {
        let ok = Config::from_toml_str(
            "[store]\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379/2\"\nkey_prefix = \"team-a:\"\n",
        )
        .unwrap();
        assert_eq!(ok.store.redis_url().unwrap(), "redis://127.0.0.1:6379/2");
        assert_eq!(ok.store.key_prefix, "team-a:");
        for (text, field) in [
            ("kind = \"redis\"\n", "store.url"),
            ("kind = \"redis\"\nurl = \"http://x\"\n", "store.url"),
            (
                "kind = \"redis\"\nurl = \"redis://x\"\nurl_env = \"X\"\n",
                "store.url_env",
            ),
            (
                "kind = \"redis\"\nurl = \"redis://x\"\nkey_prefix = \"a b\"\n",
                "store.key_prefix",
            ),
            ("kind = \"redis\"\nhost = \"x\"\n", "host"),
        ] {
            let e = Config::from_toml_str(&format!("[store]\n{text}")).unwrap_err();
            assert!(e.message().contains(field), "{text}: {}", e.message());
        }
        let env = Config::from_toml_str(
            "[store]\nkind = \"redis\"\nurl_env = \"MWS_TEST_NO_SUCH_REDIS_URL\"\n",
        )
        .unwrap();
        assert!(env
            .store
            .redis_url()
            .unwrap_err()
            .message()
            .contains("store.url_env"));
    }

    #[test]
    fn bad_listen_address_names_the_field() {
        let e = Config::from_toml_str("[server]\nlisten = \"nope\"\n").unwrap_err();
        assert!(e.message().contains("server.listen"), "{}", e.message());
    }
}
