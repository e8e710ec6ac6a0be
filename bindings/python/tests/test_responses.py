"""The Responses API in-process, sync and async: whole and streamed answers,
stored responses continued, read, paged and deleted per account, and the two
local calls (input_tokens, compact)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from conftest import MEMORY, fund, ledger
from mws_gateway import AsyncGateway, BadRequestError, Gateway, NotFoundError

QUESTION = {"model": "dragon", "input": "Hello, Responses!"}


def text_of(response: Dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def check_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The stream's order rules; the terminal response."""
    assert events[0]["type"] == "response.created"
    numbers = [e["sequence_number"] for e in events]
    assert numbers == sorted(set(numbers))
    terminal = [e for e in events if e["type"] in ("response.completed", "response.failed", "response.incomplete")]
    assert [e["type"] for e in terminal] == ["response.completed"]
    assert events[-1] is terminal[0]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    response: Dict[str, Any] = terminal[0]["response"]
    assert deltas == text_of(response)
    return response


def test_a_response_whole_and_streamed() -> None:
    gw = Gateway(config_toml=MEMORY)
    response = gw.responses(QUESTION)
    assert response["object"] == "response"
    assert response["id"].startswith("resp_")
    assert response["status"] == "completed"
    assert text_of(response) == "Hello, Responses!"
    with gw.responses_stream(QUESTION) as stream:
        events = list(stream)
    assert text_of(check_events(events)) == "Hello, Responses!"


def test_a_stored_response_is_continued_read_paged_and_deleted() -> None:
    gw = Gateway(config_toml=MEMORY)
    account, key = fund(gw)
    first = gw.responses(QUESTION, api_key=key)
    second = gw.responses(
        {"model": "dragon", "previous_response_id": first["id"], "input": "And again."}, api_key=key
    )
    assert text_of(second) == "And again."
    assert gw.response(second["id"], api_key=key)["id"] == second["id"]
    # The conversation's input: the first question, the first answer, the new input.
    page = gw.response_input_items(second["id"], order="asc", api_key=key)
    assert page["object"] == "list"
    assert [i.get("role") for i in page["data"]] == ["user", "assistant", "user"]
    assert all(i["id"] for i in page["data"])
    one = gw.response_input_items(second["id"], limit=1, api_key=key)
    assert one["has_more"] is True and len(one["data"]) == 1
    assert gw.delete_response(second["id"], api_key=key) == {
        "id": second["id"],
        "object": "response.deleted",
        "deleted": True,
    }
    with pytest.raises(NotFoundError):
        gw.response(second["id"], api_key=key)
    # Both calls were charged as over HTTP.
    assert len(ledger(gw, account)) == 2


def test_another_account_sees_nothing() -> None:
    gw = Gateway(config_toml=MEMORY)
    _, owner = fund(gw, "owner")
    _, other = fund(gw, "other")
    first = gw.responses(QUESTION, api_key=owner)
    with pytest.raises(NotFoundError):
        gw.response(first["id"], api_key=other)
    with pytest.raises(NotFoundError):
        gw.delete_response(first["id"], api_key=other)
    # As OpenAI answers it: a 400 naming the field (the kind is "not found").
    with pytest.raises(NotFoundError) as e:
        gw.responses({**QUESTION, "previous_response_id": first["id"]}, api_key=other)
    assert e.value.param == "previous_response_id"
    assert e.value.status == 400
    assert gw.response(first["id"], api_key=owner)["id"] == first["id"]


def test_input_tokens_and_compact() -> None:
    gw = Gateway(config_toml=MEMORY)
    count = gw.responses_input_tokens({"model": "dragon", "input": "Hello there, dragon. " * 10})
    assert count["object"] == "response.input_tokens"
    assert count["input_tokens"] > 40
    compacted = gw.responses_compact(
        {"model": "dragon", "input": [{"role": "user", "content": "Remember four."}]}
    )
    assert compacted["object"] == "response.compaction"
    assert compacted["output"][-1]["type"] == "compaction"
    go_on = gw.responses(
        {"model": "dragon", "store": False, "input": [*compacted["output"], {"role": "user", "content": "Go on."}]}
    )
    assert text_of(go_on) == "Go on."
    with pytest.raises(BadRequestError) as e:
        gw.responses_compact({"input": "no model"})
    assert e.value.param == "model"


def test_async_calls() -> None:
    async def run() -> None:
        gw = AsyncGateway(config_toml=MEMORY)
        response = await gw.responses(QUESTION)
        assert text_of(response) == "Hello, Responses!"
        stream = await gw.responses_stream(QUESTION)
        events = [e async for e in stream]
        check_events(events)
        assert (await gw.response(response["id"]))["id"] == response["id"]
        page = await gw.response_input_items(response["id"])
        assert len(page["data"]) == 1
        assert (await gw.responses_input_tokens(QUESTION))["input_tokens"] > 0
        assert (await gw.responses_compact(QUESTION))["object"] == "response.compaction"
        assert (await gw.delete_response(response["id"]))["deleted"] is True

    asyncio.run(run())
