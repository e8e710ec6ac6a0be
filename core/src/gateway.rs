//! `Gateway`: the facade over `State` that hosts use: built from a config,
//! called in-process or served over HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;

use crate::accounts::admin::Admin;
use crate::call::{Body, CallContext, Endpoint, FrameStream, Reply};
use crate::config::Config;
use crate::config::StoreKind;
use crate::pipeline;
use crate::server::{self, ServeHandle};
use crate::state::State;
use crate::{Error, Result};

/// The gateway. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Gateway {
    state: Arc<State>,
}

impl Gateway {
    pub fn new(config: Config) -> Result<Self> {
        Ok(Gateway {
            state: State::open(config)?,
        })
    }

    /// The built-in catalogue on the echo upstream, with the memory store.
    pub fn builtin() -> Result<Self> {
        let mut config = Config::default();
        config.store.kind = StoreKind::Memory;
        Self::new(config)
    }

    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(Config::from_path(path)?)
    }

    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::new(Config::from_toml_str(text)?)
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }

    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// The admin operations, in-process and without the admin token: the host
    /// process is trusted. They take and return the admin API's JSON.
    pub fn admin(&self) -> Admin<'_> {
        Admin {
            store: self.state.store.as_ref(),
            config: &self.state.config,
            fleet: self.state.router.fleet(),
        }
    }

    /// Runs one call with its full reply (what HTTP renders, headers included).
    pub async fn call(&self, endpoint: Endpoint, body: &[u8], ctx: CallContext) -> Reply {
        pipeline::run(&self.state, endpoint, body, ctx).await
    }

    /// In-process call returning the JSON the HTTP endpoint would; a request with
    /// `stream: true` is refused here (use `stream`).
    pub async fn call_json(
        &self,
        endpoint: Endpoint,
        body: &Value,
        api_key: Option<&str>,
    ) -> Result<Value> {
        let bytes = serde_json::to_vec(body)?;
        let ctx = CallContext {
            api_key: api_key.map(str::to_string),
            ..CallContext::new()
        };
        match self.call(endpoint, &bytes, ctx).await.outcome? {
            Body::Json(v) => Ok(v),
            Body::Raw(b) => Ok(serde_json::from_slice(&b)?),
            Body::Stream(_) => Err(Error::invalid_field(
                "stream",
                "this call returns one JSON value; use the streaming call",
            )),
        }
    }

    /// In-process streaming call: each item is one event's JSON (Anthropic events
    /// carry their `type`; OpenAI chunks end without the `[DONE]` marker).
    pub async fn stream(
        &self,
        endpoint: Endpoint,
        body: &Value,
        api_key: Option<&str>,
    ) -> Result<impl futures::Stream<Item = Result<Value>> + Send + 'static> {
        let mut body = body.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("stream".into(), Value::Bool(true));
        }
        let bytes = serde_json::to_vec(&body)?;
        let ctx = CallContext {
            api_key: api_key.map(str::to_string),
            ..CallContext::new()
        };
        let frames: FrameStream = match self.call(endpoint, &bytes, ctx).await.outcome? {
            Body::Stream(s) => s,
            Body::Json(_) | Body::Raw(_) => {
                return Err(Error::invalid("this endpoint does not stream"))
            }
        };
        Ok(frames.filter_map(|f| async move {
            (f.data != "[DONE]").then(|| {
                serde_json::from_str::<Value>(&f.data).map_err(|e| Error::internal(e.to_string()))
            })
        }))
    }

    /// Sends the trace spans of finished calls to the collector now, waiting
    /// at most one export timeout; false when tracing is off or they did not
    /// all go in time. `ServeHandle::shutdown` does it too; a host that only
    /// calls in-process calls it before exiting.
    pub async fn flush_telemetry(&self) -> bool {
        self.state.telemetry.flush().await
    }

    /// Serves the HTTP API on `addr` (port 0 picks one) until `shutdown`.
    pub async fn serve(&self, addr: SocketAddr) -> Result<ServeHandle> {
        // Health shared through the store is followed from now, not from the first call.
        self.state.router.fleet().start_sharing();
        server::serve(self.state.clone(), addr).await
    }
}
