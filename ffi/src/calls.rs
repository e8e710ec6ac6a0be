//! In-process calls of the JSON endpoints: the request as JSON text, an
//! optional API key, the response (or the error body) as JSON text. Each
//! endpoint by its name (`mws_call`), and the common ones by a function each.

use std::ffi::c_char;

use mws_core::{Endpoint, Error};
use serde_json::Value;

use crate::args::{endpoint_arg, handle, json_arg, opt_str_arg, out_arg, to_caller_json};
use crate::failure::{Failure, FfiResult};
use crate::gateway::mws_gateway;
use crate::panic::guard;
use crate::runtime::block_on;
use crate::status::mws_status;

/// Hands the outcome to C: the JSON on success; on a gateway error the error
/// body the HTTP endpoint would send, and the failure for the status.
pub(crate) fn deliver(
    out: &mut *mut c_char,
    outcome: Result<Value, Error>,
    endpoint: &Endpoint,
) -> FfiResult<()> {
    match outcome {
        Ok(v) => {
            *out = to_caller_json(&v)?;
            Ok(())
        }
        Err(e) => Err(with_body(
            Some(out),
            Failure::shaped(e, endpoint.shape(false)),
        )),
    }
}

/// Writes the failure's error body to `out`, when both exist.
pub(crate) fn with_body(out: Option<&mut *mut c_char>, failure: Failure) -> Failure {
    if let (Some(out), Some(body)) = (out, failure.body()) {
        // JSON text never holds a NUL, so this cannot fail; if it did, the
        // caller would still get the status and the message.
        *out = to_caller_json(&body).unwrap_or(std::ptr::null_mut());
    }
    failure
}

/// One call: check the arguments, run it, deliver. `request` gives the
/// endpoint and body from the call's own arguments.
///
/// # Safety
/// The pointers follow the contract of the public functions below.
unsafe fn call(
    gateway: *const mws_gateway,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
    request: impl FnOnce() -> FfiResult<(Endpoint, Value)>,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let out = unsafe { out_arg(out_json, "out_json") }?;
        // SAFETY: as above.
        let gw = unsafe { handle(gateway, "gateway") }?;
        let (endpoint, body) = request()?;
        // SAFETY: as above.
        let key = unsafe { opt_str_arg(api_key, "api_key") }?;
        let outcome = block_on(gw.inner.call_json(endpoint.clone(), &body, key))?;
        deliver(out, outcome, &endpoint)
    })
}

/// `POST /v1/messages` in-process: an Anthropic Messages request (without
/// `stream: true`; see `mws_messages_stream`). Errors are Anthropic-shaped:
/// `{"type":"error","error":{"type","message"}}`.
///
/// `api_key` is NULL to call as the host itself (unmetered), or a key
/// (`mws_live_...`): then the call is authenticated, limited and charged
/// exactly as over HTTP.
///
/// Ownership: the arguments are borrowed for the call. `*out_json` is set to
/// NULL first; then, on `MWS_OK`, to the response JSON, and on a gateway error
/// (any status but `MWS_INVALID_ARGUMENT`) to the error body the HTTP endpoint
/// would send. Free it with `mws_string_free`. On failure `mws_last_error()`
/// holds the message.
///
/// Threading: blocks the calling thread until the answer is complete; safe to
/// call from any number of threads at once.
///
/// # Safety
/// `gateway` is NULL or a live handle; the strings are NULL or NUL-terminated;
/// `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_messages(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            Ok((Endpoint::Messages, json_arg(request_json, "request_json")?))
        })
    }
}

/// `POST /v1/messages/count_tokens` in-process: `{"input_tokens": N}`.
/// Errors are Anthropic-shaped.
///
/// `api_key`, ownership, threading and safety: as for `mws_messages`.
///
/// # Safety
/// As for `mws_messages`.
#[no_mangle]
pub unsafe extern "C" fn mws_count_tokens(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            Ok((
                Endpoint::CountTokens,
                json_arg(request_json, "request_json")?,
            ))
        })
    }
}

/// `POST /v1/chat/completions` in-process: an OpenAI Chat Completions request
/// (without `stream: true`; see `mws_chat_completions_stream`). Errors are
/// OpenAI-shaped: `{"error":{"message","type","param","code"}}`.
///
/// `api_key`, ownership, threading and safety: as for `mws_messages`.
///
/// # Safety
/// As for `mws_messages`.
#[no_mangle]
pub unsafe extern "C" fn mws_chat_completions(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            Ok((
                Endpoint::ChatCompletions,
                json_arg(request_json, "request_json")?,
            ))
        })
    }
}

/// `POST /v1/embeddings` in-process (OpenAI shape). Errors are OpenAI-shaped.
///
/// `api_key`, ownership, threading and safety: as for `mws_messages`.
///
/// # Safety
/// As for `mws_messages`.
#[no_mangle]
pub unsafe extern "C" fn mws_embeddings(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            Ok((
                Endpoint::Embeddings,
                json_arg(request_json, "request_json")?,
            ))
        })
    }
}

/// `POST /v1/rerank` in-process: `{model, query, documents, top_n}` to
/// `{results: [{index, relevance_score}]}`. Errors are OpenAI-shaped.
///
/// `api_key`, ownership, threading and safety: as for `mws_messages`.
///
/// # Safety
/// As for `mws_messages`.
#[no_mangle]
pub unsafe extern "C" fn mws_rerank(
    gateway: *const mws_gateway,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            Ok((Endpoint::Rerank, json_arg(request_json, "request_json")?))
        })
    }
}

/// `GET /v1/models` in-process when `model_id` is NULL (the OpenAI list of
/// profiles), or `GET /v1/models/{model_id}` (one model; `MWS_NOT_FOUND` for
/// a name that no profile or alias knows). Errors are OpenAI-shaped.
///
/// `api_key`: NULL for the host itself, or a key to authenticate with.
///
/// Ownership: the arguments are borrowed for the call. `*out_json` is set to
/// NULL first; then to the response JSON on `MWS_OK`, or to the error body on
/// a gateway error; free it with `mws_string_free`.
///
/// Threading: blocks the calling thread; safe from any number of threads.
///
/// # Safety
/// `gateway` is NULL or a live handle; the strings are NULL or NUL-terminated;
/// `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_models(
    gateway: *const mws_gateway,
    model_id: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            // SAFETY: as above.
            let id = opt_str_arg(model_id, "model_id")?;
            let endpoint = id.map_or(Endpoint::Models, |id| Endpoint::Model(id.to_string()));
            Ok((endpoint, Value::Null))
        })
    }
}

/// Any endpoint in-process, by the name the Python and Node packages call it
/// by: `messages`, `count_tokens`, `chat_completions`, `embeddings`, `rerank`,
/// `models` (with an `id`: one model), `model`, `responses`,
/// `responses_input_tokens`, `responses_compact`, `response`,
/// `delete_response`, `response_input_items`. `id` is the resource of the
/// endpoints that have one (`models`, `model`, and a response id for
/// `response`, `delete_response` and `response_input_items`), NULL for the
/// others. `request_json` is the endpoint's JSON request; NULL for the GET and
/// DELETE endpoints, where it is ignored, except for `response_input_items`,
/// whose paging query it is (`{"limit","after","order"}`; NULL for the first
/// page, newest first). Streaming endpoints answer whole here (without
/// `stream: true`); see `mws_call_stream`. An unknown name, a missing id, an
/// id for an endpoint that takes none, a NULL request of a POST endpoint or a
/// request that is not JSON text is `MWS_INVALID_ARGUMENT`, naming it.
///
/// Errors are in the endpoint's shape: Anthropic for `messages` and
/// `count_tokens`, OpenAI's `{"error":{"message","type","param","code"}}` for
/// the others (the Responses endpoints included). `api_key`, ownership,
/// threading: as for `mws_messages`.
///
/// # Safety
/// As for `mws_messages`; `endpoint` and `id` are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_call(
    gateway: *const mws_gateway,
    endpoint: *const c_char,
    id: *const c_char,
    request_json: *const c_char,
    api_key: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above is the one `call` needs.
    unsafe {
        call(gateway, api_key, out_json, || {
            let endpoint = endpoint_arg(endpoint, id)?;
            let body = if request_json.is_null() && endpoint.method() != "POST" {
                Value::Null
            } else {
                json_arg(request_json, "request_json")?
            };
            Ok((endpoint, body))
        })
    }
}
