// Each failure is thrown as its MwsError subclass, with the status and the
// error type the same call gets over HTTP, in the shape of the endpoint.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import * as mws from '../index.js'
import { funded, scriptedUpstream, userMessage } from './helpers.mjs'

const { Gateway, MwsError } = mws

const chat = (text = 'hi') => ({ model: 'dragon', messages: [{ role: 'user', content: text }] })

/** Asserts that `promise` rejects with `Class` carrying `status` and `type`. */
async function rejectsWith(promise, Class, status, type, extra = {}) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Class, `${e.name}: ${e.message} is not a ${Class.name}`)
    assert.ok(e instanceof MwsError)
    assert.ok(e instanceof Error)
    assert.equal(e.name, Class.name)
    assert.equal(e.status, status)
    assert.equal(e.type, type)
    assert.equal(typeof e.message, 'string')
    assert.ok(e.message.length > 0)
    for (const [field, value] of Object.entries(extra)) assert.deepEqual(e[field], value, field)
    return true
  })
}

test('every error kind has its class under MwsError', () => {
  const names = [
    'BadRequestError', 'AuthenticationError', 'InsufficientCreditsError', 'PermissionDeniedError',
    'NotFoundError', 'MethodNotAllowedError', 'PayloadTooLargeError', 'RateLimitError',
    'InternalServerError', 'UpstreamError', 'OverloadedError', 'GatewayTimeoutError',
  ]
  for (const name of names) {
    const Class = mws[name]
    assert.equal(typeof Class, 'function', name)
    const e = new Class({ status: 418, type: 'some_error', message: 'm', param: 'p' })
    assert.ok(e instanceof MwsError)
    assert.deepEqual([e.name, e.status, e.type, e.message, e.param, e.retryAfter], [name, 418, 'some_error', 'm', 'p', null])
  }
})

describe('errors of the gateway itself', () => {
  const gw = new Gateway()

  test('400 BadRequestError, Anthropic- or OpenAI-typed by endpoint, naming the field', async () => {
    const missing = { model: 'dragon', messages: [{ role: 'user', content: 'hi' }] }
    await rejectsWith(gw.messages(missing), mws.BadRequestError, 400, 'invalid_request_error', { param: 'max_tokens' })
    await rejectsWith(gw.countTokens({ model: 'dragon' }), mws.BadRequestError, 400, 'invalid_request_error', {
      param: 'messages',
    })
    await rejectsWith(gw.chatCompletions({ model: 'dragon', messages: 'hi' }), mws.BadRequestError, 400, 'invalid_request_error', {
      param: 'messages',
    })
    await rejectsWith(gw.embeddings({ model: 'dragon' }), mws.BadRequestError, 400, 'invalid_request_error', { param: 'input' })
    await rejectsWith(gw.rerank({ model: 'dragon', query: 'q', documents: [], top_n: 0 }), mws.BadRequestError, 400, 'invalid_request_error')
    await rejectsWith(gw.messages('not an object'), mws.BadRequestError, 400, 'invalid_request_error')
  })

  test('401 AuthenticationError for an unknown key', async () => {
    const opts = { apiKey: 'mws_live_00000000000000000000000000000000' }
    await rejectsWith(gw.messages(userMessage('hi'), opts), mws.AuthenticationError, 401, 'authentication_error')
    await rejectsWith(gw.chatCompletions(chat(), opts), mws.AuthenticationError, 401, 'invalid_request_error')
    await rejectsWith(gw.models(null, opts), mws.AuthenticationError, 401, 'invalid_request_error')
  })

  test('401 AuthenticationError for a revoked key', async () => {
    const { gw: keyed, key, keyId } = await funded()
    await keyed.chatCompletions(chat(), { apiKey: key })
    await keyed.admin.revokeKey(keyId)
    await rejectsWith(keyed.chatCompletions(chat(), { apiKey: key }), mws.AuthenticationError, 401, 'invalid_request_error')
  })

  test('402 InsufficientCreditsError: a key without $25, a call beyond the balance', async () => {
    const account = await gw.admin.createAccount('poor')
    await gw.admin.addCredits(account.id, 24.999999999)
    await rejectsWith(gw.admin.createKey(account.id, 'k'), mws.InsufficientCreditsError, 402, 'insufficient_quota')

    // A plan lets an account with no credits hold a key; its calls then find nothing to spend.
    const planned = new Gateway({ configToml: '[store]\nkind = "memory"\n\n[[plans]]\nname = "free"\n' })
    const broke = await planned.admin.createAccount('broke')
    await planned.admin.setPlan(broke.id, 'free')
    const { key } = await planned.admin.createKey(broke.id, 'k')
    await rejectsWith(planned.messages(userMessage('hi'), { apiKey: key }), mws.InsufficientCreditsError, 402, 'billing_error')
    await rejectsWith(planned.chatCompletions(chat(), { apiKey: key }), mws.InsufficientCreditsError, 402, 'insufficient_quota')
  })

  test('404 NotFoundError for an unknown model, account or key', async () => {
    await rejectsWith(gw.models('no-such-model'), mws.NotFoundError, 404, 'invalid_request_error', { param: 'model' })
    await rejectsWith(gw.admin.account('acct_nope'), mws.NotFoundError, 404, 'invalid_request_error')
    await rejectsWith(gw.admin.revokeKey('key_nope'), mws.NotFoundError, 404, 'invalid_request_error')
  })

  test('429 RateLimitError past a key\'s throttle, with retryAfter', async () => {
    const { gw: keyed, key } = await funded(new Gateway(), 50, { rpm: 1 })
    await keyed.messages(userMessage('one'), { apiKey: key })
    await rejectsWith(keyed.messages(userMessage('two'), { apiKey: key }), mws.RateLimitError, 429, 'rate_limit_error')
    await assert.rejects(keyed.chatCompletions(chat(), { apiKey: key }), (e) => {
      assert.ok(e instanceof mws.RateLimitError)
      assert.equal(e.type, 'requests')
      assert.ok(e.retryAfter >= 1 && e.retryAfter <= 60, `retryAfter ${e.retryAfter}`)
      return true
    })
  })
})

describe('errors of the upstream', () => {
  let upstream
  let gw
  before(async () => {
    upstream = await scriptedUpstream()
    gw = new Gateway({ configToml: upstream.config('first_byte_timeout_secs = 0.3') })
  })
  after(() => upstream.close())

  const fails = (status, message = 'scripted failure') => upstream.replies.push({ status, body: { error: { message } } })

  test('a failing upstream is a 502 UpstreamError', async () => {
    fails(500)
    await rejectsWith(gw.chatCompletions(chat()), mws.UpstreamError, 502, 'server_error')
    fails(500)
    await rejectsWith(gw.messages(userMessage('hi')), mws.UpstreamError, 502, 'api_error')
  })

  test('an overloaded upstream is an OverloadedError with its own status', async () => {
    fails(503)
    await rejectsWith(gw.chatCompletions(chat()), mws.OverloadedError, 503, 'server_error')
    fails(529)
    await rejectsWith(gw.messages(userMessage('hi')), mws.OverloadedError, 529, 'overloaded_error')
  })

  test('an upstream that never answers is a 504 GatewayTimeoutError', async () => {
    upstream.replies.push({ hang: true })
    await rejectsWith(gw.chatCompletions(chat()), mws.GatewayTimeoutError, 504, 'server_error')
  })

  test('an upstream refusing the size is a 413 PayloadTooLargeError', async () => {
    fails(413, 'too big')
    await rejectsWith(gw.messages(userMessage('hi')), mws.PayloadTooLargeError, 413, 'request_too_large')
  })

  test('an upstream rejecting the request is a BadRequestError with its status and param', async () => {
    upstream.replies.push({ status: 400, body: { error: { message: 'bad temperature', param: 'temperature' } } })
    await rejectsWith(gw.chatCompletions(chat()), mws.BadRequestError, 400, 'invalid_request_error', { param: 'temperature' })
  })
})
