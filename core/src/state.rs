//! `State`: everything a running gateway shares between calls, and how it is
//! opened from a config. The pipeline, billing and the server read it; it
//! imports none of them.

use std::sync::Arc;

use crate::accounts::admin::Admin;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::route::Router;
use crate::store::{self, Store};
use crate::telemetry::Telemetry;
use crate::{Error, Result};

#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub router: Router,
    pub metrics: Metrics,
    pub store: Arc<dyn Store>,
    /// The admin API's bearer token, read from `admin.token_env` at start.
    pub admin_token: Option<String>,
    /// OpenTelemetry tracing (off unless `[telemetry]` or `OTEL_*` name a collector).
    pub telemetry: Telemetry,
}

impl State {
    /// Builds the router, opens the store and reads the admin token.
    pub fn open(config: Config) -> Result<Arc<State>> {
        let router = Router::from_config(&config)?;
        let metrics = Metrics::new().map_err(|e| Error::internal(format!("metrics: {e}")))?;
        let telemetry = Telemetry::open(&config.telemetry, &metrics)?;
        for c in router.fleet().collectors() {
            metrics
                .register(c)
                .map_err(|e| Error::internal(format!("metrics: {e}")))?;
        }
        let store = store::open(&config.store)?;
        router.fleet().share_through(&store);
        let admin_token = config
            .admin
            .token_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .filter(|t| !t.is_empty());
        Ok(Arc::new(State {
            config,
            router,
            metrics,
            store,
            admin_token,
            telemetry,
        }))
    }
}

/// The state as the server's handlers share it.
pub type Shared = Arc<State>;

impl State {
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// The admin operations on this state's store, without the admin token.
    pub fn admin(&self) -> Admin<'_> {
        Admin {
            store: self.store.as_ref(),
            config: &self.config,
            fleet: self.router.fleet(),
        }
    }
}
