//! The canonical model rendered into each API shape.

pub mod anthropic;
pub mod extras;
pub mod headers;
pub mod openai;

/// One server-sent event: `event: NAME` (Anthropic) or none (OpenAI), and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct SseFrame {
    pub event: Option<&'static str>,
    pub data: String,
}

impl SseFrame {
    /// Appends the wire form (`event: x\ndata: y\n\n`) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(event) = self.event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(event.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(self.data.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
}

/// The message id in a shape's own prefix, keeping the unique part.
pub fn reprefix_id(id: &str, prefix: &str) -> String {
    let core = id
        .strip_prefix("msg_")
        .or_else(|| id.strip_prefix("chatcmpl-"))
        .unwrap_or(id);
    format!("{prefix}{core}")
}
