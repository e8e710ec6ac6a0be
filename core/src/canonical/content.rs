//! Content blocks: the unit both APIs build messages from.

use serde_json::Value;

/// The media type of the documents every upstream kind reads.
pub const PDF: &str = "application/pdf";

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

/// Where a document's bytes are. Text documents are not documents here: the
/// ingress makes them text blocks, which every upstream takes.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentSource {
    /// Inline, as base64 (a PDF: the one kind every upstream reads).
    Base64 { media_type: String, data: String },
    /// A PDF the upstream fetches itself. `field` is where the client wrote
    /// it, so an upstream that takes only data names it in its 400.
    Url { url: String, field: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// `cache_control` is kept for Anthropic upstreams and dropped for others.
    Text {
        text: String,
        cache_control: Option<Value>,
    },
    Image {
        source: ImageSource,
        cache_control: Option<Value>,
    },
    /// An assistant's tool call; `id` passes through verbatim.
    ToolUse {
        id: String,
        name: String,
        input: Value,
        cache_control: Option<Value>,
    },
    /// A user's answer to a tool call. `content` holds text, image and document blocks.
    ToolResult {
        tool_use_id: String,
        content: Vec<ContentBlock>,
        is_error: bool,
        cache_control: Option<Value>,
    },
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    /// A document the model reads (a PDF).
    Document {
        source: DocumentSource,
        /// Anthropic `title`; the OpenAI APIs' `filename`.
        title: Option<String>,
        /// Anthropic `context`: said about the document, not part of it.
        context: Option<String>,
        cache_control: Option<Value>,
    },
    RedactedThinking {
        data: String,
    },
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text {
            text: text.into(),
            cache_control: None,
        }
    }

    /// A base64 PDF document with no title or context.
    pub fn pdf(data: impl Into<String>) -> Self {
        ContentBlock::Document {
            source: DocumentSource::Base64 {
                media_type: PDF.to_owned(),
                data: data.into(),
            },
            title: None,
            context: None,
            cache_control: None,
        }
    }

    /// The plain text of a text block, or of the text inside a tool result.
    pub fn plain_text(&self) -> String {
        match self {
            ContentBlock::Text { text, .. } => text.clone(),
            ContentBlock::ToolResult { content, .. } => content
                .iter()
                .map(ContentBlock::plain_text)
                .collect::<Vec<_>>()
                .join("\n"),
            ContentBlock::Thinking { thinking, .. } => thinking.clone(),
            _ => String::new(),
        }
    }
}

/// What heads a document given as text (a text document, or a PDF's context
/// for an upstream with no slot for it): its title and context, a line each.
pub fn document_header(title: Option<&str>, context: Option<&str>) -> Option<String> {
    let lines: Vec<String> = title
        .map(|t| format!("Document: {t}"))
        .into_iter()
        .chain(context.map(|c| format!("Context: {c}")))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
