//! The Open Responses WebSocket transport on `GET /v1/responses`: the key in
//! the upgrade request's headers, then `response.create` messages in and one
//! event per message out, several responses in sequence on one connection.
//! Each `response.create` is a streamed POST /v1/responses through the
//! pipeline (keys, limits, reservation, ledger as over HTTP); its `store:
//! false` responses are kept for the connection only, so `previous_response_id`
//! continues them on it and nowhere else; a continuation that fails evicts
//! what it continued.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use futures::StreamExt;
use http::HeaderMap;
use serde_json::{json, Value};

use super::extract;
use super::reply::error_response;
use crate::billing;
use crate::call::{
    new_request_id, Body, CallContext, ConnectionResponses, Endpoint, Shape, TraceHeaders,
};
use crate::egress::responses::websocket_error;
use crate::pipeline;
use crate::state::Shared;
use crate::{Error, ErrorKind};

/// The upgrade; a GET without one, or without a valid key, is refused in OpenAI's shape.
pub async fn upgrade(
    State(gw): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let route = Endpoint::Responses.path();
    let Ok(ws) = ws else {
        let e = Error::new(
            ErrorKind::MethodNotAllowed,
            "GET /v1/responses is the WebSocket transport: send a WebSocket upgrade, or POST to create a response",
        );
        return error_response(&gw, route, Shape::Responses, peer, e).await;
    };
    let api_key = extract::api_key(&headers);
    if let Err(e) = authenticated(&gw, api_key.as_deref()).await {
        return error_response(&gw, route, Shape::Responses, peer, e).await;
    }
    // Every turn is a child of the trace the upgrade request carried, if any.
    let trace = extract::trace_headers(&headers);
    ws.on_upgrade(move |socket| serve(gw, socket, api_key, peer, trace))
}

async fn authenticated(gw: &Shared, key: Option<&str>) -> crate::Result<()> {
    match (billing::authenticate(gw.store.as_ref(), key).await?, key) {
        (Some(_), _) => Ok(()),
        (None, None) => Err(Error::new(
            ErrorKind::Authentication,
            "missing API key: send Authorization: Bearer mws_live_... or x-api-key with the upgrade",
        )),
        (None, Some(_)) => Err(Error::new(
            ErrorKind::Authentication,
            "invalid or revoked API key",
        )),
    }
}

/// One connection: its turns one after another until the client closes it.
async fn serve(
    gw: Shared,
    mut socket: WebSocket,
    api_key: Option<String>,
    peer: SocketAddr,
    trace: Option<TraceHeaders>,
) {
    let connection = Arc::new(ConnectionResponses::default());
    while let Some(Ok(message)) = socket.recv().await {
        let text = match message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let ctx = CallContext {
            api_key: api_key.clone(),
            client_ip: Some(peer.ip()),
            request_id: new_request_id(),
            connection: Some(connection.clone()),
            trace: trace.clone(),
            ..CallContext::default()
        };
        if turn(&gw, &mut socket, &text, ctx, &connection)
            .await
            .is_err()
        {
            break;
        }
    }
}

/// One `response.create`: its events, or an error event (the connection stays open).
/// `Err` only when the socket is gone.
async fn turn(
    gw: &Shared,
    socket: &mut WebSocket,
    text: &str,
    ctx: CallContext,
    connection: &ConnectionResponses,
) -> Result<(), axum::Error> {
    let body = match create_body(text) {
        Ok(b) => b,
        Err(e) => return send(socket, &websocket_error(&e)).await,
    };
    let continues = body
        .get("previous_response_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let reply = pipeline::run(gw, Endpoint::Responses, &bytes, ctx).await;
    let mut failed = false;
    match reply.outcome {
        Ok(Body::Stream(mut frames)) => {
            while let Some(frame) = frames.next().await {
                // `[DONE]` ends an SSE stream; a message per event needs none.
                if frame.data == "[DONE]" {
                    continue;
                }
                failed |= matches!(frame.event, Some("response.failed" | "error"));
                socket.send(Message::Text(frame.data.into())).await?;
            }
        }
        Ok(Body::Json(v)) => send(socket, &v).await?,
        Ok(Body::Raw(b)) => {
            socket
                .send(Message::Text(
                    String::from_utf8_lossy(&b).into_owned().into(),
                ))
                .await?;
        }
        Err(e) => {
            failed = true;
            send(socket, &websocket_error(&e)).await?;
        }
    }
    if let (true, Some(prev)) = (failed, continues) {
        connection.evict(&prev);
    }
    Ok(())
}

/// The create body a `response.create` message carries; always streamed.
fn create_body(text: &str) -> crate::Result<Value> {
    let mut v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("the message is not valid JSON: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(Error::invalid("expected a JSON object"));
    };
    match obj.remove("type") {
        Some(Value::String(t)) if t == "response.create" => {}
        other => {
            return Err(Error::invalid_field(
                "type",
                format!(
                    "expected \"response.create\", got {}",
                    other.map_or_else(|| "nothing".to_owned(), |t| t.to_string())
                ),
            ))
        }
    }
    // Some clients nest the body under `response`.
    if let Some(Value::Object(inner)) = obj.remove("response") {
        obj.extend(inner);
    }
    obj.insert("stream".into(), json!(true));
    obj.remove("stream_options");
    Ok(v)
}

async fn send(socket: &mut WebSocket, v: &Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(v.to_string().into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_messages_become_streamed_bodies() {
        let body = create_body(r#"{"type":"response.create","model":"m","input":"hi"}"#).unwrap();
        assert_eq!(body, json!({"model": "m", "input": "hi", "stream": true}));
        let nested = create_body(r#"{"type":"response.create","response":{"model":"m"}}"#).unwrap();
        assert_eq!(nested["model"], "m");
        assert_eq!(
            create_body(r#"{"type":"response.cancel"}"#)
                .unwrap_err()
                .param(),
            Some("type")
        );
        assert!(create_body("not json").is_err());
    }
}
