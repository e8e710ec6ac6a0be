//! A client speaking its upstream's own API (Chat Completions at an `openai`
//! upstream, Messages at an `anthropic` one): the upstream's events go to the
//! client as they came (forwarded.rs), read here only for what the
//! gateway must know (usage, the end, an error).

use super::anthropic::EventTranslator;
use super::openai_stream::ChunkTranslator;
use futures::StreamExt;

use super::sse::{first_batch, SseBatches, Translate};
use crate::canonical::StreamEvent;
use crate::Result;

/// A forwarded stream: its events (the first already arrived) and their reader.
pub struct Forwarded {
    pub batches: SseBatches,
    pub reader: Reader,
}

/// Each kind's reading of its own events into canonical ones, for the meter.
#[derive(Clone)]
pub enum Reader {
    OpenAi(ChunkTranslator),
    Anthropic(EventTranslator),
}

impl Forwarded {
    /// The stream, unless its first event is an error or no event at all: then
    /// the call failed before anything reached the client (the next upstream
    /// is tried, the client gets a status), as a translated stream's does.
    pub async fn checked(batches: SseBatches, reader: Reader) -> Result<Self> {
        let mut batches = first_batch(batches).await?;
        let mut head = Vec::new();
        if let Some(Ok(first)) = batches.next().await {
            if let Some(ev) = first.first() {
                let mut read = Vec::new();
                reader.clone().frame(&ev.data, &mut read);
                if let Some(StreamEvent::Error(e)) = read.into_iter().next() {
                    return Err(e);
                }
            }
            head = first;
        }
        Ok(Forwarded {
            batches: Box::pin(futures::stream::once(async { Ok(head) }).chain(batches)),
            reader,
        })
    }
}

impl Reader {
    /// The canonical events of one event's `data`; true once the answer is over.
    pub fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool {
        match self {
            Reader::OpenAi(t) => t.frame(data, out),
            Reader::Anthropic(t) => Translate::frame(t, data, out),
        }
    }

    /// The body ended before the answer said it was over.
    pub fn end(&mut self, out: &mut Vec<StreamEvent>) {
        match self {
            Reader::OpenAi(t) => t.end(out),
            Reader::Anthropic(t) => Translate::end(t, out),
        }
    }

    /// Whether the event just read held only the usage: OpenAI's last chunk,
    /// which the gateway asks for and a client that did not gets none of.
    pub fn only_usage(&self) -> bool {
        match self {
            Reader::OpenAi(t) => t.only_usage(),
            Reader::Anthropic(_) => false,
        }
    }
}
