//! Bytes to server-sent events: the only SSE decoder. Frames may arrive split
//! across network chunks at any byte, CRLF or LF line endings.

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::canonical::{EventStream, StreamEvent};
use crate::{Error, ErrorKind, Result};

/// The most one event (its lines not yet complete and its `data` so far) may
/// hold: an upstream that never ends a line or an event is cut off instead of
/// filling memory.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// The events of a response body as its chunks arrive: one batch per chunk (the
/// events it completed), the rest when the body ends; a body error ends the stream.
pub fn events(
    chunks: impl Stream<Item = Result<Bytes>> + Send + 'static,
) -> impl Stream<Item = Result<Vec<SseEvent>>> + Send {
    async_stream::stream! {
        let mut chunks = Box::pin(chunks);
        let mut decoder = SseDecoder::new();
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(bytes) => {
                    let mut batch = Vec::new();
                    decoder.feed(&bytes, &mut batch);
                    if !batch.is_empty() {
                        yield Ok(batch);
                    }
                    if decoder.pending_bytes() > MAX_EVENT_BYTES {
                        yield Err(Error::new(
                            ErrorKind::Upstream,
                            format!("the upstream sent an event over {MAX_EVENT_BYTES} bytes"),
                        ));
                        return;
                    }
                }
                Err(e) => {
                    yield Err(e);
                    return;
                }
            }
        }
        let mut rest = Vec::new();
        decoder.finish(&mut rest);
        if !rest.is_empty() {
            yield Ok(rest);
        }
    }
}

/// A streamed answer's events, in the batches they arrived in.
pub type SseBatches = std::pin::Pin<Box<dyn Stream<Item = Result<Vec<SseEvent>>> + Send>>;

/// `batches` once its first batch has arrived: a stream that fails or ends
/// before it is a failed call (the next upstream is tried), not a 200 that
/// breaks at once.
pub async fn first_batch(mut batches: SseBatches) -> Result<SseBatches> {
    match batches.next().await {
        Some(Ok(first)) => Ok(Box::pin(
            futures::stream::once(async { Ok(first) }).chain(batches),
        )),
        Some(Err(e)) => Err(e),
        None => Err(Error::new(
            ErrorKind::Upstream,
            "the upstream ended the stream before sending anything",
        )),
    }
}

/// An upstream kind's reading of its events' data, one event at a time.
pub trait Translate: Send + 'static {
    /// The canonical events of one event's `data`; true once the answer is over.
    fn frame(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> bool;
    /// The body ended before the answer said it was over.
    fn end(&mut self, _out: &mut Vec<StreamEvent>) {}
}

/// The decoded events of a streamed answer → canonical events as they arrive,
/// ending when `t` says the answer is over, at the first error, or with the body.
pub fn translated(
    batches: impl Stream<Item = Result<Vec<SseEvent>>> + Send + 'static,
    mut t: impl Translate,
) -> EventStream {
    let mut batches = Box::pin(batches);
    Box::pin(async_stream::stream! {
        let mut out = Vec::new();
        while let Some(batch) = batches.next().await {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    yield StreamEvent::Error(e);
                    return;
                }
            };
            for frame in batch {
                let done = t.frame(&frame.data, &mut out);
                for ev in out.drain(..) {
                    yield ev;
                }
                if done {
                    return;
                }
            }
        }
        t.end(&mut out);
        for ev in out.drain(..) {
            yield ev;
        }
    })
}

/// One decoded event: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes, appending every completed event to `out`. Lines are read
    /// where they lie; only an unfinished line is kept for the next chunk.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.buf.is_empty() {
            let used = self.lines(bytes, out);
            self.buf.extend_from_slice(&bytes[used..]);
        } else {
            let mut held = std::mem::take(&mut self.buf);
            held.extend_from_slice(bytes);
            let used = self.lines(&held, out);
            held.drain(..used);
            self.buf = held;
        }
    }

    /// Reads the complete lines of `input`; returns how many bytes they took.
    fn lines(&mut self, input: &[u8], out: &mut Vec<SseEvent>) -> usize {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', input) {
            let line_end = if end > start && input[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let line = &input[start..line_end];
            match std::str::from_utf8(line) {
                Ok(text) => self.line(text, out),
                Err(_) => self.line(&String::from_utf8_lossy(line), out),
            }
            start = end + 1;
        }
        start
    }

    /// Bytes held for the event being decoded.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() + self.data.as_ref().map_or(0, String::len)
    }

    /// Ends the input: a last event without its blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.buf.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            self.line(rest.trim_end_matches('\r'), out);
        }
        self.line("", out);
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_that_never_ends_is_cut_off() {
        let line = Bytes::from(vec![b'x'; 1 << 20]);
        let endless = futures::stream::iter(
            std::iter::once(Ok(Bytes::from_static(b"data: ")))
                .chain(std::iter::repeat_with(move || Ok(line.clone())).take(64)),
        );
        let out: Vec<_> = events(endless).collect().await;
        let [Err(e)] = out.as_slice() else {
            panic!("expected one error, got {out:?}")
        };
        assert_eq!(e.kind(), ErrorKind::Upstream);
        assert!(e.message().contains("over"), "{}", e.message());
    }

    #[test]
    fn split_anywhere_and_crlf() {
        let wire = b"event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\ndata: x\ndata: y\n\ndata: [DONE]";
        for cut in 0..wire.len() {
            let mut d = SseDecoder::new();
            let mut out = Vec::new();
            d.feed(&wire[..cut], &mut out);
            d.feed(&wire[cut..], &mut out);
            d.finish(&mut out);
            assert_eq!(
                out,
                vec![
                    SseEvent {
                        event: Some("message_start".into()),
                        data: "{\"a\":1}".into()
                    },
                    SseEvent {
                        event: None,
                        data: "x\ny".into()
                    },
                    SseEvent {
                        event: None,
                        data: "[DONE]".into()
                    },
                ],
                "cut at {cut}"
            );
        }
    }
}
