"""The official openai and anthropic SDKs through a real gateway to scripted
upstreams of the three kinds (`mock-upstream --record`): Chat Completions,
Messages and the Responses API (`openai-responses`, which both SDKs' requests
are translated to). Each test scripts the upstream's answer in its own API
shape, checks what the SDK got, and checks through /_mock/received what the
upstream was sent, in its own shape."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from conftest import MOCK_UPSTREAM_KEYS, MockUpstream, gateway_config, make_account, mock_upstreams

IN, OUT = 11, 5  # the usage every scripted answer reports
CITY = {"city": "Paris"}
FRAGMENTS = ['{"ci', 'ty": ', '"Par', 'is"}']  # CITY, streamed in pieces
RESULT = "18 degrees and sunny"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}
ANTHROPIC_TOOL = {"name": "get_weather", "input_schema": SCHEMA}
UPSTREAM_KEYS = MOCK_UPSTREAM_KEYS


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

    def max_tokens(self, body: dict, asked: int) -> tuple[int, int]:
        """(what the upstream got, what it should have got) for a client's max_tokens."""
        return body["max_tokens"], asked

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

    def max_tokens(self, body: dict, asked: int) -> tuple[int, int]:
        return body["max_tokens"], asked

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


class ResponsesKind:
    """Scripts answers in the Responses API shape (whole response objects and
    OpenAI's event sequence, as core/tests/responses_upstream.rs has them);
    checks the translated requests in it. With `relay`, the requests are a
    Responses client's own, relayed (test_responses_sdk.py)."""

    model, upstream_model = "via-responses", "up-resp"
    path, tool_id = "/v1/responses", "call_resp42"
    usage = {"input_tokens": IN, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": OUT, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": IN + OUT}

    def __init__(self, relay: bool = False) -> None:
        self.relay = relay

    def max_tokens(self, body: dict, asked: int) -> tuple[int, int]:
        # OpenAI refuses a max_output_tokens below 16: the gateway raises it.
        return body["max_output_tokens"], asked if self.relay else max(asked, 16)

    def _response(self, status: str, output: list[dict], **echo) -> dict:
        """A response object; `echo` sets the request fields a real upstream
        echoes (instructions, tools, text, store, metadata, ...)."""
        done = status not in ("in_progress", "queued")
        return {"id": "resp_up1", "object": "response", "created_at": 1_700_000_000,
                "status": status, "completed_at": 1_700_000_001 if done else None,
                "error": None, "incomplete_details": None, "instructions": None,
                "max_output_tokens": None, "model": self.upstream_model + "-2025-08-07",
                "output": output, "parallel_tool_calls": True, "previous_response_id": None,
                "reasoning": {"effort": None, "summary": None}, "store": True,
                "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
                "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
                "usage": self.usage if done else None, "metadata": {}, **echo}

    def _message(self, text: str, done: bool = True) -> dict:
        content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        return {"id": "msg_up1", "type": "message", "role": "assistant",
                "status": "completed" if done else "in_progress", "content": content if done else []}

    def _call(self, done: bool = True) -> dict:
        return {"id": "fc_up1", "type": "function_call",
                "status": "completed" if done else "in_progress",
                "arguments": json.dumps(CITY) if done else "", "call_id": self.tool_id,
                "name": "get_weather"}

    def _events(self, items: list[dict], output: list[dict], **echo) -> dict:
        """The whole stream: created, in_progress, `items` (the output items' events), completed."""
        started = self._response("in_progress", [], **echo)
        events = [{"type": "response.created", "response": started},
                  {"type": "response.in_progress", "response": started},
                  *items,
                  {"type": "response.completed", "response": self._response("completed", output, **echo)}]
        return {"responses_events": [{**e, "sequence_number": n} for n, e in enumerate(events)]}

    def text(self, answer: str, cut: bool = False, **echo) -> dict:
        if cut:
            return {"json": self._response("incomplete", [self._message(answer)], **echo,
                                           incomplete_details={"reason": "max_output_tokens"})}
        return {"json": self._response("completed", [self._message(answer)], **echo)}

    def text_stream(self, pieces: list[str], **echo) -> dict:
        text = "".join(pieces)
        at = {"item_id": "msg_up1", "output_index": 0, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        items = [
            {"type": "response.output_item.added", "output_index": 0, "item": self._message("", done=False)},
            {"type": "response.content_part.added", **at, "part": part},
            *({"type": "response.output_text.delta", **at, "delta": p, "logprobs": []} for p in pieces),
            {"type": "response.output_text.done", **at, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **at, "part": {**part, "text": text}},
            {"type": "response.output_item.done", "output_index": 0, "item": self._message(text)},
        ]
        return self._events(items, [self._message(text)], **echo)

    def tool_call(self, **echo) -> dict:
        return {"json": self._response("completed", [self._call()], **echo)}

    def tool_call_stream(self, **echo) -> dict:
        at = {"item_id": "fc_up1", "output_index": 0}
        items = [
            {"type": "response.output_item.added", "output_index": 0, "item": self._call(done=False)},
            *({"type": "response.function_call_arguments.delta", **at, "delta": f} for f in FRAGMENTS),
            {"type": "response.function_call_arguments.done", **at, "name": "get_weather",
             "arguments": json.dumps(CITY)},
            {"type": "response.output_item.done", "output_index": 0, "item": self._call()},
        ]
        return self._events(items, [self._call()], **echo)

    def error(self, status: int, message: str, headers: dict | None = None) -> dict:
        # OpenAI's error shape, as the Chat Completions API has it.
        code = "rate_limit_exceeded" if status == 429 else None
        kind = "requests" if status == 429 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return {"json": body, "status": status, "headers": headers or {}}

    @staticmethod
    def input_text(body: dict, roles: tuple[str, ...]) -> str | None:
        """The text of the first message of `input` in one of `roles` (a string
        `input` is a user message)."""
        if isinstance(body["input"], str):
            return body["input"] if "user" in roles else None
        for item in body["input"]:
            if item.get("type", "message") == "message" and item.get("role") in roles:
                content = item["content"]
                if isinstance(content, str):
                    return content
                assert all(part["type"] == "input_text" for part in content), content
                return "".join(part["text"] for part in content)
        return None

    def check_request(self, request: dict, system: str, user: str, stream: bool) -> None:
        body, headers = request["body"], request["headers"]
        assert request["path"] == self.path
        assert headers["authorization"] == "Bearer " + UPSTREAM_KEYS["MOCK_OPENAI_RESPONSES_KEY"]
        assert body["model"] == self.upstream_model
        # A Responses client may give its system prompt as a developer message.
        assert body.get("instructions", self.input_text(body, ("developer", "system"))) == system
        assert self.input_text(body, ("user",)) == user
        assert body.get("stream", False) is stream
        if self.relay:
            return
        assert body["input"][0] == {"type": "message", "role": "user",
                                    "content": [{"type": "input_text", "text": user}]}
        assert "messages" not in body and "system" not in body
        # Nothing kept upstream; no reasoning asked for, so no encrypted state.
        assert body["store"] is False
        assert "reasoning" not in body and "include" not in body
        # The client sent no cache key: one derived from the conversation.
        assert body["prompt_cache_key"].startswith("mws-"), body["prompt_cache_key"]

    def check_tools(self, body: dict) -> None:
        [tool] = body["tools"]
        assert (tool["type"], tool["name"], tool["parameters"]) == ("function", "get_weather", SCHEMA)
        if not self.relay:  # the API makes tools strict unless told not to
            assert tool["strict"] is False

    def check_tool_result(self, body: dict) -> None:
        call, output = body["input"][-2:]
        assert (call["type"], call["call_id"], call["name"]) == ("function_call", self.tool_id, "get_weather")
        assert json.loads(call["arguments"]) == CITY
        assert (output["type"], output["call_id"]) == ("function_call_output", self.tool_id)
        assert _text_of(output["output"]) == RESULT


def _profile(profile_id: str, upstream: str, model: str) -> str:
    return (f'[[profiles]]\nid = "{profile_id}"\nupstream = "{upstream}"\n'
            f'upstream_model = "{model}"\ncontext_window = 200000\ntokens_per_second = 100\n'
            "input_price_per_mtok = 1.0\noutput_price_per_mtok = 2.0\n")


@pytest.fixture(scope="module")
def mock(start_mock) -> MockUpstream:
    return start_mock()


@pytest.fixture(scope="module")
def sdk_gateway(start_gateway, mock: MockUpstream) -> str:
    extra = (mock_upstreams(mock.base_url)
             + _profile("via-openai", "mock-openai", OpenAIKind.upstream_model)
             + _profile("via-anthropic", "mock-anthropic", AnthropicKind.upstream_model)
             + _profile("via-responses", "mock-openai-responses", ResponsesKind.upstream_model)
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


@pytest.fixture(params=[OpenAIKind, AnthropicKind, ResponsesKind],
                ids=["openai-upstream", "anthropic-upstream", "responses-upstream"])
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
    for request, asked in ((first, 50), (second, 3)):
        got, want = up.max_tokens(request["body"], asked)
        assert got == want


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
    for request, asked in ((first, 50), (second, 3)):
        got, want = up.max_tokens(request["body"], asked)
        assert got == want


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


# ---- only through a Responses upstream: reasoning, cached tokens, refused fields ----

REASONING = {"id": "rs_up1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Need the weather."}],
             "encrypted_content": "ZW5jLXJlYXNvbmluZw=="}
CACHED = 4  # of the IN input tokens


@pytest.fixture
def resp(mock: MockUpstream):
    """The Responses kind, with the mock emptied."""
    mock.reset()
    yield ResponsesKind()
    mock.reset()


def _reasoning_stream(kind: ResponsesKind) -> dict:
    """A reasoning item streamed (its summary in two deltas), then the call."""
    at = {"item_id": "rs_up1", "output_index": 0, "summary_index": 0}
    summary = REASONING["summary"][0]
    events = kind.tool_call_stream()["responses_events"]
    # The call's events (those between in_progress and completed), one output
    # index on, after the reasoning item's; numbered again by `_events`.
    call_events = [{**e, "output_index": 1} for e in events[2:-1]]
    items = [
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": "rs_up1", "type": "reasoning", "summary": []}},
        {"type": "response.reasoning_summary_part.added", **at, "part": {**summary, "text": ""}},
        {"type": "response.reasoning_summary_text.delta", **at, "delta": "Need the "},
        {"type": "response.reasoning_summary_text.delta", **at, "delta": "weather."},
        {"type": "response.reasoning_summary_text.done", **at, "text": summary["text"]},
        {"type": "response.reasoning_summary_part.done", **at, "part": summary},
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING},
        *call_events,
    ]
    usage = {**kind.usage, "input_tokens_details": {"cached_tokens": CACHED},
             "output_tokens_details": {"reasoning_tokens": 3}}
    reply = kind._events(items, [REASONING, kind._call()])
    reply["responses_events"][-1]["response"]["usage"] = usage
    return reply


def test_anthropic_sdk_thinking_round_trip_through_responses(resp, mock, ant, key) -> None:
    # Thinking on: reasoning asked for, its summary streamed as thinking, the
    # item itself in the block's signature, and given back with the tool result.
    mock.push(_reasoning_stream(resp), resp.text("Sunny in Paris."))
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": resp.model, "system": "Use tools.", "tools": [ANTHROPIC_TOOL], "max_tokens": 4096,
              "thinking": {"type": "enabled", "budget_tokens": 2048}}
    with ant.messages.stream(messages=messages, **kwargs) as stream:
        thinking = [e.thinking for e in stream if e.type == "thinking"]
        m = stream.get_final_message()
    assert "".join(thinking) == "Need the weather."
    assert [b.type for b in m.content] == ["thinking", "tool_use"]
    block, use = m.content
    assert block.thinking == "Need the weather."
    assert block.signature == "openai-responses:rs_up1:ZW5jLXJlYXNvbmluZw=="
    assert (use.id, use.name, use.input) == (resp.tool_id, "get_weather", CITY)
    assert m.stop_reason == "tool_use"
    # Responses input tokens hold the cached ones; Anthropic's do not.
    assert (m.usage.input_tokens, m.usage.cache_read_input_tokens, m.usage.output_tokens) == (IN - CACHED, CACHED, OUT)
    messages += [{"role": "assistant", "content": m.content}, _tool_result_turn(use.id)]
    final = ant.messages.create(messages=messages, **{**kwargs, "max_tokens": 3000})
    assert [(b.type, b.text) for b in final.content] == [("text", "Sunny in Paris.")]
    first, second = _requests(mock, key, 2)
    for request, stream in ((first, True), (second, False)):
        body = request["body"]
        assert (request["path"], body["model"], body["stream"], body["store"]) == (
            resp.path, resp.upstream_model, stream, False)
        assert body["instructions"] == "Use tools."
        assert body["input"][0] == {"type": "message", "role": "user",
                                    "content": [{"type": "input_text", "text": "Weather in Paris?"}]}
        resp.check_tools(body)
        assert body["reasoning"] == {"effort": "low", "summary": "auto"}  # a budget below 4096
        assert body["include"] == ["reasoning.encrypted_content"]
    assert second["body"]["prompt_cache_key"] == first["body"]["prompt_cache_key"]
    _, reasoning, call, output = second["body"]["input"]
    assert reasoning == REASONING
    assert (call["type"], call["call_id"]) == ("function_call", resp.tool_id)
    assert (output["type"], output["call_id"], output["output"]) == ("function_call_output", resp.tool_id, RESULT)
    assert second["body"]["max_output_tokens"] == 3000


def test_openai_sdk_reasoning_format_and_cached_tokens_through_responses(resp, mock, oai, key) -> None:
    answer = json.dumps(CITY)
    reply = resp.text(answer)
    reply["json"]["output"].insert(0, REASONING)
    reply["json"]["usage"]["input_tokens_details"]["cached_tokens"] = CACHED
    mock.push(reply)
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA, "strict": True}}
    r = oai.chat.completions.create(
        model=resp.model, reasoning_effort="medium", response_format=fmt, prompt_cache_key="my-conversation",
        messages=[{"role": "developer", "content": "Answer in JSON."}, {"role": "user", "content": "Where?"}])
    assert r.choices[0].message.content == answer
    assert r.choices[0].finish_reason == "stop"
    # The reasoning summary, as Chat Completions servers give it.
    assert r.choices[0].message.model_extra["reasoning_content"] == "Need the weather."
    usage = r.usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens, usage.completion_tokens) == (IN, CACHED, OUT)
    [request] = _requests(mock, key, 1)
    body = request["body"]
    assert body["instructions"] == "Answer in JSON."
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["text"] == {"format": {"type": "json_schema", "name": "city", "schema": SCHEMA, "strict": True}}
    assert body["prompt_cache_key"] == "my-conversation"


def test_fields_the_responses_api_lacks_are_refused(resp, mock, oai, ant, key) -> None:
    messages = [{"role": "user", "content": "Hi"}]
    with pytest.raises(anthropic.BadRequestError) as bad:
        ant.messages.create(model=resp.model, messages=messages, max_tokens=10, stop_sequences=["END"])
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    assert bad.value.body["error"]["message"].startswith("stop_sequences")
    with pytest.raises(openai.BadRequestError) as bad_n:
        oai.chat.completions.create(model=resp.model, messages=messages, n=2)
    assert (bad_n.value.body["type"], bad_n.value.body["param"]) == ("invalid_request_error", "n")
    with pytest.raises(openai.BadRequestError) as bad_stop:
        oai.chat.completions.create(model=resp.model, messages=messages, stop=["END"])
    assert bad_stop.value.body["type"] == "invalid_request_error"
    assert bad_stop.value.body["param"] == "stop"  # the client's name for them
    assert "no stop sequences" in bad_stop.value.body["message"]
    _requests(mock, key, 0)
