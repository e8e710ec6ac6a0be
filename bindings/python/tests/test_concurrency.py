"""Many Python threads and asyncio tasks calling one gateway at once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import pytest

from conftest import MEMORY, fund, ledger, slow_config
from mws_gateway import AsyncGateway, Gateway

THREADS, CALLS = 16, 20
UNLIMITED = (
    MEMORY
    + """
[limits]
[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 100000
tpm = 100000000
"""
)


def request(thread: int, call: int) -> Dict[str, Any]:
    return {
        "model": "dragon",
        "messages": [{"role": "user", "content": f"thread {thread} call {call}"}],
    }


def test_threads_calling_at_once(gw: Gateway) -> None:
    barrier = threading.Barrier(THREADS)

    def work(thread: int) -> List[str]:
        barrier.wait()
        out = []
        for call in range(CALLS):
            if call % 4 == 3:
                chunks = gw.chat_completions_stream(request(thread, call))
                out.append("".join(c["choices"][0]["delta"].get("content") or "" for c in chunks))
            elif call % 2:
                reply = gw.messages({**request(thread, call), "max_tokens": 64})
                out.append(reply["content"][0]["text"])
            else:
                out.append(
                    gw.chat_completions(request(thread, call))["choices"][0]["message"]["content"]
                )
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    for thread, answers in enumerate(results):
        assert answers == [f"thread {thread} call {call}" for call in range(CALLS)]


def test_threads_with_keys_are_all_charged_exactly() -> None:
    gw = Gateway(config_toml=UNLIMITED)
    account_id, key = fund(gw, usd=100)

    def work(thread: int) -> None:
        for call in range(CALLS):
            gw.chat_completions(request(thread, call), api_key=key)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    rows = ledger(gw, account_id)
    assert len(rows) == THREADS * CALLS and {r["status"] for r in rows} == {200}
    spent = sum(r["cost_usd"] for r in rows)
    assert gw.admin.account(account_id)["balance_usd"] == pytest.approx(100 - spent, abs=1e-6)


def test_asyncio_gather_of_many_calls() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=UNLIMITED)
        account = await agw.admin.create_account("many")
        await agw.admin.add_credits(account["id"], 100)
        key = (await agw.admin.create_key(account["id"]))["key"]
        replies = await asyncio.gather(
            *(
                agw.chat_completions(request(0, i), api_key=key if i % 2 else None)
                for i in range(300)
            )
        )
        assert [r["choices"][0]["message"]["content"] for r in replies] == [
            f"thread 0 call {i}" for i in range(300)
        ]
        usage = await agw.admin.usage(account["id"])
        assert usage["totals"]["requests"] == 150

        async def stream(i: int) -> str:
            s = await agw.messages_stream({**request(1, i), "max_tokens": 64})
            return "".join(
                [e["delta"]["text"] async for e in s if e["type"] == "content_block_delta"]
            )

        texts = await asyncio.gather(*(stream(i) for i in range(50)))
        assert texts == [f"thread 1 call {i}" for i in range(50)]

    asyncio.run(main())


def test_slow_streams_overlap_in_asyncio() -> None:
    """Ten paced streams at once take about as long as one: none waits on another."""

    async def main() -> float:
        agw = AsyncGateway(config_toml=slow_config(tokens_per_second=40))
        text = "twelve words that take a while to stream at forty tokens a second " * 2

        async def one() -> int:
            s = await agw.chat_completions_stream(
                {"model": "slow", "messages": [{"role": "user", "content": text}]}
            )
            return len([c async for c in s])

        loop = asyncio.get_running_loop()
        started = loop.time()
        await one()
        single = loop.time() - started
        started = loop.time()
        await asyncio.gather(*(one() for _ in range(10)))
        together = loop.time() - started
        return together / single

    assert asyncio.run(main()) < 3


def test_several_event_loops_in_threads() -> None:
    agw = AsyncGateway()

    def in_thread(n: int) -> List[str]:
        async def main() -> List[str]:
            replies = await asyncio.gather(
                *(agw.chat_completions(request(n, i)) for i in range(20))
            )
            return [r["choices"][0]["message"]["content"] for r in replies]

        return asyncio.run(main())

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(in_thread, range(4)))
    assert results == [[f"thread {n} call {i}" for i in range(20)] for n in range(4)]
