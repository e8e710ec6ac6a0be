// The admin operations in-process: the admin API's JSON, no admin token.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { AuthenticationError, BadRequestError, Gateway, InsufficientCreditsError } from '../index.js'
import { userMessage } from './helpers.mjs'

const PLANS_TOML = `
[store]
kind = "memory"

[[plans]]
name = "pro"
min_tier = 1
monthly_quota_usd = 100
`

describe('admin', () => {
  const gw = new Gateway({ configToml: PLANS_TOML })

  test('createAccount and account', async () => {
    const created = await gw.admin.createAccount('team')
    assert.match(created.id, /^acct_/)
    assert.deepEqual(
      { ...created, created_at: 0 },
      { id: created.id, name: 'team', balance_usd: 0, lifetime_spend_usd: 0, plan: null, created_at: 0 },
    )
    assert.deepEqual(await gw.admin.account(created.id), created)
    await assert.rejects(gw.admin.createAccount('  '), BadRequestError)
  })

  test('addCredits adds exact USD amounts, to the nano-dollar', async () => {
    const { id } = await gw.admin.createAccount('credits')
    assert.equal((await gw.admin.addCredits(id, 30.5)).balance_usd, 30.5)
    assert.equal((await gw.admin.addCredits(id, 0.000000001)).balance_usd, 30.500000001)
    await assert.rejects(gw.admin.addCredits(id, 0.0000000001), (e) => e instanceof BadRequestError && e.param === 'amount_usd')
    await assert.rejects(gw.admin.addCredits(id, -1), BadRequestError)
  })

  test('setPlan sets a configured plan and clears it with null', async () => {
    const { id } = await gw.admin.createAccount('planned')
    assert.equal((await gw.admin.setPlan(id, 'pro')).plan, 'pro')
    assert.equal((await gw.admin.account(id)).plan, 'pro')
    assert.equal((await gw.admin.setPlan(id, null)).plan, null)
    await assert.rejects(gw.admin.setPlan(id, 'platinum'), (e) => e instanceof BadRequestError && e.param === 'plan')
  })

  test('createKey needs $25 or a plan and shows the secret once', async () => {
    const { id } = await gw.admin.createAccount('keys')
    await assert.rejects(gw.admin.createKey(id, 'early'), InsufficientCreditsError)
    await gw.admin.addCredits(id, 25)
    const key = await gw.admin.createKey(id, 'ci', { rpm: 30, tpm: 5000 })
    assert.match(key.key, /^mws_live_[0-9A-Za-z]{32,}$/)
    assert.match(key.id, /^key_/)
    assert.deepEqual(
      [key.account_id, key.name, key.rpm, key.tpm, key.revoked, key.prefix],
      [id, 'ci', 30, 5000, false, key.key.slice(0, 13)],
    )
    const plain = await gw.admin.createKey(id, 'plain')
    assert.deepEqual([plain.rpm, plain.tpm], [null, null])
    const listed = await gw.admin.listKeys(id)
    assert.equal(listed.object, 'list')
    assert.deepEqual(listed.data.map((k) => k.id).sort(), [key.id, plain.id].sort())
    assert.ok(listed.data.every((k) => !('key' in k)), 'listing shows no secrets')
  })

  test('setKeyThrottle sets, keeps and clears limits', async () => {
    const { id } = await gw.admin.createAccount('throttle')
    await gw.admin.setPlan(id, 'pro')
    const { id: keyId } = await gw.admin.createKey(id, 'k')
    assert.deepEqual(pick(await gw.admin.setKeyThrottle(keyId, { rpm: 5, tpm: 1000 })), [5, 1000])
    assert.deepEqual(pick(await gw.admin.setKeyThrottle(keyId, { rpm: 7 })), [7, 1000])
    assert.deepEqual(pick(await gw.admin.setKeyThrottle(keyId, { tpm: null })), [7, null])
    await assert.rejects(gw.admin.setKeyThrottle(keyId, { rpm: -1 }), BadRequestError)
  })

  test('revokeKey turns the key away', async () => {
    const { id } = await gw.admin.createAccount('revoke')
    await gw.admin.setPlan(id, 'pro')
    const created = await gw.admin.createKey(id, 'k')
    await gw.messages(userMessage('before'), { apiKey: created.key })
    assert.equal((await gw.admin.revokeKey(created.id)).revoked, true)
    await assert.rejects(gw.messages(userMessage('after'), { apiKey: created.key }), AuthenticationError)
  })

  test('usage lists the ledger rows with their totals', async () => {
    const { id } = await gw.admin.createAccount('usage')
    await gw.admin.addCredits(id, 40)
    const { key } = await gw.admin.createKey(id, 'k')
    const replies = [
      await gw.messages(userMessage('first request'), { apiKey: key }),
      await gw.messages(userMessage('the second, longer request'), { apiKey: key }),
    ]
    const usage = await gw.admin.usage(id)
    assert.equal(usage.account_id, id)
    assert.equal(usage.data.length, 2)
    assert.equal(usage.totals.requests, 2)
    const sum = (f) => replies.reduce((n, r) => n + r.usage[f], 0)
    assert.equal(usage.totals.input_tokens, sum('input_tokens'))
    assert.equal(usage.totals.output_tokens, sum('output_tokens'))
    const rowsCost = usage.data.reduce((n, r) => n + Math.round(r.cost_usd * 1e9), 0)
    assert.equal(Math.round(usage.totals.cost_usd * 1e9), rowsCost)
    const account = await gw.admin.account(id)
    assert.equal(Math.round(account.lifetime_spend_usd * 1e9), rowsCost)
  })

  test('deployments lists each with its health', async () => {
    await gw.messages(userMessage('count me'))
    const report = await gw.admin.deployments()
    assert.equal(report.object, 'list')
    const dragon = report.data.find((d) => d.upstream_model === 'dragon')
    assert.equal(dragon.upstream, 'echo')
    assert.equal(dragon.state, 'healthy')
    assert.ok(dragon.requests >= 1)
    assert.deepEqual(dragon.profiles, [{ id: 'dragon', role: 'deployment', weight: 1 }])
  })
})

function pick(key) {
  return [key.rpm, key.tpm]
}
