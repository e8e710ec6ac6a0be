// Chat Completions (the official openai Node SDK) and Messages (the official
// Anthropic Node SDK, @anthropic-ai/sdk) through a real gateway, translated to
// each kind of upstream: `via-responses` (an `openai-responses` upstream: the
// Responses API and back), and for comparison `via-openai` and
// `via-anthropic`. Behind the three is a second gateway on the echo, which
// answers with the last user text, calls get_weather when asked
// "What's the weather in Paris?" and quotes tool results; its usage is the
// 4-characters-a-token estimate, so the tests know every number.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import { Gateway, translatedProfiles } from "./gateway.mjs";

const MODELS = ["via-responses", "via-openai", "via-anthropic"];

const SYSTEM = "Be brief.";
const QUESTION = "What's the weather in Paris?";
const RESULT = "18 degrees and sunny";
const SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const DESCRIPTION = "Look up the weather for a city.";
const OPENAI_TOOL = { type: "function", function: { name: "get_weather", description: DESCRIPTION, parameters: SCHEMA } };
const ANTHROPIC_TOOL = { name: "get_weather", description: DESCRIPTION, input_schema: SCHEMA };
const CITY = { city: "Paris" };
// A prompt longer than 20 tokens, for an answer cut at max_tokens 20 (OpenAI's
// minimum is 16, which the gateway raises smaller ones to).
const LONG = "Dragons guard libraries of scrolls in the mountains, and every scroll tells of another dragon far away.";
// A 1x1 PNG; the echo counts an image as 1,600 tokens (6,400 characters).
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const IMAGE_CHARS = "x".repeat(6400);

let upstream;
let gateway;
let openai;
let anthropic;

before(async () => {
  upstream = await Gateway.start();
  const upstreamKey = await upstream.newKey("upstream", 1000);
  gateway = await Gateway.start(translatedProfiles(upstream.url), { MWS_UPSTREAM_KEY: upstreamKey });
  const key = await gateway.newKey("node-translated");
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
});

after(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

/** The echo's estimate: 4 characters a token, rounded up. */
function tokens(...texts) {
  return Math.ceil(texts.reduce((n, t) => n + t.length, 0) / 4);
}

/** What a get_weather call costs the echo: its name and its arguments. */
const CALL_TOKENS = tokens("get_weather") + tokens(JSON.stringify(CITY));

/** The echo's answer to a tool result. */
function quoted(callId) {
  return `Tool result ${callId} returned: ${RESULT}`;
}

/** A chat stream's text, tool calls by index, finish reasons and usage chunks. */
function readChat(chunks) {
  let text = "";
  const calls = new Map();
  const finishes = [];
  const usages = [];
  for (const chunk of chunks) {
    if (chunk.usage) usages.push(chunk);
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? "";
      for (const d of choice.delta.tool_calls ?? []) {
        const call = calls.get(d.index) ?? { id: null, name: "", arguments: "" };
        call.id = d.id ?? call.id;
        call.name += d.function?.name ?? "";
        call.arguments += d.function?.arguments ?? "";
        calls.set(d.index, call);
      }
      if (choice.finish_reason) finishes.push(choice.finish_reason);
    }
  }
  return { text, calls, finishes, usages };
}

for (const model of MODELS) {
  // ---- openai SDK: chat.completions ---------------------------------------------

  test(`${model}: chat.completions.create: the echo's answer, stop, exact usage`, async () => {
    const prompt = "Tell me about dragons in three words.";
    const r = await openai.chat.completions.create({
      model,
      max_tokens: 200,
      messages: [{ role: "system", content: SYSTEM }, { role: "user", content: prompt }],
    });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.model, model);
    assert.equal(r.choices.length, 1);
    const [choice] = r.choices;
    assert.equal(choice.message.role, "assistant");
    assert.equal(choice.message.content, prompt);
    assert.equal(choice.message.tool_calls ?? undefined, undefined);
    assert.equal(choice.finish_reason, "stop");
    assert.deepEqual(
      [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens],
      [tokens(SYSTEM, prompt), tokens(prompt), tokens(SYSTEM, prompt) + tokens(prompt)],
    );
  });

  test(`${model}: chat.completions.create: cut at max_tokens is finish_reason length`, async () => {
    const r = await openai.chat.completions.create({ model, max_tokens: 20, messages: [{ role: "user", content: LONG }] });
    assert.equal(r.choices[0].message.content, LONG.slice(0, 80));
    assert.equal(r.choices[0].finish_reason, "length");
    assert.equal(r.usage.completion_tokens, 20);
  });

  test(`${model}: chat.completions.create: earlier turns and an image reach the upstream`, async () => {
    const r = await openai.chat.completions.create({
      model,
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: "Remember four." },
        { role: "assistant", content: "I will remember four." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    assert.equal(r.choices[0].message.content, "What is in this picture?");
    const history = [SYSTEM, "Remember four.", "I will remember four.", "What is in this picture?"];
    assert.equal(r.usage.prompt_tokens, tokens(...history, IMAGE_CHARS));
  });

  test(`${model}: chat.completions stream with include_usage: deltas, one stop, usage last`, async () => {
    const prompt = "Stream me a poem about a dragon who guards a library of scrolls.";
    const stream = await openai.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "system", content: SYSTEM }, { role: "user", content: prompt }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const { text, calls, finishes, usages } = readChat(chunks);
    assert.equal(text, prompt);
    assert.ok(chunks.filter((c) => c.choices[0]?.delta.content).length >= 2, "delta by delta");
    assert.deepEqual(finishes, ["stop"]);
    assert.equal(calls.size, 0);
    assert.deepEqual(new Set(chunks.map((c) => c.model)), new Set([model]));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, "one id for the whole stream");
    assert.equal(chunks.at(-1).object, "chat.completion.chunk");
    // The usage comes once, in the last chunk, which has no choices.
    assert.deepEqual(usages, [chunks.at(-1)]);
    assert.deepEqual(chunks.at(-1).choices, []);
    const usage = chunks.at(-1).usage;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [tokens(SYSTEM, prompt), tokens(prompt)]);
  });

  test(`${model}: chat.completions get_weather round trip`, async () => {
    const messages = [{ role: "system", content: "Use tools." }, { role: "user", content: QUESTION }];
    const first = await openai.chat.completions.create({ model, messages, tools: [OPENAI_TOOL] });
    const [choice] = first.choices;
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.tool_calls.length, 1);
    const [call] = choice.message.tool_calls;
    assert.equal(call.type, "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), CITY);
    assert.ok(call.id, "a call id");
    assert.equal(first.usage.completion_tokens, CALL_TOKENS);

    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: RESULT });
    const second = await openai.chat.completions.create({ model, messages, tools: [OPENAI_TOOL] });
    assert.equal(second.choices[0].message.content, quoted(call.id));
    assert.equal(second.choices[0].finish_reason, "stop");
    assert.equal(second.choices[0].message.tool_calls ?? undefined, undefined);
    assert.equal(second.usage.completion_tokens, tokens(quoted(call.id)));
  });

  test(`${model}: chat.completions streamed get_weather round trip`, async () => {
    const messages = [{ role: "user", content: QUESTION }];
    const params = { model, tools: [OPENAI_TOOL], stream: true, stream_options: { include_usage: true } };
    const chunks = [];
    for await (const chunk of await openai.chat.completions.create({ ...params, messages })) chunks.push(chunk);
    const { text, calls, finishes, usages } = readChat(chunks);
    assert.equal(text, "");
    assert.deepEqual(finishes, ["tool_calls"]);
    assert.deepEqual([...calls.keys()], [0]);
    const call = calls.get(0);
    assert.equal(call.name, "get_weather");
    assert.deepEqual(JSON.parse(call.arguments), CITY);
    assert.ok(call.id);
    assert.equal(usages.length, 1);
    assert.equal(usages[0].usage.completion_tokens, CALL_TOKENS);

    messages.push(
      { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }] },
      { role: "tool", tool_call_id: call.id, content: RESULT },
    );
    const again = [];
    for await (const chunk of await openai.chat.completions.create({ ...params, messages })) again.push(chunk);
    const answer = readChat(again);
    assert.equal(answer.text, quoted(call.id));
    assert.deepEqual(answer.finishes, ["stop"]);
    assert.equal(answer.calls.size, 0);
  });

  // ---- Anthropic SDK: messages -------------------------------------------------

  test(`${model}: messages.create: the echo's answer, end_turn, exact usage`, async () => {
    const prompt = "Tell me about dragons in three words.";
    const m = await anthropic.messages.create({
      model,
      max_tokens: 200,
      system: SYSTEM,
      messages: [{ role: "user", content: prompt }],
    });
    assert.equal(m.type, "message");
    assert.equal(m.role, "assistant");
    assert.equal(m.model, model);
    assert.ok(m.id, "an id");
    assert.deepEqual(m.content.map((b) => [b.type, b.text]), [["text", prompt]]);
    assert.equal(m.stop_reason, "end_turn");
    assert.equal(m.stop_sequence, null);
    assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [tokens(SYSTEM, prompt), tokens(prompt)]);
  });

  test(`${model}: messages.create: cut at max_tokens is stop_reason max_tokens`, async () => {
    const m = await anthropic.messages.create({ model, max_tokens: 20, messages: [{ role: "user", content: LONG }] });
    assert.deepEqual(m.content.map((b) => [b.type, b.text]), [["text", LONG.slice(0, 80)]]);
    assert.equal(m.stop_reason, "max_tokens");
    assert.equal(m.usage.output_tokens, 20);
  });

  test(`${model}: messages.create: earlier turns and an image reach the upstream`, async () => {
    const m = await anthropic.messages.create({
      model,
      max_tokens: 200,
      system: SYSTEM,
      messages: [
        { role: "user", content: "Remember four." },
        { role: "assistant", content: [{ type: "text", text: "I will remember four." }] },
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "text", text: "What is in this picture?" },
          ],
        },
      ],
    });
    assert.deepEqual(m.content.map((b) => [b.type, b.text]), [["text", "What is in this picture?"]]);
    const history = [SYSTEM, "Remember four.", "I will remember four.", "What is in this picture?"];
    assert.equal(m.usage.input_tokens, tokens(...history, IMAGE_CHARS));
  });

  test(`${model}: messages.stream: text events add up, finalMessage`, async () => {
    const prompt = "Stream me a poem about a dragon who guards a library of scrolls.";
    const stream = anthropic.messages.stream({
      model,
      max_tokens: 200,
      system: SYSTEM,
      messages: [{ role: "user", content: prompt }],
    });
    const pieces = [];
    const types = [];
    stream.on("text", (delta) => pieces.push(delta));
    stream.on("streamEvent", (event) => types.push(event.type));
    const final = await stream.finalMessage();
    assert.equal(pieces.join(""), prompt);
    assert.ok(pieces.length >= 2, "delta by delta");
    assert.equal(types[0], "message_start");
    assert.equal(types.at(-1), "message_stop");
    assert.deepEqual(types.filter((t) => t.startsWith("content_block_") && t !== "content_block_delta"),
      ["content_block_start", "content_block_stop"]);
    assert.deepEqual(final.content.map((b) => [b.type, b.text]), [["text", prompt]]);
    assert.equal(final.model, model);
    assert.equal(final.stop_reason, "end_turn");
    assert.deepEqual([final.usage.input_tokens, final.usage.output_tokens], [tokens(SYSTEM, prompt), tokens(prompt)]);
  });

  test(`${model}: messages get_weather round trip`, async () => {
    const messages = [{ role: "user", content: QUESTION }];
    const params = { model, max_tokens: 200, system: "Use tools.", tools: [ANTHROPIC_TOOL] };
    const first = await anthropic.messages.create({ ...params, messages });
    assert.equal(first.stop_reason, "tool_use");
    const uses = first.content.filter((b) => b.type === "tool_use");
    assert.equal(uses.length, 1, JSON.stringify(first.content));
    const [use] = uses;
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, CITY);
    assert.ok(use.id, "a tool_use id");
    assert.equal(first.usage.output_tokens, CALL_TOKENS);

    messages.push(
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: RESULT }] },
    );
    const second = await anthropic.messages.create({ ...params, messages });
    assert.deepEqual(second.content.map((b) => [b.type, b.text]), [["text", quoted(use.id)]]);
    assert.equal(second.stop_reason, "end_turn");
    assert.equal(second.usage.output_tokens, tokens(quoted(use.id)));
  });

  test(`${model}: messages.stream get_weather round trip`, async () => {
    const messages = [{ role: "user", content: QUESTION }];
    const params = { model, max_tokens: 200, tools: [ANTHROPIC_TOOL] };
    const stream = anthropic.messages.stream({ ...params, messages });
    const partial = [];
    stream.on("inputJson", (delta) => partial.push(delta));
    const first = await stream.finalMessage();
    assert.equal(first.stop_reason, "tool_use");
    const [use] = first.content.filter((b) => b.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, CITY);
    assert.deepEqual(JSON.parse(partial.join("")), CITY);
    assert.equal(first.usage.output_tokens, CALL_TOKENS);

    messages.push(
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: RESULT }] },
    );
    const second = await anthropic.messages.stream({ ...params, messages }).finalMessage();
    assert.deepEqual(second.content.map((b) => [b.type, b.text]), [["text", quoted(use.id)]]);
    assert.equal(second.stop_reason, "end_turn");
  });
}
