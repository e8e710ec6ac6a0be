//! The `[server]` section: the listen address, and the limits and timeouts
//! that keep one client from holding the gateway (sizes, counts, slow or idle
//! connections). Every default leaves room for the largest real clients.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// A body past this many bytes gets 413 (32 MiB: a long session with images).
    pub max_body_bytes: usize,
    /// A request line and headers past this many bytes get 431. 64 KiB is
    /// eight times what browsers and SDKs send at most.
    pub max_header_bytes: usize,
    /// Messages one chat request may carry. 20,000 leaves room for a full
    /// 1M-token context made of the smallest tool round trips (~50 tokens
    /// each); Claude Code sessions carry a few thousand.
    pub max_messages: usize,
    /// Tools one chat request may offer. OpenAI allows 128; Claude Code with
    /// many MCP servers offers a few hundred; 1,000 leaves room for both.
    pub max_tools: usize,
    /// JSON values (every string, number, array, object...) one body may
    /// hold. A long agent session holds some 100,000; the limit bounds what
    /// a body of tiny values costs in memory (about 130 bytes a value).
    pub max_json_values: usize,
    /// Serve `GET /metrics`.
    pub metrics: bool,
    /// The whole request body must arrive within this many seconds of its
    /// headers, or the client gets 408 (a body sent a byte a second).
    pub request_timeout_secs: u64,
    /// A connection whose request line and headers are not complete this long
    /// after it started waiting for them is closed: slow-header clients, and
    /// keep-alive connections idle between requests.
    pub header_timeout_secs: f64,
    /// A connection whose client takes none of the response for this long is
    /// closed (it stopped reading a stream).
    pub write_timeout_secs: f64,
    /// How long a graceful shutdown waits for streams in flight.
    pub shutdown_grace_secs: u64,
    /// After a request arrives or its answer is handed over, the server keeps
    /// polling its sockets for this many microseconds instead of letting its
    /// thread sleep, so an event that follows closely (a fast upstream's
    /// answer, the client's next request) is taken without waking an idle
    /// CPU. It costs CPU only while requests come; 0 turns it off.
    pub busy_poll_us: u64,
    /// Origins (`https://app.example`, or `*`) whose browser pages may call
    /// the /v1 routes: answered with CORS headers and preflights. None by default.
    pub cors_allow_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 32 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_messages: 20_000,
            max_tools: 1_000,
            max_json_values: 1_000_000,
            metrics: true,
            request_timeout_secs: 60,
            header_timeout_secs: 10.0,
            write_timeout_secs: 60.0,
            shutdown_grace_secs: 30,
            busy_poll_us: 200,
            cors_allow_origins: Vec::new(),
        }
    }
}

/// The longest `busy_poll_us`: past this a sleeping thread wakes in time anyway.
const MAX_BUSY_POLL_US: u64 = 10_000;

/// The smallest `max_header_bytes`: one large cookie or authorization header.
const MIN_HEADER_BYTES: usize = 1024;
/// The largest: a head is buffered whole before it is parsed.
const MAX_HEADER_BYTES: usize = 1024 * 1024;

impl ServerConfig {
    /// (field path, what was expected) for the first field out of range.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let field = |name: &str, msg: String| Err((format!("server.{name}"), msg));
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            let msg = format!(
                "expected an address such as 127.0.0.1:8080, got {:?}",
                self.listen
            );
            return field("listen", msg);
        }
        for (name, v) in [
            ("max_body_bytes", self.max_body_bytes),
            ("max_messages", self.max_messages),
            ("max_tools", self.max_tools),
            ("max_json_values", self.max_json_values),
        ] {
            if v == 0 {
                return field(name, "expected a positive number".into());
            }
        }
        let h = self.max_header_bytes;
        if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&h) {
            let msg = format!(
                "expected a number of bytes from {MIN_HEADER_BYTES} to {MAX_HEADER_BYTES}, got {h}"
            );
            return field("max_header_bytes", msg);
        }
        if self.busy_poll_us > MAX_BUSY_POLL_US {
            let msg = format!(
                "expected microseconds from 0 to {MAX_BUSY_POLL_US}, got {}",
                self.busy_poll_us
            );
            return field("busy_poll_us", msg);
        }
        for (i, origin) in self.cors_allow_origins.iter().enumerate() {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let ok = origin == "*"
                || host.is_some_and(|h| {
                    !h.is_empty() && !h.contains('/') && http::HeaderValue::from_str(h).is_ok()
                });
            if !ok {
                let msg = format!(
                    "expected an origin such as https://app.example (scheme and host, no path) or \"*\", got {origin:?}"
                );
                return field(&format!("cors_allow_origins.{i}"), msg);
            }
        }
        if self.request_timeout_secs == 0 {
            return field(
                "request_timeout_secs",
                "expected a positive number of seconds".into(),
            );
        }
        for (name, t) in [
            ("header_timeout_secs", self.header_timeout_secs),
            ("write_timeout_secs", self.write_timeout_secs),
        ] {
            if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
                let msg = format!("expected a number of seconds above 0 and at most 3600, got {t}");
                return field(name, msg);
            }
        }
        Ok(())
    }

    /// What hyper itself buffers for a head: past `max_header_bytes`, so the
    /// gateway sees oversized heads and refuses them in the API's shape; only
    /// heads twice the limit are cut off by hyper with a bare 431.
    pub fn header_buffer_bytes(&self) -> usize {
        // hyper's own floor for the buffer.
        (2 * self.max_header_bytes).max(8192)
    }
}

#[cfg(test)]
mod tests {
    use super::ServerConfig;
    use crate::config::Config;

    #[test]
    fn the_readme_shows_the_defaults() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("### Limits on clients").unwrap()..];
        let block = section.split("```toml\n").nth(1).unwrap();
        let block = &block[..block.find("```").unwrap()];
        let shown = Config::from_toml_str(block).unwrap().server;
        assert_eq!(shown, ServerConfig::default());
    }

    #[test]
    fn limits_out_of_range_name_the_field() {
        for (text, field) in [
            ("max_messages = 0", "server.max_messages"),
            ("max_tools = 0", "server.max_tools"),
            ("max_json_values = 0", "server.max_json_values"),
            ("max_header_bytes = 100", "server.max_header_bytes"),
            ("max_header_bytes = 99999999", "server.max_header_bytes"),
            ("request_timeout_secs = 0", "server.request_timeout_secs"),
            ("write_timeout_secs = 0", "server.write_timeout_secs"),
            ("write_timeout_secs = nan", "server.write_timeout_secs"),
            ("header_timeout_secs = -1", "server.header_timeout_secs"),
            ("busy_poll_us = 10001", "server.busy_poll_us"),
            ("busy_poll_us = -1", "busy_poll_us"),
            ("max_tools = -1", "max_tools"),
            ("max_messages = \"many\"", "max_messages"),
        ] {
            let e = Config::from_toml_str(&format!("[server]\n{text}\n")).unwrap_err();
            assert!(e.message().contains(field), "{text}: {}", e.message());
        }
        let ok = Config::from_toml_str("[server]\nmax_messages = 5\nmax_tools = 2\nmax_header_bytes = 4096\nwrite_timeout_secs = 0.5\n").unwrap();
        assert_eq!((ok.server.max_messages, ok.server.max_tools), (5, 2));
        assert_eq!(ok.server.header_buffer_bytes(), 8192);
    }
}
