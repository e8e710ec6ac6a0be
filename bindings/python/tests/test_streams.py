"""Streams stopped early (close, leaving a with block, dropping, cancelling the
task) drop the core's stream: the upstream request is cancelled, the cut
stream is settled for what was delivered (ledger status 499), and later calls
work. Waiting on a stream releases the GIL and never blocks the event loop."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from conftest import fund, ledger, slow_chat, slow_config, slow_messages, wait_for
from mws_gateway import AsyncGateway, AsyncStream, Gateway
from scripted import Scripted

FULL_OUTPUT_TOKENS = 200  # the long text is about 250 tokens


def cut_row(gw: Gateway, account_id: str) -> Dict[str, Any]:
    """The ledger row of the one stream that was cut, once it is settled."""
    rows: List[Dict[str, Any]] = wait_for(lambda: ledger(gw, account_id))
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == 499
    assert 0 < row["output_tokens"] < FULL_OUTPUT_TOKENS
    return row


def still_works(gw: Gateway, key: str) -> None:
    events = list(gw.messages_stream(slow_messages("short"), api_key=key))
    assert events[-1]["type"] == "message_stop"


def take_deltas(stream: Iterator[Dict[str, Any]], n: int) -> None:
    """Reads until `n` text deltas (Anthropic or OpenAI) have arrived."""
    seen = 0
    for event in stream:
        if event.get("type") == "content_block_delta" or (
            event.get("choices") and event["choices"][0]["delta"].get("content")
        ):
            seen += 1
            if seen == n:
                return
    raise AssertionError("the stream ended early")


@pytest.fixture
def slow() -> Gateway:
    return Gateway(config_toml=slow_config())


def test_close_stops_the_stream(slow: Gateway) -> None:
    account_id, key = fund(slow)
    stream = slow.chat_completions_stream(slow_chat(), api_key=key)
    take_deltas(stream, 2)
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 0.5
    assert list(stream) == []  # closed: no more events
    stream.close()  # idempotent
    cut_row(slow, account_id)
    still_works(slow, key)


def test_leaving_a_with_block_stops_the_stream(slow: Gateway) -> None:
    account_id, key = fund(slow)
    with slow.messages_stream(slow_messages(), api_key=key) as stream:
        take_deltas(stream, 1)
    cut_row(slow, account_id)
    still_works(slow, key)


def test_dropping_the_stream_stops_it(slow: Gateway) -> None:
    account_id, key = fund(slow)
    stream = slow.messages_stream(slow_messages(), api_key=key)
    take_deltas(stream, 1)
    del stream
    gc.collect()
    cut_row(slow, account_id)
    still_works(slow, key)


def test_async_aclose_and_async_with_stop_the_stream() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=slow_config())
        account = await agw.admin.create_account("a")
        await agw.admin.add_credits(account["id"], 100)
        key = (await agw.admin.create_key(account["id"]))["key"]

        stream = await agw.chat_completions_stream(slow_chat(), api_key=key)
        await stream.__anext__()
        await stream.__anext__()
        started = time.monotonic()
        await stream.aclose()
        assert time.monotonic() - started < 0.5
        assert [e async for e in stream] == []

        async with await agw.messages_stream(slow_messages(), api_key=key) as stream:
            async for event in stream:
                if event["type"] == "content_block_delta":
                    break

        rows = await wait_async(lambda: agw.admin.usage(account["id"]), count=2)
        assert [r["status"] for r in rows] == [499, 499]
        again = await agw.messages_stream(slow_messages("short"), api_key=key)
        assert [e async for e in again][-1]["type"] == "message_stop"

    asyncio.run(main())


async def wait_async(usage: Any, count: int) -> List[Dict[str, Any]]:
    for _ in range(250):
        rows: List[Dict[str, Any]] = (await usage())["data"]
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError("the cut streams were not settled")


def test_cancelling_the_task_that_iterates_stops_the_stream() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=slow_config())
        account = await agw.admin.create_account("a")
        await agw.admin.add_credits(account["id"], 100)
        key = (await agw.admin.create_key(account["id"]))["key"]
        first_delta = asyncio.Event()

        async def consume() -> None:
            async with await agw.messages_stream(slow_messages(), api_key=key) as stream:
                async for event in stream:
                    if event["type"] == "content_block_delta":
                        first_delta.set()

        task = asyncio.create_task(consume())
        await first_delta.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        rows = await wait_async(lambda: agw.admin.usage(account["id"]), count=1)
        assert rows[0]["status"] == 499
        assert rows[0]["output_tokens"] < FULL_OUTPUT_TOKENS

    asyncio.run(main())


def test_dropping_an_async_stream_stops_it() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=slow_config())
        account = await agw.admin.create_account("a")
        await agw.admin.add_credits(account["id"], 100)
        key = (await agw.admin.create_key(account["id"]))["key"]
        stream: AsyncStream | None = await agw.messages_stream(slow_messages(), api_key=key)
        assert stream is not None
        while (await stream.__anext__())["type"] != "content_block_delta":
            pass
        stream = None
        gc.collect()
        rows = await wait_async(lambda: agw.admin.usage(account["id"]), count=1)
        assert rows[0]["status"] == 499

    asyncio.run(main())


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    upstream = Scripted()
    yield upstream
    upstream.close()


@pytest.mark.parametrize("how", ["close", "drop", "aclose", "cancel"])
def test_stopping_early_cancels_the_upstream_request(scripted: Scripted, how: str) -> None:
    """The real thing: an upstream sending a chunk every 50 ms sees the gateway
    hang up soon after the caller stops reading."""
    chunks = 200
    scripted.slow_stream(chunks, 0.05)
    body = {"model": "scripted", "messages": [{"role": "user", "content": "go"}]}
    if how in ("close", "drop"):
        gw = Gateway(config_toml=scripted.config())
        stream = gw.chat_completions_stream(body)
        take_deltas(stream, 2)
        if how == "close":
            stream.close()
        else:
            del stream
            gc.collect()
    else:

        async def main() -> None:
            agw = AsyncGateway(config_toml=scripted.config())
            stream = await agw.chat_completions_stream(body)
            await stream.__anext__()
            await stream.__anext__()
            if how == "aclose":
                await stream.aclose()
                return
            task = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            del stream, task
            gc.collect()

        asyncio.run(main())
    assert scripted.disconnected.wait(5), "the upstream request was not cancelled"
    assert scripted.chunks_sent < chunks


def test_waiting_on_a_stream_releases_the_gil(slow: Gateway) -> None:
    stream = slow.chat_completions_stream(slow_chat())
    take_deltas(stream, 1)
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = ticks
        take_deltas(stream, 2)  # about 0.6 s of waiting inside the core
        during = ticks - before
    finally:
        stop.set()
        counter.join()
        stream.close()
    assert during > 10_000, f"the other thread ran only {during} loops"


def test_waiting_on_a_stream_never_blocks_the_event_loop() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=slow_config())
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        stream = await agw.chat_completions_stream(slow_chat())
        started = time.monotonic()
        deltas = 0
        async for chunk in stream:
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                deltas += 1
                if deltas == 3:
                    break
        elapsed = time.monotonic() - started
        await stream.aclose()
        ticker.cancel()
        assert elapsed > 0.5  # the stream was paced...
        assert ticks > elapsed / 0.01 * 0.5  # ...and the loop kept running

    asyncio.run(main())
