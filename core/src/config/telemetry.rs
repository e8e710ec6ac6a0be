//! The `[telemetry]` section: OpenTelemetry traces over OTLP (http/protobuf).
//! Off unless an endpoint is known, from this section or from the standard
//! `OTEL_EXPORTER_OTLP_*` variables; where both say something, this file wins
//! (`telemetry::settings` resolves the two).

use serde::Deserialize;

/// The largest `max_queue_spans`: past this a stalled collector costs more
/// memory than the traces are worth.
const MAX_QUEUE_SPANS: usize = 1 << 20;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `false` keeps tracing off whatever the environment says (a host whose
    /// own `OTEL_EXPORTER_OTLP_ENDPOINT` is not meant for the gateway);
    /// `true` turns it on, at `http://localhost:4318` when no endpoint is
    /// known. Unset: on exactly when an endpoint is known.
    pub enabled: Option<bool>,
    /// The collector's OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans go
    /// to `{otlp_endpoint}/v1/traces`. Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// (as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`); none of the
    /// three: tracing is off.
    pub otlp_endpoint: Option<String>,
    /// An environment variable holding headers for the collector as
    /// `k=v,k2=v2` (the format of `OTEL_EXPORTER_OTLP_HEADERS`, which is read
    /// too; on the same name this one wins). Secrets stay out of the file.
    pub headers_env: Option<String>,
    /// The share of traces started here that are recorded, 0 to 1 (a call
    /// whose client sent a `traceparent` follows that trace's sampled flag).
    /// Unset: `OTEL_TRACES_SAMPLER_ARG`, else 1.
    pub sample_ratio: Option<f64>,
    /// The `service.name` of the spans. Unset: `OTEL_SERVICE_NAME`, else `mws-gateway`.
    pub service_name: Option<String>,
    /// Finished spans wait at most this long before they are sent.
    pub export_interval_ms: u64,
    /// One export (its retries included) is given up after this long.
    pub export_timeout_ms: u64,
    /// Finished spans held for export; past this, spans are dropped (and
    /// counted in `mws_telemetry_spans_dropped_total`), never waited for.
    pub max_queue_spans: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: None,
            otlp_endpoint: None,
            headers_env: None,
            sample_ratio: None,
            service_name: None,
            export_interval_ms: 2000,
            export_timeout_ms: 10_000,
            max_queue_spans: 4096,
        }
    }
}

impl TelemetryConfig {
    /// (field path, what was expected) for the first field out of range.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let field = |name: &str, msg: String| Err((format!("telemetry.{name}"), msg));
        if let Some(url) = &self.otlp_endpoint {
            if let Err(msg) = check_endpoint(url) {
                return field("otlp_endpoint", msg);
            }
        }
        if let Some(r) = self.sample_ratio {
            if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
                return field(
                    "sample_ratio",
                    format!("expected a number from 0 to 1, got {r}"),
                );
            }
        }
        if self.headers_env.as_deref() == Some("") {
            return field("headers_env", "expected the name of a variable".into());
        }
        if self
            .service_name
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return field("service_name", "expected a non-empty name".into());
        }
        for (name, ms) in [
            ("export_interval_ms", self.export_interval_ms),
            ("export_timeout_ms", self.export_timeout_ms),
        ] {
            if !(1..=600_000).contains(&ms) {
                return field(
                    name,
                    format!("expected milliseconds from 1 to 600000, got {ms}"),
                );
            }
        }
        if !(1..=MAX_QUEUE_SPANS).contains(&self.max_queue_spans) {
            let msg = format!(
                "expected a number of spans from 1 to {MAX_QUEUE_SPANS}, got {}",
                self.max_queue_spans
            );
            return field("max_queue_spans", msg);
        }
        Ok(())
    }
}

/// An OTLP/HTTP URL: `http://` or `https://`, a host, one that parses.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let ok = url
        .parse::<http::Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https")))
        .is_some_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "expected a URL such as http://127.0.0.1:4318, got {url:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::TelemetryConfig;
    use crate::config::Config;

    #[test]
    fn the_design_example_parses_and_tracing_is_off_by_default() {
        let c = Config::from_toml_str(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"   # OTLP traces\nsample_ratio = 1.0\n",
        )
        .unwrap();
        assert_eq!(
            c.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(c.telemetry.sample_ratio, Some(1.0));
        assert_eq!(
            Config::from_toml_str("").unwrap().telemetry,
            TelemetryConfig::default()
        );
    }

    #[test]
    fn the_readme_shows_the_defaults() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("## Tracing (OpenTelemetry)").unwrap()..];
        let block = section.split("```toml\n").nth(1).unwrap();
        let block = &block[..block.find("```").unwrap()];
        let shown = Config::from_toml_str(block).unwrap().telemetry;
        let defaults = TelemetryConfig {
            enabled: shown.enabled,
            otlp_endpoint: shown.otlp_endpoint.clone(),
            headers_env: shown.headers_env.clone(),
            sample_ratio: shown.sample_ratio,
            service_name: shown.service_name.clone(),
            ..TelemetryConfig::default()
        };
        assert_eq!(shown, defaults);
    }

    #[test]
    fn fields_out_of_range_name_the_field() {
        for (text, field) in [
            (
                "otlp_endpoint = \"127.0.0.1:4318\"",
                "telemetry.otlp_endpoint",
            ),
            (
                "otlp_endpoint = \"grpc://x:4317\"",
                "telemetry.otlp_endpoint",
            ),
            ("otlp_endpoint = \"\"", "telemetry.otlp_endpoint"),
            ("sample_ratio = 1.5", "telemetry.sample_ratio"),
            ("sample_ratio = -0.1", "telemetry.sample_ratio"),
            ("sample_ratio = nan", "telemetry.sample_ratio"),
            ("headers_env = \"\"", "telemetry.headers_env"),
            ("service_name = \" \"", "telemetry.service_name"),
            ("export_interval_ms = 0", "telemetry.export_interval_ms"),
            ("export_timeout_ms = 600001", "telemetry.export_timeout_ms"),
            ("max_queue_spans = 0", "telemetry.max_queue_spans"),
            ("endpoint = \"http://x\"", "endpoint"),
        ] {
            let e = Config::from_toml_str(&format!("[telemetry]\n{text}\n")).unwrap_err();
            assert!(e.message().contains(field), "{text}: {}", e.message());
        }
    }
}
