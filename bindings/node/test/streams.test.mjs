// Streams as async iterators: whole, broken off early (which cancels the
// upstream request), and dropped unfinished.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import v8 from 'node:v8'
import vm from 'node:vm'

import { AuthenticationError, Gateway } from '../index.js'
import { SLOW_ECHO_TOML, chunk, funded, scriptedUpstream, userMessage, waitFor } from './helpers.mjs'

// About 2000 tokens of output: some 14 s at dragon-spark's 143 tokens a second.
const LONG_TEXT = 'the dragon counts its treasure, coin by coin. '.repeat(170)

async function collect(stream) {
  const events = []
  for await (const ev of stream) events.push(ev)
  return events
}

describe('whole streams', () => {
  const gw = new Gateway()

  test('messagesStream yields every Anthropic event in order', async () => {
    const text = 'Stream me a poem about a dragon and its hoard of gold.'
    const events = await collect(gw.messagesStream(userMessage(text)))
    const types = events.map((e) => e.type)
    assert.equal(types[0], 'message_start')
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop'])
    assert.ok(types.includes('ping'))
    const deltas = events.filter((e) => e.type === 'content_block_delta')
    assert.ok(deltas.length > 1, 'the echo streams in several deltas')
    assert.equal(deltas.map((e) => e.delta.text).join(''), text)
    const delta = events.find((e) => e.type === 'message_delta')
    assert.equal(delta.delta.stop_reason, 'end_turn')
    assert.equal(delta.usage.output_tokens, Math.ceil(text.length / 4))
  })

  test('messagesStream streams a tool call as input_json deltas', async () => {
    const tools = [
      {
        name: 'get_weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ]
    const events = await collect(gw.messagesStream(userMessage("What's the weather in Paris?", { tools })))
    const start = events.find((e) => e.type === 'content_block_start')
    assert.equal(start.content_block.type, 'tool_use')
    assert.equal(start.content_block.name, 'get_weather')
    const json = events
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta.partial_json)
      .join('')
    assert.equal(typeof JSON.parse(json).city, 'string')
    assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use')
  })

  test('chatCompletionsStream yields the chunks without [DONE], usage last when asked', async () => {
    const text = 'Hello from a streamed completion, in several pieces.'
    const chunks = await collect(
      gw.chatCompletionsStream({
        model: 'dragon-flash',
        messages: [{ role: 'user', content: text }],
        stream_options: { include_usage: true },
      }),
    )
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'))
    assert.ok(chunks.every((c) => c.id === chunks[0].id))
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    assert.equal(content, text)
    const finish = chunks.find((c) => c.choices[0]?.finish_reason)
    assert.equal(finish.choices[0].finish_reason, 'stop')
    const last = chunks.at(-1)
    assert.deepEqual(last.choices, [])
    assert.equal(last.usage.completion_tokens, Math.ceil(text.length / 4))
  })

  test('an error before the first event is thrown from the loop', async () => {
    await assert.rejects(collect(gw.messagesStream(userMessage('hi'), { apiKey: 'mws_live_nope' })), (e) => {
      assert.ok(e instanceof AuthenticationError)
      assert.equal(e.status, 401)
      assert.equal(e.type, 'authentication_error')
      return true
    })
  })

  test('nothing is sent until the first next()', async () => {
    const { gw: keyed, account, key } = await funded()
    const stream = keyed.messagesStream(userMessage('not yet'), { apiKey: key })
    await sleep(50)
    assert.deepEqual((await keyed.admin.usage(account.id)).data, [])
    await collect(stream)
    assert.equal((await keyed.admin.usage(account.id)).data.length, 1)
  })

  test('a finished stream stays finished', async () => {
    const stream = gw.chatCompletionsStream({ model: 'dragon', messages: [{ role: 'user', content: 'once' }] })
    await collect(stream)
    assert.deepEqual(await stream.next(), { done: true, value: undefined })
  })
})

describe('streams broken off early', () => {
  test('break returns promptly and the cut stream is charged as status 499', async () => {
    const { gw, account, key } = await funded(new Gateway({ configToml: SLOW_ECHO_TOML }))
    const started = Date.now()
    let deltas = 0
    for await (const ev of gw.messagesStream(userMessage(LONG_TEXT, { model: 'dragon-spark', max_tokens: 4096 }), {
      apiKey: key,
    })) {
      if (ev.type === 'content_block_delta' && ++deltas === 2) break
    }
    const elapsed = Date.now() - started
    assert.ok(elapsed < 3000, `breaking out took ${elapsed} ms; the whole stream takes ~14 s`)
    // The core's stream was dropped: its meter settles what was delivered.
    const row = await waitFor(async () => (await gw.admin.usage(account.id)).data[0], 5000, 'the ledger row')
    assert.equal(row.status, 499)
    assert.ok(row.output_tokens > 0 && row.output_tokens < LONG_TEXT.length / 4 / 2, `${row.output_tokens} tokens`)
    // The gateway goes on serving.
    const reply = await gw.messages(userMessage('still here'), { apiKey: key })
    assert.equal(reply.content[0].text, 'still here')
  })

  test('breaking out closes the upstream request', async () => {
    const upstream = await scriptedUpstream()
    try {
      const gw = new Gateway({ configToml: upstream.config() })
      upstream.replies.push({ chunks: Array.from({ length: 200 }, (_, i) => chunk(`piece ${i} `)), delayMs: 25 })
      const started = Date.now()
      let seen = 0
      for await (const c of gw.chatCompletionsStream({ model: 'dragon', messages: [{ role: 'user', content: 'go' }] })) {
        if (c.choices[0]?.delta.content && ++seen === 3) break
      }
      await waitFor(() => upstream.state.abandoned === 1, 3000, 'the upstream to see its response closed')
      assert.ok(Date.now() - started < 3000, 'the 5 s upstream answer was cut short')
      upstream.replies.push({ chunks: [chunk('after'), chunk('', 'stop')] })
      const chunks = await collect(gw.chatCompletionsStream({ model: 'dragon', messages: [{ role: 'user', content: 'again' }] }))
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'after')
    } finally {
      await upstream.close()
    }
  })

  test('close() stops a stream while a next() waits', async () => {
    const upstream = await scriptedUpstream()
    try {
      const gw = new Gateway({ configToml: upstream.config() })
      upstream.replies.push({ chunks: [chunk('first'), chunk('late')], delayMs: 10_000 })
      const stream = gw.chatCompletionsStream({ model: 'dragon', messages: [{ role: 'user', content: 'go' }] })
      let first
      do first = await stream.next()
      while (!first.value.choices[0]?.delta.content)
      const pending = stream.next()
      await sleep(50)
      const started = Date.now()
      await stream.close()
      assert.deepEqual(await pending, { done: true, value: undefined })
      assert.ok(Date.now() - started < 1000)
      await waitFor(() => upstream.state.abandoned === 1, 3000, 'the upstream to see its response closed')
    } finally {
      await upstream.close()
    }
  })

  test('return() while the first next() is opening the stream ends it', async () => {
    const { gw, account, key } = await funded()
    const stream = gw.messagesStream(userMessage('closed before it began'), { apiKey: key })
    const first = stream.next()
    await stream.return()
    assert.deepEqual(await first, { done: true, value: undefined })
    assert.deepEqual(await stream.next(), { done: true, value: undefined })
    // Nothing was delivered, so nothing is charged: the reservation goes back.
    await sleep(100)
    assert.deepEqual((await gw.admin.usage(account.id)).data, [])
    assert.equal((await gw.admin.account(account.id)).balance_usd, 50)
  })

  test('a stream dropped unfinished is released when garbage-collected', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc')
    const { gw, account, key } = await funded(new Gateway({ configToml: SLOW_ECHO_TOML }))
    await (async () => {
      const stream = gw.messagesStream(userMessage(LONG_TEXT, { model: 'dragon-spark', max_tokens: 4096 }), {
        apiKey: key,
      })
      for (let i = 0; i < 5; i++) await stream.next()
      // Left here: neither finished nor closed.
    })()
    const row = await waitFor(
      async () => {
        gc()
        await sleep(50)
        return (await gw.admin.usage(account.id)).data[0]
      },
      8000,
      'the dropped stream to be settled',
    )
    assert.equal(row.status, 499)
  })
})
