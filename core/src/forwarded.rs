//! A stream forwarded to a client of its upstream's own API: each event goes
//! out as the upstream sent it (its fields, ids and event names kept, only the
//! model name made the client's), once the upstream's reader
//! (`upstream::forward`) has fed the meter. As a translated stream is, it is
//! settled before its last event goes out, and a stream cut short ends with
//! an error event of the client's API.

use futures::StreamExt;

use crate::call::{FrameStream, Shape, SseFrame};
use crate::canonical::StreamEvent;
use crate::egress::StreamRenderer;
use crate::meter::Meter;
use crate::upstream::sse::SseEvent;
use crate::upstream::Forwarded;
use crate::{Error, ErrorKind};

/// What the client's side of a forwarded stream needs to know.
pub(crate) struct Client {
    pub shape: Shape,
    /// The model the client asked for, which every event names.
    pub model: String,
    /// Whether a Chat Completions client asked for the usage chunk.
    pub include_usage: bool,
    /// Renders the gateway's own error events (the upstream broke off).
    pub errors: StreamRenderer,
}

pub(crate) fn stream(fwd: Forwarded, mut client: Client, mut meter: Meter) -> FrameStream {
    let Forwarded {
        mut batches,
        mut reader,
    } = fwd;
    let model = serde_json::to_string(&client.model).unwrap_or_default();
    Box::pin(async_stream::stream! {
        let mut read = Vec::new();
        let mut frames = Vec::new();
        loop {
            let broke = match batches.next().await {
                Some(Ok(batch)) => {
                    let mut failed = None;
                    for ev in batch {
                        let done = reader.frame(&ev.data, &mut read);
                        failed = observe(&mut meter, &mut read);
                        if failed.is_some() {
                            break;
                        }
                        let skip = !client.include_usage && reader.only_usage();
                        if done {
                            meter.settle().await;
                        }
                        if !skip {
                            yield frame_of(ev, client.shape, &model);
                        }
                        if done {
                            return;
                        }
                    }
                    match failed {
                        // An error the upstream sent, or an event that is not
                        // one: the client gets the gateway's error event, as
                        // from a translated stream, not what could not be read.
                        Some(e) => {
                            meter.settle().await;
                            client.errors.render(e, &mut frames);
                            for f in frames.drain(..) {
                                yield f;
                            }
                            return;
                        }
                        None => continue,
                    }
                }
                Some(Err(e)) => Some(e),
                None => {
                    reader.end(&mut read);
                    let finished = read.iter().any(|e| matches!(e, StreamEvent::MessageStop));
                    // An error of the reader's own is the one made below.
                    read.retain(|e| !matches!(e, StreamEvent::Error(_)));
                    observe(&mut meter, &mut read);
                    match finished {
                        true => None,
                        false => Some(Error::new(
                            ErrorKind::Upstream,
                            "the upstream stream ended before the message was complete",
                        )),
                    }
                }
            };
            match broke {
                // Finished without saying so (no `[DONE]`): ended as a translated stream ends.
                None => {
                    meter.settle().await;
                    if client.shape == Shape::OpenAi {
                        yield done_frame();
                    }
                }
                Some(e) => {
                    let e = StreamEvent::Error(e);
                    meter.observe(&e);
                    meter.settle().await;
                    client.errors.render(e, &mut frames);
                    for f in frames.drain(..) {
                        yield f;
                    }
                }
            }
            return;
        }
    })
}

/// Feeds the meter what the reader made of an event; an error it read is
/// handed back (already observed).
fn observe(meter: &mut Meter, read: &mut Vec<StreamEvent>) -> Option<StreamEvent> {
    let mut failed = None;
    for e in read.drain(..) {
        if failed.is_some() {
            continue;
        }
        meter.observe(&e);
        if matches!(e, StreamEvent::Error(_)) {
            failed = Some(e);
        }
    }
    failed
}

fn done_frame() -> SseFrame {
    SseFrame {
        event: None,
        data: "[DONE]".to_owned(),
    }
}

/// An upstream event as the client gets it.
fn frame_of(ev: SseEvent, shape: Shape, model: &str) -> SseFrame {
    let (event, names_model) = match shape {
        // Chat Completions events have no names; each chunk names the model.
        Shape::OpenAi | Shape::Responses => (None, true),
        Shape::Anthropic => {
            let event = ev.event.as_deref().and_then(anthropic_event);
            (event, event == Some("message_start"))
        }
    };
    let data = match names_model {
        true => with_model(ev.data, model),
        false => ev.data,
    };
    SseFrame { event, data }
}

/// The Messages API's event names (an unknown one goes without: its data
/// names its type, and the SDKs skip events they do not know).
fn anthropic_event(name: &str) -> Option<&'static str> {
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    ]
    .into_iter()
    .find(|n| *n == name)
}

/// `data` with the value of its first `"model"` key replaced by `model` (a
/// JSON string). The events that carry the key put it before anything nested.
fn with_model(data: String, model: &str) -> String {
    let Some((start, end)) = model_value(&data) else {
        return data;
    };
    if &data[start..end] == model {
        return data;
    }
    let mut out = String::with_capacity(data.len() + model.len());
    out.push_str(&data[..start]);
    out.push_str(model);
    out.push_str(&data[end..]);
    out
}

/// Where the string value of the first `"model"` key lies, quotes included.
/// A key starts after `{`, `,` or a space; text inside a string that reads
/// `"model"` starts with an escaped quote, so it is passed over.
fn model_value(data: &str) -> Option<(usize, usize)> {
    const KEY: &str = "\"model\"";
    let b = data.as_bytes();
    let skip_ws = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    FINDER.find_iter(b).find_map(|at| {
        let before = at.checked_sub(1).map(|i| b[i]);
        if !matches!(before, Some(b'{' | b',') | None)
            && !before.is_some_and(|c| c.is_ascii_whitespace())
        {
            return None;
        }
        let colon = skip_ws(at + KEY.len());
        (b.get(colon) == Some(&b':')).then_some(())?;
        let start = skip_ws(colon + 1);
        (b.get(start) == Some(&b'"')).then_some(())?;
        let mut i = start + 1;
        while let Some(&c) = b.get(i) {
            match c {
                b'\\' => i += 2,
                b'"' => return Some((start, i + 1)),
                _ => i += 1,
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_the_clients() {
        let m = "\"dragon\"";
        assert_eq!(
            with_model(r#"{"id":"c","model":"gpt-x","choices":[]}"#.into(), m),
            r#"{"id":"c","model":"dragon","choices":[]}"#
        );
        assert_eq!(
            with_model(r#"{"model" : "a\"b", "x":1}"#.into(), m),
            r#"{"model" : "dragon", "x":1}"#
        );
        // Text that mentions a model is inside a string: its quotes are escaped.
        let text = r#"{"delta":{"content":"say \"model\": \"x\""}}"#;
        assert_eq!(with_model(text.into(), m), text);
        let key = r#"{"a\"model":"x","model":"gpt-x"}"#;
        assert_eq!(
            with_model(key.into(), m),
            r#"{"a\"model":"x","model":"dragon"}"#
        );
        assert_eq!(
            with_model(r#"{"model":null}"#.into(), m),
            r#"{"model":null}"#
        );
    }

    #[test]
    fn anthropic_event_names_are_kept() {
        let ev = SseEvent {
            event: Some("message_start".into()),
            data: r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-x"}}"#.into(),
        };
        let f = frame_of(ev, Shape::Anthropic, "\"dragon\"");
        assert_eq!(f.event, Some("message_start"));
        assert!(f.data.contains(r#""model":"dragon""#));
        let ev = SseEvent {
            event: Some("content_block_delta".into()),
            data: r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"model\":\"x\""}}"#.into(),
        };
        let data = ev.data.clone();
        let f = frame_of(ev, Shape::Anthropic, "\"dragon\"");
        assert_eq!((f.event, f.data), (Some("content_block_delta"), data));
    }
}
