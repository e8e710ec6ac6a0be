//! Request bodies to JSON values under the limits of `[server]`: nesting,
//! values in all, messages and tools. A body that does not parse is parsed a
//! second time, with its path tracked, only to name where it broke: the
//! common case pays nothing extra.

use serde::de::DeserializeSeed;
use serde_json::Value;

use super::budget::Budget;
use super::path::join;
use crate::config::ServerConfig;
use crate::{Error, Result};

/// How deep arrays and objects may nest: what serde_json's own recursion
/// limit (128) admits, which keeps a hostile body from exhausting the stack.
pub const MAX_DEPTH: usize = 127;

/// Path segments shown for a body that nests too deep (the rest is `...`).
const SHOWN_SEGMENTS: usize = 8;

/// Parses a request body; errors name the field (or the limit) where they can.
pub fn parse_body(body: &[u8], server: &ServerConfig) -> Result<Value> {
    let budget = Budget::new(server);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = budget.root().deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    parsed.map_err(|e| budget.refusal().unwrap_or_else(|| describe(body, &e)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> Result<Value> {
        parse_body(body, &ServerConfig::default())
    }

    #[test]
    fn out_of_range_numbers_name_the_field() {
        let e =
            parse(br#"{"model": "m", "messages": [{"role": "user", "n": 1e400}]}"#).unwrap_err();
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
        let e = parse(deep.as_bytes()).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.param(), Some("tools.0.0.0.0.0.0.0"));
        assert!(
            e.message().contains("deeper than the limit of 127 levels"),
            "{}",
            e.message()
        );
        // Just inside the limit parses.
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(fits.as_bytes()).is_ok());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(over.as_bytes()).is_err());
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse(br#"{"messages": [{"role": "us"#).unwrap_err();
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
    fn the_same_value_as_serde_json() {
        let claude_code = include_str!(
            "../../tests/fixtures/anthropic/claude-code-2.1.328-messages-request.json"
        );
        let odd = r#"{"a": [1, -2, 3.5, 1e300, 18446744073709551615, -9223372036854775808, true, null,
            "\u00e9\ud83d\ude00\n", {}, []], "a": "last wins", "b": {"c": [[[]]]}}"#;
        for text in [claude_code, odd, "[]", "\"x\"", "0", " null "] {
            let ours = parse(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs);
            assert_eq!(ours.to_string(), theirs.to_string());
        }
    }

    #[test]
    fn counts_past_the_limits_stop_the_parse_naming_field_and_setting() {
        let server = ServerConfig {
            max_messages: 2,
            max_tools: 1,
            max_json_values: 50,
            ..ServerConfig::default()
        };
        let e = parse_body(br#"{"messages": [1, 2, 3]}"#, &server).unwrap_err();
        assert_eq!(e.param(), Some("messages"));
        assert_eq!(
            e.message(),
            "messages: more than the limit of 2 (server.max_messages)"
        );
        let e = parse_body(br#"{"tools": [{}, {}], "messages": []}"#, &server).unwrap_err();
        assert!(
            e.message()
                .starts_with("tools: more than the limit of 1 (server.max_tools)"),
            "{}",
            e.message()
        );
        // Only the top-level fields are capped.
        assert!(parse_body(
            br#"{"metadata": {"messages": [1, 2, 3]}, "messages": [1, 2]}"#,
            &server
        )
        .is_ok());
        let many = format!("[{}]", vec!["[]"; 60].join(","));
        let e = parse_body(many.as_bytes(), &server).unwrap_err();
        assert_eq!(e.param(), None);
        assert!(
            e.message().contains("more than 50 JSON values")
                && e.message().contains("server.max_json_values"),
            "{}",
            e.message()
        );
        // Trailing garbage is still an error.
        assert!(parse_body(b"{} x", &server).is_err());
    }
}
