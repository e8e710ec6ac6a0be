// The Node frameworks that broke on the gateway, driven for real against it:
// the Vercel AI SDK (`ai` with @ai-sdk/openai's chat and responses models and
// @ai-sdk/anthropic) and LangChain JS (@langchain/openai). The profiles sit on
// the scripted mock upstream ($MWS_MOCK_BIN, mock.mjs), so each test scripts
// the upstream's answer in its own shape and checks what the framework sent
// (a recording `fetch` handed to the framework), what the upstream received
// (the mock's /_mock/received) and what the framework got back. An
// OpenAI-shape client goes to an Anthropic and a Responses upstream
// (translated) and to an OpenAI one (the same kind: its own body passed up,
// the model replaced); an Anthropic-shape client to an OpenAI and a Responses
// upstream and to an Anthropic one; a Responses client to Anthropic, to Chat
// Completions, and relayed to a Responses upstream.
//
// The items: structured output across shapes (response_format <->
// output_config.format <-> text.format), reasoning controls, cached tokens in
// the usage, embeddings, the streamed role chunk, tool call arguments as
// strings.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, test } from "node:test";

import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { embedMany, generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

import { Gateway } from "./gateway.mjs";
import { MOCK_KEYS, MockUpstream, mockProfiles } from "./mock.mjs";

// The AI SDK warns on stderr of unknown model ids and of generateObject's
// deprecation; the tests check what it sends instead.
globalThis.AI_SDK_LOG_WARNINGS = false;

// Nothing but the loopback: a fetch anywhere else (a tokenizer's ranks, a
// model list) is refused and fails the test that made it.
const loopbackFetch = globalThis.fetch;
let outside = [];
globalThis.fetch = (url, init) => {
  const { hostname } = new URL(url instanceof Request ? url.url : String(url));
  if (!["127.0.0.1", "localhost", "[::1]"].includes(hostname)) {
    outside.push(hostname);
    return Promise.reject(new Error(`frameworks.test.mjs: no network but the loopback (asked for ${hostname})`));
  }
  return loopbackFetch(url, init);
};

const IN = 11;
const OUT = 5;
const CACHED = 4;
const PARIS = { city: "Paris", country: "France" };
const PARIS_JSON = JSON.stringify(PARIS);
const CITY = z.object({ city: z.string(), country: z.string() });
const THOUGHT = "The tower is in Paris.";

// ---- the upstream kinds: answers in their own shape ------------------------------

const openaiKind = {
  name: "openai",
  model: "via-openai",
  upstreamModel: "up-gpt",
  path: "/v1/chat/completions",
  toolId: "call_abc123",
  usage(cached = 0) {
    const u = { prompt_tokens: IN, completion_tokens: OUT, total_tokens: IN + OUT };
    return cached ? { ...u, prompt_tokens_details: { cached_tokens: cached } } : u;
  },
  completion(message, finish, cached = 0) {
    return {
      json: {
        id: "chatcmpl-up", object: "chat.completion", created: 1, model: this.upstreamModel,
        usage: this.usage(cached), choices: [{ index: 0, message, finish_reason: finish }],
      },
    };
  },
  text(answer, cached = 0) {
    return this.completion({ role: "assistant", content: answer }, "stop", cached);
  },
  thoughtAndText(answer) {
    return this.completion({ role: "assistant", content: answer, reasoning_content: THOUGHT }, "stop");
  },
  toolCall(name, args) {
    const call = { id: this.toolId, type: "function", function: { name, arguments: JSON.stringify(args) } };
    return this.completion({ role: "assistant", content: null, tool_calls: [call] }, "tool_calls");
  },
  chunks(deltas, finish, cached) {
    const chunk = (delta, finishReason = null) => ({
      id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model: this.upstreamModel,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    const usage = { ...chunk({}), choices: [], usage: this.usage(cached) };
    return { openai_chunks: [...deltas.map((d) => chunk(d)), chunk({}, finish), usage] };
  },
  textStream(pieces, cached = 0) {
    return this.chunks([{ role: "assistant", content: "" }, ...pieces.map((p) => ({ content: p }))], "stop", cached);
  },
  toolCallStream(name, fragments) {
    const start = { index: 0, id: this.toolId, type: "function", function: { name, arguments: "" } };
    const deltas = [{ role: "assistant", tool_calls: [start] },
      ...fragments.map((f) => ({ tool_calls: [{ index: 0, function: { arguments: f } }] }))];
    return this.chunks(deltas, "tool_calls", 0);
  },
};

const anthropicKind = {
  name: "anthropic",
  model: "via-anthropic",
  upstreamModel: "up-claude",
  path: "/v1/messages",
  toolId: "toolu_01XYZ",
  // Anthropic counts cached tokens apart from the input ones.
  usage(cached = 0) {
    return { input_tokens: IN - cached, cache_read_input_tokens: cached, cache_creation_input_tokens: 0, output_tokens: OUT };
  },
  message(content, stop, cached = 0) {
    return {
      json: {
        id: "msg_up", type: "message", role: "assistant", model: this.upstreamModel, content,
        stop_reason: stop, stop_sequence: null, usage: this.usage(cached),
      },
    };
  },
  text(answer, cached = 0) {
    return this.message([{ type: "text", text: answer }], "end_turn", cached);
  },
  thoughtAndText(answer) {
    return this.message([{ type: "thinking", thinking: THOUGHT, signature: "c2lnLXVw" },
      { type: "text", text: answer }], "end_turn");
  },
  toolCall(name, args) {
    return this.message([{ type: "tool_use", id: this.toolId, name, input: args }], "tool_use");
  },
  events(block, deltas, stop, cached) {
    const start = {
      id: "msg_up", type: "message", role: "assistant", model: this.upstreamModel, content: [],
      stop_reason: null, stop_sequence: null, usage: { ...this.usage(cached), output_tokens: 1 },
    };
    return {
      anthropic_events: [
        { type: "message_start", message: start },
        { type: "content_block_start", index: 0, content_block: block },
        { type: "ping" },
        ...deltas.map((delta) => ({ type: "content_block_delta", index: 0, delta })),
        { type: "content_block_stop", index: 0 },
        { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: OUT } },
        { type: "message_stop" },
      ],
    };
  },
  textStream(pieces, cached = 0) {
    return this.events({ type: "text", text: "" }, pieces.map((text) => ({ type: "text_delta", text })), "end_turn", cached);
  },
  toolCallStream(name, fragments) {
    const block = { type: "tool_use", id: this.toolId, name, input: {} };
    return this.events(block, fragments.map((f) => ({ type: "input_json_delta", partial_json: f })), "tool_use", 0);
  },
};

const responsesKind = {
  name: "responses",
  model: "via-responses",
  upstreamModel: "up-resp",
  path: "/v1/responses",
  toolId: "call_resp42",
  usage(cached = 0) {
    return {
      input_tokens: IN, input_tokens_details: { cached_tokens: cached }, output_tokens: OUT,
      output_tokens_details: { reasoning_tokens: 0 }, total_tokens: IN + OUT,
    };
  },
  response(status, output, cached = 0) {
    const done = status !== "in_progress";
    return {
      id: "resp_up1", object: "response", created_at: 1_700_000_000, status,
      completed_at: done ? 1_700_000_001 : null, error: null, incomplete_details: null, instructions: null,
      max_output_tokens: null, model: `${this.upstreamModel}-2025-08-07`, output, parallel_tool_calls: true,
      previous_response_id: null, reasoning: { effort: null, summary: null }, store: false, temperature: 1.0,
      text: { format: { type: "text" }, verbosity: "medium" }, tool_choice: "auto", tools: [], top_p: 1.0,
      truncation: "disabled", usage: done ? this.usage(cached) : null, metadata: {},
    };
  },
  message(text, done = true) {
    return {
      id: "msg_up1", type: "message", role: "assistant", status: done ? "completed" : "in_progress",
      content: done ? [{ type: "output_text", text, annotations: [], logprobs: [] }] : [],
    };
  },
  call(name, args, done = true) {
    return {
      id: "fc_up1", type: "function_call", status: done ? "completed" : "in_progress",
      arguments: done ? JSON.stringify(args) : "", call_id: this.toolId, name,
    };
  },
  text(answer, cached = 0) {
    return { json: this.response("completed", [this.message(answer)], cached) };
  },
  thoughtAndText(answer) {
    const item = { id: "rs_up1", type: "reasoning", summary: [{ type: "summary_text", text: THOUGHT }], encrypted_content: "ZW5jLXVw" };
    return { json: this.response("completed", [item, this.message(answer)]) };
  },
  toolCall(name, args) {
    return { json: this.response("completed", [this.call(name, args)]) };
  },
  events(items, output, cached) {
    const started = this.response("in_progress", []);
    const events = [{ type: "response.created", response: started }, { type: "response.in_progress", response: started },
      ...items, { type: "response.completed", response: this.response("completed", output, cached) }];
    return { responses_events: events.map((e, n) => ({ ...e, sequence_number: n })) };
  },
  textStream(pieces, cached = 0) {
    const text = pieces.join("");
    const at = { item_id: "msg_up1", output_index: 0, content_index: 0 };
    const part = { type: "output_text", text: "", annotations: [], logprobs: [] };
    return this.events([
      { type: "response.output_item.added", output_index: 0, item: this.message("", false) },
      { type: "response.content_part.added", ...at, part },
      ...pieces.map((delta) => ({ type: "response.output_text.delta", ...at, delta, logprobs: [] })),
      { type: "response.output_text.done", ...at, text, logprobs: [] },
      { type: "response.content_part.done", ...at, part: { ...part, text } },
      { type: "response.output_item.done", output_index: 0, item: this.message(text) },
    ], [this.message(text)], cached);
  },
  toolCallStream(name, fragments) {
    const args = JSON.parse(fragments.join(""));
    const at = { item_id: "fc_up1", output_index: 0 };
    return this.events([
      { type: "response.output_item.added", output_index: 0, item: this.call(name, args, false) },
      ...fragments.map((delta) => ({ type: "response.function_call_arguments.delta", ...at, delta })),
      { type: "response.function_call_arguments.done", ...at, name, arguments: JSON.stringify(args) },
      { type: "response.output_item.done", output_index: 0, item: this.call(name, args) },
    ], [this.call(name, args)], 0);
  },
};

// An OpenAI-shape client: translated both ways, then the same kind.
const FROM_OPENAI = [["to-anthropic", anthropicKind], ["to-responses", responsesKind], ["same-kind", openaiKind]];
const FROM_ANTHROPIC = [["to-openai", openaiKind], ["to-responses", responsesKind], ["same-kind", anthropicKind]];
const FROM_RESPONSES = [["to-anthropic", anthropicKind], ["to-openai", openaiKind], ["relayed", responsesKind]];

// ---- the gateway on the mock, and what the clients sent --------------------------

let mock;
let gateway;
let key;
/** What the frameworks sent: {url, body} of every request, through `recordingFetch`. */
let sent = [];

async function recordingFetch(url, init = {}) {
  sent.push({ url: String(url), body: typeof init.body === "string" ? JSON.parse(init.body) : null });
  return fetch(url, init);
}

before(async () => {
  mock = await MockUpstream.start();
  gateway = await Gateway.start(mockProfiles(mock.baseUrl), MOCK_KEYS);
  key = await gateway.newKey("node-frameworks");
});

after(async () => {
  await gateway?.stop();
  await mock?.stop();
});

beforeEach(async () => {
  sent = [];
  outside = [];
  await mock.reset();
});

afterEach(() => {
  assert.deepEqual(outside, [], "a framework reached for the network");
});

const openai = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, fetch: recordingFetch });
const anthropic = () => createAnthropic({ baseURL: `${gateway.url}/v1`, apiKey: key, fetch: recordingFetch });
const langchain = (model, options = {}) =>
  new ChatOpenAI({ model, apiKey: key, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1`, fetch: recordingFetch }, ...options });

/** The one request the framework sent (its path checked). */
function sentBody(path, count = 1) {
  assert.deepEqual(sent.map((s) => new URL(s.url).pathname), Array(count).fill(path));
  return sent.map((s) => s.body);
}

/** The upstream's requests (the client's key never among their headers). */
async function upstreamRequests(count) {
  const received = await mock.received();
  assert.equal(received.length, count, JSON.stringify(received.map((r) => r.path)));
  for (const r of received) assert.ok(!JSON.stringify(r.headers).includes(key));
  return received;
}

async function upstreamBody(kind) {
  const [r] = await upstreamRequests(1);
  assert.equal(r.path, kind.path);
  assert.equal(r.body.model, kind.upstreamModel);
  return r.body;
}

/** The same-kind path: the client's own body, model and stream rewritten. */
function passedThrough(body, kind, stream) {
  const want = { ...body, model: kind.upstreamModel, stream };
  if (kind === openaiKind) {
    delete want.stream_options;
    if (stream) want.stream_options = { include_usage: true };
  }
  return want;
}

/** A client's structured-output request as {type, name, schema, strict}. */
function sentFormat(body) {
  if (body.response_format) {
    const { type, json_schema: js } = body.response_format;
    return type === "json_schema" ? { type, ...js } : { type };
  }
  if (body.text?.format) return body.text.format;
  const f = body.output_config.format;
  assert.equal(f.type, "json_schema");
  // Anthropic's structured outputs always hold to the schema: named "response", strict.
  return { type: "json_schema", name: "response", schema: f.schema, strict: true };
}

/** The structured output an upstream got for `fmt`, in its own terms. */
function checkFormat(kind, body, fmt) {
  if (kind === anthropicKind) {
    const schema = fmt.type === "json_schema" ? fmt.schema : { type: "object" };
    assert.deepEqual(body.output_config, { format: { type: "json_schema", schema } });
    assert.equal(body.response_format, undefined);
  } else if (kind === responsesKind) {
    assert.deepEqual(body.text, { format: fmt });
  } else {
    const { type, ...inner } = fmt;
    assert.deepEqual(body.response_format, type === "json_schema" ? { type, json_schema: inner } : { type });
    assert.equal(body.output_config, undefined);
  }
}

function checkCitySchema(schema) {
  assert.equal(schema.type, "object");
  assert.deepEqual(schema.properties, { city: { type: "string" }, country: { type: "string" } });
  assert.deepEqual([...schema.required].sort(), ["city", "country"]);
}

function effortOf(kind, body) {
  if (kind === responsesKind) {
    if (!body.reasoning) return undefined;
    assert.equal(body.reasoning.summary, "auto");
    assert.deepEqual(body.include, ["reasoning.encrypted_content"]);
    return body.reasoning.effort;
  }
  return body.reasoning_effort;
}

/** The AI SDK's usage for IN input tokens, CACHED of them read from the cache. */
function checkCachedUsage(usage) {
  assert.equal(usage.inputTokens, IN);
  assert.equal(usage.inputTokenDetails.cacheReadTokens, CACHED);
  assert.equal(usage.inputTokenDetails.noCacheTokens, IN - CACHED);
  assert.equal(usage.outputTokens, OUT);
}

// ==== structured output ============================================================

for (const [direction, kind] of FROM_OPENAI) {
  test(`AI SDK openai.chat generateObject (zod) ${direction}: the format, the object, cached usage`, async () => {
    await mock.push(kind.text(PARIS_JSON, CACHED));
    const r = await generateObject({ model: openai().chat(kind.model), schema: CITY, prompt: "Where is the Eiffel tower?" });
    assert.deepEqual(r.object, PARIS);
    checkCachedUsage(r.usage);
    const [body] = sentBody("/v1/chat/completions");
    const fmt = sentFormat(body);
    assert.deepEqual([fmt.name, fmt.strict], ["response", true]);
    checkCitySchema(fmt.schema);
    const up = await upstreamBody(kind);
    if (kind === openaiKind) assert.deepEqual(up, passedThrough(body, kind, false));
    else checkFormat(kind, up, fmt);
  });
}

for (const [direction, kind] of FROM_RESPONSES) {
  test(`AI SDK openai.responses generateObject (zod) ${direction}: text.format, the object, cached usage`, async () => {
    await mock.push(kind.text(PARIS_JSON, CACHED));
    const r = await generateObject({ model: openai().responses(kind.model), schema: CITY, prompt: "Where is the Eiffel tower?" });
    assert.deepEqual(r.object, PARIS);
    checkCachedUsage(r.usage);
    const [body] = sentBody("/v1/responses");
    const fmt = sentFormat(body);
    assert.deepEqual([fmt.type, fmt.name, fmt.strict], ["json_schema", "response", true]);
    checkCitySchema(fmt.schema);
    const up = await upstreamBody(kind);
    if (kind === responsesKind) assert.deepEqual(up, { ...body, model: kind.upstreamModel });
    else checkFormat(kind, up, fmt);
  });
}

for (const [direction, kind] of FROM_ANTHROPIC) {
  test(`AI SDK anthropic generateObject (outputFormat) ${direction}: output_config.format, the object, cached usage`, async () => {
    await mock.push(kind.text(PARIS_JSON, CACHED));
    const r = await generateObject({
      model: anthropic()(kind.model), schema: CITY, prompt: "Where is the Eiffel tower?", maxOutputTokens: 1024,
      providerOptions: { anthropic: { structuredOutputMode: "outputFormat" } },
    });
    assert.deepEqual(r.object, PARIS);
    checkCachedUsage(r.usage);
    assert.equal(r.providerMetadata.anthropic.usage.cache_read_input_tokens, CACHED);
    assert.equal(r.providerMetadata.anthropic.usage.input_tokens, IN - CACHED);
    const [body] = sentBody("/v1/messages");
    checkCitySchema(body.output_config.format.schema);
    const up = await upstreamBody(kind);
    if (kind === anthropicKind) assert.deepEqual(up, passedThrough(body, kind, false));
    else checkFormat(kind, up, sentFormat(body));
  });

  test(`AI SDK anthropic generateObject (its json tool, for a model it does not know) ${direction}`, async () => {
    await mock.push(kind.toolCall("json", PARIS));
    const r = await generateObject({ model: anthropic()(kind.model), schema: CITY, prompt: "Where is the Eiffel tower?", maxOutputTokens: 1024 });
    assert.deepEqual(r.object, PARIS);
    const [body] = sentBody("/v1/messages");
    const [jsonTool] = body.tools;
    assert.equal(jsonTool.name, "json");
    checkCitySchema(jsonTool.input_schema);
    assert.deepEqual(body.tool_choice, { type: "any", disable_parallel_tool_use: true });
    const up = await upstreamBody(kind);
    if (kind === anthropicKind) {
      assert.deepEqual(up, passedThrough(body, kind, false));
    } else if (kind === openaiKind) {
      assert.deepEqual(up.tools, [{ type: "function", function: { name: "json", description: jsonTool.description, parameters: jsonTool.input_schema } }]);
      assert.equal(up.tool_choice, "required");
      assert.equal(up.parallel_tool_calls, false);
    } else {
      assert.deepEqual(up.tools, [{ type: "function", name: "json", description: jsonTool.description, parameters: jsonTool.input_schema, strict: false }]);
      assert.equal(up.tool_choice, "required");
      assert.equal(up.parallel_tool_calls, false);
    }
  });
}

for (const [direction, kind] of FROM_OPENAI) {
  test(`LangChain JS ChatOpenAI withStructuredOutput (jsonSchema) ${direction}`, async () => {
    await mock.push(kind.text(PARIS_JSON, CACHED));
    const structured = langchain(kind.model).withStructuredOutput(CITY, { name: "City", method: "jsonSchema", includeRaw: true });
    const out = await structured.invoke("Where is the Eiffel tower?");
    assert.deepEqual(out.parsed, PARIS);
    assert.equal(out.raw.usage_metadata.input_tokens, IN);
    assert.equal(out.raw.usage_metadata.input_token_details.cache_read, CACHED);
    const [body] = sentBody("/v1/chat/completions");
    const fmt = sentFormat(body);
    assert.deepEqual([fmt.name, fmt.strict], ["City", true]);
    checkCitySchema(fmt.schema);
    const up = await upstreamBody(kind);
    if (kind === openaiKind) assert.deepEqual(up, passedThrough(body, kind, false));
    else checkFormat(kind, up, fmt);
  });
}

// ==== reasoning controls ===========================================================

for (const [direction, kind] of FROM_OPENAI) {
  test(`AI SDK openai.chat reasoningEffort medium ${direction}: the control each upstream takes`, async () => {
    await mock.push(kind.thoughtAndText("In Paris."));
    const r = await generateText({
      model: openai().chat(kind.model), prompt: "Where is the Eiffel tower?", maxOutputTokens: 20000,
      providerOptions: { openai: { reasoningEffort: "medium" } },
    });
    assert.equal(r.text, "In Paris.");
    const [body] = sentBody("/v1/chat/completions");
    assert.equal(body.reasoning_effort, "medium");
    const up = await upstreamBody(kind);
    if (kind === anthropicKind) {
      assert.deepEqual(up.thinking, { type: "enabled", budget_tokens: 8192 });
    } else if (kind === responsesKind) {
      assert.equal(effortOf(kind, up), "medium");
    } else {
      assert.deepEqual(up, passedThrough(body, kind, false));
    }
  });
}

for (const [direction, kind] of FROM_ANTHROPIC) {
  test(`AI SDK anthropic thinking budget 10000 ${direction}: effort medium, the thinking back`, async () => {
    await mock.push(kind.thoughtAndText("In Paris."));
    const r = await generateText({
      model: anthropic()(kind.model), prompt: "Where is the Eiffel tower?", maxOutputTokens: 20000,
      providerOptions: { anthropic: { thinking: { type: "enabled", budgetTokens: 10000 } } },
    });
    assert.equal(r.text, "In Paris.");
    assert.equal(r.reasoningText, THOUGHT);
    const [body] = sentBody("/v1/messages");
    assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 10000 });
    const up = await upstreamBody(kind);
    if (kind === anthropicKind) assert.deepEqual(up, passedThrough(body, kind, false));
    else assert.equal(effortOf(kind, up), "medium");
  });
}

// ==== streams: the role chunk, text, tool calls, cached usage ======================

for (const [direction, kind] of FROM_OPENAI) {
  test(`the streamed role chunk ${direction}: {"role":"assistant","content":"","refusal":null} first`, async () => {
    await mock.push(kind.textStream(["Hel", "lo"]));
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ model: kind.model, stream: true, messages: [{ role: "user", content: "Hi" }] }),
    });
    const frames = (await r.text()).split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)));
    assert.deepEqual(frames[0].choices, [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]);
    await upstreamBody(kind);
  });

  test(`AI SDK openai.chat streamText ${direction}: the text piece by piece, cached usage`, async () => {
    await mock.push(kind.textStream(["Streamed ", "through ", "the gateway."], CACHED));
    const result = streamText({ model: openai().chat(kind.model), prompt: "Stream it" });
    const pieces = [];
    for await (const piece of result.textStream) pieces.push(piece);
    assert.equal(pieces.join(""), "Streamed through the gateway.");
    assert.ok(pieces.length >= 3);
    checkCachedUsage(await result.usage);
    assert.equal(await result.finishReason, "stop");
    const [body] = sentBody("/v1/chat/completions");
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal((await upstreamBody(kind)).stream, true);
  });

  test(`AI SDK openai.chat streamText tool call ${direction}: the arguments streamed as a string`, async () => {
    await mock.push(kind.toolCallStream("get_weather", ['{"ci', 'ty": ', '"Par', 'is"}']));
    const result = streamText({
      model: openai().chat(kind.model), prompt: "Weather in Paris?",
      tools: { get_weather: tool({ description: "The weather in a city.", inputSchema: z.object({ city: z.string() }) }) },
    });
    const deltas = [];
    for await (const part of result.fullStream) if (part.type === "tool-input-delta") deltas.push(part.delta);
    assert.equal(deltas.join(""), '{"city": "Paris"}');
    const calls = await result.toolCalls;
    assert.deepEqual(calls.map((c) => [c.toolName, c.toolCallId, c.input]), [["get_weather", kind.toolId, { city: "Paris" }]]);
    assert.equal(await result.finishReason, "tool-calls");
    await upstreamBody(kind);
  });

  test(`LangChain JS ChatOpenAI stream ${direction}: text and cached usage`, async () => {
    await mock.push(kind.textStream(["Streamed ", "through ", "the gateway."], CACHED));
    let total;
    for await (const chunk of await langchain(kind.model, { streamUsage: true }).stream("Stream it")) {
      total = total === undefined ? chunk : total.concat(chunk);
    }
    assert.equal(total.content, "Streamed through the gateway.");
    assert.equal(total.usage_metadata.input_tokens, IN);
    assert.equal(total.usage_metadata.input_token_details.cache_read, CACHED);
    assert.equal(total.usage_metadata.output_tokens, OUT);
    assert.equal((await upstreamBody(kind)).stream, true);
  });
}

for (const [direction, kind] of FROM_ANTHROPIC) {
  test(`AI SDK anthropic streamText ${direction}: the text piece by piece, cached usage`, async () => {
    await mock.push(kind.textStream(["Streamed ", "through ", "the gateway."], CACHED));
    const result = streamText({ model: anthropic()(kind.model), prompt: "Stream it", maxOutputTokens: 1024 });
    const pieces = [];
    for await (const piece of result.textStream) pieces.push(piece);
    assert.equal(pieces.join(""), "Streamed through the gateway.");
    checkCachedUsage(await result.usage);
    const [body] = sentBody("/v1/messages");
    const up = await upstreamBody(kind);
    if (kind === anthropicKind) assert.deepEqual(up, passedThrough(body, kind, true));
    else assert.equal(up.stream, true);
  });
}

// ==== a tool round trip: arguments as strings ======================================

for (const [direction, kind] of FROM_OPENAI) {
  test(`AI SDK openai.chat tool round trip ${direction}: arguments a string both ways`, async () => {
    await mock.push(kind.toolCall("get_weather", { city: "Paris" }), kind.text("Sunny, 18 degrees."));
    const r = await generateText({
      model: openai().chat(kind.model), prompt: "Weather in Paris?", stopWhen: stepCountIs(2),
      tools: {
        get_weather: tool({
          description: "The weather in a city.", inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `18 degrees and sunny in ${city}`,
        }),
      },
    });
    assert.equal(r.text, "Sunny, 18 degrees.");
    assert.deepEqual(r.steps[0].toolCalls.map((c) => [c.toolName, c.input]), [["get_weather", { city: "Paris" }]]);
    const [, second] = sentBody("/v1/chat/completions", 2);
    const [, assistant, result] = second.messages;
    assert.equal(typeof assistant.tool_calls[0].function.arguments, "string");
    assert.equal(result.role, "tool");
    const [, up] = await upstreamRequests(2);
    if (kind === anthropicKind) {
      const [use] = up.body.messages[1].content.filter((b) => b.type === "tool_use");
      assert.deepEqual([use.id, use.name, use.input], [kind.toolId, "get_weather", { city: "Paris" }]);
      const [res] = up.body.messages[2].content.filter((b) => b.type === "tool_result");
      assert.equal(res.tool_use_id, kind.toolId);
    } else if (kind === responsesKind) {
      const call = up.body.input.find((i) => i.type === "function_call");
      assert.deepEqual([call.call_id, JSON.parse(call.arguments)], [kind.toolId, { city: "Paris" }]);
      const output = up.body.input.find((i) => i.type === "function_call_output");
      assert.equal(output.call_id, kind.toolId);
    } else {
      assert.deepEqual(up.body, passedThrough(second, kind, false));
    }
  });
}

// ==== embeddings ===================================================================

function embeddingsAnswer(vectors) {
  const data = vectors.map((embedding, index) => ({ object: "embedding", index, embedding })).reverse();
  return { json: { object: "list", model: "up-gpt", data, usage: { prompt_tokens: 9, total_tokens: 9 } } };
}

test("AI SDK embedMany to an openai-kind upstream: the inputs and dimensions go up, the vectors in order", async () => {
  await mock.push(embeddingsAnswer([[0.6, 0.8, 0], [0, 0, 1]]));
  const r = await embedMany({
    model: openai().embedding("via-openai"), values: ["Dragons guard treasure.", "Paris is in France."],
    providerOptions: { openai: { dimensions: 3 } },
  });
  assert.deepEqual(r.embeddings.map((v) => v.map((x) => Math.round(x * 10) / 10)), [[0.6, 0.8, 0], [0, 0, 1]]);
  assert.equal(r.usage.tokens, 9);
  const [up] = await upstreamRequests(1);
  assert.equal(up.path, "/v1/embeddings");
  assert.deepEqual(up.body, { model: "up-gpt", input: ["Dragons guard treasure.", "Paris is in France."], encoding_format: "float", dimensions: 3 });
});

test("LangChain JS OpenAIEmbeddings to an openai-kind upstream: strings (it does not tokenize), dimensions", async () => {
  await mock.push(embeddingsAnswer([[0.6, 0.8, 0], [0, 0, 1]]));
  const emb = new OpenAIEmbeddings({ model: "via-openai", apiKey: key, dimensions: 3, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1`, fetch: recordingFetch } });
  const vectors = await emb.embedDocuments(["Dragons guard treasure.", "Paris is in France."]);
  assert.deepEqual(vectors.map((v) => v.map((x) => Math.round(x * 10) / 10)), [[0.6, 0.8, 0], [0, 0, 1]]);
  const [up] = await upstreamRequests(1);
  assert.deepEqual(up.body, { model: "up-gpt", input: ["Dragons guard treasure.", "Paris is in France."], encoding_format: "float", dimensions: 3 });
});
