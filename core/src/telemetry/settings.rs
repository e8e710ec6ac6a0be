//! What tracing runs with: the `[telemetry]` section and the standard
//! `OTEL_*` variables made into one set of settings. The file wins: a
//! variable only fills in what the file leaves unset (headers name by name).

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::config::{check_endpoint, TelemetryConfig};
use crate::{Error, Result};

/// Where OTLP/HTTP collectors listen by default (the OpenTelemetry default).
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
const TRACES_PATH: &str = "/v1/traces";
const DEFAULT_SERVICE_NAME: &str = "mws-gateway";

/// The variables read, in the order they are consulted.
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const TRACES_HEADERS_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub const HEADERS_VAR: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
pub const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";
const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// Tracing's settings, once it is on.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// Where spans are POSTed: the full `.../v1/traces` URL.
    pub traces_url: String,
    /// Sent with every export; values may be secrets (never logged or shown).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub sample_ratio: f64,
    pub service_name: String,
    pub export_interval: Duration,
    pub export_timeout: Duration,
    pub max_queue_spans: usize,
}

/// Without the header values: they may hold a collector's key.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Settings")
            .field("traces_url", &self.traces_url)
            .field("headers", &names)
            .field("sample_ratio", &self.sample_ratio)
            .field("service_name", &self.service_name)
            .field("export_interval", &self.export_interval)
            .field("export_timeout", &self.export_timeout)
            .field("max_queue_spans", &self.max_queue_spans)
            .finish()
    }
}

impl Settings {
    /// The settings of `cfg` completed from `env` (a variable's non-empty
    /// value); `None` when tracing is off.
    pub fn resolve(
        cfg: &TelemetryConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Settings>> {
        if cfg.enabled == Some(false) {
            return Ok(None);
        }
        let Some(traces_url) = traces_url(cfg, &env)? else {
            return Ok(None);
        };
        for var in PROTOCOL_VARS {
            if let Some(p) = env(var).filter(|p| p != "http/protobuf") {
                tracing::warn!(
                    variable = var,
                    protocol = %p,
                    "only OTLP over http/protobuf is built in: traces are sent with it"
                );
            }
        }
        let sample_ratio = match cfg.sample_ratio {
            Some(r) => r,
            None => env(SAMPLER_ARG_VAR).map_or(1.0, |arg| match arg.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    tracing::warn!(
                        variable = SAMPLER_ARG_VAR,
                        "not a ratio from 0 to 1: every trace is sampled"
                    );
                    1.0
                }
            }),
        };
        let service_name = cfg
            .service_name
            .clone()
            .or_else(|| env(SERVICE_NAME_VAR))
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.into());
        Ok(Some(Settings {
            traces_url,
            headers: headers(cfg, &env)?,
            sample_ratio,
            service_name,
            export_interval: Duration::from_millis(cfg.export_interval_ms),
            export_timeout: Duration::from_millis(cfg.export_timeout_ms),
            max_queue_spans: cfg.max_queue_spans,
        }))
    }
}

/// The file's endpoint, else the variables'; `None` is tracing off.
fn traces_url(
    cfg: &TelemetryConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    let (url, origin) = if let Some(base) = &cfg.otlp_endpoint {
        (
            with_traces_path(base),
            "telemetry.otlp_endpoint".to_string(),
        )
    } else if let Some(url) = env(TRACES_ENDPOINT_VAR) {
        (url, TRACES_ENDPOINT_VAR.to_string())
    } else if let Some(base) = env(ENDPOINT_VAR) {
        (with_traces_path(&base), ENDPOINT_VAR.to_string())
    } else if cfg.enabled == Some(true) {
        (
            with_traces_path(DEFAULT_ENDPOINT),
            "telemetry.enabled".into(),
        )
    } else {
        return Ok(None);
    };
    check_endpoint(&url).map_err(|msg| Error::invalid(format!("{origin}: {msg}")))?;
    Ok(Some(url))
}

/// A base URL with `/v1/traces` appended (unless it already ends so).
fn with_traces_path(base: &str) -> String {
    let base = base.trim_end_matches('/');
    match base.ends_with(TRACES_PATH) {
        true => base.to_string(),
        false => format!("{base}{TRACES_PATH}"),
    }
}

/// The collector's headers: the variable `headers_env` names, then
/// `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, then `OTEL_EXPORTER_OTLP_HEADERS`,
/// the first to name a header giving its value.
fn headers(
    cfg: &TelemetryConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut out: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut sources = Vec::new();
    if let Some(var) = &cfg.headers_env {
        let value = env(var).ok_or_else(|| {
            Error::invalid(format!(
                "telemetry.headers_env: the environment variable {var} is not set"
            ))
        })?;
        sources.push((var.as_str(), value));
    }
    for var in [TRACES_HEADERS_VAR, HEADERS_VAR] {
        if let Some(value) = env(var) {
            sources.push((var, value));
        }
    }
    for (var, list) in sources {
        for (name, value) in
            parse_header_list(&list).map_err(|what| Error::invalid(format!("{var}: {what}")))?
        {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, value));
            }
        }
    }
    Ok(out)
}

/// `k=v,k2=v2` with percent-encoded values, as `OTEL_EXPORTER_OTLP_HEADERS`
/// writes them. The error says which entry, never its value.
fn parse_header_list(list: &str) -> std::result::Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (i, entry) in list.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {} is not name=value", i + 1))?;
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| format!("entry {} does not start with a header name", i + 1))?;
        let value = HeaderValue::from_str(&percent_decode(v.trim()))
            .map_err(|_| format!("the value of {name} is not a header value"))?;
        out.push((name, value));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(toml: &str, vars: &[(&str, &str)]) -> Result<Option<Settings>> {
        let cfg = crate::Config::from_toml_str(&format!("[telemetry]\n{toml}"))?.telemetry;
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(&cfg, |k| vars.get(k).filter(|v| !v.is_empty()).cloned())
    }

    fn header<'a>(s: &'a Settings, name: &str) -> Option<&'a str> {
        s.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str().ok())
    }

    #[test]
    fn off_without_an_endpoint_or_when_disabled() {
        assert_eq!(resolve("", &[]).unwrap(), None);
        assert_eq!(resolve("sample_ratio = 0.5", &[]).unwrap(), None);
        let env = [(ENDPOINT_VAR, "http://collector:4318")];
        assert_eq!(resolve("enabled = false", &env).unwrap(), None);
        assert_eq!(
            resolve("otlp_endpoint = \"http://x:1\"\nenabled = false", &[]).unwrap(),
            None
        );
    }

    #[test]
    fn the_file_wins_and_the_variables_fill_in() {
        let s = resolve("", &[(ENDPOINT_VAR, "http://collector:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(s.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(
            (s.sample_ratio, s.service_name.as_str()),
            (1.0, "mws-gateway")
        );
        let env = [
            (ENDPOINT_VAR, "http://general:4318"),
            (TRACES_ENDPOINT_VAR, "http://traces:4318/custom/path"),
            (SERVICE_NAME_VAR, "from-env"),
            (SAMPLER_ARG_VAR, "0.25"),
        ];
        let s = resolve("", &env).unwrap().unwrap();
        assert_eq!(s.traces_url, "http://traces:4318/custom/path");
        assert_eq!(
            (s.sample_ratio, s.service_name.as_str()),
            (0.25, "from-env")
        );
        let s = resolve(
            "otlp_endpoint = \"http://file:4318\"\nsample_ratio = 0.5\nservice_name = \"gw\"",
            &env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.traces_url, "http://file:4318/v1/traces");
        assert_eq!((s.sample_ratio, s.service_name.as_str()), (0.5, "gw"));
        let s = resolve("otlp_endpoint = \"https://file/v1/traces\"", &[])
            .unwrap()
            .unwrap();
        assert_eq!(s.traces_url, "https://file/v1/traces");
        let s = resolve("enabled = true", &[]).unwrap().unwrap();
        assert_eq!(s.traces_url, "http://localhost:4318/v1/traces");
        let s = resolve("", &[(ENDPOINT_VAR, "http://c"), (SAMPLER_ARG_VAR, "lots")])
            .unwrap()
            .unwrap();
        assert_eq!(s.sample_ratio, 1.0);
    }

    #[test]
    fn headers_come_from_the_named_variable_first_then_the_standard_ones() {
        let env = [
            ("MWS_OTLP_HEADERS", "x-key=from%20file,x-only-file=1"),
            (TRACES_HEADERS_VAR, "x-key=traces, x-traces = 2"),
            (HEADERS_VAR, "x-key=general,x-traces=general,x-general=3"),
        ];
        let s = resolve(
            "otlp_endpoint = \"http://c\"\nheaders_env = \"MWS_OTLP_HEADERS\"",
            &env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(header(&s, "x-key"), Some("from file"));
        assert_eq!(header(&s, "x-only-file"), Some("1"));
        assert_eq!(header(&s, "x-traces"), Some("2"));
        assert_eq!(header(&s, "x-general"), Some("3"));
        assert_eq!(s.headers.len(), 4);
        assert!(!format!("{s:?}").contains("from file"));
    }

    #[test]
    fn bad_values_name_their_source_and_never_the_value() {
        let e = resolve(
            "headers_env = \"MWS_NOPE\"\notlp_endpoint = \"http://c\"",
            &[],
        )
        .unwrap_err();
        assert!(
            e.message().contains("telemetry.headers_env"),
            "{}",
            e.message()
        );
        let e = resolve(
            "otlp_endpoint = \"http://c\"",
            &[(HEADERS_VAR, "authorization=Bearer s3cret\u{7}x")],
        )
        .unwrap_err();
        assert!(e.message().contains(HEADERS_VAR), "{}", e.message());
        assert!(!e.message().contains("s3cret"), "{}", e.message());
        let e = resolve("", &[(ENDPOINT_VAR, "collector:4318")]).unwrap_err();
        assert!(e.message().contains(ENDPOINT_VAR), "{}", e.message());
        let e = resolve("", &[(HEADERS_VAR, "novalue"), (ENDPOINT_VAR, "http://c")]).unwrap_err();
        assert!(e.message().contains("entry 1"), "{}", e.message());
    }
}
