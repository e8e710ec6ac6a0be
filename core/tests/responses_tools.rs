//! Codex's tool kinds through the Responses translation: `namespace` tools
//! (offered by their own names, calls naming the namespace again) and a
//! client-executed `tool_search` (a function to the model, its calls
//! `tool_search_call` items, its outputs tool results).

use mws_core::canonical::{ChatResponse, ContentBlock, DocumentSource, Role, StopReason, Usage};
use mws_core::egress::responses::{response_object, StreamRenderer};
use mws_core::ingress::responses::parse_responses;
use serde_json::{json, Value};

fn request() -> Value {
    json!({
        "model": "dragon",
        "input": "Find the agent tools.",
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
                {"type": "function", "name": "spawn_agent", "strict": false, "parameters": {"type": "object", "properties": {"task": {"type": "string"}}, "required": ["task"]}}
            ]},
            {"type": "tool_search", "execution": "client", "description": "Searches deferred tools.",
             "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}
        ]
    })
}

fn call(id: &str, name: &str, input: Value) -> ContentBlock {
    ContentBlock::ToolUse {
        id: id.into(),
        name: name.into(),
        input,
        cache_control: None,
    }
}

#[test]
fn namespace_and_tool_search_tools_are_offered_as_functions() {
    let r = parse_responses(&request()).unwrap();
    let names: Vec<&str> = r.chat.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["exec_command", "spawn_agent", "tool_search"]);
    assert_eq!(
        r.namespaces.get("spawn_agent").map(String::as_str),
        Some("multi_agent_v1")
    );
    assert!(r.tool_search);
    assert_eq!(r.chat.tools[2].input_schema["required"], json!(["query"]));
}

#[test]
fn a_server_tool_search_is_refused_by_translating_upstreams_naming_the_field() {
    let mut body = request();
    body["tools"][2] = json!({"type": "tool_search"});
    // Kept for an openai-responses upstream, which runs it; refused by any other.
    let e = parse_responses(&body).unwrap().chat.untranslatable.unwrap();
    assert_eq!(e.param(), Some("tools.2.type"));
}

#[test]
fn calls_come_back_as_their_kind_of_item() {
    let r = parse_responses(&request()).unwrap();
    let answer = ChatResponse {
        id: "msg_1".into(),
        content: vec![
            call("call_a", "spawn_agent", json!({"task": "x"})),
            call("call_b", "tool_search", json!({"query": "agents"})),
        ],
        stop_reason: Some(StopReason::ToolUse),
        stop_sequence: None,
        usage: Usage::default(),
    };
    let object = response_object(&r, &answer, "resp_1", 1, 2);
    let output = object["output"].as_array().unwrap();
    assert_eq!(output[0]["type"], "function_call");
    assert_eq!(output[0]["namespace"], "multi_agent_v1");
    assert_eq!(output[0]["name"], "spawn_agent");
    assert_eq!(output[1]["type"], "tool_search_call");
    assert_eq!(output[1]["call_id"], "call_b");
    assert_eq!(output[1]["execution"], "client");
    assert_eq!(output[1]["arguments"], json!({"query": "agents"}));

    // Streamed, the same items arrive whole in output_item.done.
    use mws_core::canonical::{BlockStart, Delta, StreamEvent};
    let mut renderer = StreamRenderer::new(&r, "resp_1".into(), 1);
    let mut frames = Vec::new();
    let events = [
        StreamEvent::MessageStart {
            id: "m".into(),
            usage: Usage::default(),
        },
        StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::ToolUse {
                id: "call_b".into(),
                name: "tool_search".into(),
            },
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::ToolArgs("{\"query\":".into()),
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::ToolArgs("\"agents\"}".into()),
        },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage::default(),
        },
        StreamEvent::MessageStop,
    ];
    for ev in events {
        renderer.render(ev, &mut frames);
    }
    let done: Vec<Value> = frames
        .iter()
        .filter(|f| f.event == Some("response.output_item.done"))
        .map(|f| serde_json::from_str(&f.data).unwrap())
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["item"]["type"], "tool_search_call");
    assert_eq!(done[0]["item"]["arguments"], json!({"query": "agents"}));
    assert!(frames
        .iter()
        .all(|f| !f.event.unwrap_or("").starts_with("response.function_call")));
}

#[test]
fn tool_search_items_go_back_as_a_call_and_its_result() {
    let mut body = request();
    body["input"] = json!([
        {"type": "message", "role": "user", "content": "Find the agent tools."},
        {"type": "tool_search_call", "id": "tsc_1", "call_id": "call_b", "execution": "client", "arguments": {"query": "agents"}, "status": "completed"},
        {"type": "tool_search_output", "id": "tso_1", "call_id": "call_b", "execution": "client", "status": "completed", "tools": [{"type": "function", "name": "wait_agent"}]},
        {"type": "function_call", "call_id": "call_a", "name": "spawn_agent", "namespace": "multi_agent_v1", "arguments": "{\"task\":\"x\"}"},
        {"type": "function_call_output", "call_id": "call_a", "output": "spawned"}
    ]);
    let r = parse_responses(&body).unwrap();
    let m = &r.chat.messages;
    assert_eq!(m[1].role, Role::Assistant);
    assert!(
        matches!(&m[1].content[0], ContentBlock::ToolUse { id, name, input, .. }
        if id == "call_b" && name == "tool_search" && input["query"] == "agents")
    );
    assert!(
        matches!(&m[2].content[0], ContentBlock::ToolResult { tool_use_id, content, .. }
        if tool_use_id == "call_b" && content[0].plain_text().contains("wait_agent"))
    );
    assert!(
        matches!(&m[3].content[0], ContentBlock::ToolUse { name, .. } if name == "spawn_agent")
    );
}

#[test]
fn a_pdf_input_file_is_a_document_for_every_upstream_kind() {
    let body = json!({"model": "dragon", "input": [{"role": "user", "content": [
        {"type": "input_file", "filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="},
        {"type": "input_text", "text": "Summarize it."}
    ]}]});
    let r = parse_responses(&body).unwrap();
    assert!(
        matches!(&r.chat.messages[0].content[0], ContentBlock::Document { source: DocumentSource::Base64 { media_type, data }, title, .. }
        if media_type == "application/pdf" && data == "JVBERi0xLjQ=" && title.as_deref() == Some("report.pdf"))
    );

    let p = mws_core::route::Router::from_config(&mws_core::Config::default())
        .unwrap()
        .resolve("dragon")
        .clone();
    let target = p.target(100);
    let anthropic: Value = serde_json::from_slice(
        &mws_core::upstream::anthropic::request_body(&r.chat, &target, false).unwrap(),
    )
    .unwrap();
    assert_eq!(
        anthropic["messages"][0]["content"][0],
        json!({"type": "document", "title": "report.pdf",
               "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}})
    );
    let openai: Value = serde_json::from_slice(
        &mws_core::upstream::openai::request_body(&r.chat, &target, false).unwrap(),
    )
    .unwrap();
    assert_eq!(
        openai["messages"][0]["content"][0],
        json!({"type": "file", "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="}})
    );
    let echo = mws_core::upstream::EchoUpstream::default().complete(&r.chat);
    assert_eq!(
        echo.content[0].plain_text(),
        "Received a document (report.pdf).\nSummarize it."
    );
}
