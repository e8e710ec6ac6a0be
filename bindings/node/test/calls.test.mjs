// Every in-process call returns the JSON its HTTP endpoint would.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'

import { BadRequestError, Gateway } from '../index.js'
import { funded, userMessage } from './helpers.mjs'

describe('building a gateway', () => {
  test('with no options: the built-in catalogue on echo', async () => {
    const models = await new Gateway().models()
    assert.equal(models.object, 'list')
    assert.equal(models.data.length, 11)
    assert.deepEqual(models.data[0], {
      id: 'dragon',
      object: 'model',
      created: models.data[0].created,
      owned_by: models.data[0].owned_by,
      context_window: 262144,
      tokens_per_second: 189,
      pricing: { input_per_mtok_usd: 0.48, output_per_mtok_usd: 1.08, cache_read_per_mtok_usd: 0.48, cache_write_per_mtok_usd: 0.48 },
    })
  })

  test('from a TOML string and from a TOML file', async () => {
    const toml = `
[store]
kind = "memory"

[routing]
default_profile = "dragon-pro"
`
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mws-node-'))
    try {
      const file = path.join(dir, 'gateway.toml')
      fs.writeFileSync(file, toml)
      for (const gw of [new Gateway({ configToml: toml }), new Gateway({ configPath: file })]) {
        // An unknown model goes to the default profile; the reply keeps its name.
        const reply = await gw.chatCompletions({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
        assert.equal(reply.model, 'no-such-model')
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a bad config throws BadRequestError naming the problem', () => {
    assert.throws(() => new Gateway({ configToml: '[server]\nlisten = "nowhere"\n' }), (e) => {
      assert.ok(e instanceof BadRequestError)
      assert.equal(e.status, 400)
      assert.match(e.message, /server\.listen/)
      return true
    })
    assert.throws(() => new Gateway({ configPath: '/nonexistent/gateway.toml' }), BadRequestError)
    assert.throws(() => new Gateway({ configPath: 'a.toml', configToml: '' }), /not both/)
  })
})

describe('in-process calls', () => {
  const gw = new Gateway()

  test('messages echoes the last user turn in the Anthropic shape', async () => {
    const reply = await gw.messages(userMessage('Hello, dragon!', { model: 'claude-sonnet-4-6' }))
    assert.equal(reply.type, 'message')
    assert.equal(reply.role, 'assistant')
    assert.equal(reply.model, 'claude-sonnet-4-6')
    assert.deepEqual(reply.content, [{ type: 'text', text: 'Hello, dragon!' }])
    assert.equal(reply.stop_reason, 'end_turn')
    assert.match(reply.id, /^msg_/)
    assert.equal(reply.usage.input_tokens, Math.ceil('Hello, dragon!'.length / 4))
  })

  test('messages calls a tool the user names, then quotes its result', async () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Look up the weather for a city.',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ]
    const question = { role: 'user', content: "What's the weather in Paris?" }
    const first = await gw.messages({ model: 'claude-sonnet-4-6', max_tokens: 512, tools, messages: [question] })
    assert.equal(first.stop_reason, 'tool_use')
    const call = first.content.find((b) => b.type === 'tool_use')
    assert.equal(call.name, 'get_weather')
    assert.equal(typeof call.input.city, 'string')
    const final = await gw.messages({
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      tools,
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 24 °C' }] },
      ],
    })
    assert.equal(final.stop_reason, 'end_turn')
    assert.match(final.content[0].text, /Sunny, 24 °C/)
  })

  test('countTokens estimates 4 characters a token', async () => {
    const text = 'How many tokens is this?'
    const reply = await gw.countTokens({ model: 'dragon', messages: [{ role: 'user', content: text }] })
    assert.deepEqual(Object.keys(reply), ['input_tokens'])
    assert.equal(reply.input_tokens, Math.ceil(text.length / 4))
  })

  test('chatCompletions answers in the OpenAI shape', async () => {
    const reply = await gw.chatCompletions({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there' }] })
    assert.equal(reply.object, 'chat.completion')
    assert.equal(reply.model, 'gpt-4o')
    assert.equal(reply.choices[0].message.content, 'Hello there')
    assert.equal(reply.choices[0].finish_reason, 'stop')
    assert.equal(reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens)
  })

  test('chatCompletions returns tool calls with JSON arguments', async () => {
    const reply = await gw.chatCompletions({
      model: 'dragon',
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
    })
    assert.equal(reply.choices[0].finish_reason, 'tool_calls')
    const [call] = reply.choices[0].message.tool_calls
    assert.equal(call.function.name, 'get_weather')
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string')
  })

  test('models lists the profiles or gives one', async () => {
    const one = await gw.models('dragon-flash')
    assert.equal(one.id, 'dragon-flash')
    assert.equal(one.tokens_per_second, 1400)
    assert.deepEqual(one.pricing, { input_per_mtok_usd: 1.2, output_per_mtok_usd: 2.4, cache_read_per_mtok_usd: 1.2, cache_write_per_mtok_usd: 1.2 })
    const all = await gw.models(null)
    assert.deepEqual(
      all.data.map((m) => m.id).sort(),
      [
        'dragon', 'dragon-blitz', 'dragon-coder', 'dragon-flash', 'dragon-nova', 'dragon-pro',
        'dragon-reason', 'dragon-seer', 'dragon-spark', 'dragon-think', 'dragon-thinkmaxing',
      ],
    )
  })

  test('embeddings as floats and as base64 float32s', async () => {
    const floats = await gw.embeddings({ model: 'dragon', input: ['a dragon', 'a treasure'], encoding_format: 'float' })
    assert.equal(floats.object, 'list')
    assert.equal(floats.data.length, 2)
    const vector = floats.data[1].embedding
    assert.ok(Array.isArray(vector) && vector.length > 0)
    const b64 = await gw.embeddings({ model: 'dragon', input: ['a dragon', 'a treasure'], encoding_format: 'base64' })
    const bytes = Buffer.from(b64.data[1].embedding, 'base64')
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))
    assert.deepEqual(decoded, vector.map((x) => Math.fround(x)))
  })

  test('rerank orders documents by relevance', async () => {
    const reply = await gw.rerank({
      model: 'dragon',
      query: 'dragon treasure',
      documents: ['a sunny day', 'a dragon on its treasure', 'treasure maps'],
      top_n: 2,
      return_documents: true,
    })
    assert.equal(reply.results.length, 2)
    assert.equal(reply.results[0].index, 1)
    assert.equal(reply.results[0].document.text, 'a dragon on its treasure')
    assert.ok(reply.results[0].relevance_score >= reply.results[1].relevance_score)
  })

  test('a non-stream call with stream: true is a BadRequestError', async () => {
    await assert.rejects(gw.messages(userMessage('hi', { stream: true })), (e) => {
      assert.ok(e instanceof BadRequestError)
      assert.equal(e.param, 'stream')
      return true
    })
  })

  test('undefined fields are left out, as JSON.stringify does over HTTP', async () => {
    const reply = await gw.messages(userMessage('still fine', { temperature: undefined, system: undefined }))
    assert.equal(reply.content[0].text, 'still fine')
  })
})

describe('calls with an API key', () => {
  test('are charged to the key\'s account and written to its ledger', async () => {
    const { gw, account, key, keyId } = await funded()
    const reply = await gw.chatCompletions(
      { model: 'dragon', messages: [{ role: 'user', content: 'charge me for this' }] },
      { apiKey: key },
    )
    const { prompt_tokens: input, completion_tokens: output } = reply.usage
    const usage = await gw.admin.usage(account.id)
    assert.equal(usage.data.length, 1)
    const [row] = usage.data
    assert.equal(row.key_id, keyId)
    assert.equal(row.status, 200)
    assert.equal(row.profile, 'dragon')
    assert.deepEqual([row.input_tokens, row.output_tokens], [input, output])
    // dragon: $0.48 in, $1.08 out per million tokens, rounded up to the nano-dollar.
    const costNanos = Math.ceil((input * 0.48e3 + output * 1.08e3))
    assert.equal(Math.round(row.cost_usd * 1e9), costNanos)
    const after = await gw.admin.account(account.id)
    assert.equal(Math.round(after.balance_usd * 1e9), 50e9 - costNanos)
  })

  test('without a key nothing is charged', async () => {
    const { gw, account } = await funded()
    await gw.messages(userMessage('free for the host'))
    assert.deepEqual((await gw.admin.usage(account.id)).data, [])
  })
})
