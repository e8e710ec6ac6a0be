"""The official openai Python SDK against a real gateway on the echo upstream."""

from __future__ import annotations

import json
import math

import openai
import pytest

# The built-in catalogue, as DESIGN.md publishes it:
# id -> (context window, tokens per second, USD in, USD out per million tokens).
CATALOGUE = {
    "dragon": (262144, 189, 0.48, 1.08),
    "dragon-flash": (131072, 1400, 1.20, 2.40),
    "dragon-blitz": (131072, 698, 0.30, 1.20),
    "dragon-pro": (128000, 447, 0.22, 0.68),
    "dragon-spark": (163840, 143, 0.60, 0.90),
    "dragon-think": (131072, 383, 0.30, 2.40),
    "dragon-thinkmaxing": (1048576, 178, 3.48, 6.96),
    "dragon-reason": (262144, 172, 0.40, 1.20),
    "dragon-seer": (262144, 383, 1.00, 5.00),
    "dragon-coder": (262144, 189, 0.48, 1.08),
    "dragon-nova": (262144, 310, 1.20, 7.20),
}

RATELIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Look up the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def client(api_base: str, api_key: str) -> openai.OpenAI:
    # No retries so a failure shows up as itself.
    return openai.OpenAI(base_url=api_base, api_key=api_key, max_retries=0)


def test_chat_text_answer(client: openai.OpenAI) -> None:
    text = "Tell me about dragons in three words."
    completion = client.chat.completions.create(
        model="dragon",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": text},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.model == "dragon"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == text
    assert choice.message.tool_calls in (None, [])
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_chat_model_is_the_string_sent(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].message.content == "hi"


def test_chat_stream_text(client: openai.OpenAI) -> None:
    text = "Stream me a poem about a dragon who guards a library of scrolls."
    stream = client.chat.completions.create(
        model="dragon-flash",
        messages=[{"role": "user", "content": text}],
        stream=True,
    )
    pieces: list[str] = []
    finish_reasons: list[str] = []
    chunks = 0
    for chunk in stream:
        chunks += 1
        assert chunk.object == "chat.completion.chunk"
        assert chunk.model == "dragon-flash"
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
    assert "".join(pieces) == text
    assert len(pieces) >= 2, "the echo upstream streams in several deltas"
    assert finish_reasons == ["stop"]
    assert chunks >= 3


def test_chat_stream_include_usage(client: openai.OpenAI) -> None:
    text = "Count my tokens while streaming, please."
    stream = client.chat.completions.create(
        model="dragon",
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    # Only the last chunk carries usage.
    assert all(chunk.usage is None for chunk in chunks[:-1])
    text_out = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text_out == text


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    question = {"role": "user", "content": "What's the weather in Paris?"}
    first = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=[question], tools=[WEATHER_TOOL]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id

    result = "Sunny, 24 degrees Celsius"
    second = client.chat.completions.create(
        model="claude-sonnet-4-6",
        tools=[WEATHER_TOOL],
        messages=[
            question,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ],
    )
    answer = second.choices[0]
    assert answer.finish_reason == "stop"
    assert answer.message.tool_calls in (None, [])
    assert answer.message.content is not None
    assert result in answer.message.content


def test_tool_call_id_kept_verbatim(client: openai.OpenAI) -> None:
    # An id the gateway never minted must reach the upstream and come back as is.
    call_id = "call_Client-Minted_ID_0042"
    result = "Rain, 11 degrees"
    completion = client.chat.completions.create(
        model="dragon",
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "What's the weather in Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": result},
        ],
    )
    assert completion.choices[0].finish_reason == "stop"
    assert result in (completion.choices[0].message.content or "")


def test_tool_call_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="dragon",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish_reasons: list[str] = []
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                if delta.id:
                    entry["id"] = delta.id
                if delta.function and delta.function.name:
                    entry["name"] += delta.function.name
                if delta.function and delta.function.arguments:
                    entry["arguments"] += delta.function.arguments
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
    assert finish_reasons == ["tool_calls"]
    assert list(calls) == [0]
    assert calls[0]["id"]
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


def test_models_list(client: openai.OpenAI) -> None:
    models = {model.id: model for model in client.models.list()}
    assert set(CATALOGUE) <= set(models)
    for model_id, (context, speed, price_in, price_out) in CATALOGUE.items():
        extra = models[model_id].model_extra or {}
        assert models[model_id].object == "model"
        assert extra["context_window"] == context, model_id
        assert extra["tokens_per_second"] == speed, model_id
        assert extra["pricing"]["input_per_mtok_usd"] == pytest.approx(price_in), model_id
        assert extra["pricing"]["output_per_mtok_usd"] == pytest.approx(price_out), model_id


def test_models_retrieve(client: openai.OpenAI) -> None:
    model = client.models.retrieve("dragon-pro")
    assert model.id == "dragon-pro"
    assert model.object == "model"
    extra = model.model_extra or {}
    assert extra["context_window"] == 128000
    assert extra["tokens_per_second"] == 447


def test_models_retrieve_unknown_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def test_embeddings_default_encoding(client: openai.OpenAI) -> None:
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    inputs = ["a red dragon", "a blue lake at dawn", "x"]
    response = client.embeddings.create(model="dragon", input=inputs)
    assert response.object == "list"
    assert [item.index for item in response.data] == [0, 1, 2]
    vectors = [item.embedding for item in response.data]
    assert all(isinstance(v, list) and v for v in vectors)
    assert len({len(v) for v in vectors}) == 1
    for vector in vectors:
        assert _norm(vector) == pytest.approx(1.0, abs=1e-3)
    assert vectors[0] != vectors[1]
    # Deterministic: the same text gives the same vector, by either encoding.
    again = client.embeddings.create(model="dragon", input="a red dragon")
    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    as_float = client.embeddings.create(
        model="dragon", input="a red dragon", encoding_format="float"
    )
    assert as_float.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert response.usage.prompt_tokens > 0


def test_bad_request_names_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="dragon",
            messages=[{"role": "user", "content": "hi"}],
            temperature="very hot",  # type: ignore[arg-type]
        )
    error = caught.value
    assert error.status_code == 400
    assert "temperature" in error.message
    body = error.body
    assert isinstance(body, dict)
    assert body.get("type") == "invalid_request_error"
    assert body.get("param") == "temperature"


def test_bad_message_content_names_the_path(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="dragon",
            messages=[{"role": "user", "content": 42}],  # type: ignore[list-item]
        )
    assert "messages.0.content" in caught.value.message


def test_raw_response_headers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="dragon-coder", messages=[{"role": "user", "content": "headers please"}]
    )
    assert raw.status_code == 200
    for name in RATELIMIT_HEADERS:
        assert raw.headers.get(name), name
    assert int(raw.headers["x-ratelimit-limit-requests"]) > 0
    assert raw.headers.get("request-id")
    assert raw.headers.get("mws-profile") == "dragon-coder"
    completion = raw.parse()
    assert completion.choices[0].message.content == "headers please"
    assert completion.model == "dragon-coder"


def test_tool_choice_forces_a_call(client: openai.OpenAI) -> None:
    # The text names no tool, but tool_choice forces get_weather.
    for tool_choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        completion = client.chat.completions.create(
            model="dragon",
            messages=[{"role": "user", "content": "hello"}],
            tools=[WEATHER_TOOL],
            tool_choice=tool_choice,  # type: ignore[arg-type]
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls", tool_choice
        assert choice.message.tool_calls is not None
        call = choice.message.tool_calls[0]
        assert call.function.name == "get_weather"
        assert set(json.loads(call.function.arguments)) == {"city"}


def test_tool_choice_none_answers_text(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="dragon",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "What's the weather in Paris?"


def test_max_completion_tokens_gives_length(client: openai.OpenAI) -> None:
    text = "a sentence long enough to need more than two tokens of output"
    completion = client.chat.completions.create(
        model="dragon", max_completion_tokens=2, messages=[{"role": "user", "content": text}]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content and text.startswith(choice.message.content)
    assert choice.message.content != text
    assert completion.usage is not None and completion.usage.completion_tokens <= 2
