//! A `[[profiles]]` entry: its figures and prices, and its deployments
//! (`deployments = [{upstream, upstream_model, weight}]`, or the one its
//! `upstream` names) with the strategy that spreads calls over them.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub id: String,
    /// Its one deployment; left out when it lists `deployments`.
    #[serde(default)]
    pub upstream: Option<String>,
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Several deployments instead of `upstream`, spread by `strategy`.
    #[serde(default)]
    pub deployments: Vec<DeploymentConfig>,
    #[serde(default)]
    pub strategy: Strategy,
    pub context_window: u32,
    pub tokens_per_second: u32,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
    /// Input tokens read from the upstream's prompt cache; the input price when unset.
    #[serde(default)]
    pub cache_read_price_per_mtok: Option<f64>,
    /// Input tokens written to the upstream's prompt cache; the input price when unset.
    #[serde(default)]
    pub cache_write_price_per_mtok: Option<f64>,
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

impl ProfileConfig {
    /// The price of a cache read, USD per million tokens.
    pub fn cache_read_price(&self) -> f64 {
        self.cache_read_price_per_mtok
            .unwrap_or(self.input_price_per_mtok)
    }

    /// The price of a cache write, USD per million tokens.
    pub fn cache_write_price(&self) -> f64 {
        self.cache_write_price_per_mtok
            .unwrap_or(self.input_price_per_mtok)
    }
}

/// The most deployments one profile may name.
pub const MAX_DEPLOYMENTS: usize = 64;

/// How a profile with several deployments picks the one a call goes to.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// At random, in proportion to the weights (the default).
    #[default]
    Weighted,
    /// The fewest requests in flight for its weight; ties at random.
    LeastBusy,
    /// Power of two choices: two drawn by weight, the healthier taken (recent
    /// latency, error rate and requests in flight).
    P2c,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::LeastBusy => "least-busy",
            Strategy::P2c => "p2c",
        }
    }
}

/// One deployment of a profile: an upstream and the model it is asked for.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    pub upstream: String,
    /// The profile id when unset.
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Its share of the calls next to the profile's other deployments.
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// The largest weight, so sums over 64 deployments stay far from overflow.
const MAX_WEIGHT: u32 = 1_000_000;

impl ProfileConfig {
    /// Its deployments: those it lists, else the one its `upstream` names
    /// (with its `upstream_model`), weight 1.
    pub fn deployment_list(&self) -> Vec<DeploymentConfig> {
        match (&self.upstream, self.deployments.is_empty()) {
            (Some(u), true) => vec![DeploymentConfig {
                upstream: u.clone(),
                upstream_model: self.upstream_model.clone(),
                weight: 1,
            }],
            _ => self.deployments.clone(),
        }
    }

    /// The model its `fallbacks` are asked for: its `upstream_model`, else
    /// the first deployment's, else its id.
    pub fn fallback_model(&self) -> String {
        self.upstream_model
            .clone()
            .or_else(|| self.deployments.first()?.upstream_model.clone())
            .unwrap_or_else(|| self.id.clone())
    }
}

impl ProfileConfig {
    /// As `profiles[i]`: its upstream, upstream_model and deployments, `known`
    /// telling the names of upstreams: (field, message).
    pub(super) fn validate(
        &self,
        i: usize,
        known: &dyn Fn(&str) -> bool,
    ) -> std::result::Result<(), (String, String)> {
        validate_profile(i, self, known)
    }
}

fn validate_profile(
    i: usize,
    p: &ProfileConfig,
    known: &dyn Fn(&str) -> bool,
) -> std::result::Result<(), (String, String)> {
    let field = |f: &str| format!("profiles[{i}].{f}");
    match (&p.upstream, p.deployments.is_empty()) {
        (Some(_), false) => {
            return Err((
                field("upstream"),
                "set upstream (one deployment) or deployments, not both".into(),
            ))
        }
        (None, true) => {
            return Err((
                field("upstream"),
                "expected the name of an [[upstreams]] entry, or deployments = [{ upstream = ..., upstream_model = ... }, ...]".into(),
            ))
        }
        (Some(u), true) if !known(u) => {
            return Err((
                field("upstream"),
                format!("expected the name of an [[upstreams]] entry, got {u:?}"),
            ))
        }
        (None, false) if p.upstream_model.is_some() => {
            return Err((
                field("upstream_model"),
                "with deployments, each deployment names its own upstream_model".into(),
            ))
        }
        _ => {}
    }
    if p.deployments.len() > MAX_DEPLOYMENTS {
        return Err((
            field("deployments"),
            format!("expected at most {MAX_DEPLOYMENTS} deployments"),
        ));
    }
    for (j, d) in p.deployments.iter().enumerate() {
        let field = |f: &str| format!("profiles[{i}].deployments[{j}].{f}");
        if !known(&d.upstream) {
            return Err((
                field("upstream"),
                format!(
                    "expected the name of an [[upstreams]] entry, got {:?}",
                    d.upstream
                ),
            ));
        }
        if d.upstream_model.as_deref() == Some("") {
            return Err((
                field("upstream_model"),
                "expected a model name (or leave it out for the profile id)".into(),
            ));
        }
        if !(1..=MAX_WEIGHT).contains(&d.weight) {
            return Err((
                field("weight"),
                format!("expected a whole number from 1 to {MAX_WEIGHT}"),
            ));
        }
        let model = |d: &DeploymentConfig| d.upstream_model.clone().unwrap_or(p.id.clone());
        if p.deployments[..j]
            .iter()
            .any(|o| o.upstream == d.upstream && model(o) == model(d))
        {
            return Err((
                format!("profiles[{i}].deployments[{j}]"),
                format!(
                    "duplicate deployment: upstream {:?} with model {:?} is listed twice",
                    d.upstream,
                    model(d)
                ),
            ));
        }
    }
    Ok(())
}

/// A circuit-breaker setting: (field, message) unless a positive number of seconds.
pub(super) fn check_open_secs(field: String, v: f64) -> std::result::Result<(), (String, String)> {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        return Ok(());
    }
    Err((
        field,
        "expected a positive number of seconds, at most 86400".into(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const UPSTREAMS: &str = "[[upstreams]]\nname = \"a\"\nkind = \"echo\"\n[[upstreams]]\nname = \"b\"\nkind = \"echo\"\n";

    fn with_profile(profile: &str) -> String {
        format!(
            "{UPSTREAMS}[[profiles]]\nid = \"p\"\ncontext_window = 1000\ntokens_per_second = 10\n\
             input_price_per_mtok = 1\noutput_price_per_mtok = 1\n{profile}\n[routing]\ndefault_profile = \"p\"\naliases = {{}}\n"
        )
    }

    fn refused(profile: &str) -> String {
        Config::from_toml_str(&with_profile(profile))
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn deployments_parse_with_their_defaults() {
        let c = Config::from_toml_str(&with_profile(
            "strategy = \"least-busy\"\ndeployments = [\n  { upstream = \"a\", upstream_model = \"m\", weight = 3 },\n  { upstream = \"b\" },\n]",
        ))
        .unwrap();
        let p = &c.profiles[0];
        assert_eq!(p.strategy, super::Strategy::LeastBusy);
        let d = p.deployment_list();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (
                d[0].upstream.as_str(),
                d[0].upstream_model.as_deref(),
                d[0].weight
            ),
            ("a", Some("m"), 3)
        );
        assert_eq!((d[1].upstream_model.as_deref(), d[1].weight), (None, 1));
        assert_eq!(p.fallback_model(), "m");
        // One upstream is one deployment of weight 1, and the default strategy.
        let c = Config::from_toml_str(&with_profile("upstream = \"a\"\nupstream_model = \"x\""))
            .unwrap();
        let p = &c.profiles[0];
        assert_eq!(p.strategy, super::Strategy::Weighted);
        let d = p.deployment_list();
        assert_eq!(
            (
                d.len(),
                d[0].upstream.as_str(),
                d[0].upstream_model.as_deref(),
                d[0].weight
            ),
            (1, "a", Some("x"), 1)
        );
        assert_eq!(c.routing.circuit_failures, 5);
        assert_eq!(c.routing.circuit_open_secs, 30.0);
        assert_eq!(c.routing.sticky_session_capacity, 10_000);
    }

    #[test]
    fn every_bad_deployment_names_its_field() {
        for (profile, field) in [
            (
                "upstream = \"a\"\ndeployments = [{ upstream = \"b\" }]",
                "profiles[0].upstream:",
            ),
            ("", "profiles[0].upstream:"),
            ("deployments = []", "profiles[0].upstream:"),
            (
                "upstream_model = \"m\"\ndeployments = [{ upstream = \"b\" }]",
                "profiles[0].upstream_model:",
            ),
            (
                "deployments = [{ upstream = \"a\" }, { upstream = \"nowhere\" }]",
                "profiles[0].deployments[1].upstream:",
            ),
            (
                "deployments = [{ upstream = \"a\", weight = 0 }]",
                "profiles[0].deployments[0].weight:",
            ),
            (
                "deployments = [{ upstream = \"a\", upstream_model = \"\" }]",
                "profiles[0].deployments[0].upstream_model:",
            ),
            (
                "deployments = [{ upstream = \"a\" }, { upstream = \"a\", upstream_model = \"p\" }]",
                "profiles[0].deployments[1]:",
            ),
            ("deployments = [{ upstream = \"a\", wieght = 2 }]", "wieght"),
            ("upstream = \"a\"\nstrategy = \"fastest\"", "strategy"),
        ] {
            let m = refused(profile);
            assert!(m.contains(field), "{profile:?}: {m}");
        }
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("\n## Deployments")
            .nth(1)
            .expect("the README's deployments section");
        let toml = section
            .split("```toml\n")
            .nth(1)
            .and_then(|t| t.split("```").next())
            .expect("its TOML example");
        std::env::set_var("EAST_KEY", "k");
        std::env::set_var("WEST_KEY", "k");
        let c = Config::from_toml_str(toml).unwrap();
        let p = &c.profiles[0];
        assert_eq!(p.deployment_list().len(), 2);
        assert_eq!(c.upstreams[1].circuit_failures, Some(3));
        assert_eq!(c.routing.sticky_session_capacity, 10_000);
        crate::route::Router::from_config(&c).unwrap();
    }

    #[test]
    fn circuit_settings_are_checked_where_they_are_set() {
        let base = with_profile("upstream = \"a\"");
        for (extra, field) in [
            ("circuit_open_secs = 0\n", "routing.circuit_open_secs"),
            ("circuit_open_secs = nan\n", "routing.circuit_open_secs"),
        ] {
            let text = base.replace("[routing]\n", &format!("[routing]\n{extra}"));
            let m = Config::from_toml_str(&text)
                .unwrap_err()
                .message()
                .to_string();
            assert!(m.contains(field), "{extra}: {m}");
        }
        let text = base.replace(
            "name = \"b\"\nkind = \"echo\"\n",
            "name = \"b\"\nkind = \"echo\"\ncircuit_open_secs = -1\n",
        );
        let m = Config::from_toml_str(&text)
            .unwrap_err()
            .message()
            .to_string();
        assert!(m.contains("upstreams[1].circuit_open_secs"), "{m}");
        let text = base.replace(
            "[routing]\n",
            "[routing]\ncircuit_failures = 0\ncircuit_open_secs = 0.25\nsticky_session_capacity = 0\n",
        );
        let c = Config::from_toml_str(&text).unwrap();
        assert_eq!(
            (c.routing.circuit_failures, c.routing.circuit_open_secs),
            (0, 0.25)
        );
    }
}
