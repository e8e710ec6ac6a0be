"""Call the gateway in-process, without HTTP: one Chat Completions call, then a
streamed Anthropic Messages call printed as it arrives, then a stream stopped
early (which cancels the upstream request).

    python examples/python/in_process_stream.py
"""

from __future__ import annotations

from mws_gateway import BadRequestError, Gateway

gateway = Gateway()

reply = gateway.chat_completions(
    {"model": "dragon", "messages": [{"role": "user", "content": "Hello, dragon!"}]}
)
print("chat:", reply["choices"][0]["message"]["content"])

request = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 512,
    "messages": [{"role": "user", "content": "Stream this sentence back to me, piece by piece."}],
}
print("stream: ", end="")
for event in gateway.messages_stream(request):
    if event["type"] == "content_block_delta":
        print(event["delta"]["text"], end="", flush=True)
    elif event["type"] == "message_delta":
        print(
            f"\n(stop reason: {event['delta']['stop_reason']}, "
            f"{event['usage']['output_tokens']} output tokens)"
        )

# Stop after the first chunk: leaving the block drops the stream.
with gateway.chat_completions_stream(
    {"model": "dragon", "messages": [{"role": "user", "content": "A long answer " * 50}]}
) as chunks:
    first = next(chunks)
    print("first chunk of a stream stopped early:", first["object"])

try:
    gateway.messages({"model": "dragon", "messages": []})
except BadRequestError as e:
    print(f"error: {e.status} {e.type} ({e.param}): {e.message}")
