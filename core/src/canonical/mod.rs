//! The internal model every API shape is parsed into and rendered from.

pub mod content;
pub mod event;
pub mod reasoning;
pub mod request;
pub mod response;
pub mod responses;
pub mod retrieval;

pub use content::{document_header, ContentBlock, DocumentSource, ImageSource, PDF};
pub use event::{BlockStart, Delta, EventStream, StreamEvent};
pub use reasoning::Reasoning;
pub use request::{ChatRequest, Message, ResponseFormat, Role, Tool, ToolChoice};
pub use response::{ChatResponse, StopReason, Usage};
pub use responses::{
    ItemReference, ReasoningConfig, ResponsesRequest, REDACTED_PREFIX, TOOL_SEARCH,
};
pub use retrieval::{
    EmbeddingInput, EmbeddingsRequest, EmbeddingsResponse, RerankRequest, RerankResponse,
    RerankResult,
};
