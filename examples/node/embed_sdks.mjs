// @ts-check
// A program that embeds the gateway: it creates an account, credits and a key
// for itself, serves on 127.0.0.1:0 and hands the URL and key to the official
// openai and Anthropic SDKs, here in the same process. It runs the streaming
// and tool-use flow of the API page on the built-in echo upstream.
import assert from 'node:assert/strict'

import Anthropic from '@anthropic-ai/sdk'
import { Gateway } from 'mws-gateway'
import OpenAI from 'openai'

// No config: the built-in Dragon catalogue on the echo upstream, memory store.
const gateway = new Gateway()
const account = await gateway.admin.createAccount('desktop-app')
await gateway.admin.addCredits(account.id, 25)
const { key } = await gateway.admin.createKey(account.id, 'sdk-clients', { rpm: 120 })

const server = await gateway.serve('127.0.0.1:0')
console.log(`gateway serving on ${server.url}`)
try {
  // The openai SDK takes the /v1 base URL.
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key })
  const reply = await openai.chat.completions.create({
    model: 'dragon',
    messages: [{ role: 'user', content: 'Hello, dragon!' }],
  })
  console.log(`openai: ${reply.choices[0].message.content}`)

  const chunks = await openai.chat.completions.create({
    model: 'dragon-flash',
    messages: [{ role: 'user', content: 'Stream me a poem.' }],
    stream: true,
  })
  process.stdout.write('openai stream: ')
  for await (const chunk of chunks) {
    process.stdout.write(chunk.choices[0]?.delta.content ?? '')
  }
  process.stdout.write('\n')

  // The Anthropic SDK adds /v1 itself: give it the server's root.
  const client = new Anthropic({ baseURL: server.url, apiKey: key })
  const stream = client.messages.stream({
    model: 'claude-sonnet-4-6',
    max_tokens: 1024,
    messages: [{ role: 'user', content: 'Stream me a poem.' }],
  })
  process.stdout.write('anthropic stream: ')
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
      process.stdout.write(event.delta.text)
    }
  }
  process.stdout.write('\n')

  // Tool use: request -> tool_use -> tool_result -> end_turn, ids kept verbatim.
  /** @type {Anthropic.Tool[]} */
  const tools = [
    {
      name: 'get_weather',
      description: 'Look up the weather for a city.',
      input_schema: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  ]
  /** @type {Anthropic.MessageParam} */
  const question = { role: 'user', content: "What's the weather in Paris?" }
  const first = await client.messages.create({
    model: 'claude-sonnet-4-6',
    max_tokens: 512,
    tools,
    messages: [question],
  })
  assert.equal(first.stop_reason, 'tool_use')
  const call = first.content.find(
    /** @returns {block is Anthropic.ToolUseBlock} */ (block) => block.type === 'tool_use',
  )
  assert.ok(call)
  console.log(`anthropic tool call: ${call.name}(${JSON.stringify(call.input)}) id ${call.id}`)
  const final = await client.messages.create({
    model: 'claude-sonnet-4-6',
    max_tokens: 512,
    tools,
    messages: [
      question,
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 24 °C' }],
      },
    ],
  })
  assert.equal(final.stop_reason, 'end_turn')
  const answer = final.content[0]
  assert.equal(answer.type, 'text')
  console.log(`anthropic final answer: ${answer.text}`)

  const usage = await gateway.admin.usage(account.id)
  console.log(`${usage.totals.requests} requests charged to ${account.name}: $${usage.totals.cost_usd}`)
} finally {
  await server.close()
}
