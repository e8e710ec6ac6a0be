// The Responses API of a real gateway, driven with the official openai Node
// SDK, on the echo (`dragon`), translated to an OpenAI-kind and an
// Anthropic-kind upstream, and relayed to an `openai-responses` upstream (a
// second gateway on the echo behind the three): create, stream (event by
// event), a function-tool round trip (stored and stateless), structured output
// with zod, retrieve and delete.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";

import { Gateway, translatedProfiles } from "./gateway.mjs";

const MODELS = ["dragon", "via-openai", "via-anthropic", "via-responses"];

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
const WEATHER = {
  type: "function",
  name: "get_weather",
  description: "Look up the weather for a city.",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
  },
  strict: false,
};
const QUESTION = "What's the weather in Paris?";
const RESULT = "18 degrees and sunny";

let upstream;
let gateway;
let client;

before(async () => {
  upstream = await Gateway.start();
  const upstreamKey = await upstream.newKey("upstream", 1000);
  gateway = await Gateway.start(translatedProfiles(upstream.url), { MWS_UPSTREAM_KEY: upstreamKey });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: await gateway.newKey("node-sdk"), maxRetries: 0 });
});

after(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

function checkResponse(r, model) {
  assert.match(r.id, /^resp_/);
  assert.equal(r.object, "response");
  assert.equal(r.model, model);
  assert.equal(r.status, "completed");
  assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
}

/** response.created first, sequence numbers rising, one terminal event, last. */
function checkEventOrder(events) {
  const types = events.map((e) => e.type);
  assert.equal(types[0], "response.created", types.join(" "));
  const numbers = events.map((e) => e.sequence_number);
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i] > numbers[i - 1], numbers.join(" "));
  assert.deepEqual(types.filter((t) => TERMINAL.has(t)), [types.at(-1)]);
  assert.ok(!types.includes("error"), types.join(" "));
}

function functionCall(r) {
  const calls = r.output.filter((o) => o.type === "function_call");
  assert.equal(calls.length, 1, JSON.stringify(r.output));
  return calls[0];
}

for (const model of MODELS) {
  test(`${model}: create: the echo answers with the prompt`, async () => {
    const prompt = "Tell me about dragons in three words.";
    const r = await client.responses.create({ model, instructions: "Be brief.", input: prompt });
    checkResponse(r, model);
    assert.equal(r.output_text, prompt);
    assert.equal(r.output.length, 1);
    assert.equal(r.output[0].type, "message");
    assert.equal(r.output[0].role, "assistant");
    assert.deepEqual(r.output[0].content.map((c) => c.type), ["output_text"]);
  });

  test(`${model}: stream: events in order, deltas add up to the text`, async () => {
    const prompt = "Stream me a poem about a dragon who guards a library of scrolls.";
    const stream = client.responses.stream({ model, input: prompt });
    const events = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    checkEventOrder(events);
    const types = events.map((e) => e.type);
    const order = [
      "response.created",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ];
    const firsts = order.map((t) => types.indexOf(t));
    assert.ok(firsts.every((i) => i >= 0), types.join(" "));
    assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b));
    const deltas = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
    assert.ok(deltas.length >= 2, "the echo streams in several deltas");
    assert.equal(deltas.join(""), prompt);
    checkResponse(final, model);
    assert.equal(final.output_text, prompt);
    assert.equal(final.id, events[0].response.id);
  });

  test(`${model}: stream: true on create gives the raw events`, async () => {
    const events = [];
    for await (const event of await client.responses.create({ model, input: "Raw, please.", stream: true })) {
      events.push(event);
    }
    checkEventOrder(events);
    assert.equal(events.at(-1).type, "response.completed");
    // Raw events are the wire's JSON: `output_text` is the SDK's convenience on
    // what `create` and `stream` return, so the text is read off the items here.
    const text = events.at(-1).response.output
      .filter((item) => item.type === "message")
      .flatMap((item) => item.content.map((part) => part.text))
      .join("");
    assert.equal(text, "Raw, please.");
  });

  test(`${model}: function tool round trip, continued with previous_response_id`, async () => {
    const first = await client.responses.create({ model, input: QUESTION, tools: [WEATHER] });
    checkResponse(first, model);
    const call = functionCall(first);
    assert.equal(call.name, "get_weather");
    assert.deepEqual(JSON.parse(call.arguments), { city: "Paris" });
    assert.ok(call.call_id);

    const second = await client.responses.create({
      model,
      tools: [WEATHER],
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: RESULT }],
    });
    checkResponse(second, model);
    assert.equal(second.previous_response_id, first.id);
    assert.ok(second.output_text.includes(RESULT), second.output_text);
    assert.ok(second.output_text.includes(call.call_id), second.output_text);
    assert.equal(second.output.filter((o) => o.type === "function_call").length, 0);
  });

  test(`${model}: function tool round trip, stateless (store: false, every item sent again)`, async () => {
    const question = { type: "message", role: "user", content: QUESTION };
    const first = await client.responses.create({ model, input: [question], tools: [WEATHER], store: false });
    const call = functionCall(first);
    await assert.rejects(client.responses.retrieve(first.id), (e) => e instanceof OpenAI.NotFoundError);
    const second = await client.responses.create({
      model,
      tools: [WEATHER],
      store: false,
      input: [question, ...first.output, { type: "function_call_output", call_id: call.call_id, output: RESULT }],
    });
    checkResponse(second, model);
    assert.ok(second.output_text.includes(RESULT), second.output_text);
  });

  test(`${model}: streamed function call: argument deltas add up`, async () => {
    const stream = client.responses.stream({ model, input: QUESTION, tools: [WEATHER] });
    const events = [];
    for await (const event of stream) events.push(event);
    checkEventOrder(events);
    const deltas = events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => e.delta);
    const [done] = events.filter((e) => e.type === "response.function_call_arguments.done");
    assert.ok(deltas.length >= 1);
    assert.equal(deltas.join(""), done.arguments);
    assert.deepEqual(JSON.parse(done.arguments), { city: "Paris" });
    const call = functionCall(await stream.finalResponse());
    assert.equal(call.name, "get_weather");
  });

  test(`${model}: parse with a zod schema (the echo returns the JSON it is sent)`, async () => {
    const City = z.object({ city: z.string(), country: z.string() });
    const paris = { city: "Paris", country: "France" };
    const r = await client.responses.parse({
      model,
      input: JSON.stringify(paris),
      text: { format: zodTextFormat(City, "city") },
    });
    checkResponse(r, model);
    assert.deepEqual(r.output_parsed, paris);
    assert.equal(r.text.format.type, "json_schema");
    assert.equal(r.text.format.name, "city");
  });

  test(`${model}: retrieve, input_items, delete, then 404`, async () => {
    const created = await client.responses.create({ model, input: "Keep me for a moment." });
    const got = await client.responses.retrieve(created.id);
    assert.equal(got.id, created.id);
    assert.equal(got.output_text, "Keep me for a moment.");
    const items = await client.responses.inputItems.list(created.id, { order: "asc" });
    assert.deepEqual(
      items.data.map((i) => [i.type, i.role]),
      [["message", "user"]],
    );
    await client.responses.delete(created.id);
    await assert.rejects(client.responses.retrieve(created.id), (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  });

  test(`${model}: another account's response is 404`, async () => {
    const created = await client.responses.create({ model, input: "Mine." });
    const other = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: await gateway.newKey("node-other"), maxRetries: 0 });
    await assert.rejects(other.responses.retrieve(created.id), (e) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(other.responses.delete(created.id), (e) => e instanceof OpenAI.NotFoundError);
    assert.equal((await client.responses.retrieve(created.id)).output_text, "Mine.");
  });
}
