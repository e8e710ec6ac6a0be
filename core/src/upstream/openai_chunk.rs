//! One streamed Chat Completions chunk as the gateway reads it: typed views
//! borrowing from the event's text, so a delta costs no `Value` tree. Fields
//! of an unexpected type read as absent (`lenient`).

use serde::Deserialize;
use serde_json::value::RawValue;

pub(super) use super::lenient::{Index, Text};
use super::openai_wire::WireUsage;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Chunk<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Where the upstream's model name sits in the event, to put the client's in.
    #[serde(borrow)]
    pub model: Option<&'a RawValue>,
    #[serde(borrow)]
    pub choices: Option<Vec<Choice<'a>>>,
    pub usage: Option<WireUsage>,
    #[serde(borrow)]
    pub error: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Choice<'a> {
    #[serde(borrow)]
    pub delta: Option<ChunkDelta<'a>>,
    #[serde(borrow)]
    pub finish_reason: Text<'a>,
    /// vLLM names the stop sequence that matched.
    #[serde(borrow)]
    pub stop_reason: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ChunkDelta<'a> {
    #[serde(borrow)]
    pub content: Text<'a>,
    #[serde(borrow)]
    pub refusal: Text<'a>,
    #[serde(borrow)]
    pub reasoning_content: Text<'a>,
    #[serde(borrow)]
    pub reasoning: Text<'a>,
    #[serde(borrow)]
    pub tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ToolCallDelta<'a> {
    pub index: Index,
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct FunctionDelta<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub arguments: Text<'a>,
}

impl<'a> Chunk<'a> {
    pub fn parse(data: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(data)
    }

    /// The first choice, if any.
    pub fn choice(&self) -> Option<&Choice<'a>> {
        self.choices.as_ref().and_then(|c| c.first())
    }

    /// The message of an `error` the upstream sent mid-stream.
    pub fn error_message(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct E {
            message: Option<String>,
        }
        let raw = self.error?;
        let message = serde_json::from_str::<E>(raw.get())
            .ok()
            .and_then(|e| e.message);
        Some(message.unwrap_or_else(|| "upstream error".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_needs_and_tolerates_odd_types() {
        let c = Chunk::parse(
            r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"a\"b","refusal":7,
            "tool_calls":[{"index":2,"id":"x","function":{"name":"f","arguments":"{}"}}]},
            "finish_reason":null,"stop_reason":{"x":[1]}}],"usage":null,"extra":[{"y":1}]}"#,
        )
        .unwrap();
        assert_eq!(c.id.get(), Some("c1"));
        assert_eq!(c.model.unwrap().get(), "\"m\"");
        let ch = c.choice().unwrap();
        let d = ch.delta.as_ref().unwrap();
        assert_eq!(d.content.get(), Some("a\"b"));
        assert_eq!(d.refusal.get(), None);
        assert_eq!(ch.finish_reason.get(), None);
        assert_eq!(ch.stop_reason.get(), None);
        let call = &d.tool_calls.as_ref().unwrap()[0];
        assert_eq!((call.index, call.id.get()), (Index(2), Some("x")));
        assert!(c.usage.is_none());
        assert!(Chunk::parse(r#"{"error":{"message":"boom"}}"#)
            .unwrap()
            .error_message()
            .unwrap()
            .contains("boom"));
    }
}
