"""Every in-process call, sync and async, returns the JSON the HTTP endpoint
would; with a key it is charged and in the ledger, without one it is not."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, Dict, List

import pytest

from conftest import CHAT, MEMORY, MESSAGES, fund, ledger
from mws_gateway import AsyncGateway, BadRequestError, Gateway, NotFoundError

RERANK = {
    "model": "dragon",
    "query": "dragon treasure",
    "top_n": 2,
    "documents": ["a sunny day", "a dragon on its treasure", "treasure maps"],
}
EMBED = {"model": "dragon", "input": ["hello dragon", "a second text"]}
COUNT = {"model": "dragon", "messages": [{"role": "user", "content": "How many tokens is this?"}]}


def check_chat(reply: Dict[str, Any]) -> None:
    assert reply["object"] == "chat.completion"
    assert reply["model"] == "dragon"
    assert reply["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello, dragon!",
        "refusal": None,
    }
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"]["completion_tokens"] > 0


def check_messages(reply: Dict[str, Any]) -> None:
    assert reply["type"] == "message"
    assert reply["model"] == "claude-sonnet-4-6"
    assert reply["content"] == [{"type": "text", "text": "Hello, dragon!"}]
    assert reply["stop_reason"] == "end_turn"


def check_models(listing: Dict[str, Any], one: Dict[str, Any]) -> None:
    assert listing["object"] == "list"
    ids = [m["id"] for m in listing["data"]]
    assert len(ids) == 11 and "dragon" in ids
    assert one["id"] == "dragon" and one["object"] == "model"
    assert one["context_window"] > 0 and "pricing" in one


def check_embeddings(reply: Dict[str, Any]) -> None:
    assert reply["object"] == "list"
    assert [d["index"] for d in reply["data"]] == [0, 1]
    assert all(isinstance(x, float) for x in reply["data"][0]["embedding"])


def check_rerank(reply: Dict[str, Any]) -> None:
    results = reply["results"]
    assert len(results) == 2
    assert results[0]["index"] == 1  # "a dragon on its treasure"
    assert results[0]["relevance_score"] >= results[1]["relevance_score"]


def test_every_call_sync(gw: Gateway) -> None:
    check_chat(gw.chat_completions(CHAT))
    check_messages(gw.messages(MESSAGES))
    assert gw.count_tokens(COUNT) == {"input_tokens": len("How many tokens is this?") // 4}
    check_models(gw.models(), gw.models("dragon"))
    check_embeddings(gw.embeddings(EMBED))
    check_rerank(gw.rerank(RERANK))


def test_every_call_async() -> None:
    async def main() -> None:
        agw = AsyncGateway()
        check_chat(await agw.chat_completions(CHAT))
        check_messages(await agw.messages(MESSAGES))
        assert await agw.count_tokens(COUNT) == {"input_tokens": 6}
        check_models(await agw.models(), await agw.models("dragon"))
        check_embeddings(await agw.embeddings(EMBED))
        check_rerank(await agw.rerank(RERANK))

    asyncio.run(main())


def test_streams_full_sync(gw: Gateway) -> None:
    events = list(gw.messages_stream(MESSAGES))
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "Hello, dragon!"

    chunks = list(gw.chat_completions_stream({**CHAT, "stream_options": {"include_usage": True}}))
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "Hello, dragon!"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["usage"]["completion_tokens"] > 0  # include_usage honoured, no [DONE]


def test_streams_full_async() -> None:
    async def main() -> None:
        agw = AsyncGateway()
        stream = await agw.messages_stream(MESSAGES)
        events = [e async for e in stream]
        assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
        stream = await agw.chat_completions_stream(CHAT)
        chunks = [c async for c in stream]
        content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert content == "Hello, dragon!"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    asyncio.run(main())


def test_with_a_key_calls_are_charged_and_in_the_ledger() -> None:
    gw = Gateway(config_toml=MEMORY)
    account_id, key = fund(gw, usd=50)
    gw.chat_completions(CHAT, api_key=key)
    gw.messages(MESSAGES, api_key=key)
    list(gw.chat_completions_stream(CHAT, api_key=key))
    gw.count_tokens(COUNT, api_key=key)  # answered locally, never billed
    gw.chat_completions(CHAT)  # no key: unmetered
    rows = ledger(gw, account_id)
    assert [r["status"] for r in rows] == [200, 200, 200]
    spent = sum(r["cost_usd"] for r in rows)
    assert spent > 0
    assert gw.admin.account(account_id)["balance_usd"] == pytest.approx(50 - spent, abs=1e-9)


def test_async_calls_with_a_key_are_charged() -> None:
    async def main() -> List[Dict[str, Any]]:
        agw = AsyncGateway(config_toml=MEMORY)
        account = await agw.admin.create_account("async")
        await agw.admin.add_credits(account["id"], 30)
        key = (await agw.admin.create_key(account["id"], "k"))["key"]
        await agw.chat_completions(CHAT, api_key=key)
        stream = await agw.messages_stream(MESSAGES, api_key=key)
        async for _ in stream:
            pass
        rows: List[Dict[str, Any]] = (await agw.admin.usage(account["id"]))["data"]
        return rows

    rows = asyncio.run(main())
    assert [r["status"] for r in rows] == [200, 200]


def test_stream_true_in_a_one_shot_call_is_refused(gw: Gateway) -> None:
    with pytest.raises(BadRequestError) as err:
        gw.chat_completions({**CHAT, "stream": True})
    assert err.value.param == "stream"


def test_streaming_calls_set_stream_themselves(gw: Gateway) -> None:
    events = list(gw.messages_stream({**MESSAGES, "stream": False}))
    assert events[-1]["type"] == "message_stop"


def test_request_bodies_any_mapping_tuples_and_unicode(gw: Gateway) -> None:
    body = OrderedDict(model="dragon", messages=({"role": "user", "content": "héllo 🐉"},))
    reply = gw.chat_completions(body)
    assert reply["choices"][0]["message"]["content"] == "héllo 🐉"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"model": "dragon", "messages": {1, 2}}, TypeError),
        ({1: "not a str key"}, TypeError),
        ({"model": "dragon", "temperature": float("nan")}, ValueError),
        ({"model": "dragon", "n": 2**70}, ValueError),
    ],
)
def test_bodies_that_are_not_json_are_refused(gw: Gateway, body: Any, error: type) -> None:
    with pytest.raises(error):
        gw.chat_completions(body)


def test_a_body_that_contains_itself_is_refused(gw: Gateway) -> None:
    body: Dict[str, Any] = {"model": "dragon"}
    body["self"] = body
    with pytest.raises(ValueError, match="nested too deeply"):
        gw.chat_completions(body)


def test_unknown_model_id(gw: Gateway) -> None:
    with pytest.raises(NotFoundError) as err:
        gw.models("no-such-model")
    assert err.value.param == "model"


def test_config_from_path_and_string(tmp_path: Any) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(MEMORY + '[routing]\ndefault_profile = "dragon-pro"\n')
    for gw in (
        Gateway(config_path=path),
        Gateway(config_path=str(path)),
        Gateway(config_toml=path.read_text()),
    ):
        reply = gw.messages({**MESSAGES, "model": "some-unknown-name"})
        assert reply["model"] == "some-unknown-name"
    with pytest.raises(ValueError, match="not both"):
        Gateway(config_path=path, config_toml=MEMORY)
    with pytest.raises(BadRequestError, match="cannot read config file"):
        Gateway(config_path=tmp_path / "missing.toml")
    with pytest.raises(BadRequestError, match="invalid config"):
        Gateway(config_toml="[store]\nkind = 7\n")


def test_sqlite_store_in_a_temp_dir(tmp_path: Any) -> None:
    toml = f'[store]\nkind = "sqlite"\npath = "{tmp_path / "gw.db"}"\n'
    gw = Gateway(config_toml=toml)
    account_id, key = fund(gw)
    gw.chat_completions(CHAT, api_key=key)
    del gw
    again = Gateway(config_toml=toml)  # a second gateway on the same file sees it all
    assert [r["status"] for r in ledger(again, account_id)] == [200]
