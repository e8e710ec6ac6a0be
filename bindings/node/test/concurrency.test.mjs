// Many calls at once, all off the event loop.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { Gateway } from '../index.js'
import { SLOW_ECHO_TOML, funded, userMessage } from './helpers.mjs'

// Limits high enough that 200 calls in a second are all admitted.
const WIDE_LIMITS_TOML = `
[store]
kind = "memory"

[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 100000
tpm = 100000000
`

test('200 concurrent keyed calls each get their own answer and are all charged', async () => {
  const { gw, account, key } = await funded(new Gateway({ configToml: WIDE_LIMITS_TOML }), 100)
  const calls = Array.from({ length: 200 }, (_, i) =>
    i % 2
      ? gw.messages(userMessage(`message number ${i}`), { apiKey: key }).then((r) => r.content[0].text)
      : gw
          .chatCompletions({ model: 'dragon', messages: [{ role: 'user', content: `message number ${i}` }] }, { apiKey: key })
          .then((r) => r.choices[0].message.content),
  )
  const answers = await Promise.all(calls)
  answers.forEach((text, i) => assert.equal(text, `message number ${i}`))
  const usage = await gw.admin.usage(account.id)
  assert.equal(usage.totals.requests, 200)
  assert.ok(usage.data.every((row) => row.status === 200))
  const account2 = await gw.admin.account(account.id)
  assert.equal(Math.round((100 - account2.balance_usd) * 1e9), Math.round(usage.totals.cost_usd * 1e9))
})

test('50 concurrent streams interleave without mixing their events', async () => {
  const gw = new Gateway()
  const texts = Array.from({ length: 50 }, (_, i) => `stream ${i} carries its own words, number ${i}`)
  const results = await Promise.all(
    texts.map(async (text) => {
      let out = ''
      for await (const ev of gw.messagesStream(userMessage(text))) {
        if (ev.type === 'content_block_delta') out += ev.delta.text
      }
      return out
    }),
  )
  assert.deepEqual(results, texts)
})

test('the event loop keeps running while the gateway works', async () => {
  const gw = new Gateway({ configToml: SLOW_ECHO_TOML })
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  try {
    // About 90 tokens at 189 tokens a second: half a second of waiting on next().
    const text = 'the event loop is not blocked while a stream is paced. '.repeat(6)
    const started = Date.now()
    let out = ''
    for await (const ev of gw.messagesStream(userMessage(text))) {
      if (ev.type === 'content_block_delta') out += ev.delta.text
    }
    const elapsed = Date.now() - started
    assert.equal(out, text)
    assert.ok(elapsed >= 300, `the paced stream took ${elapsed} ms`)
    // A blocked loop would tick about once; a free one about every 10 ms.
    assert.ok(ticks >= elapsed / 10 / 3, `${ticks} ticks in ${elapsed} ms`)
  } finally {
    clearInterval(timer)
  }
  await sleep(0)
})
