//! Hand-written hostile chat requests: valid JSON of the right types that
//! means nothing sensible (unknown roles and blocks, bad schemas, unpaired
//! tool results, broken images), too many messages or tools, huge strings.
//! Each refusal names the field.

use serde_json::{json, Value};

use crate::check::{run, Case, Expect};
use crate::common::{Server, LIMITS};
use crate::seeds::{anthropic_seed, openai_seed, set, CHAT, COUNT, MESSAGES, PNG};
use crate::{on_mock, VIA};
use mws_core::testing::MockUpstream;

/// A field of the Anthropic seed set to `value`, as a case expecting a 400 naming `field`.
fn anthropic_case(name: &str, pointer: &str, value: Value, field: &str) -> Case {
    Case::json(
        name,
        MESSAGES,
        &set(anthropic_seed(), pointer, value),
        Expect::field(field),
    )
}

fn openai_case(name: &str, pointer: &str, value: Value, field: &str) -> Case {
    Case::json(
        name,
        CHAT,
        &set(openai_seed(), pointer, value),
        Expect::field(field),
    )
}

/// Requests that are valid JSON of the right types but mean nothing sensible.
pub fn hostile_chat_cases() -> Vec<Case> {
    let schema = |s: Value| json!([{"name": "f", "input_schema": s}]);
    let oa_tool = |f: Value| json!([{"type": "function", "function": f}]);
    let deep = (0..200).fold(json!("x"), |v, _| json!([v]));
    vec![
        anthropic_case(
            "unknown role",
            "/messages/0/role",
            json!("tool"),
            "messages.0.role",
        ),
        anthropic_case(
            "role of the wrong case",
            "/messages/0/role",
            json!("User"),
            "messages.0.role",
        ),
        anthropic_case(
            "unknown block type",
            "/messages/0/content/0/type",
            json!("video"),
            "messages.0.content.0.type",
        ),
        anthropic_case(
            "block without type",
            "/messages/0/content/0",
            json!({"text": "x"}),
            "messages.0.content.0.type",
        ),
        anthropic_case("empty messages", "/messages", json!([]), "messages"),
        anthropic_case(
            "schema not an object type",
            "/tools",
            schema(json!({"type": "string"})),
            "tools.0.input_schema.type",
        ),
        anthropic_case(
            "schema a string",
            "/tools",
            schema(json!("{}")),
            "tools.0.input_schema",
        ),
        anthropic_case(
            "schema required not strings",
            "/tools",
            schema(json!({"type": "object", "required": [1]})),
            "tools.0.input_schema.required.0",
        ),
        anthropic_case(
            "schema properties an array",
            "/tools",
            schema(json!({"type": "object", "properties": []})),
            "tools.0.input_schema.properties",
        ),
        anthropic_case(
            "tool name with spaces",
            "/tools/0/name",
            json!("get weather"),
            "tools.0.name",
        ),
        anthropic_case(
            "tool name empty",
            "/tools/0/name",
            json!(""),
            "tools.0.name",
        ),
        anthropic_case(
            "tool name too long",
            "/tools/0/name",
            json!("a".repeat(300)),
            "tools.0.name",
        ),
        anthropic_case(
            "tool_result without its tool_use",
            "/messages/2/content/0/tool_use_id",
            json!("toolu_missing"),
            "messages.2.content.0.tool_use_id",
        ),
        anthropic_case(
            "tool_use input a string",
            "/messages/1/content/2/input",
            json!("{}"),
            "messages.1.content.2.input",
        ),
        anthropic_case(
            "tool_choice unknown",
            "/tool_choice/type",
            json!("all"),
            "tool_choice.type",
        ),
        anthropic_case(
            "tool_choice tool without name",
            "/tool_choice",
            json!({"type": "tool"}),
            "tool_choice.name",
        ),
        anthropic_case(
            "image not base64",
            "/messages/0/content/1/source/data",
            json!("!!! not base64 !!!"),
            "messages.0.content.1.source.data",
        ),
        anthropic_case(
            "image base64 of nothing",
            "/messages/0/content/1/source/data",
            json!(""),
            "messages.0.content.1.source.data",
        ),
        anthropic_case(
            "image media type not an image",
            "/messages/0/content/1/source/media_type",
            json!("text/html"),
            "messages.0.content.1.source.media_type",
        ),
        anthropic_case(
            "image source unknown",
            "/messages/0/content/1/source/type",
            json!("file"),
            "messages.0.content.1.source.type",
        ),
        anthropic_case("max_tokens zero", "/max_tokens", json!(0), "max_tokens"),
        anthropic_case(
            "max_tokens over u32",
            "/max_tokens",
            json!(1u64 << 40),
            "max_tokens",
        ),
        anthropic_case(
            "temperature above 1",
            "/temperature",
            json!(1.5),
            "temperature",
        ),
        anthropic_case("top_p negative", "/top_p", json!(-0.1), "top_p"),
        anthropic_case(
            "thinking unknown",
            "/thinking/type",
            json!("sometimes"),
            "thinking.type",
        ),
        anthropic_case(
            "deeply nested tool input",
            "/messages/1/content/2/input",
            json!({"a": deep}),
            "messages.1.content.2.input",
        ),
        openai_case(
            "unknown role",
            "/messages/0/role",
            json!("function"),
            "messages.0.role",
        ),
        openai_case(
            "unknown part type",
            "/messages/2/content/0/type",
            json!("input_audio"),
            "messages.2.content.0.type",
        ),
        openai_case(
            "tool message without a call",
            "/messages/4/tool_call_id",
            json!("call_missing"),
            "messages.4.tool_call_id",
        ),
        openai_case(
            "arguments not JSON",
            "/messages/3/tool_calls/0/function/arguments",
            json!("{city:"),
            "messages.3.tool_calls.0.function.arguments",
        ),
        openai_case(
            "arguments a JSON array",
            "/messages/3/tool_calls/0/function/arguments",
            json!("[1]"),
            "messages.3.tool_calls.0.function.arguments",
        ),
        openai_case(
            "parameters of type array",
            "/tools",
            oa_tool(json!({"name": "f", "parameters": {"type": "array"}})),
            "tools.0.function.parameters.type",
        ),
        openai_case(
            "function without name",
            "/tools",
            oa_tool(json!({"parameters": {}})),
            "tools.0.function.name",
        ),
        openai_case(
            "tool type unknown",
            "/tools/0/type",
            json!("retrieval"),
            "tools.0.type",
        ),
        openai_case(
            "tool_choice unknown",
            "/tool_choice",
            json!("sometimes"),
            "tool_choice",
        ),
        openai_case(
            "image data URL not base64",
            "/messages/2/content/1/image_url/url",
            json!("data:image/png;base64,!!!"),
            "messages.2.content.1.image_url.url",
        ),
        openai_case(
            "image data URL without data",
            "/messages/2/content/1/image_url/url",
            json!("data:image/png;base64,"),
            "messages.2.content.1.image_url.url",
        ),
        openai_case(
            "image data URL not an image",
            "/messages/2/content/1/image_url/url",
            json!(format!("data:text/html;base64,{PNG}")),
            "messages.2.content.1.image_url.url",
        ),
        openai_case(
            "image URL malformed",
            "/messages/2/content/1/image_url/url",
            json!("data:;base64"),
            "messages.2.content.1.image_url.url",
        ),
        openai_case(
            "stop over four",
            "/stop",
            json!(["a", "b", "c", "d", "e"]),
            "stop",
        ),
        openai_case("n zero", "/n", json!(0), "n"),
        openai_case(
            "temperature above 2",
            "/temperature",
            json!(2.5),
            "temperature",
        ),
        openai_case("empty messages", "/messages", json!([]), "messages"),
        openai_case(
            "max_completion_tokens zero",
            "/max_completion_tokens",
            json!(0),
            "max_completion_tokens",
        ),
        openai_case(
            "parameters required not strings",
            "/tools/0/function/parameters/required",
            json!([1]),
            "tools.0.function.parameters.required.0",
        ),
        openai_case(
            "parameters properties a string",
            "/tools/0/function/parameters/properties",
            json!("x"),
            "tools.0.function.parameters.properties",
        ),
        openai_case(
            "legacy function_call",
            "/messages/3/function_call",
            json!({"name": "f", "arguments": "{}"}),
            "messages.3.function_call",
        ),
    ]
}

#[tokio::test]
async fn hostile_requests_name_the_field() {
    let s = Server::builtin().await;
    run(&s, &s.client, &hostile_chat_cases()).await;
    let mock = MockUpstream::start().await.unwrap();
    let m = on_mock(&mock).await;
    for model in VIA {
        let cases: Vec<Case> = hostile_chat_cases()
            .into_iter()
            .map(|mut c| {
                // As text: some bodies nest too deep to parse here.
                let text = String::from_utf8(c.body.take().unwrap()).unwrap();
                let to = format!("\"model\":\"{model}\"");
                let text = text
                    .replacen("\"model\":\"claude-sonnet-4-6\"", &to, 1)
                    .replacen("\"model\":\"gpt-4o\"", &to, 1);
                assert!(text.contains(&to));
                c.body = Some(text.into_bytes());
                c
            })
            .collect();
        run(&m, &m.client, &cases).await;
    }
    assert_eq!(
        mock.calls(),
        VIA.len(),
        "refused requests went upstream: {:?}",
        mock.received()
    );
    s.stop().await;
    m.stop().await;
}

#[tokio::test]
async fn too_many_and_too_large() {
    let s = Server::with_config(&format!(
        "[server]\nmax_messages = 50\nmax_tools = 5\nmax_body_bytes = 4194304\n{LIMITS}"
    ))
    .await;
    let turns: Vec<Value> = (0..51)
        .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": "hi"}))
        .collect();
    let mut tools = vec![anthropic_seed()["tools"][0].clone(); 6];
    for (i, t) in tools.iter_mut().enumerate() {
        t["name"] = json!(format!("t{i}"));
    }
    let oa_tools = vec![openai_seed()["tools"][0].clone(); 6];
    let big = "x".repeat(3 << 20);
    let mut cases = Vec::new();
    for path in [MESSAGES, COUNT] {
        let a = set(anthropic_seed(), "/stream", json!(false));
        cases.push(Case::json(
            "51 messages",
            path,
            &set(a.clone(), "/messages", json!(turns)),
            Expect::field("messages"),
        ));
        cases.push(Case::json(
            "6 tools",
            path,
            &set(a.clone(), "/tools", json!(tools)),
            Expect::field("tools"),
        ));
        let huge = |p: &str| {
            Case::json(
                format!("huge {p}"),
                path,
                &set(a.clone(), p, json!(big)),
                Expect::OkOrRefused {
                    field: Some(p[1..].replace('/', ".")),
                },
            )
        };
        cases.extend([
            huge("/model"),
            huge("/messages/2/content/1/text"),
            huge("/messages/1/content/2/id"),
            huge("/metadata/user_id"),
            huge("/stop_sequences/0"),
        ]);
        let over = format!("{}{}", "x".repeat(4 << 20), "y");
        cases.push(Case::json(
            "body past the limit",
            path,
            &set(a, "/system", json!(over)),
            Expect::Status(413),
        ));
    }
    let o = openai_seed();
    cases.push(Case::json(
        "51 messages",
        CHAT,
        &set(o.clone(), "/messages", json!(turns)),
        Expect::field("messages"),
    ));
    cases.push(Case::json(
        "6 tools",
        CHAT,
        &set(o.clone(), "/tools", json!(oa_tools)),
        Expect::field("tools"),
    ));
    cases.push(Case::json(
        "huge user",
        CHAT,
        &set(o.clone(), "/user", json!(big)),
        Expect::OkOrRefused {
            field: Some("user".into()),
        },
    ));
    cases.push(Case::json(
        "huge stop",
        CHAT,
        &set(o, "/stop/0", json!(big)),
        Expect::OkOrRefused {
            field: Some("stop.0".into()),
        },
    ));
    run(&s, &s.client, &cases).await;
    s.stop().await;
}
