//! Streaming calls: through a callback (`mws_*_stream`, `mws_call_stream` by
//! the endpoint's name) or pulled one event at a time from an `mws_stream`
//! handle. Stopping early, either way, drops the core's stream, which cancels
//! the upstream request.

use std::ffi::{c_char, c_int, c_void, CString};
use std::pin::Pin;
use std::sync::Mutex;

use futures::{Stream, StreamExt};
use mws_core::Endpoint;
use mws_core::Shape;
use serde_json::Value;

use crate::args::{endpoint_arg, handle, json_arg, opt_out_arg, opt_str_arg, out_arg, str_arg};
use crate::calls::with_body;
use crate::failure::{Failure, FfiResult};
use crate::gateway::mws_gateway;
use crate::last_error::cstring_cut_at_nul;
use crate::panic::{guard, guard_or};
use crate::runtime::{block_on, drop_in_runtime};
use crate::status::mws_status;

type Events = Pin<Box<dyn Stream<Item = mws_core::Result<Value>> + Send>>;

/// Receives one event of a stream: `event_type` is the Anthropic event name
/// (`"message_start"`, `"content_block_delta"`, ..., `"error"`) for
/// `mws_messages_stream`, `"chunk"` for each OpenAI chunk of
/// `mws_chat_completions_stream` (`"error"` for a chunk that carries an
/// `error`), and the Responses event's `type` (`"response.created"`,
/// `"response.output_text.delta"`, ..., `"response.completed"`, `"error"`) for
/// `mws_call_stream` on `responses`; `data_json` is the event's JSON, exactly
/// as the HTTP stream's `data:` line (OpenAI and Responses streams end without
/// `[DONE]`); `user` is the pointer given to the call. Both strings are
/// borrowed: valid only during the callback.
///
/// Return 0 to go on, anything else to stop the stream (the upstream request
/// is cancelled). The callback runs on the thread that called the stream
/// function, outside the library's runtime, so it may call other `mws_`
/// functions; it must not unwind (C++ exceptions, longjmp) through the library.
#[expect(non_camel_case_types, reason = "the C name, as the header spells it")]
pub type mws_event_callback = Option<
    unsafe extern "C" fn(
        event_type: *const c_char,
        data_json: *const c_char,
        user: *mut c_void,
    ) -> c_int,
>;

/// An open stream of events, pulled with `mws_stream_next`. Opaque; made by
/// `mws_messages_stream_open`, `mws_chat_completions_stream_open` or
/// `mws_call_stream_open`, freed by `mws_stream_free`. Calls on one stream
/// from several threads are serialised.
#[expect(non_camel_case_types, reason = "the C name, as the header spells it")]
pub struct mws_stream {
    /// `None` once the stream has ended.
    events: Mutex<Option<Events>>,
    shape: Shape,
}

/// The event type and data C sees for one event.
fn event_of(v: &Value, shape: Shape) -> (CString, CString) {
    let event_type = mws_core::egress::event_name(shape, v);
    (
        cstring_cut_at_nul(event_type),
        cstring_cut_at_nul(&v.to_string()),
    )
}

/// Starts a stream; on a gateway error writes its body to `out_error_json`.
///
/// # Safety
/// The pointers follow the contract of the public functions below.
unsafe fn open(
    gateway: *const mws_gateway,
    endpoint: Endpoint,
    request_json: *const c_char,
    api_key: *const c_char,
    out_error_json: Option<&mut *mut c_char>,
) -> FfiResult<Events> {
    // SAFETY: the caller's contract for each pointer.
    let gw = unsafe { handle(gateway, "gateway") }?;
    // SAFETY: as above.
    let body = unsafe { json_arg(request_json, "request_json") }?;
    // SAFETY: as above.
    let key = unsafe { opt_str_arg(api_key, "api_key") }?;
    match block_on(gw.inner.stream(endpoint.clone(), &body, key))? {
        Ok(events) => Ok(Box::pin(events)),
        Err(e) => Err(with_body(
            out_error_json,
            Failure::shaped(e, endpoint.shape(false)),
        )),
    }
}

/// Runs a stream to its end (or until the callback says stop), calling `cb`
/// for each event. `endpoint` gives the endpoint from the call's arguments.
///
/// # Safety
/// The pointers follow the contract of the public functions below.
unsafe fn run_callback(
    gateway: *const mws_gateway,
    endpoint: impl FnOnce() -> FfiResult<Endpoint>,
    request_json: *const c_char,
    api_key: *const c_char,
    callback: mws_event_callback,
    user: *mut c_void,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let mut out_error = unsafe { opt_out_arg(out_error_json) };
        let endpoint = endpoint()?;
        let cb = callback.ok_or_else(|| Failure::argument("callback is NULL"))?;
        let shape = endpoint.shape(false);
        // SAFETY: as above.
        let mut events = unsafe {
            open(
                gateway,
                endpoint.clone(),
                request_json,
                api_key,
                out_error.as_deref_mut(),
            )
        }?;
        let outcome = loop {
            // One `block_on` per event, so the callback runs outside the
            // runtime and may itself call blocking `mws_` functions.
            let next = match block_on(events.next()) {
                Ok(next) => next,
                Err(f) => break Err(f),
            };
            match next {
                None => break Ok(()),
                Some(Ok(v)) => {
                    let (event_type, data) = event_of(&v, shape);
                    // SAFETY: `cb` is a C function of the documented signature;
                    // the strings live until it returns.
                    let stop = unsafe { cb(event_type.as_ptr(), data.as_ptr(), user) } != 0;
                    if stop {
                        break Ok(());
                    }
                }
                Some(Err(e)) => {
                    break Err(with_body(
                        out_error.as_deref_mut(),
                        Failure::shaped(e, shape),
                    ));
                }
            }
        };
        drop_in_runtime(events);
        outcome
    })
}

/// Streams a Messages request (`POST /v1/messages` with `stream: true`)
/// in-process: each Anthropic event, from `message_start` to `message_stop`.
///
/// `stream: true` need not be in the request. `api_key` is NULL to call as the
/// host itself (unmetered) or a key (authenticated, limited and charged as over
/// HTTP). `callback` gets each event with `user`; a non-zero return stops the
/// stream and cancels the upstream request, and the call then returns
/// `MWS_OK`. An error after the stream began arrives as an `"error"` event, as
/// over HTTP, and the call returns `MWS_OK`; an error before it began is the
/// returned status.
///
/// Ownership: the arguments are borrowed for the call. `out_error_json` may be
/// NULL; otherwise `*out_error_json` is set to NULL first, and on a gateway
/// error to the error body the HTTP endpoint would send, to be freed with
/// `mws_string_free`.
///
/// Threading: blocks the calling thread until the stream ends; the callback
/// runs on that thread, outside the library's runtime (it may call other
/// `mws_` functions). Safe from any number of threads.
///
/// # Safety
/// `gateway` is NULL or a live handle; the strings are NULL or NUL-terminated;
/// `callback` is NULL or a function of the `mws_event_callback` type;
/// `out_error_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_messages_stream(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    callback: mws_event_callback,
    user: *mut c_void,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `run_callback` needs.
    unsafe {
        run_callback(
            gateway,
            || Ok(Endpoint::Messages),
            request_json,
            api_key,
            callback,
            user,
            out_error_json,
        )
    }
}

/// Streams a Chat Completions request (`POST /v1/chat/completions` with
/// `stream: true`) in-process: each OpenAI chunk, without `[DONE]`.
///
/// Arguments, ownership, threading: as for `mws_messages_stream`.
///
/// # Safety
/// As for `mws_messages_stream`.
#[no_mangle]
pub unsafe extern "C" fn mws_chat_completions_stream(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    callback: mws_event_callback,
    user: *mut c_void,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `run_callback` needs.
    unsafe {
        run_callback(
            gateway,
            || Ok(Endpoint::ChatCompletions),
            request_json,
            api_key,
            callback,
            user,
            out_error_json,
        )
    }
}

/// The streaming endpoint C names: `messages`, `chat_completions` or
/// `responses`; any other name is a failure naming it.
///
/// # Safety
/// As for `endpoint_arg`.
unsafe fn streaming_endpoint_arg(name: *const c_char) -> FfiResult<Endpoint> {
    // SAFETY: the caller's contract.
    let text = unsafe { str_arg(name, "endpoint") }?;
    if Endpoint::ALL
        .iter()
        .any(|e| e.name() == text && !e.streams())
    {
        return Err(Failure::argument(format!(
            "the endpoint {text:?} does not stream"
        )));
    }
    // SAFETY: as above.
    unsafe { endpoint_arg(name, std::ptr::null()) }
}

/// Streams a request of any streaming endpoint in-process, by its name (as
/// `mws_call` names it): `messages` (the Anthropic events), `chat_completions`
/// (the OpenAI chunks) or `responses` (the Responses events, from
/// `response.created` to one `response.completed`, `response.incomplete` or
/// `response.failed`, each with its `sequence_number`; the callback's
/// `event_type` is the event's `type`). Another name, or an endpoint that does
/// not stream, is `MWS_INVALID_ARGUMENT` naming it.
///
/// An error after the stream began arrives as an `"error"` event (for
/// `responses`, followed by `response.failed`) and the call returns `MWS_OK`.
/// `request_json`, `api_key`, `callback`, `user`, ownership, threading: as for
/// `mws_messages_stream`.
///
/// # Safety
/// As for `mws_messages_stream`; `endpoint` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_call_stream(
    gateway: *const mws_gateway,
    endpoint: *const c_char,
    request_json: *const c_char,
    api_key: *const c_char,
    callback: mws_event_callback,
    user: *mut c_void,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `run_callback` and
    // `streaming_endpoint_arg` need.
    unsafe {
        run_callback(
            gateway,
            || streaming_endpoint_arg(endpoint),
            request_json,
            api_key,
            callback,
            user,
            out_error_json,
        )
    }
}

/// Opens a pull stream. `endpoint` gives the endpoint from the call's arguments.
///
/// # Safety
/// The pointers follow the contract of the public functions below.
unsafe fn open_handle(
    gateway: *const mws_gateway,
    endpoint: impl FnOnce() -> FfiResult<Endpoint>,
    request_json: *const c_char,
    api_key: *const c_char,
    out_stream: *mut *mut mws_stream,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let out = unsafe { out_arg(out_stream, "out_stream") }?;
        // SAFETY: as above.
        let out_error = unsafe { opt_out_arg(out_error_json) };
        let endpoint = endpoint()?;
        let shape = endpoint.shape(false);
        // SAFETY: as above.
        let events = unsafe { open(gateway, endpoint, request_json, api_key, out_error) }?;
        *out = Box::into_raw(Box::new(mws_stream {
            events: Mutex::new(Some(events)),
            shape,
        }));
        Ok(())
    })
}

/// Opens a Messages stream to pull Anthropic events from.
///
/// The request has begun when this returns `MWS_OK`; read the events with
/// `mws_stream_next`. `api_key` and errors before the stream began: as for
/// `mws_messages_stream`.
///
/// Ownership: the arguments are borrowed for the call. On `MWS_OK`,
/// `*out_stream` is a new handle the caller frees with `mws_stream_free`
/// (freeing it before the end cancels the upstream request); on failure it is
/// NULL. `out_error_json` may be NULL; otherwise it is set as for
/// `mws_messages_stream`.
///
/// Threading: blocks until the upstream has answered. Safe from any number of
/// threads; the stream handle may move between threads.
///
/// # Safety
/// `gateway` is NULL or a live handle; the strings are NULL or NUL-terminated;
/// the out-parameters are NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_messages_stream_open(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_stream: *mut *mut mws_stream,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `open_handle` needs.
    unsafe {
        open_handle(
            gateway,
            || Ok(Endpoint::Messages),
            request_json,
            api_key,
            out_stream,
            out_error_json,
        )
    }
}

/// Opens a Chat Completions stream to pull OpenAI chunks from.
///
/// Arguments, ownership, threading: as for `mws_messages_stream_open`.
///
/// # Safety
/// As for `mws_messages_stream_open`.
#[no_mangle]
pub unsafe extern "C" fn mws_chat_completions_stream_open(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_stream: *mut *mut mws_stream,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `open_handle` needs.
    unsafe {
        open_handle(
            gateway,
            || Ok(Endpoint::ChatCompletions),
            request_json,
            api_key,
            out_stream,
            out_error_json,
        )
    }
}

/// Opens a stream of any streaming endpoint, by its name (`messages`,
/// `chat_completions` or `responses`, as for `mws_call_stream`), to pull its
/// events from; `mws_stream_next` gives the same event types and data the
/// callback of `mws_call_stream` would get.
///
/// Arguments, ownership, threading: as for `mws_messages_stream_open`.
///
/// # Safety
/// As for `mws_messages_stream_open`; `endpoint` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_call_stream_open(
    gateway: *const mws_gateway,
    endpoint: *const c_char,
    request_json: *const c_char,
    api_key: *const c_char,
    out_stream: *mut *mut mws_stream,
    out_error_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `open_handle` and
    // `streaming_endpoint_arg` need.
    unsafe {
        open_handle(
            gateway,
            || streaming_endpoint_arg(endpoint),
            request_json,
            api_key,
            out_stream,
            out_error_json,
        )
    }
}

/// Waits for the next event of a stream. On `MWS_OK`, either both
/// `*out_event_type` and `*out_data_json` are set (the same strings a callback
/// would get), or both are NULL: the stream has ended (and stays ended).
///
/// Ownership: the two strings belong to the caller, to be freed with
/// `mws_string_free`. The stream stays owned by the caller.
///
/// Threading: blocks until the next event arrives; calls on one stream from
/// several threads are serialised.
///
/// # Safety
/// `stream` is NULL or a live stream handle; the out-parameters are NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_stream_next(
    stream: *mut mws_stream,
    out_event_type: *mut *mut c_char,
    out_data_json: *mut *mut c_char,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let out_type = unsafe { out_arg(out_event_type, "out_event_type") }?;
        // SAFETY: as above.
        let out_data = unsafe { out_arg(out_data_json, "out_data_json") }?;
        // SAFETY: as above.
        let stream = unsafe { handle(stream.cast_const(), "stream") }?;
        // A panic while the lock was held left a stream we can still read or drop.
        let mut events = stream.events.lock().unwrap_or_else(|p| p.into_inner());
        let Some(live) = events.as_mut() else {
            return Ok(());
        };
        match block_on(live.next())? {
            Some(Ok(v)) => {
                let (event_type, data) = event_of(&v, stream.shape);
                *out_type = event_type.into_raw();
                *out_data = data.into_raw();
                Ok(())
            }
            None => {
                drop_in_runtime(events.take());
                Ok(())
            }
            Some(Err(e)) => {
                drop_in_runtime(events.take());
                Err(Failure::shaped(e, stream.shape))
            }
        }
    })
}

/// Frees a stream handle. Freed before its end, the stream stops and the
/// upstream request is cancelled. NULL is a no-op.
///
/// Threading: no other thread may be using this stream when it is freed.
///
/// # Safety
/// `stream` is NULL or a stream handle from this library not freed before.
#[no_mangle]
pub unsafe extern "C" fn mws_stream_free(stream: *mut mws_stream) {
    guard_or((), || {
        if !stream.is_null() {
            // SAFETY: made by Box::into_raw in `open_handle`, not freed before, by contract.
            drop_in_runtime(unsafe { Box::from_raw(stream) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types() {
        let (t, _) = event_of(
            &serde_json::json!({"type": "message_start"}),
            Shape::Anthropic,
        );
        assert_eq!(t.to_str().unwrap(), "message_start");
        let (t, d) = event_of(&serde_json::json!({"choices": []}), Shape::OpenAi);
        assert_eq!(
            (t.to_str().unwrap(), d.to_str().unwrap()),
            ("chunk", r#"{"choices":[]}"#)
        );
        let (t, _) = event_of(&serde_json::json!({"error": {}}), Shape::OpenAi);
        assert_eq!(t.to_str().unwrap(), "error");
        let (t, _) = event_of(
            &serde_json::json!({"type": "response.created", "sequence_number": 0}),
            Shape::Responses,
        );
        assert_eq!(t.to_str().unwrap(), "response.created");
    }
}
