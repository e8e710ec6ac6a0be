"""Embed the gateway in a Python program, make an account and a key for it
through the admin operations, serve on a free port, and point the official
openai and anthropic SDKs at it, as a desktop app would hand its URL and key to
Claude Code or any SDK client.

    python examples/python/embed_sdks.py
"""

from __future__ import annotations

import anthropic
import openai

from mws_gateway import Gateway

# No config: the built-in Dragon catalogue on the echo upstream, in memory.
gateway = Gateway()

account = gateway.admin.create_account("my-app")
gateway.admin.add_credits(account["id"], 25)  # a key needs $25 of credits or a plan
key = gateway.admin.create_key(account["id"], "sdk-clients")["key"]

with gateway.serve("127.0.0.1:0") as server:
    print(f"gateway at {server.url}")

    # The openai SDK takes the /v1 base URL.
    oai = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key)
    reply = oai.chat.completions.create(
        model="dragon",
        messages=[{"role": "user", "content": "Hello from the openai SDK"}],
    )
    print("openai:", reply.choices[0].message.content)
    assert reply.choices[0].message.content == "Hello from the openai SDK"

    # The anthropic SDK adds /v1 itself.
    claude = anthropic.Anthropic(base_url=server.url, api_key=key)
    with claude.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "Hello from the anthropic SDK"}],
    ) as stream:
        text = "".join(stream.text_stream)
    print("anthropic:", text)
    assert text == "Hello from the anthropic SDK"

# Both requests were authenticated, limited and charged to the account.
usage = gateway.admin.usage(account["id"])
print(f"{usage['totals']['requests']} requests, ${usage['totals']['cost_usd']:.6f} spent")
assert usage["totals"]["requests"] == 2
