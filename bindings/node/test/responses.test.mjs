// The OpenAI Responses API in-process: whole and streamed responses, stored
// responses and their continuation, input items, deletion, the token count
// and compaction. The echo answers with the last user turn; the raw API has no
// `output_text` (the OpenAI SDKs add it), so the text is read off the items.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { AuthenticationError, BadRequestError, Gateway, NotFoundError } from '../index.js'
import { NativeGateway } from '../binding.js'
import { funded } from './helpers.mjs'

const ask = (input, extra = {}) => ({ model: 'dragon', input, ...extra })

/** The text of a response's first message. */
const textOf = (response) => response.output[0].content[0].text

async function collect(stream) {
  const events = []
  for await (const ev of stream) events.push(ev)
  return events
}

describe('responses', () => {
  const gw = new Gateway()

  test('responses answers with a response object whose message echoes the input', async () => {
    const r = await gw.responses(ask('Hello, dragon of the Responses API!'))
    assert.equal(r.object, 'response')
    assert.match(r.id, /^resp_/)
    assert.equal(r.status, 'completed')
    assert.equal(r.model, 'dragon')
    assert.equal(r.previous_response_id, null)
    assert.equal(r.output.length, 1)
    assert.equal(r.output[0].type, 'message')
    assert.equal(r.output[0].role, 'assistant')
    assert.equal(r.output[0].content[0].type, 'output_text')
    assert.equal(textOf(r), 'Hello, dragon of the Responses API!')
    assert.equal('output_text' in r, false, 'the raw API has no output_text')
    assert.equal(r.usage.output_tokens, Math.ceil(textOf(r).length / 4))
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens)
  })

  test('responses takes input items as well as a string', async () => {
    const r = await gw.responses(
      ask([{ role: 'user', content: [{ type: 'input_text', text: 'Items, not a string.' }] }], {
        instructions: 'Be brief.',
      }),
    )
    assert.equal(textOf(r), 'Items, not a string.')
    assert.equal(r.instructions, 'Be brief.')
  })

  test('responsesStream yields response.created first, numbered events, one response.completed last', async () => {
    const text = 'Stream me a poem about a dragon and its hoard of gold.'
    const events = await collect(gw.responsesStream(ask(text)))
    const types = events.map((e) => e.type)
    assert.equal(types[0], 'response.created')
    assert.equal(types[1], 'response.in_progress')
    assert.equal(types.at(-1), 'response.completed')
    const terminal = types.filter((t) => ['response.completed', 'response.incomplete', 'response.failed'].includes(t))
    assert.deepEqual(terminal, ['response.completed'])
    assert.ok(!types.includes('error'))
    events.forEach((e, i) => {
      assert.equal(typeof e.sequence_number, 'number')
      if (i > 0) assert.ok(e.sequence_number > events[i - 1].sequence_number, `event ${i} is numbered after ${i - 1}`)
    })
    assert.equal(events[0].sequence_number, 0)
    for (const t of ['response.output_item.added', 'response.content_part.added', 'response.output_text.done']) {
      assert.ok(types.indexOf(t) > 1 && types.indexOf(t) < types.length - 1, `${t} comes between`)
    }
    const deltas = events.filter((e) => e.type === 'response.output_text.delta')
    assert.ok(deltas.length > 1, 'the echo streams in several deltas')
    assert.equal(deltas.map((e) => e.delta).join(''), text)
    const done = events.at(-1).response
    assert.equal(done.status, 'completed')
    assert.equal(done.id, events[0].response.id)
    assert.equal(textOf(done), text)
    // Stored as streamed.
    assert.equal(textOf(await gw.response(done.id)), text)
  })

  test('previous_response_id continues a stored response; response(id) retrieves it', async () => {
    const first = await gw.responses(ask('My name is Ember.'))
    const second = await gw.responses(ask('What is my name?', { previous_response_id: first.id }))
    assert.equal(second.previous_response_id, first.id)
    assert.equal(textOf(second), 'What is my name?')
    // The earlier turns count as input.
    assert.ok(second.usage.input_tokens > Math.ceil('What is my name?'.length / 4))

    const stored = await gw.response(second.id)
    assert.deepEqual(stored, second)
    assert.equal(textOf(await gw.response(first.id)), 'My name is Ember.')
  })

  test('responseInputItems pages the input a response was given, newest first', async () => {
    const first = await gw.responses(ask('first turn'))
    const second = await gw.responses(ask('second turn', { previous_response_id: first.id }))

    const page = await gw.responseInputItems(second.id)
    assert.equal(page.object, 'list')
    assert.equal(page.has_more, false)
    // The continued conversation: this turn, the answer before it, the first turn.
    assert.deepEqual(
      page.data.map((item) => [item.role, typeof item.content === 'string' ? item.content : item.content[0].text]),
      [
        ['user', 'second turn'],
        ['assistant', 'first turn'],
        ['user', 'first turn'],
      ],
    )
    assert.ok(page.data.every((item) => typeof item.id === 'string'))
    assert.equal(page.first_id, page.data[0].id)
    assert.equal(page.last_id, page.data.at(-1).id)

    const oldest = await gw.responseInputItems(second.id, { order: 'asc', limit: 1 })
    assert.deepEqual(oldest.data, [page.data.at(-1)])
    assert.equal(oldest.has_more, true)
    const next = await gw.responseInputItems(second.id, { order: 'asc', limit: 1, after: oldest.last_id })
    assert.deepEqual(next.data, [page.data[1]])

    await assert.rejects(gw.responseInputItems(second.id, { limit: 0 }), (e) => {
      assert.ok(e instanceof BadRequestError)
      assert.equal(e.param, 'limit')
      return true
    })
  })

  test('deleteResponse forgets a response: response(id) then throws NotFoundError (404)', async () => {
    const r = await gw.responses(ask('Soon gone.'))
    assert.deepEqual(await gw.deleteResponse(r.id), { id: r.id, object: 'response.deleted', deleted: true })
    for (const again of [() => gw.response(r.id), () => gw.deleteResponse(r.id), () => gw.responseInputItems(r.id)]) {
      await assert.rejects(again(), (e) => {
        assert.ok(e instanceof NotFoundError, `${e.name}: ${e.message}`)
        assert.equal(e.status, 404)
        assert.equal(e.type, 'invalid_request_error')
        assert.match(e.message, new RegExp(r.id))
        return true
      })
    }
  })

  test('responsesInputTokens estimates the input at 4 characters a token', async () => {
    const input = 'Count the tokens of this input, please.'
    const count = await gw.responsesInputTokens(ask(input))
    assert.equal(count.object, 'response.input_tokens')
    assert.equal(count.input_tokens, Math.ceil(input.length / 4))
    // The same count the response itself reports.
    assert.equal((await gw.responses(ask(input))).usage.input_tokens, count.input_tokens)
  })

  test('responsesCompact gives one compaction item', async () => {
    const compacted = await gw.responsesCompact(ask('A long conversation to compact.'))
    assert.equal(compacted.object, 'response.compaction')
    assert.equal(compacted.output.length, 1)
    assert.equal(compacted.output[0].type, 'compaction')
    assert.equal(typeof compacted.output[0].encrypted_content, 'string')
  })

  test('a bad request is a BadRequestError in the OpenAI shape', async () => {
    await assert.rejects(gw.responses({ model: 'dragon' }), (e) => {
      assert.ok(e instanceof BadRequestError)
      assert.equal(e.status, 400)
      assert.equal(e.type, 'invalid_request_error')
      assert.equal(e.param, 'input')
      return true
    })
    await assert.rejects(collect(gw.responsesStream({ model: 'dragon' })), BadRequestError)
  })

  test('with an API key: authenticated, charged, stored for that key', async () => {
    const { gw: keyed, account, key } = await funded()
    await assert.rejects(keyed.responses(ask('hi'), { apiKey: 'mws_live_nope' }), AuthenticationError)
    const r = await keyed.responses(ask('Charge me.'), { apiKey: key })
    assert.equal(textOf(await keyed.response(r.id, { apiKey: key })), 'Charge me.')
    const events = await collect(keyed.responsesStream(ask('Charge me, streamed.'), { apiKey: key }))
    assert.equal(events.at(-1).type, 'response.completed')
    const usage = await keyed.admin.usage(account.id)
    // The refused call is not charged; the whole and the streamed one are.
    assert.equal(usage.totals.requests, 2)
    assert.ok(usage.totals.cost_usd > 0)
  })
})

describe('the native call by endpoint name', () => {
  const native = NativeGateway.open(null, null)

  test('calls any endpoint by the core name, with its id', async () => {
    const created = JSON.parse((await native.call('responses', null, JSON.stringify(ask('by name')), null)).json)
    const fetched = JSON.parse((await native.call('response', created.id, 'null', null)).json)
    assert.equal(fetched.id, created.id)
    const model = JSON.parse((await native.call('models', 'dragon-pro', 'null', null)).json)
    assert.equal(model.id, 'dragon-pro')
  })

  test('an unknown name, a missing id, a stray id or a stream of a non-streaming endpoint throws', async () => {
    await assert.rejects(native.call('no_such_endpoint', null, '{}', null), (e) => {
      assert.match(e.message, /unknown endpoint "no_such_endpoint"/)
      assert.match(e.message, /responses, responses_input_tokens/, 'the message lists the names')
      return true
    })
    await assert.rejects(native.call('response', null, 'null', null), /the endpoint "response" needs an id/)
    await assert.rejects(native.call('messages', 'x', '{}', null), /the endpoint "messages" takes no id/)
    await assert.rejects(native.stream('embeddings', '{}', null), /the endpoint "embeddings" does not stream/)
    await assert.rejects(native.stream('nope', '{}', null), /unknown endpoint "nope"/)
  })
})
