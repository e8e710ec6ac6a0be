"""The gateway from asyncio: calls as coroutines, streams as async iterators,
many requests at once, and the admin operations.

    python examples/python/asyncio_example.py
"""

from __future__ import annotations

import asyncio

from mws_gateway import AsyncGateway, RateLimitError


async def main() -> None:
    gateway = AsyncGateway()

    # A metered key with its own throttle of 5 requests a minute.
    account = await gateway.admin.create_account("async-app")
    await gateway.admin.add_credits(account["id"], 25)
    key = (await gateway.admin.create_key(account["id"], "worker", rpm=5))["key"]

    questions = [f"Question number {i}" for i in range(5)]
    replies = await asyncio.gather(
        *(
            gateway.chat_completions(
                # max_tokens bounds what each call reserves against the key's limits
                {
                    "model": "dragon",
                    "max_tokens": 100,
                    "messages": [{"role": "user", "content": q}],
                },
                api_key=key,
            )
            for q in questions
        )
    )
    for reply in replies:
        print("reply:", reply["choices"][0]["message"]["content"])

    try:
        await gateway.models(api_key=key)  # the sixth request this minute
    except RateLimitError as e:
        print(f"throttled: {e.status} {e.type}")

    # Unmetered (no key): stream an Anthropic Messages answer.
    stream = await gateway.messages_stream(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Streaming from asyncio works."}],
        }
    )
    async with stream:
        async for event in stream:
            if event["type"] == "content_block_delta":
                print(event["delta"]["text"], end="", flush=True)
    print()

    usage = await gateway.admin.usage(account["id"])
    print(f"{usage['totals']['requests']} metered requests")


asyncio.run(main())
