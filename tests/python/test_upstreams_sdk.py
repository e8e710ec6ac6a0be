"""The official openai and anthropic SDKs through a real gateway to scripted
upstreams of both kinds (`mock-upstream --record`): each test scripts the
upstream's answer in its own API shape, checks what the SDK got, and checks
through /_mock/received what the upstream was sent, in its own shape."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from conftest import MockUpstream, gateway_config, make_account

IN, OUT = 11, 5  # the usage every scripted answer reports
CITY = {"city": "Paris"}
FRAGMENTS = ['{"ci', 'ty": ', '"Par', 'is"}']  # CITY, streamed in pieces
RESULT = "18 degrees and sunny"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}
ANTHROPIC_TOOL = {"name": "get_weather", "input_schema": SCHEMA}
UPSTREAM_KEYS = {"MOCK_OPENAI_KEY": "sk-up-openai-test", "MOCK_ANTHROPIC_KEY": "sk-ant-up-test"}


def _text_of(content) -> str:
    """The text of a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if part["type"] == "text")


class OpenAIKind:
    """Scripts answers in the Chat Completions shape; checks requests in it."""

    model, upstream_model = "via-openai", "up-gpt"
    path, tool_id = "/v1/chat/completions", "call_abc123"
    usage = {"prompt_tokens": IN, "completion_tokens": OUT, "total_tokens": IN + OUT}

    def _completion(self, message: dict, finish: str) -> dict:
        return {"json": {"id": "chatcmpl-up", "object": "chat.completion", "created": 1,
                         "model": self.upstream_model, "usage": self.usage,
                         "choices": [{"index": 0, "message": message, "finish_reason": finish}]}}

    def _chunks(self, deltas: list[dict], finish: str) -> dict:
        def chunk(delta, finish_reason=None, **extra):
            return {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1,
                    "model": self.upstream_model, **extra,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
        # The usage comes last, in a chunk without choices, as OpenAI sends it.
        usage = {**chunk({}), "choices": [], "usage": self.usage}
        return {"openai_chunks": [chunk(d) for d in deltas] + [chunk({}, finish), usage]}

    def text(self, text: str, cut: bool = False) -> dict:
        return self._completion({"role": "assistant", "content": text}, "length" if cut else "stop")

    def text_stream(self, pieces: list[str]) -> dict:
        deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
        return self._chunks(deltas, "stop")

    def tool_call(self) -> dict:
        call = {"id": self.tool_id, "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps(CITY)}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return self._completion(message, "tool_calls")

    def tool_call_stream(self) -> dict:
        start = {"index": 0, "id": self.tool_id, "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}
        deltas = [{"role": "assistant", "tool_calls": [start]}] + [
            {"tool_calls": [{"index": 0, "function": {"arguments": f}}]} for f in FRAGMENTS]
        return self._chunks(deltas, "tool_calls")

    def error(self, status: int, message: str, headers: dict | None = None) -> dict:
        kind = "rate_limit_exceeded" if status == 429 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return {"json": body, "status": status, "headers": headers or {}}

    def check_request(self, request: dict, system: str, user: str, stream: bool) -> None:
        body = request["body"]
        assert request["path"] == self.path
        assert request["headers"]["authorization"] == "Bearer " + UPSTREAM_KEYS["MOCK_OPENAI_KEY"]
        assert body["model"] == self.upstream_model
        assert [m["role"] for m in body["messages"][:2]] == ["system", "user"]
        assert _text_of(body["messages"][0]["content"]) == system
        assert _text_of(body["messages"][1]["content"]) == user
        assert body.get("stream", False) is stream
        if stream:  # asked for, so the cost is exact
            assert body["stream_options"] == {"include_usage": True}

    def check_tools(self, body: dict) -> None:
        [tool] = body["tools"]
        assert tool["type"] == "function"
        assert tool["function"]["name"] == "get_weather"
        assert tool["function"]["parameters"] == SCHEMA

    def check_tool_result(self, body: dict) -> None:
        assistant, result = body["messages"][-2:]
        assert assistant["role"] == "assistant"
        [call] = assistant["tool_calls"]
        assert (call["id"], call["type"]) == (self.tool_id, "function")
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == CITY
        assert result["role"] == "tool"
        assert result["tool_call_id"] == self.tool_id
        assert _text_of(result["content"]) == RESULT


class AnthropicKind:
    """Scripts answers in the Messages shape; checks requests in it."""

    model, upstream_model = "via-anthropic", "up-claude"
    path, tool_id = "/v1/messages", "toolu_01XYZ"

    def _message(self, content: list[dict], stop: str) -> dict:
        usage = {"input_tokens": IN, "output_tokens": OUT}
        return {"json": {"id": "msg_up", "type": "message", "role": "assistant",
                         "model": self.upstream_model, "content": content, "stop_reason": stop,
                         "stop_sequence": None, "usage": usage}}

    def _events(self, block: dict, deltas: list[dict], stop: str) -> dict:
        start = {"id": "msg_up", "type": "message", "role": "assistant",
                 "model": self.upstream_model, "content": [], "stop_reason": None,
                 "stop_sequence": None, "usage": {"input_tokens": IN, "output_tokens": 1}}
        return {"anthropic_events": [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": block},
            {"type": "ping"},
            *({"type": "content_block_delta", "index": 0, "delta": d} for d in deltas),
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
             "usage": {"output_tokens": OUT}},
            {"type": "message_stop"},
        ]}

    def text(self, text: str, cut: bool = False) -> dict:
        return self._message([{"type": "text", "text": text}], "max_tokens" if cut else "end_turn")

    def text_stream(self, pieces: list[str]) -> dict:
        deltas = [{"type": "text_delta", "text": p} for p in pieces]
        return self._events({"type": "text", "text": ""}, deltas, "end_turn")

    def tool_call(self) -> dict:
        block = {"type": "tool_use", "id": self.tool_id, "name": "get_weather", "input": CITY}
        return self._message([{"type": "text", "text": "Let me look."}, block], "tool_use")

    def tool_call_stream(self) -> dict:
        block = {"type": "tool_use", "id": self.tool_id, "name": "get_weather", "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": f} for f in FRAGMENTS]
        return self._events(block, deltas, "tool_use")

    def error(self, status: int, message: str, headers: dict | None = None) -> dict:
        kind = "rate_limit_error" if status == 429 else "invalid_request_error"
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return {"json": body, "status": status, "headers": headers or {}}

    def check_request(self, request: dict, system: str, user: str, stream: bool) -> None:
        body, headers = request["body"], request["headers"]
        assert request["path"] == self.path
        assert headers["x-api-key"] == UPSTREAM_KEYS["MOCK_ANTHROPIC_KEY"]
        assert headers["anthropic-version"]
        assert "authorization" not in headers
        assert body["model"] == self.upstream_model
        assert _text_of(body["system"]) == system
        assert body["messages"][0]["role"] == "user"
        assert _text_of(body["messages"][0]["content"]) == user
        assert body.get("stream", False) is stream

    def check_tools(self, body: dict) -> None:
        [tool] = body["tools"]
        assert (tool["name"], tool["input_schema"]) == ("get_weather", SCHEMA)

    def check_tool_result(self, body: dict) -> None:
        assistant, user = body["messages"][-2:]
        assert assistant["role"] == "assistant"
        [use] = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert (use["id"], use["name"], use["input"]) == (self.tool_id, "get_weather", CITY)
        assert user["role"] == "user"
        [result] = [b for b in user["content"] if b["type"] == "tool_result"]
        assert result["tool_use_id"] == self.tool_id
        assert _text_of(result["content"]) == RESULT


def _profile(profile_id: str, upstream: str, model: str) -> str:
    return (f'[[profiles]]\nid = "{profile_id}"\nupstream = "{upstream}"\n'
            f'upstream_model = "{model}"\ncontext_window = 200000\ntokens_per_second = 100\n'
            "input_price_per_mtok = 1.0\noutput_price_per_mtok = 2.0\n")


@pytest.fixture(scope="module")
def mock(start_mock) -> MockUpstream:
    return start_mock()


@pytest.fixture(scope="module")
def sdk_gateway(start_gateway, mock: MockUpstream) -> str:
    upstreams = "".join(
        f'[[upstreams]]\nname = "mock-{kind}"\nkind = "{kind}"\nbase_url = "{mock.base_url}"\n'
        f'api_key_env = "MOCK_{kind.upper()}_KEY"\nmax_retries = 0\n'
        for kind in ("openai", "anthropic"))
    extra = (upstreams + _profile("via-openai", "mock-openai", OpenAIKind.upstream_model)
             + _profile("via-anthropic", "mock-anthropic", AnthropicKind.upstream_model)
             + '[routing]\ndefault_profile = "via-openai"\naliases = {}\n')
    gateway = start_gateway(gateway_config(extra=extra, store="memory"), env=UPSTREAM_KEYS)
    assert gateway.url is not None
    return gateway.url


@pytest.fixture(scope="module")
def key(sdk_gateway: str) -> str:
    return make_account(sdk_gateway, 1000, name="sdk-upstreams").key


@pytest.fixture(scope="module")
def oai(sdk_gateway: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=sdk_gateway + "/v1", api_key=key, max_retries=0)


@pytest.fixture(scope="module")
def ant(sdk_gateway: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sdk_gateway, api_key=key, max_retries=0)


@pytest.fixture(params=[OpenAIKind, AnthropicKind], ids=["openai-upstream", "anthropic-upstream"])
def up(request, mock: MockUpstream):
    """The upstream kind under test, with the mock emptied."""
    mock.reset()
    yield request.param()
    mock.reset()


def _requests(mock: MockUpstream, key: str, count: int) -> list[dict]:
    received = mock.received()
    assert len(received) == count, [r["path"] for r in received]
    for request in received:  # the client's key never reaches an upstream
        assert key not in json.dumps(request["headers"])
    return received


# ---- openai SDK -------------------------------------------------------------------


def test_openai_sdk_text(up, mock, oai, key) -> None:
    mock.push(up.text("Bonjour from upstream."), up.text("Cut sh", cut=True))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
    r = oai.chat.completions.create(model=up.model, messages=messages, max_tokens=50)
    assert r.model == up.model
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "Bonjour from upstream."
    assert r.choices[0].finish_reason == "stop"
    usage = r.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (IN, OUT, IN + OUT)
    cut = oai.chat.completions.create(model=up.model, messages=messages, max_tokens=3)
    assert (cut.choices[0].message.content, cut.choices[0].finish_reason) == ("Cut sh", "length")
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Be brief.", "Say hi", stream=False)
    assert (first["body"]["max_tokens"], second["body"]["max_tokens"]) == (50, 3)


def test_openai_sdk_stream_with_usage(up, mock, oai, key) -> None:
    mock.push(up.text_stream(["Streamed ", "through ", "the gateway."]))
    stream = oai.chat.completions.create(
        model=up.model, max_tokens=50, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Stream it"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streamed through the gateway."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finishes if f] == ["stop"]
    assert {c.model for c in chunks} == {up.model}
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (IN, OUT)
    [request] = _requests(mock, key, 1)
    up.check_request(request, "Be brief.", "Stream it", stream=True)


def test_openai_sdk_tool_round_trip(up, mock, oai, key) -> None:
    mock.push(up.tool_call(), up.text("It is 18 degrees and sunny in Paris."))
    messages: list[dict] = [{"role": "system", "content": "Use tools."},
                            {"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": up.model, "tools": [OPENAI_TOOL], "max_tokens": 100}
    r = oai.chat.completions.create(messages=messages, **kwargs)
    assert r.choices[0].finish_reason == "tool_calls"
    [call] = r.choices[0].message.tool_calls
    assert (call.id, call.type, call.function.name) == (up.tool_id, "function", "get_weather")
    assert json.loads(call.function.arguments) == CITY
    messages += [r.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": RESULT}]
    final = oai.chat.completions.create(messages=messages, **kwargs)
    assert final.choices[0].message.content == "It is 18 degrees and sunny in Paris."
    assert final.choices[0].finish_reason == "stop"
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Use tools.", "Weather in Paris?", stream=False)
    up.check_tools(first["body"])
    up.check_tool_result(second["body"])


def _accumulate_tool_calls(chunks) -> tuple[dict[int, dict], list[str]]:
    """The tool calls of a chat stream by index, and its finish reasons."""
    calls: dict[int, dict] = {}
    finishes = []
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                if delta.function:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    return calls, finishes


def test_openai_sdk_streamed_tool_round_trip(up, mock, oai, key) -> None:
    mock.push(up.tool_call_stream(), up.text_stream(["Sunny, ", "18 degrees."]))
    messages: list[dict] = [{"role": "system", "content": "Use tools."},
                            {"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": up.model, "tools": [OPENAI_TOOL], "max_tokens": 100, "stream": True,
              "stream_options": {"include_usage": True}}
    chunks = list(oai.chat.completions.create(messages=messages, **kwargs))
    calls, finishes = _accumulate_tool_calls(chunks)
    assert finishes == ["tool_calls"]
    assert list(calls) == [0]
    assert (calls[0]["id"], calls[0]["name"]) == (up.tool_id, "get_weather")
    assert json.loads(calls[0]["arguments"]) == CITY
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (IN, OUT)
    call = {"id": calls[0]["id"], "type": "function",
            "function": {"name": calls[0]["name"], "arguments": calls[0]["arguments"]}}
    messages += [{"role": "assistant", "content": None, "tool_calls": [call]},
                 {"role": "tool", "tool_call_id": calls[0]["id"], "content": RESULT}]
    chunks = list(oai.chat.completions.create(messages=messages, **kwargs))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Sunny, 18 degrees."
    assert _accumulate_tool_calls(chunks) == ({}, ["stop"])
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Use tools.", "Weather in Paris?", stream=True)
    up.check_tools(first["body"])
    up.check_tool_result(second["body"])
    assert second["body"]["stream"] is True


def test_openai_sdk_upstream_errors(up, mock, oai, key) -> None:
    mock.push(up.error(400, "max_tokens is too large for up-model"),
              up.error(429, "Slow down, please", {"retry-after": "7"}))
    messages = [{"role": "user", "content": "Hi"}]
    with pytest.raises(openai.BadRequestError) as bad:
        oai.chat.completions.create(model=up.model, messages=messages, max_tokens=10)
    assert bad.value.status_code == 400
    # The upstream's message verbatim, after the gateway's "upstream NAME: ".
    assert bad.value.body["type"] == "invalid_request_error"
    assert bad.value.body["message"].endswith(": max_tokens is too large for up-model")
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model=up.model, messages=messages, max_tokens=10)
    assert limited.value.status_code == 429
    assert limited.value.body["message"].endswith(": Slow down, please")
    assert limited.value.response.headers["retry-after"] == "7"
    _requests(mock, key, 2)  # no retries: max_retries = 0 on both sides


# ---- anthropic SDK ----------------------------------------------------------------


def test_anthropic_sdk_text(up, mock, ant, key) -> None:
    mock.push(up.text("Bonjour from upstream."), up.text("Cut sh", cut=True))
    messages = [{"role": "user", "content": "Say hi"}]
    m = ant.messages.create(model=up.model, system="Be brief.", messages=messages, max_tokens=50)
    assert (m.type, m.role, m.model) == ("message", "assistant", up.model)
    assert [(b.type, b.text) for b in m.content] == [("text", "Bonjour from upstream.")]
    assert m.stop_reason == "end_turn"
    assert (m.usage.input_tokens, m.usage.output_tokens) == (IN, OUT)
    cut = ant.messages.create(model=up.model, system="Be brief.", messages=messages, max_tokens=3)
    assert (cut.content[0].text, cut.stop_reason) == ("Cut sh", "max_tokens")
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Be brief.", "Say hi", stream=False)
    assert (first["body"]["max_tokens"], second["body"]["max_tokens"]) == (50, 3)


def test_anthropic_sdk_stream_final_message(up, mock, ant, key) -> None:
    mock.push(up.text_stream(["Streamed ", "through ", "the gateway."]))
    with ant.messages.stream(model=up.model, system="Be brief.", max_tokens=50,
                             messages=[{"role": "user", "content": "Stream it"}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "Streamed through the gateway."
    assert len(pieces) >= 3  # delta by delta, not buffered into one
    assert [(b.type, b.text) for b in final.content] == [("text", "Streamed through the gateway.")]
    assert (final.model, final.stop_reason) == (up.model, "end_turn")
    assert (final.usage.input_tokens, final.usage.output_tokens) == (IN, OUT)
    [request] = _requests(mock, key, 1)
    up.check_request(request, "Be brief.", "Stream it", stream=True)


def _tool_result_turn(tool_use_id: str) -> dict:
    result = {"type": "tool_result", "tool_use_id": tool_use_id, "content": RESULT}
    return {"role": "user", "content": [result]}


def test_anthropic_sdk_tool_round_trip(up, mock, ant, key) -> None:
    mock.push(up.tool_call(), up.text("It is 18 degrees and sunny in Paris."))
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": up.model, "system": "Use tools.", "tools": [ANTHROPIC_TOOL],
              "max_tokens": 100}
    m = ant.messages.create(messages=messages, **kwargs)
    assert m.stop_reason == "tool_use"
    [use] = [b for b in m.content if b.type == "tool_use"]
    assert (use.id, use.name, use.input) == (up.tool_id, "get_weather", CITY)
    messages += [{"role": "assistant", "content": m.content}, _tool_result_turn(use.id)]
    final = ant.messages.create(messages=messages, **kwargs)
    assert [(b.type, b.text) for b in final.content] == [
        ("text", "It is 18 degrees and sunny in Paris.")]
    assert final.stop_reason == "end_turn"
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Use tools.", "Weather in Paris?", stream=False)
    up.check_tools(first["body"])
    up.check_tool_result(second["body"])


def test_anthropic_sdk_streamed_tool_round_trip(up, mock, ant, key) -> None:
    mock.push(up.tool_call_stream(), up.text_stream(["Sunny, ", "18 degrees."]))
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": up.model, "system": "Use tools.", "tools": [ANTHROPIC_TOOL],
              "max_tokens": 100}
    with ant.messages.stream(messages=messages, **kwargs) as stream:
        partial = [e.partial_json for e in stream if e.type == "input_json"]
        m = stream.get_final_message()
    assert "".join(partial) == json.dumps(CITY)
    assert m.stop_reason == "tool_use"
    [use] = [b for b in m.content if b.type == "tool_use"]
    assert (use.id, use.name, use.input) == (up.tool_id, "get_weather", CITY)
    assert (m.usage.input_tokens, m.usage.output_tokens) == (IN, OUT)
    messages += [{"role": "assistant", "content": m.content}, _tool_result_turn(use.id)]
    with ant.messages.stream(messages=messages, **kwargs) as stream:
        final = stream.get_final_message()
    assert [(b.type, b.text) for b in final.content] == [("text", "Sunny, 18 degrees.")]
    assert final.stop_reason == "end_turn"
    first, second = _requests(mock, key, 2)
    up.check_request(first, "Use tools.", "Weather in Paris?", stream=True)
    up.check_tools(first["body"])
    up.check_tool_result(second["body"])
    assert second["body"]["stream"] is True


def test_anthropic_sdk_upstream_errors(up, mock, ant, key) -> None:
    mock.push(up.error(400, "max_tokens is too large for up-model"),
              up.error(429, "Slow down, please", {"retry-after": "7"}))
    messages = [{"role": "user", "content": "Hi"}]
    with pytest.raises(anthropic.BadRequestError) as bad:
        ant.messages.create(model=up.model, messages=messages, max_tokens=10)
    assert bad.value.status_code == 400
    assert bad.value.body["type"] == "error"
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    # The upstream's message verbatim, after the gateway's "upstream NAME: ".
    assert bad.value.body["error"]["message"].endswith(": max_tokens is too large for up-model")
    with pytest.raises(anthropic.RateLimitError) as limited:
        ant.messages.create(model=up.model, messages=messages, max_tokens=10)
    assert limited.value.status_code == 429
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    assert limited.value.body["error"]["message"].endswith(": Slow down, please")
    assert limited.value.response.headers["retry-after"] == "7"
    _requests(mock, key, 2)  # no retries: max_retries = 0 on both sides
