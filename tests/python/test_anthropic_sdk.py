"""The official anthropic Python SDK against a real gateway on the echo upstream."""

from __future__ import annotations

import anthropic
import httpx
import pytest

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Look up the weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def client(gateway_url: str, api_key: str) -> anthropic.Anthropic:
    # The anthropic SDK adds /v1/... to its base URL itself.
    return anthropic.Anthropic(base_url=gateway_url, api_key=api_key, max_retries=0)


def _text(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def test_messages_create_text(client: anthropic.Anthropic) -> None:
    text = "Tell me about dragons in three words."
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=256,
        system="You are terse.",
        messages=[{"role": "user", "content": text}],
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == "claude-sonnet-4-6"
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert _text(message) == text
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert message.id


def test_messages_stream_seed_example(client: anthropic.Anthropic) -> None:
    # The API page's streaming example, in Python: iterate the events and keep
    # the text of content_block_delta / text_delta events.
    prompt = "Stream me a poem."
    pieces: list[str] = []
    event_types: list[str] = []
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        for event in stream:
            event_types.append(event.type)
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                pieces.append(event.delta.text)
        final = stream.get_final_message()

    assert "".join(pieces) == prompt
    assert len(pieces) >= 2, "the echo upstream streams in several deltas"
    assert event_types[0] == "message_start"
    assert event_types[-1] == "message_stop"
    for required in ("content_block_start", "content_block_stop", "message_delta"):
        assert required in event_types
    assert final.model == "claude-sonnet-4-6"
    assert final.stop_reason == "end_turn"
    assert _text(final) == prompt
    assert final.usage.output_tokens > 0


def test_messages_stream_text_stream_helper(client: anthropic.Anthropic) -> None:
    prompt = "Another streamed answer, through the text_stream helper."
    with client.messages.stream(
        model="dragon-flash",
        max_tokens=256,
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        assert "".join(stream.text_stream) == prompt
        assert stream.get_final_text() == prompt


def test_tool_use_round_trip(client: anthropic.Anthropic) -> None:
    question = {"role": "user", "content": "What's the weather in Paris?"}
    first = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=512, tools=[WEATHER_TOOL], messages=[question]
    )
    assert first.stop_reason == "tool_use"
    tool_uses = [block for block in first.content if block.type == "tool_use"]
    assert len(tool_uses) == 1
    tool_use = tool_uses[0]
    assert tool_use.name == "get_weather"
    assert tool_use.input == {"city": "Paris"}
    assert tool_use.id

    result = "Sunny, 24 degrees Celsius"
    second = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=512,
        tools=[WEATHER_TOOL],
        messages=[
            question,
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": result}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert result in _text(second)


def test_tool_use_id_kept_verbatim(client: anthropic.Anthropic) -> None:
    tool_use_id = "toolu_Client-Minted_ID_0042"
    result = "Rain, 11 degrees"
    message = client.messages.create(
        model="dragon",
        max_tokens=512,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "What's the weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": tool_use_id,
                        "name": "get_weather",
                        "input": {"city": "Oslo"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": result}],
            },
        ],
    )
    assert message.stop_reason == "end_turn"
    assert result in _text(message)


def test_tool_use_stream(client: anthropic.Anthropic) -> None:
    partial_json: list[str] = []
    starts = []
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=512,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
    ) as stream:
        for event in stream:
            if event.type == "content_block_start" and event.content_block.type == "tool_use":
                starts.append(event.content_block)
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partial_json.append(event.delta.partial_json)
        final = stream.get_final_message()

    assert len(starts) == 1
    assert starts[0].name == "get_weather"
    assert "".join(partial_json).replace(" ", "") == '{"city":"Paris"}'
    assert final.stop_reason == "tool_use"
    tool_uses = [block for block in final.content if block.type == "tool_use"]
    assert len(tool_uses) == 1
    assert tool_uses[0].id == starts[0].id
    assert tool_uses[0].input == {"city": "Paris"}


def test_count_tokens(client: anthropic.Anthropic) -> None:
    short = client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hello, world"}]
    )
    assert short.input_tokens > 0
    longer = client.messages.count_tokens(
        model="claude-sonnet-4-6",
        system="You are a helpful assistant with a long system prompt. " * 10,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Hello, world"}],
    )
    assert longer.input_tokens > short.input_tokens


def test_models_list_anthropic_shape(client: anthropic.Anthropic) -> None:
    page = client.models.list()
    models = list(page)
    ids = [model.id for model in models]
    assert "dragon" in ids and "dragon-pro" in ids
    assert len(ids) >= 11
    for model in models:
        assert model.type == "model"
        assert model.display_name
        assert model.created_at is not None
        assert (model.model_extra or {}).get("context_window", 0) > 0


def test_models_retrieve_anthropic_shape(client: anthropic.Anthropic) -> None:
    model = client.models.retrieve("dragon-pro")
    assert model.id == "dragon-pro"
    assert model.type == "model"
    assert (model.model_extra or {})["context_window"] == 128000


def test_missing_max_tokens_is_400(gateway_url: str, api_key: str) -> None:
    # The SDK refuses to send a request without max_tokens, so use raw HTTP.
    response = httpx.post(
        gateway_url + "/v1/messages",
        headers={"x-api-key": api_key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


def test_bad_request_raises_sdk_error(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="dragon",
            max_tokens=64,
            messages=[{"role": "user", "content": [{"type": "bogus", "text": "x"}]}],  # type: ignore[typeddict-item]
        )
    assert caught.value.status_code == 400
    assert "messages.0.content.0.type" in caught.value.message


def test_wrong_key_is_refused(gateway_url: str) -> None:
    other = anthropic.Anthropic(base_url=gateway_url, api_key="not-a-real-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        other.messages.create(
            model="dragon", max_tokens=32, messages=[{"role": "user", "content": "closed"}]
        )
    assert caught.value.status_code == 401


def test_tool_choice_forces_tool_use(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="dragon",
        max_tokens=64,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "hello"}],
    )
    assert message.stop_reason == "tool_use"
    tool_use = next(block for block in message.content if block.type == "tool_use")
    assert tool_use.name == "get_weather"
    assert set(tool_use.input) == {"city"}


def test_max_tokens_stop_reason(client: anthropic.Anthropic) -> None:
    text = "a sentence long enough to need more than two tokens of output"
    message = client.messages.create(
        model="dragon", max_tokens=2, messages=[{"role": "user", "content": text}]
    )
    assert message.stop_reason == "max_tokens"
    assert text.startswith(_text(message)) and _text(message) != text
    assert message.usage.output_tokens <= 2


def test_cache_control_is_accepted(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        system=[{"type": "text", "text": "Long shared prefix.", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "cached question", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
    )
    assert message.stop_reason == "end_turn"
    assert _text(message) == "cached question"
