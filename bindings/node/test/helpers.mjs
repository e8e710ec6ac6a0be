// Shared by the tests: configs, a funded key, a scripted upstream, polling.
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

import { Gateway } from '../index.js'

/** The built-in catalogue on echo pacing its streams at each profile's speed. */
export const SLOW_ECHO_TOML = `
[store]
kind = "memory"

[[upstreams]]
name = "echo"
kind = "echo"
simulate_speed = true
`

/** A gateway and a key on an account holding `usd` of credits. */
export async function funded(gw = new Gateway(), usd = 50, throttle = {}) {
  const account = await gw.admin.createAccount('tests')
  await gw.admin.addCredits(account.id, usd)
  const key = await gw.admin.createKey(account.id, 'tests', throttle)
  return { gw, account, key: key.key, keyId: key.id }
}

/** Polls `probe` until it returns a truthy value or `ms` pass. */
export async function waitFor(probe, ms = 5000, what = 'the condition') {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

export function userMessage(text, extra = {}) {
  return { model: 'dragon', max_tokens: 1024, messages: [{ role: 'user', content: text }], ...extra }
}

/**
 * An OpenAI-compatible upstream on 127.0.0.1:0 that answers from a script:
 * each request takes the next reply, `{status, body}`, `{chunks, delayMs}`
 * (an SSE stream) or `{hang: true}`. It records which responses the gateway
 * closed before they were complete.
 */
export async function scriptedUpstream() {
  const replies = []
  const state = { requests: 0, abandoned: 0, sockets: new Set() }
  const server = http.createServer(async (req, res) => {
    for await (const _ of req) {
      // Drain the body.
    }
    state.requests += 1
    const reply = replies.shift() ?? { status: 500, body: { error: { message: 'no reply scripted' } } }
    if (reply.hang) return
    if (reply.chunks) {
      let finished = false
      const closed = new AbortController()
      res.on('close', () => {
        if (!finished) state.abandoned += 1
        closed.abort()
      })
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const chunk of reply.chunks) {
        if (res.destroyed) return
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        try {
          await sleep(reply.delayMs ?? 0, undefined, { signal: closed.signal })
        } catch {
          return
        }
      }
      finished = true
      res.end('data: [DONE]\n\n')
      return
    }
    res.writeHead(reply.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(reply.body))
  })
  server.on('connection', (s) => {
    state.sockets.add(s)
    s.on('close', () => state.sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    state,
    replies,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    /** A gateway whose `dragon` profile (the default) calls this upstream. */
    config(timeouts = '') {
      return `
[store]
kind = "memory"

[[upstreams]]
name = "scripted"
kind = "openai"
base_url = "http://127.0.0.1:${port}/v1"
max_retries = 0
${timeouts}

[[profiles]]
id = "dragon"
upstream = "scripted"
upstream_model = "scripted-model"
context_window = 32768
tokens_per_second = 100
input_price_per_mtok = 1.0
output_price_per_mtok = 2.0
`
    },
    async close() {
      for (const s of state.sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** An OpenAI chunk carrying `text`. */
export function chunk(text, finish = null) {
  return {
    id: 'chatcmpl-scripted',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'scripted-model',
    choices: [{ index: 0, delta: finish ? {} : { content: text }, finish_reason: finish }],
  }
}
