// serve(): the HTTP API from inside the process, driven by the official
// openai and @anthropic-ai/sdk clients.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'

import { BadRequestError, Gateway } from '../index.js'
import { SLOW_ECHO_TOML, funded } from './helpers.mjs'

const weatherTool = {
  name: 'get_weather',
  description: 'Look up the weather for a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

describe('the official SDKs against serve()', () => {
  let gw, server, key, accountId, openai, anthropic
  before(async () => {
    ;({ gw, key, account: { id: accountId } } = await funded())
    server = await gw.serve('127.0.0.1:0')
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key })
    // The Anthropic SDK adds /v1 itself.
    anthropic = new Anthropic({ baseURL: server.url, apiKey: key })
  })
  after(() => server.close())

  test('server.url names the bound port', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(server.port > 0)
    assert.equal(server.url, `http://${server.host}:${server.port}`)
  })

  test('openai: chat completion, stream with usage, models, embeddings', async () => {
    const reply = await openai.chat.completions.create({ model: 'dragon', messages: [{ role: 'user', content: 'Hello, dragon!' }] })
    assert.equal(reply.choices[0].message.content, 'Hello, dragon!')

    const stream = await openai.chat.completions.create({
      model: 'dragon-flash',
      messages: [{ role: 'user', content: 'Stream me a poem.' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let usage = null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      usage = chunk.usage ?? usage
    }
    assert.equal(text, 'Stream me a poem.')
    assert.ok(usage.completion_tokens > 0)

    const ids = []
    for await (const model of openai.models.list()) ids.push(model.id)
    assert.equal(ids.length, 11)
    assert.equal((await openai.models.retrieve('dragon-pro')).id, 'dragon-pro')

    // The SDK asks for base64 and decodes it; the values match the in-process floats.
    const viaHttp = await openai.embeddings.create({ model: 'dragon', input: 'a dragon' })
    const inProcess = await gw.embeddings({ model: 'dragon', input: 'a dragon', encoding_format: 'float' })
    assert.deepEqual(viaHttp.data[0].embedding, inProcess.data[0].embedding.map((x) => Math.fround(x)))
  })

  test('openai: tool call, tool result, final answer', async () => {
    const tools = [{ type: 'function', function: { name: weatherTool.name, parameters: weatherTool.input_schema } }]
    const messages = [{ role: 'user', content: "What's the weather in Paris?" }]
    const first = await openai.chat.completions.create({ model: 'gpt-4o', messages, tools })
    assert.equal(first.choices[0].finish_reason, 'tool_calls')
    const call = first.choices[0].message.tool_calls[0]
    const final = await openai.chat.completions.create({
      model: 'gpt-4o',
      tools,
      messages: [
        ...messages,
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: 'Sunny, 24 °C' },
      ],
    })
    assert.equal(final.choices[0].finish_reason, 'stop')
    assert.match(final.choices[0].message.content, /Sunny, 24 °C/)
  })

  test('anthropic: create, stream, count tokens', async () => {
    const reply = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello, dragon!' }],
    })
    assert.equal(reply.content[0].type, 'text')
    assert.equal(reply.content[0].text, 'Hello, dragon!')

    const stream = anthropic.messages.stream({
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Stream me a poem.' }],
    })
    let text = ''
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text
    }
    assert.equal(text, 'Stream me a poem.')
    assert.equal((await stream.finalMessage()).stop_reason, 'end_turn')

    const counted = await anthropic.messages.countTokens({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'How many tokens is this?' }],
    })
    const inProcess = await gw.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'How many tokens is this?' }] })
    assert.deepEqual(counted, inProcess)
  })

  test('anthropic: the tool-use flow of the API page', async () => {
    const question = { role: 'user', content: "What's the weather in Paris?" }
    const first = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      tools: [weatherTool],
      messages: [question],
    })
    assert.equal(first.stop_reason, 'tool_use')
    const call = first.content.find((b) => b.type === 'tool_use')
    const final = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      tools: [weatherTool],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 24 °C' }] },
      ],
    })
    assert.equal(final.stop_reason, 'end_turn')
    assert.match(final.content[0].text, /Sunny, 24 °C/)
  })

  test('the SDKs see the gateway\'s errors in their own classes', async () => {
    const badOpenAI = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'mws_live_bad', maxRetries: 0 })
    await assert.rejects(badOpenAI.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401)
    const badAnthropic = new Anthropic({ baseURL: server.url, apiKey: 'mws_live_bad', maxRetries: 0 })
    await assert.rejects(
      badAnthropic.messages.create({ model: 'dragon', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof Anthropic.AuthenticationError && e.error.error.type === 'authentication_error',
    )
  })

  test('HTTP calls are charged to the same ledger as in-process ones', async () => {
    const before = (await gw.admin.usage(accountId)).totals.requests
    await openai.chat.completions.create({ model: 'dragon', messages: [{ role: 'user', content: 'one more' }] })
    await gw.chatCompletions({ model: 'dragon', messages: [{ role: 'user', content: 'and in-process' }] }, { apiKey: key })
    assert.equal((await gw.admin.usage(accountId)).totals.requests, before + 2)
  })
})

describe('serving', () => {
  test('an address that is not one is a BadRequestError', async () => {
    await assert.rejects(new Gateway().serve('localhost'), (e) => e instanceof BadRequestError && e.param === 'addr')
  })

  test('close() lets a stream in flight finish, then stops listening', async () => {
    const gw = new Gateway({ configToml: SLOW_ECHO_TOML })
    const { key } = await funded(gw)
    const server = await gw.serve('127.0.0.1:0')
    assert.equal((await fetch(`${server.url}/health`)).status, 200)
    const text = 'a slow answer, paced at the profile speed, '.repeat(8)
    const response = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ model: 'dragon', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: text }] }),
    })
    const body = response.text()
    const closed = server.close()
    const sse = await body
    await closed
    assert.match(sse, /event: message_stop/)
    const deltas = [...sse.matchAll(/"text":"([^"]*)"/g)].map((m) => m[1]).join('')
    assert.equal(deltas, text)
    await assert.rejects(fetch(`${server.url}/health`))
    await server.close()
  })
})
