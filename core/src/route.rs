//! Model names to profiles: a profile id as is, a configured alias, else the
//! default profile. The client's model string is kept for the response.

use std::collections::HashMap;
use std::sync::Arc;

use crate::accounts::money::{usd_to_nanos, Prices};
use crate::config::Config;
use crate::fleet::{Fleet, Lineup};
use crate::upstream::{output_budget, Target, Upstream};
use crate::Result;

/// A routable model: its published figures and the upstreams that serve it.
#[derive(Debug)]
pub struct Profile {
    pub id: String,
    /// The model name its fallbacks are asked for (and the one deployment of
    /// a profile with one `upstream`): its `upstream_model`, else the first
    /// deployment's, else its id. A call's model is its deployment's.
    pub upstream_model: String,
    pub context_window: u32,
    pub tokens_per_second: u32,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
    /// Cache reads and writes, the input price where the config sets none.
    pub cache_read_price_per_mtok: f64,
    pub cache_write_price_per_mtok: f64,
    /// The same prices in nano-dollars per million tokens, for exact accounting.
    pub input_nanos_per_mtok: i64,
    pub output_nanos_per_mtok: i64,
    pub cache_read_nanos_per_mtok: i64,
    pub cache_write_nanos_per_mtok: i64,
    /// Its deployments' upstreams, then the fallbacks, each once.
    pub upstreams: Vec<Arc<Upstream>>,
    pub upstream_names: Vec<String>,
    /// Its deployments and fallbacks, with their health: what a call tries.
    pub lineup: Lineup,
}

impl Profile {
    /// Its prices as accounting uses them.
    pub fn prices(&self) -> Prices {
        Prices {
            input: self.input_nanos_per_mtok,
            cache_read: self.cache_read_nanos_per_mtok,
            cache_write: self.cache_write_nanos_per_mtok,
            output: self.output_nanos_per_mtok,
        }
    }

    /// What its upstreams are asked for a call with this output budget.
    pub fn target(&self, max_output: u64) -> Target<'_> {
        Target {
            model: &self.upstream_model,
            context_window: self.context_window,
            tokens_per_second: self.tokens_per_second,
            max_output,
        }
    }

    /// The output budget of a call with `input` tokens: one decision, used for
    /// the reservation and for what every upstream of the chain is asked.
    pub fn output_budget(&self, max_tokens: Option<u32>, input: u64) -> u64 {
        // The largest cap of the chain, or none when one upstream needs none.
        let cap = self
            .upstreams
            .iter()
            .map(|u| u.output_cap())
            .try_fold(0, |acc, c| c.map(|c| acc.max(c)))
            .filter(|c| *c > 0);
        output_budget(max_tokens, input, self.context_window, cap)
    }
}

#[derive(Debug)]
pub struct Router {
    /// In configuration order, for listing.
    profiles: Vec<Arc<Profile>>,
    by_name: HashMap<String, Arc<Profile>>,
    default: Arc<Profile>,
    fleet: Arc<Fleet>,
}

impl Router {
    pub fn from_config(config: &Config) -> Result<Self> {
        let mut upstreams = HashMap::new();
        // Upstreams on one host share its connections.
        let pools = crate::upstream::http::Pools::default();
        for u in &config.upstreams {
            upstreams.insert(
                u.name.clone(),
                Arc::new(Upstream::from_config_in(u, &pools)?),
            );
        }
        let mut fleet = Fleet::builder(config)?;
        let mut profiles = Vec::new();
        for p in &config.profiles {
            let mut names: Vec<String> = Vec::new();
            let listed = p.deployment_list().into_iter().map(|d| d.upstream);
            for n in listed.chain(p.fallbacks.iter().cloned()) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            // Config validation guarantees every name resolves.
            let chain = names
                .iter()
                .filter_map(|n| upstreams.get(n).cloned())
                .collect();
            profiles.push(Arc::new(Profile {
                id: p.id.clone(),
                upstream_model: p.fallback_model(),
                context_window: p.context_window,
                tokens_per_second: p.tokens_per_second,
                input_price_per_mtok: p.input_price_per_mtok,
                output_price_per_mtok: p.output_price_per_mtok,
                cache_read_price_per_mtok: p.cache_read_price(),
                cache_write_price_per_mtok: p.cache_write_price(),
                input_nanos_per_mtok: usd_to_nanos(p.input_price_per_mtok),
                output_nanos_per_mtok: usd_to_nanos(p.output_price_per_mtok),
                cache_read_nanos_per_mtok: usd_to_nanos(p.cache_read_price()),
                cache_write_nanos_per_mtok: usd_to_nanos(p.cache_write_price()),
                upstreams: chain,
                upstream_names: names,
                lineup: fleet.lineup(p, &upstreams),
            }));
        }
        let mut by_name: HashMap<String, Arc<Profile>> =
            profiles.iter().map(|p| (p.id.clone(), p.clone())).collect();
        for (alias, target) in &config.routing.aliases {
            if let Some(p) = by_name.get(target).cloned() {
                by_name.entry(alias.clone()).or_insert(p);
            }
        }
        let default = by_name
            .get(&config.routing.default_profile)
            .cloned()
            .ok_or_else(|| crate::Error::invalid("routing.default_profile: no such profile"))?;
        Ok(Router {
            profiles,
            by_name,
            default,
            fleet: fleet.finish(),
        })
    }

    /// Every deployment of the profiles.
    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.fleet
    }

    /// The profile serving `model`: exact id or alias, else the default.
    pub fn resolve(&self, model: &str) -> &Arc<Profile> {
        self.by_name.get(model).unwrap_or(&self.default)
    }

    /// A profile by its own id only (for `GET /v1/models/{id}`), aliases included.
    pub fn lookup(&self, name: &str) -> Option<&Arc<Profile>> {
        self.by_name.get(name)
    }

    pub fn profiles(&self) -> &[Arc<Profile>] {
        &self.profiles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_aliases_and_default() {
        let r = Router::from_config(&Config::default()).unwrap();
        assert_eq!(r.resolve("dragon-pro").id, "dragon-pro");
        assert_eq!(r.resolve("claude-sonnet-4-6").id, "dragon");
        assert_eq!(r.resolve("gpt-4o-mini").id, "dragon");
        assert_eq!(r.resolve("some-unknown-model").id, "dragon");
        assert_eq!(r.profiles().len(), 11);
        assert!(r.lookup("nope").is_none());
    }
}
