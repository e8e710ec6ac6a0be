//! The built-in `echo` upstream: answers deterministically without network. It
//! echoes the last user text, quotes tool results, and calls a tool only when the
//! user names it (or `tool_choice` forces one).

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Map, Value};

use crate::canonical::{
    BlockStart, ChatRequest, ChatResponse, ContentBlock, Delta, DocumentSource, EventStream, Role,
    StopReason, StreamEvent, Tool, ToolChoice, Usage,
};
use crate::tokens::{estimate_request, estimate_text};

/// Characters per streamed text delta; a short answer still comes in several.
const DELTA_CHARS: usize = 24;

#[derive(Debug, Clone, Default)]
pub struct EchoUpstream {
    /// Pace streams at the profile's tokens per second.
    pub simulate_speed: bool,
}

/// What the echo decided to answer, before it is shaped as a response or a stream.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    block: ContentBlock,
    stop_reason: StopReason,
    stop_sequence: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
}

impl EchoUpstream {
    pub fn complete(&self, req: &ChatRequest) -> ChatResponse {
        let a = answer(req);
        ChatResponse {
            id: new_message_id(),
            content: vec![a.block],
            stop_reason: Some(a.stop_reason),
            stop_sequence: a.stop_sequence,
            usage: Usage {
                input_tokens: a.input_tokens,
                output_tokens: a.output_tokens,
                ..Usage::default()
            },
        }
    }

    /// The same answer as `complete`, as events in several deltas.
    pub fn stream(&self, req: &ChatRequest, tokens_per_second: u32) -> EventStream {
        let a = answer(req);
        let id = new_message_id();
        let (start, deltas) = match &a.block {
            ContentBlock::ToolUse {
                id, name, input, ..
            } => (
                BlockStart::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                },
                split(&input.to_string(), DELTA_CHARS)
                    .into_iter()
                    .map(Delta::ToolArgs)
                    .collect::<Vec<_>>(),
            ),
            other => (
                BlockStart::Text,
                split(&other.plain_text(), DELTA_CHARS)
                    .into_iter()
                    .map(Delta::Text)
                    .collect(),
            ),
        };
        let input_usage = Usage {
            input_tokens: a.input_tokens,
            ..Usage::default()
        };
        let mut events = vec![
            StreamEvent::MessageStart {
                id,
                usage: input_usage,
            },
            StreamEvent::BlockStart {
                index: 0,
                block: start,
            },
            StreamEvent::Ping,
        ];
        let first_delta = events.len();
        events.extend(
            deltas
                .into_iter()
                .map(|delta| StreamEvent::BlockDelta { index: 0, delta }),
        );
        events.push(StreamEvent::BlockStop { index: 0 });
        events.push(StreamEvent::MessageDelta {
            stop_reason: Some(a.stop_reason),
            stop_sequence: a.stop_sequence,
            usage: Usage {
                output_tokens: a.output_tokens,
                ..input_usage
            },
        });
        events.push(StreamEvent::MessageStop);

        if !self.simulate_speed || tokens_per_second == 0 {
            return futures::stream::iter(events).boxed();
        }
        let tps = f64::from(tokens_per_second);
        futures::stream::iter(events.into_iter().enumerate())
            .then(move |(i, ev)| async move {
                if i >= first_delta {
                    if let StreamEvent::BlockDelta {
                        delta: Delta::Text(t) | Delta::ToolArgs(t),
                        ..
                    } = &ev
                    {
                        let secs = estimate_text(t) as f64 / tps;
                        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                    }
                }
                ev
            })
            .boxed()
    }
}

fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Splits text into pieces of about `n` characters, cutting after whitespace
/// where it can; never splits a character. Empty text gives no piece.
fn split(text: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut count = 0;
    for ch in text.chars() {
        cur.push(ch);
        count += 1;
        if count >= n && (ch.is_whitespace() || count >= 2 * n) {
            out.push(std::mem::take(&mut cur));
            count = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // Short answers still arrive in more than one delta, as real streams do.
    if out.len() == 1 && out[0].chars().count() > 1 {
        let s = out.remove(0);
        let mid = s
            .char_indices()
            .nth(s.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        out.push(s[..mid].to_string());
        out.push(s[mid..].to_string());
    }
    out
}

/// A block Claude Code adds to a user turn for the model, not typed by the user.
fn is_reminder(text: &str) -> bool {
    text.trim_start().starts_with("<system-reminder>")
}

fn answer(req: &ChatRequest) -> Answer {
    let input_tokens = estimate_request(req);
    let last = req
        .messages
        .last()
        .filter(|m| m.role == Role::User)
        .or_else(|| req.last_user());
    // The user's own words: the turn's text blocks but `<system-reminder>`s
    // (Claude Code puts several before the prompt).
    let own =
        |b: &&ContentBlock| matches!(b, ContentBlock::Text { text, .. } if !is_reminder(text));
    let user_text = last.map(|m| said(&m.content)).unwrap_or_default();
    // Tools are matched against the last of those words only: clients such
    // as Claude Code put reminders naming every tool in other blocks.
    let ask = last
        .and_then(|m| m.content.iter().rev().find(own))
        .map(ContentBlock::plain_text)
        .unwrap_or_default();
    let results: Vec<String> = last
        .map(|m| {
            m.content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        is_error,
                        content,
                        ..
                    } => Some(format!(
                        "Tool {} {tool_use_id} returned: {}",
                        if *is_error { "error from" } else { "result" },
                        said(content)
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();

    if results.is_empty() {
        if let Some(tool) = chosen_tool(req, &ask) {
            let input = arguments_for(tool, &ask);
            let output_tokens = estimate_text(&tool.name) + estimate_text(&input.to_string());
            return Answer {
                block: ContentBlock::ToolUse {
                    id: format!("toolu_{}", &uuid::Uuid::new_v4().simple().to_string()[..24]),
                    name: tool.name.clone(),
                    input,
                    cache_control: None,
                },
                stop_reason: StopReason::ToolUse,
                stop_sequence: None,
                input_tokens,
                output_tokens,
            };
        }
    }

    let mut text = if results.is_empty() {
        user_text
    } else if user_text.is_empty() {
        results.join("\n")
    } else {
        format!("{}\n{user_text}", results.join("\n"))
    };
    let mut stop_reason = StopReason::EndTurn;
    let mut stop_sequence = None;
    if let Some((pos, seq)) = req
        .stop_sequences
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|p| (p, s)))
        .min_by_key(|(p, _)| *p)
    {
        text.truncate(pos);
        stop_reason = StopReason::StopSequence;
        stop_sequence = Some(seq.clone());
    }
    if let Some(max) = req.max_tokens {
        if estimate_text(&text) > u64::from(max) {
            text = text.chars().take(max as usize * 4).collect();
            stop_reason = StopReason::MaxTokens;
            stop_sequence = None;
        }
    }
    Answer {
        output_tokens: estimate_text(&text),
        block: ContentBlock::text(text),
        stop_reason,
        stop_sequence,
        input_tokens,
    }
}

/// The text of `blocks`, a line each; documents it cannot read are
/// acknowledged where they stand.
/// What the user said in `blocks`: its own text (no `<system-reminder>`),
/// and a line for each document it cannot read.
fn said(blocks: &[ContentBlock]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text, .. } if !is_reminder(text) => Some(text.clone()),
            ContentBlock::Document { source, title, .. } => {
                let name = match (title, source) {
                    (Some(t), _) => t.as_str(),
                    (None, DocumentSource::Base64 { media_type, .. }) => media_type.as_str(),
                    (None, DocumentSource::Url { url, .. }) => url.as_str(),
                };
                Some(format!("Received a document ({name})."))
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The tool to call: the one `tool_choice` forces, else one the user's text names.
fn chosen_tool<'a>(req: &'a ChatRequest, user_text: &str) -> Option<&'a Tool> {
    let named = || {
        let lower = user_text.to_lowercase();
        req.tools.iter().find(|t| {
            contains_word(&lower, &t.name.to_lowercase())
                || name_words(&t.name).iter().any(|w| contains_word(&lower, w))
        })
    };
    match &req.tool_choice {
        Some(ToolChoice::None) => None,
        Some(ToolChoice::Tool(name)) => req.tools.iter().find(|t| &t.name == name),
        Some(ToolChoice::Any) => named().or_else(|| req.tools.first()),
        Some(ToolChoice::Auto) | None => named(),
    }
}

/// The words of a tool name, split at `_`, `-` and case changes, lower-cased,
/// keeping those of at least 4 letters.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        let boundary =
            ch == '_' || ch == '-' || !ch.is_alphanumeric() || (ch.is_uppercase() && prev_lower);
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        if ch.is_alphanumeric() {
            cur.extend(ch.to_lowercase());
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words.retain(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 4);
    words
}

/// Whether `word` occurs in `text` with no letter or digit right before or after it.
fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Arguments with a value for each required property, by its schema type.
fn arguments_for(tool: &Tool, user_text: &str) -> Value {
    let props = tool
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    let required = tool.input_schema.get("required").and_then(Value::as_array);
    let mut args = Map::new();
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let schema = props
            .and_then(|p| p.get(name))
            .cloned()
            .unwrap_or(Value::Null);
        args.insert(name.to_string(), value_for(&schema, user_text));
    }
    Value::Object(args)
}

fn value_for(schema: &Value, user_text: &str) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        Some(Value::String(t)) => t.as_str(),
        _ => "string",
    };
    match ty {
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0)),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ => json!(subject_of(user_text)),
    }
}

/// A plausible string argument: the last capitalised word after the first
/// ("Paris" in "What's the weather in Paris?"), else the whole text.
fn subject_of(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .last()
        .map_or_else(|| text.trim().to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Message;

    fn weather_tool() -> Tool {
        Tool {
            name: "get_weather".into(),
            description: None,
            input_schema: json!({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}),
            cache_control: None,
        }
    }

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    #[test]
    fn echoes_last_user_text() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(user("Hello there"));
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.content, vec![ContentBlock::text("Hello there")]);
        assert_eq!(r.stop_reason, Some(StopReason::EndTurn));
        assert_eq!(r.usage.input_tokens, 3);
        assert_eq!(r.usage.output_tokens, 3);
    }

    #[test]
    fn echoes_the_users_own_words_not_reminders() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(Message {
            role: Role::User,
            content: vec![
                ContentBlock::text("<system-reminder>\nSkills: Bash, Read\n</system-reminder>"),
                ContentBlock::text("Say hi"),
                ContentBlock::text("  <system-reminder>today is Tuesday</system-reminder>"),
            ],
        });
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.content, vec![ContentBlock::text("Say hi")]);
    }

    #[test]
    fn calls_named_tool_with_required_arguments() {
        let mut req = ChatRequest::new("dragon");
        req.tools.push(weather_tool());
        req.messages.push(user("What's the weather in Paris?"));
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.stop_reason, Some(StopReason::ToolUse));
        match &r.content[0] {
            ContentBlock::ToolUse {
                name, input, id, ..
            } => {
                assert_eq!(name, "get_weather");
                assert_eq!(input, &json!({"city": "Paris"}));
                assert!(id.starts_with("toolu_"));
            }
            other => panic!("expected a tool call, got {other:?}"),
        }
    }

    #[test]
    fn unnamed_tools_get_text_and_forced_tool_is_called() {
        let mut req = ChatRequest::new("dragon");
        req.tools.push(weather_tool());
        req.messages.push(user("say hello"));
        assert_eq!(
            EchoUpstream::default().complete(&req).stop_reason,
            Some(StopReason::EndTurn)
        );
        req.tool_choice = Some(ToolChoice::Tool("get_weather".into()));
        assert_eq!(
            EchoUpstream::default().complete(&req).stop_reason,
            Some(StopReason::ToolUse)
        );
        req.tool_choice = Some(ToolChoice::None);
        req.messages[0] = user("weather please");
        assert_eq!(
            EchoUpstream::default().complete(&req).stop_reason,
            Some(StopReason::EndTurn)
        );
    }

    #[test]
    fn words_need_boundaries() {
        assert_eq!(name_words("getWeatherNow"), vec!["weather"]);
        assert_eq!(name_words("Read"), vec!["read"]);
        assert!(!contains_word("already done", "read"));
        assert!(contains_word("please read it", "read"));
    }

    #[test]
    fn quotes_tool_results() {
        let mut req = ChatRequest::new("dragon");
        req.tools.push(weather_tool());
        req.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: vec![ContentBlock::text("sunny, 21C in weather land")],
                is_error: false,
                cache_control: None,
            }],
        });
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.stop_reason, Some(StopReason::EndTurn));
        assert_eq!(
            r.content[0].plain_text(),
            "Tool result toolu_1 returned: sunny, 21C in weather land"
        );
    }

    #[test]
    fn says_it_received_documents_also_in_tool_results() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(Message {
            role: Role::User,
            content: vec![
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_1".into(),
                    content: vec![ContentBlock::pdf("JVBE")],
                    is_error: false,
                    cache_control: None,
                },
                ContentBlock::Document {
                    source: DocumentSource::Url {
                        url: "https://x/a.pdf".into(),
                        field: "f".into(),
                    },
                    title: None,
                    context: None,
                    cache_control: None,
                },
            ],
        });
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(
            r.content[0].plain_text(),
            "Tool result toolu_1 returned: Received a document (application/pdf).\nReceived a document (https://x/a.pdf)."
        );
    }

    #[test]
    fn stop_sequence_and_max_tokens() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(user("one two STOP three"));
        req.stop_sequences = vec!["STOP".into()];
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.content[0].plain_text(), "one two ");
        assert_eq!(r.stop_reason, Some(StopReason::StopSequence));
        assert_eq!(r.stop_sequence.as_deref(), Some("STOP"));
        req.stop_sequences.clear();
        req.max_tokens = Some(1);
        let r = EchoUpstream::default().complete(&req);
        assert_eq!(r.content[0].plain_text(), "one ");
        assert_eq!(r.stop_reason, Some(StopReason::MaxTokens));
    }

    #[tokio::test]
    async fn streams_several_deltas_that_add_up() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(user("Hello there"));
        let events: Vec<_> = EchoUpstream::default().stream(&req, 0).collect().await;
        let texts: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::BlockDelta {
                    delta: Delta::Text(t),
                    ..
                } => Some(t.clone()),
                _ => None,
            })
            .collect();
        assert!(texts.len() >= 2);
        assert_eq!(texts.concat(), "Hello there");
        assert!(matches!(events[0], StreamEvent::MessageStart { .. }));
        assert_eq!(events.last(), Some(&StreamEvent::MessageStop));
    }

    #[tokio::test(start_paused = true)]
    async fn simulate_speed_paces_the_stream() {
        let mut req = ChatRequest::new("dragon");
        req.messages.push(user(&"word ".repeat(40)));
        let echo = EchoUpstream {
            simulate_speed: true,
        };
        let start = tokio::time::Instant::now();
        let _: Vec<_> = echo.stream(&req, 10).collect().await;
        // 200 characters are 50 tokens: five seconds at 10 tokens a second.
        assert!(
            start.elapsed() >= Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }
}
