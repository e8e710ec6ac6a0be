"""`serve()`: the official openai and anthropic SDKs against `server.url` with a
key made through the admin operations, and a server that stops cleanly on
leaving its block (exception or not), on collection and at interpreter exit."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import textwrap
from typing import Iterator, Tuple

import anthropic
import httpx
import openai
import pytest

from conftest import MEMORY, fund, ledger, slow_config
from mws_gateway import AsyncGateway, Gateway, Server


@pytest.fixture
def served() -> Iterator[Tuple[Gateway, Server, str, str]]:
    gw = Gateway(config_toml=MEMORY)
    account_id, key = fund(gw)
    with gw.serve("127.0.0.1:0") as server:
        yield gw, server, account_id, key


def refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_server_address(served: Tuple[Gateway, Server, str, str]) -> None:
    _, server, _, _ = served
    host, port = server.address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) == server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert not server.closed
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_openai_sdk_against_serve(served: Tuple[Gateway, Server, str, str]) -> None:
    gw, server, account_id, key = served
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=10)
    reply = client.chat.completions.create(
        model="dragon", messages=[{"role": "user", "content": "Hello, SDK!"}]
    )
    assert reply.choices[0].message.content == "Hello, SDK!"
    stream = client.chat.completions.create(
        model="dragon-flash", messages=[{"role": "user", "content": "Stream me"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Stream me"
    assert "dragon" in [m.id for m in client.models.list()]
    embedding = client.embeddings.create(model="dragon", input="hello")
    assert len(embedding.data[0].embedding) > 0
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=f"{server.url}/v1", api_key="mws_live_bad", max_retries=0
        ).models.list()
    assert len(ledger(gw, account_id)) == 3  # chat, stream, embeddings


def test_anthropic_sdk_against_serve(served: Tuple[Gateway, Server, str, str]) -> None:
    gw, server, account_id, key = served
    client = anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0, timeout=10)
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "Hi Claude"}],
    )
    assert message.content[0].type == "text" and message.content[0].text == "Hi Claude"
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "Stream it"}],
    ) as stream:
        assert "".join(stream.text_stream) == "Stream it"
    count = client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "12345678"}]
    )
    assert count.input_tokens >= 2
    assert len(ledger(gw, account_id)) == 2


def test_async_sdks_against_async_serve() -> None:
    async def main() -> None:
        agw = AsyncGateway(config_toml=MEMORY)
        account = await agw.admin.create_account("sdk")
        await agw.admin.add_credits(account["id"], 30)
        key = (await agw.admin.create_key(account["id"]))["key"]
        async with agw.serve() as server:
            client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
            replies = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        # A bound on the answer: without one each request reserves
                        # the context window against the key's tokens per minute.
                        model="dragon",
                        messages=[{"role": "user", "content": f"n{i}"}],
                        max_tokens=64,
                    )
                    for i in range(20)
                )
            )
            assert [r.choices[0].message.content for r in replies] == [f"n{i}" for i in range(20)]
            # the loop serves in-process calls while the server runs
            assert (await agw.models("dragon"))["id"] == "dragon"
            await client.close()
        assert server.closed and refused(server.url)

    asyncio.run(main())


def test_leaving_the_block_stops_the_server(gw: Gateway) -> None:
    with gw.serve() as server:
        url = server.url
        assert not refused(url)
    assert server.closed and refused(url)
    server.close()  # idempotent


def test_an_exception_in_the_block_stops_the_server(gw: Gateway) -> None:
    with pytest.raises(RuntimeError):
        with gw.serve() as server:
            url = server.url
            raise RuntimeError("boom")
    assert refused(url)


def test_collecting_the_server_stops_it(gw: Gateway) -> None:
    server = gw.serve()
    url = server.url
    del server
    gc.collect()
    assert refused(url)


def test_interpreter_exit_drains_then_stops_the_server(tmp_path: object) -> None:
    """A script that serves and exits without closing: at exit the server stops
    gracefully, so a stream in flight still ends with message_stop."""
    script = textwrap.dedent(
        f"""
        import sys
        from mws_gateway import Gateway
        gw = Gateway(config_toml={slow_config(tokens_per_second=100)!r})
        account = gw.admin.create_account("exit")
        gw.admin.add_credits(account["id"], 30)
        key = gw.admin.create_key(account["id"])["key"]
        server = gw.serve()
        print(server.url, key, flush=True)
        sys.stdin.readline()  # the test has a stream in flight: exit now
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    url, key = child.stdout.readline().split()
    body = {
        "model": "slow",
        "max_tokens": 512,
        "stream": True,
        "messages": [{"role": "user", "content": "drain me " * 30}],
    }
    events = []
    headers = {"x-api-key": key}
    with httpx.stream(
        "POST", f"{url}/v1/messages", json=body, headers=headers, timeout=20
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: ") and '"content_block_delta"' in line:
                break
        child.stdin.write("\n")
        child.stdin.flush()
        for line in lines:
            if line.startswith("data: "):
                events.append(json.loads(line[6:])["type"])
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert events[-1] == "message_stop"
    assert refused(url)


def test_serve_refuses_a_bad_address(gw: Gateway) -> None:
    with pytest.raises(ValueError, match="expected an address"):
        gw.serve("not an address")
