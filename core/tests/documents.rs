//! Documents across shapes, against the scripted mock and the echo: PDFs as
//! Anthropic `document` blocks, Chat Completions `file` parts and Responses
//! `input_file`s; text documents and search results as text; what an upstream
//! cannot carry refused with a 400 naming the client's field; files by id
//! passed through verbatim to their own kind only; and Claude Code reading a
//! PDF through every upstream kind.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use mws_core::testing::MockUpstream;
use mws_core::{Gateway, ServeHandle};
use serde_json::{json, Value};

const LIMITS: &str =
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n\
    [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n";

const CLAUDE_CODE: &str =
    include_str!("fixtures/anthropic/claude-code-2.1.328-messages-request.json");

/// A one-object PDF, base64.
const PDF: &str =
    "JVBERi0xLjQKMSAwIG9iajw8L1R5cGUvQ2F0YWxvZz4+ZW5kb2JqCnRyYWlsZXI8PC9Sb290IDEgMCBSPj4KJSVFT0YK";

/// A gateway whose `dragon` goes to one upstream of `kind` (at `url`, unless
/// it is the echo); its base URL and a funded key.
async fn start(kind: &str, url: &str) -> (ServeHandle, String, String) {
    let base_url = match kind {
        "echo" => String::new(),
        _ => format!("base_url = \"{url}\"\n"),
    };
    let cfg = format!(
        "[store]\nkind = \"memory\"\n{LIMITS}\
        [[upstreams]]\nname = \"up\"\nkind = \"{kind}\"\n{base_url}\
        [[profiles]]\nid = \"dragon\"\nupstream = \"up\"\nupstream_model = \"up-model\"\ncontext_window = 262144\ntokens_per_second = 189\ninput_price_per_mtok = 0.48\noutput_price_per_mtok = 1.08\n\
        [routing]\ndefault_profile = \"dragon\"\n"
    );
    let gw = Gateway::from_toml_str(&cfg).unwrap();
    let admin = gw.admin();
    let account = admin.create_account(&json!({"name": "t"})).await.unwrap();
    let id = account["id"].as_str().unwrap();
    admin
        .add_credits(id, &json!({"amount_usd": 100}))
        .await
        .unwrap();
    let key = admin.create_key(id, &json!({})).await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let h = gw.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{}", h.addr());
    (h, base, key)
}

async fn post(base: &str, key: &str, path: &str, body: &Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A 400 whose error names `param`: in its message (both shapes), and as its
/// `param` in OpenAI's.
fn assert_refused(status: u16, text: &str, param: &str) {
    assert_eq!(status, 400, "{text}");
    let e: Value = serde_json::from_str(text).unwrap();
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{param}: ")), "{text}");
    if e.get("type").is_none() {
        assert_eq!(e["error"]["param"], param, "{text}");
    }
}

fn pdf_block() -> Value {
    json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}})
}

fn messages(content: Value) -> Value {
    json!({"model": "dragon", "max_tokens": 100, "messages": [{"role": "user", "content": content}]})
}

fn file_part(filename: &str) -> Value {
    json!({"type": "file", "file": {"file_data": format!("data:application/pdf;base64,{PDF}"), "filename": filename}})
}

#[tokio::test]
async fn an_anthropic_pdf_reaches_chat_completions_as_a_file_part() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai", &mock.base_url()).await;
    let mut doc = pdf_block();
    doc["title"] = json!("Q3 report");
    doc["citations"] = json!({"enabled": true});
    let body = messages(json!([doc, {"type": "text", "text": "Summarize it."}]));
    let (status, text) = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["content"][0]["text"],
        "Hello from the mock upstream."
    );
    assert_eq!(
        mock.received()[0].body["messages"],
        json!([{"role": "user", "content": [file_part("Q3 report.pdf"),
            {"type": "text", "text": "Summarize it."}]}])
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_anthropic_pdf_reaches_the_responses_api_as_an_input_file() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai-responses", &mock.base_url()).await;
    let mut doc = pdf_block();
    doc["context"] = json!("The draft.");
    let body = messages(json!([doc, {"type": "text", "text": "Summarize it."}]));
    let (status, text) = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let got = &mock.received()[0];
    assert_eq!(got.path, "/v1/responses");
    assert_eq!(
        got.body["input"],
        json!([{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Context: The draft."},
            {"type": "input_file", "file_data": format!("data:application/pdf;base64,{PDF}"), "filename": "document.pdf"},
            {"type": "input_text", "text": "Summarize it."}]}])
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_chat_file_part_reaches_anthropic_as_a_document() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("anthropic", &mock.base_url()).await;
    let body = json!({"model": "dragon", "messages": [{"role": "user", "content": [
        file_part("x.pdf"), {"type": "text", "text": "What is it?"}]}]});
    let (status, text) = post(&base, &key, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Hello from the mock upstream."
    );
    assert_eq!(
        mock.received()[0].body["messages"],
        json!([{"role": "user", "content": [
            {"type": "document", "title": "x.pdf",
             "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
            {"type": "text", "text": "What is it?"}]}])
    );
    h.shutdown().await;
}

#[tokio::test]
async fn text_documents_and_search_results_reach_chat_completions_as_text() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai", &mock.base_url()).await;
    let body = messages(json!([
        {"type": "document", "title": "Notes", "source": {"type": "text", "media_type": "text/plain", "data": "Buy milk."}},
        {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "Chunk."}]}},
        {"type": "search_result", "source": "https://x/doc", "title": "Doc",
         "content": [{"type": "text", "text": "Found."}]},
        {"type": "text", "text": "What do I buy?"}
    ]));
    let (status, text) = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        mock.received()[0].body["messages"],
        json!([{"role": "user", "content":
            "Document: Notes\n\nBuy milk.\n\nChunk.\n\nSearch result: Doc\nSource: https://x/doc\n\nFound.\n\nWhat do I buy?"}])
    );
    h.shutdown().await;
}

#[tokio::test]
async fn what_an_upstream_cannot_carry_is_a_400_naming_the_clients_field() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai", &mock.base_url()).await;
    let url_pdf = json!({"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}});
    let body = messages(json!([{"type": "text", "text": "Read:"}, url_pdf]));
    let (status, text) = post(&base, &key, "/v1/messages", &body).await;
    assert_refused(status, &text, "messages.0.content.1.source.url");
    let by_id = json!({"type": "document", "source": {"type": "file", "file_id": "file_011"}});
    let (status, text) = post(&base, &key, "/v1/messages", &messages(json!([by_id]))).await;
    assert_refused(status, &text, "messages.0.content.0.source.file_id");
    assert_eq!(mock.calls(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn a_file_id_goes_verbatim_to_openai_and_is_refused_across_shapes() {
    let body = json!({"model": "dragon", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Summarize."},
        {"type": "file", "file": {"file_id": "file-abc"}}]}]});

    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai", &mock.base_url()).await;
    let (status, text) = post(&base, &key, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{text}");
    let mut expected = body.clone();
    expected["model"] = json!("up-model");
    expected["stream"] = json!(false);
    assert_eq!(mock.received()[0].body, expected);
    h.shutdown().await;

    for kind in ["anthropic", "openai-responses", "echo"] {
        let mock = MockUpstream::start().await.unwrap();
        let (h, base, key) = start(kind, &mock.base_url()).await;
        let (status, text) = post(&base, &key, "/v1/chat/completions", &body).await;
        assert_refused(status, &text, "messages.0.content.1.file.file_id");
        assert_eq!(mock.calls(), 0, "{kind}");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn anthropic_documents_pass_through_to_anthropic_verbatim() {
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("anthropic", &mock.base_url()).await;
    let body = messages(json!([
        {"type": "document", "source": {"type": "file", "file_id": "file_011"}, "citations": {"enabled": true}},
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}, "context": "c"},
        {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "x"}]},
        {"type": "text", "text": "Compare."}
    ]));
    let (status, text) = post(&base, &key, "/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let mut expected = body.clone();
    expected["model"] = json!("up-model");
    expected["stream"] = json!(false);
    assert_eq!(mock.received()[0].body, expected);
    h.shutdown().await;
}

/// Claude Code's captured request, after its `Read` tool read a PDF: the
/// call, and the result holding the document as Claude Code sends it.
fn claude_code_reads_a_pdf() -> Value {
    let mut body: Value = serde_json::from_str(CLAUDE_CODE).unwrap();
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": [{"type": "tool_use",
        "id": "toolu_01PdfRead", "name": "Read", "input": {"file_path": "/tmp/report.pdf"}}]}));
    messages.push(json!({"role": "user", "content": [{"type": "tool_result",
        "tool_use_id": "toolu_01PdfRead", "content": [pdf_block()]}]}));
    body
}

/// The `data:` of each SSE frame as JSON, and the name of the last event.
fn events(text: &str) -> (Vec<Value>, String) {
    let mut data = Vec::new();
    let mut last = String::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("event: ") {
            last = e.to_owned();
        } else if let Some(d) = line.strip_prefix("data: ") {
            data.extend(serde_json::from_str::<Value>(d).ok());
        }
    }
    (data, last)
}

#[tokio::test]
async fn claude_code_reads_a_pdf_through_every_upstream_kind() {
    let body = claude_code_reads_a_pdf();
    let data_url = format!("data:application/pdf;base64,{PDF}");
    for kind in ["echo", "openai", "anthropic", "openai-responses"] {
        let mock = MockUpstream::start().await.unwrap();
        let (h, base, key) = start(kind, &mock.base_url()).await;
        let (status, text) = post(&base, &key, "/v1/messages", &body).await;
        assert_eq!(status, 200, "{kind}: {text}");
        let (data, last) = events(&text);
        assert_eq!(last, "message_stop", "{kind}: {text}");
        let received = mock.received();
        match kind {
            "echo" => {
                assert!(received.is_empty());
                let said: String = data
                    .iter()
                    .filter_map(|d| d.pointer("/delta/text").and_then(Value::as_str))
                    .collect();
                assert_eq!(
                    said,
                    "Tool result toolu_01PdfRead returned: Received a document (application/pdf)."
                );
            }
            "openai" => {
                let m = received[0].body["messages"].as_array().unwrap();
                let n = m.len();
                assert_eq!(
                    m[n - 2],
                    json!({"role": "tool", "tool_call_id": "toolu_01PdfRead",
                        "content": "[the document follows in the next message]"})
                );
                assert_eq!(
                    m[n - 1],
                    json!({"role": "user", "content": [{"type": "file",
                        "file": {"file_data": data_url, "filename": "document.pdf"}}]})
                );
                assert_eq!(m[n - 3]["tool_calls"][0]["id"], "toolu_01PdfRead");
            }
            "anthropic" => {
                let mut expected = body.clone();
                expected["model"] = json!("up-model");
                assert_eq!(received[0].body, expected);
            }
            _ => {
                assert_eq!(received[0].path, "/v1/responses");
                let input = received[0].body["input"].as_array().unwrap();
                assert_eq!(
                    input.last().unwrap(),
                    &json!({"type": "function_call_output", "call_id": "toolu_01PdfRead",
                        "output": [{"type": "input_file", "file_data": data_url, "filename": "document.pdf"}]})
                );
            }
        }
        h.shutdown().await;
    }
}

#[tokio::test]
async fn a_responses_pdf_by_url_reaches_anthropic_and_is_refused_by_chat_completions() {
    let body = json!({"model": "dragon", "input": [{"role": "user", "content": [
        {"type": "input_file", "file_url": "https://x/a.pdf"},
        {"type": "input_text", "text": "Summarize."}]}]});
    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("anthropic", &mock.base_url()).await;
    let (status, text) = post(&base, &key, "/v1/responses", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        mock.received()[0].body["messages"][0]["content"][0],
        json!({"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}})
    );
    h.shutdown().await;

    let mock = MockUpstream::start().await.unwrap();
    let (h, base, key) = start("openai", &mock.base_url()).await;
    let (status, text) = post(&base, &key, "/v1/responses", &body).await;
    assert_refused(status, &text, "input.0.content.0.file_url");
    let by_id = json!({"model": "dragon", "input": [{"role": "user", "content": [
        {"type": "input_file", "file_id": "file-abc"}]}]});
    let (status, text) = post(&base, &key, "/v1/responses", &by_id).await;
    assert_refused(status, &text, "input.0.content.0.file_id");
    assert_eq!(mock.calls(), 0);
    h.shutdown().await;
}
