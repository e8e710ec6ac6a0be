//! Request bodies to JSON values, and the limits on what one chat request may
//! carry. A body that does not parse is parsed a second time, with its path
//! tracked, only to name where it broke: the common case pays nothing extra.

use serde_json::Value;

use super::path::join;
use crate::config::ServerConfig;
use crate::{Error, Result};

/// How deep arrays and objects may nest: what serde_json's own recursion
/// limit (128) admits, which keeps a hostile body from exhausting the stack.
pub const MAX_DEPTH: usize = 127;

/// Path segments shown for a body that nests too deep (the rest is `...`).
const SHOWN_SEGMENTS: usize = 8;

/// Parses a request body; errors name the field where they can.
pub fn parse_body(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| describe(body, &e))
}

/// The error for a body that failed to parse with `e`.
fn describe(body: &[u8], e: &serde_json::Error) -> Error {
    let mut de = serde_json::Deserializer::from_slice(body);
    let (path, truncated) = match serde_path_to_error::deserialize::<_, Value>(&mut de) {
        Err(traced) => dotted(traced.path()),
        Ok(_) => (String::new(), false),
    };
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        let shown = if truncated {
            format!("{path}...")
        } else {
            path.clone()
        };
        return Error::invalid_field(
            path,
            format!("arrays and objects nest deeper than the limit of {MAX_DEPTH} levels (at {shown}, {})", position(e)),
        );
    }
    if text.starts_with("number out of range") {
        return Error::invalid_field(
            path,
            format!(
                "number out of range: JSON numbers must fit a 64-bit float ({})",
                position(e)
            ),
        );
    }
    let near = if path.is_empty() {
        String::new()
    } else {
        format!(" (in {path})")
    };
    Error::invalid(format!("request body is not valid JSON: {e}{near}"))
}

fn position(e: &serde_json::Error) -> String {
    format!("line {} column {}", e.line(), e.column())
}

/// A serde path as the gateway names fields (`messages.2.content`), at most
/// `SHOWN_SEGMENTS` long; the flag says whether it was cut.
fn dotted(path: &serde_path_to_error::Path) -> (String, bool) {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for (count, segment) in path.iter().enumerate() {
        if count == SHOWN_SEGMENTS {
            return (out, true);
        }
        out = match segment {
            Segment::Seq { index } => join(&out, index),
            Segment::Map { key } => join(&out, key),
            Segment::Enum { variant } => join(&out, variant),
            Segment::Unknown => join(&out, "?"),
        };
    }
    (out, false)
}

/// Refuses a chat request with more messages or tools than the server takes:
/// a 400 naming the field, its count and the setting.
pub fn check_counts(body: &Value, server: &ServerConfig) -> Result<()> {
    for (field, limit, setting) in [
        ("messages", server.max_messages, "server.max_messages"),
        ("tools", server.max_tools, "server.max_tools"),
    ] {
        let n = body
            .get(field)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n > limit {
            return Err(Error::invalid_field(
                field,
                format!("{n} given, more than the limit of {limit} ({setting})"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_numbers_name_the_field() {
        let e = parse_body(br#"{"model": "m", "messages": [{"role": "user", "n": 1e400}]}"#)
            .unwrap_err();
        assert_eq!(e.param(), Some("messages.0.n"));
        assert!(
            e.message().starts_with("messages.0.n: number out of range"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn deep_nesting_names_the_limit_and_where() {
        let deep = format!("{{\"tools\": [{}1{}]}}", "[".repeat(500), "]".repeat(500));
        let e = parse_body(deep.as_bytes()).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("tools.0.0.0.0.0.0.0"));
        assert!(
            e.message().contains("deeper than the limit of 127 levels"),
            "{}",
            e.message()
        );
        // Just inside the limit parses.
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_body(fits.as_bytes()).is_ok());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse_body(over.as_bytes()).is_err());
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse_body(br#"{"messages": [{"role": "us"#).unwrap_err();
        assert_eq!(e.param(), None);
        assert!(
            e.message()
                .starts_with("request body is not valid JSON: EOF"),
            "{}",
            e.message()
        );
        assert!(
            e.message().ends_with("(in messages.0.role)"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn counts_over_the_limit_name_the_field_and_setting() {
        let server = ServerConfig {
            max_messages: 2,
            max_tools: 1,
            ..ServerConfig::default()
        };
        let body = serde_json::json!({"messages": [1, 2, 3], "tools": []});
        let e = check_counts(&body, &server).unwrap_err();
        assert_eq!(e.param(), Some("messages"));
        assert_eq!(
            e.message(),
            "messages: 3 given, more than the limit of 2 (server.max_messages)"
        );
        let body = serde_json::json!({"messages": [1], "tools": [1, 2]});
        let e = check_counts(&body, &server).unwrap_err();
        assert!(e.message().contains("server.max_tools"), "{}", e.message());
        assert!(check_counts(&serde_json::json!({"messages": [1, 2]}), &server).is_ok());
    }
}
