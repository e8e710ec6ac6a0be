// @ts-check
// Calls the gateway in-process, without HTTP: a whole answer, an Anthropic
// event stream, an OpenAI chunk stream, a stream stopped early (which cancels
// the upstream request) and an error.
import { AuthenticationError, Gateway, MwsError } from 'mws-gateway'

const gateway = new Gateway()

const message = await gateway.messages({
  model: 'claude-sonnet-4-6',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Hello, dragon!' }],
})
const first = message.content[0]
console.log(`messages: ${first.type === 'text' ? first.text : first.type} (${message.usage.output_tokens} tokens)`)

// Anthropic events: each has the SSE event's name in `type`.
process.stdout.write('messagesStream: ')
for await (const event of gateway.messagesStream({
  model: 'dragon',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Stream me a poem about a dragon and its gold.' }],
})) {
  if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
    process.stdout.write(event.delta.text)
  } else if (event.type === 'message_delta') {
    process.stdout.write(` [${event.delta.stop_reason}]\n`)
  }
}

// OpenAI chunks, usage in the last one when asked for.
process.stdout.write('chatCompletionsStream: ')
for await (const chunk of gateway.chatCompletionsStream({
  model: 'dragon-flash',
  messages: [{ role: 'user', content: 'Chunks, please.' }],
  stream_options: { include_usage: true },
})) {
  process.stdout.write(chunk.choices[0]?.delta.content ?? '')
  if (chunk.usage) process.stdout.write(` [${chunk.usage.total_tokens} tokens]\n`)
}

// Leaving the loop early drops the stream inside the gateway, which cancels
// the upstream request.
let events = 0
for await (const _event of gateway.messagesStream({
  model: 'dragon',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'A long answer that nobody reads to the end. '.repeat(50) }],
})) {
  if (++events === 4) break
}
console.log(`stopped after ${events} events`)

// Errors are MwsError subclasses with the HTTP status and the error type.
try {
  await gateway.chatCompletions(
    { model: 'dragon', messages: [{ role: 'user', content: 'hi' }] },
    { apiKey: 'mws_live_not_a_real_key' },
  )
} catch (e) {
  if (!(e instanceof AuthenticationError)) throw e
  /** @type {MwsError} */
  const err = e
  console.log(`${err.name}: ${err.status} ${err.type}: ${err.message}`)
}
