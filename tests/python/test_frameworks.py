"""The frameworks that broke on the gateway, each driven for real against it:
pydantic-ai (its OpenAI and Anthropic models), instructor, LangChain
(langchain-openai, langchain-anthropic) and litellm as a client.

Every profile sits on the scripted mock upstream (`echo_and_mock_profiles`), so
each test scripts the upstream's answer in its own shape (the kind classes of
test_upstreams_sdk.py) and checks three things: what the framework sent (a
loopback recorder in front of the gateway keeps each request as the client
wrote it), what the upstream received (the mock's /_mock/received), and what
the framework got back (parsed objects, texts, usage). An OpenAI-shape client
goes through both translated directions (`via-anthropic`, `via-responses`) and
the same-kind path (`via-openai`, where the gateway passes the client's own
body up with the model replaced); an Anthropic-shape client through
`via-openai`, `via-responses` and the same-kind `via-anthropic`.

The items: structured output across shapes (`response_format` <->
`output_config.format` <-> `text.format`), reasoning controls (thinking budgets
<-> effort levels), cached tokens in the usage, embeddings of token ids,
rerank at the upstream and POST /v2/rerank, the streamed role chunk, and tool
call arguments as strings.

Nothing leaves the machine: litellm reads its bundled cost map, LangChain's
tracing is off, tiktoken reads the encodings litellm ships (so LangChain's
OpenAIEmbeddings tokenizes as it does in production) and any look-up of a
host other than the loopback fails the test that made it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Before any framework is imported: each reads these when it loads.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LANGSMITH_TRACING"] = "false"
os.environ["LANGCHAIN_TRACING_V2"] = "false"
_litellm = importlib.util.find_spec("litellm")
assert _litellm is not None and _litellm.origin is not None
# cl100k_base and o200k_base as tiktoken caches them (named by the sha1 of
# their URL), shipped inside litellm's wheel: tiktoken needs no download.
os.environ.setdefault("TIKTOKEN_CACHE_DIR",
                      str(Path(_litellm.origin).parent / "litellm_core_utils" / "tokenizers"))

import anthropic  # noqa: E402
import httpx  # noqa: E402
import instructor  # noqa: E402
import litellm  # noqa: E402
import openai  # noqa: E402
import pytest  # noqa: E402
import tiktoken  # noqa: E402
from langchain_anthropic import ChatAnthropic  # noqa: E402
from langchain_core.messages import ToolMessage  # noqa: E402
from langchain_openai import ChatOpenAI, OpenAIEmbeddings  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic_ai import Agent, NativeOutput  # noqa: E402
from pydantic_ai.messages import ModelResponse, ThinkingPart, ToolCallPart  # noqa: E402
from pydantic_ai.models.anthropic import AnthropicModel  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.anthropic import AnthropicProvider  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

from conftest import (  # noqa: E402
    MOCK_UPSTREAM_KEYS, MockUpstream, echo_and_mock_profiles, gateway_config, make_account)
from test_upstreams_sdk import IN, OUT, AnthropicKind, OpenAIKind, ResponsesKind  # noqa: E402

litellm.telemetry = False
litellm.suppress_debug_info = True

# ---- nothing but the loopback --------------------------------------------------

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_outside: list[str] = []
_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in _LOOPBACK:
        _outside.append(name)
        raise OSError(f"test_frameworks.py: no network but the loopback (asked for {name})")
    return _getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)
    _outside.clear()
    yield
    assert _outside == [], f"a framework reached for the network: {_outside}"


# ---- what the clients sent: a recorder in front of the gateway -----------------

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host",
        "content-length", "accept-encoding", "proxy-connection"}


class ClientRecorder:
    """A loopback HTTP proxy in front of the gateway that keeps every request
    as the client wrote it ({"path", "headers", "body"}) and streams the
    gateway's answer back unchanged (SSE frames as they come)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[dict] = []
        self._http = httpx.Client(base_url=target, timeout=60)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                recorder._forward(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while (size := int(handler.rfile.readline().strip(), 16)) > 0:
                body += handler.rfile.read(size)
                handler.rfile.readline()
            handler.rfile.readline()
        else:
            body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        self.requests.append({"path": handler.path, "headers": {k.lower(): v for k, v in headers.items()},
                              "body": json.loads(body) if body else None})
        with self._http.stream(handler.command, handler.path, headers=headers, content=body) as r:
            handler.send_response(r.status_code)
            for k, v in r.headers.items():
                if k.lower() not in _HOP:
                    handler.send_header(k, v)
            handler.send_header("connection", "close")
            handler.end_headers()
            for chunk in r.iter_raw():
                handler.wfile.write(chunk)
                handler.wfile.flush()

    def sent(self, count: int = 1) -> list[dict]:
        """The bodies of the last requests, asserting how many there were."""
        bodies = [r["body"] for r in self.requests]
        assert len(bodies) == count, [r["path"] for r in self.requests]
        return bodies

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def stop(self) -> None:
        self._server.shutdown()
        self._http.close()


# ---- the gateway on the mock -----------------------------------------------------


@pytest.fixture(scope="module")
def mock(start_mock) -> MockUpstream:
    return start_mock()


@pytest.fixture(scope="module")
def gateway(start_gateway, mock: MockUpstream) -> str:
    extra = echo_and_mock_profiles(mock.base_url, OpenAIKind.upstream_model, AnthropicKind.upstream_model,
                                   ResponsesKind.upstream_model)
    gw = start_gateway(gateway_config(extra=extra, store="memory"), env=MOCK_UPSTREAM_KEYS)
    assert gw.url is not None
    return gw.url


@pytest.fixture(scope="module")
def key(gateway: str) -> str:
    return make_account(gateway, 1000, name="frameworks").key


@pytest.fixture(scope="module")
def recorder(gateway: str):
    proxy = ClientRecorder(gateway)
    yield proxy
    proxy.stop()


@pytest.fixture
def rec(recorder: ClientRecorder, mock: MockUpstream) -> ClientRecorder:
    """The recorder and the mock, both emptied."""
    recorder.requests.clear()
    mock.reset()
    yield recorder
    mock.reset()


@pytest.fixture
def base(rec: ClientRecorder) -> str:
    """The Anthropic-style base URL of the gateway (behind the recorder)."""
    return rec.url


@pytest.fixture
def v1(rec: ClientRecorder) -> str:
    """The OpenAI-style base URL: gateway + /v1 (behind the recorder)."""
    return rec.url + "/v1"


# An OpenAI-shape client: translated to Anthropic and to the Responses API,
# and the same kind. An Anthropic-shape client: the other way round.
FROM_OPENAI = [AnthropicKind, ResponsesKind, OpenAIKind]
FROM_OPENAI_IDS = ["to-anthropic", "to-responses", "same-kind"]
FROM_ANTHROPIC = [OpenAIKind, ResponsesKind, AnthropicKind]
FROM_ANTHROPIC_IDS = ["to-openai", "to-responses", "same-kind"]


@pytest.fixture(params=FROM_OPENAI, ids=FROM_OPENAI_IDS)
def oa_up(request):
    """The upstream behind an OpenAI-shape client."""
    return request.param()


@pytest.fixture(params=FROM_ANTHROPIC, ids=FROM_ANTHROPIC_IDS)
def an_up(request):
    """The upstream behind an Anthropic-shape client."""
    return request.param()


# A Responses client (LangChain's use_responses_api): translated to
# Anthropic and to Chat Completions, and relayed to a Responses upstream.
FROM_RESPONSES = [AnthropicKind, OpenAIKind, ResponsesKind]
FROM_RESPONSES_IDS = ["to-anthropic", "to-openai", "relayed"]


@pytest.fixture(params=FROM_RESPONSES, ids=FROM_RESPONSES_IDS)
def rs_up(request):
    """The upstream behind a Responses client."""
    return request.param(relay=True) if request.param is ResponsesKind else request.param()


def upstream_requests(mock: MockUpstream, key: str, count: int = 1) -> list[dict]:
    received = mock.received()
    assert len(received) == count, [r["path"] for r in received]
    for request in received:  # the client's key never goes up
        assert key not in json.dumps(request["headers"])
    return received


def upstream_body(mock: MockUpstream, key: str, kind) -> dict:
    [request] = upstream_requests(mock, key, 1)
    assert request["path"] == kind.path
    assert request["body"]["model"] == kind.upstream_model
    return request["body"]


# ---- the upstream's answers, in its own shape ------------------------------------

CACHED = 4  # of the IN input tokens, when a test asks for cached ones
PARIS = {"city": "Paris", "country": "France"}
PARIS_JSON = json.dumps(PARIS)


class City(BaseModel):
    city: str
    country: str


def _usage(kind, cached: int) -> dict:
    if isinstance(kind, OpenAIKind):
        usage = {"prompt_tokens": IN, "completion_tokens": OUT, "total_tokens": IN + OUT}
        if cached:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        return usage
    if isinstance(kind, AnthropicKind):  # cached tokens apart from the input ones
        return {"input_tokens": IN - cached, "cache_read_input_tokens": cached,
                "cache_creation_input_tokens": 0, "output_tokens": OUT}
    return {**kind.usage, "input_tokens_details": {"cached_tokens": cached}}


def text(kind, answer: str, cached: int = 0) -> dict:
    reply = kind.text(answer)
    reply["json"]["usage"] = _usage(kind, cached)
    return reply


def text_stream(kind, pieces: list[str], cached: int = 0) -> dict:
    reply = kind.text_stream(pieces)
    usage = _usage(kind, cached)
    if isinstance(kind, OpenAIKind):
        reply["openai_chunks"][-1]["usage"] = usage
    elif isinstance(kind, AnthropicKind):
        start = reply["anthropic_events"][0]["message"]
        start["usage"] = {**usage, "output_tokens": 1}
    else:
        reply["responses_events"][-1]["response"]["usage"] = usage
    return reply


def tool_call(kind, name: str, args: dict) -> dict:
    """One call of `name` with `args`, and nothing else."""
    if isinstance(kind, OpenAIKind):
        call = {"id": kind.tool_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        return kind._completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    if isinstance(kind, AnthropicKind):
        return kind._message([{"type": "tool_use", "id": kind.tool_id, "name": name, "input": args}], "tool_use")
    call = {"id": "fc_up1", "type": "function_call", "status": "completed", "arguments": json.dumps(args),
            "call_id": kind.tool_id, "name": name}
    return {"json": kind._response("completed", [call])}


def tool_call_stream(kind, name: str) -> dict:
    """The kind's streamed call, renamed to `name`: {"city": "Paris"} in four fragments."""
    return json.loads(json.dumps(kind.tool_call_stream()).replace('"get_weather"', json.dumps(name)))


THOUGHT = "The tower is in Paris."


def thought_and_text(kind, answer: str) -> dict:
    """Reasoning (a thinking block, `reasoning_content`, a reasoning item), then `answer`."""
    if isinstance(kind, OpenAIKind):
        return kind._completion({"role": "assistant", "content": answer, "reasoning_content": THOUGHT}, "stop")
    if isinstance(kind, AnthropicKind):
        return kind._message([{"type": "thinking", "thinking": THOUGHT, "signature": "c2lnLXVw"},
                              {"type": "text", "text": answer}], "end_turn")
    item = {"id": "rs_up1", "type": "reasoning", "summary": [{"type": "summary_text", "text": THOUGHT}],
            "encrypted_content": "ZW5jLXVw"}
    return {"json": kind._response("completed", [item, kind._message(answer)])}


# ---- what the upstream must get for what the client sent ------------------------


def passed_through(sent: dict, kind, stream: bool) -> dict:
    """The same-kind path: the client's own body, model and stream rewritten."""
    want = {**sent, "model": kind.upstream_model, "stream": stream}
    if isinstance(kind, OpenAIKind):
        want.pop("stream_options", None)
        if stream:  # asked for, so the usage (and the cost) is exact
            want["stream_options"] = {"include_usage": True}
    return want


def sent_format(sent: dict) -> dict:
    """A client's structured-output request as {"type", "name", "schema",
    "strict", "description"} (what is set of them): `response_format` of a
    Chat Completions body, `output_config.format` of a Messages one (which
    the gateway names "response" and makes strict, as Anthropic holds it)."""
    if "response_format" in sent:
        f = sent["response_format"]
        if f["type"] != "json_schema":
            return {"type": f["type"]}
        js = f["json_schema"]
        return {"type": "json_schema", **{k: js[k] for k in ("name", "schema", "strict", "description") if k in js}}
    f = sent["output_config"]["format"]
    assert f["type"] == "json_schema", f
    return {"type": "json_schema", "name": "response", "schema": f["schema"], "strict": True}


def check_format(kind, body: dict, fmt: dict) -> None:
    """The structured output the upstream got, in its own terms."""
    if isinstance(kind, AnthropicKind):
        schema = fmt["schema"] if fmt["type"] == "json_schema" else {"type": "object"}
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
        assert "response_format" not in body and "text" not in body
    elif isinstance(kind, ResponsesKind):
        assert body["text"] == {"format": fmt}
        assert "response_format" not in body
    else:
        if fmt["type"] == "json_schema":
            inner = {k: v for k, v in fmt.items() if k != "type"}
            assert body["response_format"] == {"type": "json_schema", "json_schema": inner}
        else:
            assert body["response_format"] == fmt
        assert "output_config" not in body


def check_city_schema(schema: dict) -> None:
    """The schema a framework made of `City`: an object of two strings, both required."""
    assert schema["type"] == "object"
    assert {k: v["type"] for k, v in schema["properties"].items()} == {"city": "string", "country": "string"}
    assert sorted(schema["required"]) == ["city", "country"]


def effort_of(kind, body: dict) -> str | None:
    """The reasoning effort an OpenAI-kind or Responses upstream got."""
    if isinstance(kind, ResponsesKind):
        if "reasoning" not in body:
            return None
        assert body["reasoning"]["summary"] == "auto"  # so the summary streams as thinking
        assert body["include"] == ["reasoning.encrypted_content"]
        return body["reasoning"]["effort"]
    return body.get("reasoning_effort")


# ---- clients ---------------------------------------------------------------------


def openai_client(v1: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=v1, api_key=key, max_retries=0)


def anthropic_client(base: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)


def pai_openai(kind, v1: str, key: str) -> OpenAIChatModel:
    client = openai.AsyncOpenAI(base_url=v1, api_key=key, max_retries=0)
    return OpenAIChatModel(kind.model, provider=OpenAIProvider(openai_client=client))


def pai_anthropic(kind, base: str, key: str) -> AnthropicModel:
    provider = AnthropicProvider(anthropic_client=anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0))
    # The profile of a current Claude model (the profile ids are unknown to
    # pydantic-ai): native structured output on, as it is against Anthropic.
    return AnthropicModel(kind.model, provider=provider, profile=provider.model_profile("claude-sonnet-4-6"))


# ==== structured output ============================================================


def test_pydantic_ai_native_output_openai_model(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, PARIS_JSON))
    result = Agent(pai_openai(oa_up, v1, key), output_type=NativeOutput(City)).run_sync("Where is the Eiffel tower?")
    assert result.output == City(**PARIS)
    [sent] = rec.sent()
    fmt = sent_format(sent)
    assert (fmt["name"], fmt["strict"]) == ("City", True)
    check_city_schema(fmt["schema"])
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, OpenAIKind):
        assert body == passed_through(sent, oa_up, stream=False)
    else:
        check_format(oa_up, body, fmt)


def test_pydantic_ai_native_output_anthropic_model(an_up, mock, rec, base, key) -> None:
    # With a Claude profile pydantic-ai asks for 128k tokens, so the Anthropic
    # SDK streams: the format goes up with a stream, the JSON comes in pieces.
    mock.push(text_stream(an_up, ['{"city": "Pa', 'ris", "coun', 'try": "France"}']))
    result = Agent(pai_anthropic(an_up, base, key), output_type=NativeOutput(City)).run_sync(
        "Where is the Eiffel tower?")
    assert result.output == City(**PARIS)
    [sent] = rec.sent()
    assert sent["stream"] is True
    check_city_schema(sent["output_config"]["format"]["schema"])
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=True)
    else:
        assert body["stream"] is True
        check_format(an_up, body, sent_format(sent))


def test_pydantic_ai_tool_output_arguments_are_a_string(oa_up, mock, rec, v1, key) -> None:
    # pydantic-ai's default output is a `final_result` tool the model must call;
    # the call's arguments reach it as the JSON string OpenAI gives.
    mock.push(tool_call(oa_up, "final_result", PARIS))
    result = Agent(pai_openai(oa_up, v1, key), output_type=City).run_sync("Where is the Eiffel tower?")
    assert result.output == City(**PARIS)
    [call] = [p for m in result.all_messages() if isinstance(m, ModelResponse) for p in m.parts
              if isinstance(p, ToolCallPart)]
    assert call.tool_name == "final_result"
    assert isinstance(call.args, str) and json.loads(call.args) == PARIS
    assert call.tool_call_id == oa_up.tool_id
    [sent] = rec.sent()
    [tool] = sent["tools"]
    assert tool["function"]["name"] == "final_result"
    assert sent["tool_choice"] == "required"
    body = upstream_body(mock, key, oa_up)
    fn = tool["function"]
    if isinstance(oa_up, AnthropicKind):
        assert body["tools"] == [{"name": "final_result", "description": fn["description"],
                                  "input_schema": fn["parameters"]}]
        assert body["tool_choice"] == {"type": "any"}
    elif isinstance(oa_up, ResponsesKind):
        assert body["tools"] == [{"type": "function", "name": "final_result", "description": fn["description"],
                                  "parameters": fn["parameters"], "strict": False}]
        assert body["tool_choice"] == "required"
    else:
        assert body == passed_through(sent, oa_up, stream=False)


INSTRUCTOR_OPENAI_MODES = [instructor.Mode.JSON, instructor.Mode.TOOLS, instructor.Mode.JSON_SCHEMA]


@pytest.mark.parametrize("mode", INSTRUCTOR_OPENAI_MODES, ids=lambda m: m.name)
def test_instructor_openai_response_model(mode, oa_up, mock, rec, v1, key) -> None:
    client = instructor.from_openai(openai_client(v1, key), mode=mode)
    mock.push(tool_call(oa_up, "City", PARIS) if mode == instructor.Mode.TOOLS else text(oa_up, PARIS_JSON))
    city = client.chat.completions.create(model=oa_up.model, response_model=City, max_retries=0,
                                          messages=[{"role": "user", "content": "Where is the Eiffel tower?"}])
    assert city.model_dump() == PARIS  # instructor's own subclass of City
    [sent] = rec.sent()
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, OpenAIKind):
        assert body == passed_through(sent, oa_up, stream=False)
        return
    if mode == instructor.Mode.TOOLS:
        [tool] = sent["tools"]
        assert sent["tool_choice"] == {"type": "function", "function": {"name": "City"}}
        check_city_schema(tool["function"]["parameters"])
        [up_tool] = body["tools"]
        if isinstance(oa_up, AnthropicKind):
            assert (up_tool["name"], up_tool["input_schema"]) == ("City", tool["function"]["parameters"])
            assert body["tool_choice"] == {"type": "tool", "name": "City"}
        else:
            assert (up_tool["name"], up_tool["parameters"]) == ("City", tool["function"]["parameters"])
            assert body["tool_choice"] == {"type": "function", "name": "City"}
        return
    fmt = sent_format(sent)
    if mode == instructor.Mode.JSON:  # json_object, the schema in the system prompt
        assert fmt == {"type": "json_object"}
        assert "json_schema" in sent["messages"][0]["content"]
    else:
        check_city_schema(fmt["schema"])
    check_format(oa_up, body, fmt)


INSTRUCTOR_ANTHROPIC_MODES = [instructor.Mode.TOOLS, instructor.Mode.JSON]


@pytest.mark.parametrize("mode", INSTRUCTOR_ANTHROPIC_MODES, ids=lambda m: m.name)
def test_instructor_anthropic_response_model(mode, an_up, mock, rec, base, key) -> None:
    client = instructor.from_anthropic(anthropic_client(base, key), mode=mode)
    tools = mode == instructor.Mode.TOOLS
    mock.push(tool_call(an_up, "City", PARIS) if tools else text(an_up, PARIS_JSON))
    city = client.messages.create(model=an_up.model, response_model=City, max_retries=0, max_tokens=200,
                                  messages=[{"role": "user", "content": "Where is the Eiffel tower?"}])
    assert city.model_dump() == PARIS  # instructor's own subclass of City
    [sent] = rec.sent()
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=False)
        return
    if not tools:  # the schema in the system prompt, the answer as text
        assert "json_schema" in "".join(b["text"] for b in sent["system"])
        assert "response_format" not in body and "text" not in body
        return
    [tool] = sent["tools"]
    assert sent["tool_choice"] == {"type": "tool", "name": "City", "disable_parallel_tool_use": True}
    check_city_schema(tool["input_schema"])
    [up_tool] = body["tools"]
    assert body["parallel_tool_calls"] is False
    if isinstance(an_up, OpenAIKind):
        assert up_tool["function"]["name"] == "City"
        assert up_tool["function"]["parameters"] == tool["input_schema"]
        assert body["tool_choice"] == {"type": "function", "function": {"name": "City"}}
    else:
        assert (up_tool["name"], up_tool["parameters"]) == ("City", tool["input_schema"])
        assert body["tool_choice"] == {"type": "function", "name": "City"}


def test_langchain_openai_with_structured_output_json_schema(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, PARIS_JSON))
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0)
    out = llm.with_structured_output(City, method="json_schema", include_raw=True).invoke("Where is the Eiffel tower?")
    assert out["parsed"] == City(**PARIS)
    assert out["raw"].content == PARIS_JSON
    [sent] = rec.sent()
    fmt = sent_format(sent)
    assert (fmt["name"], fmt["strict"]) == ("City", True)
    check_city_schema(fmt["schema"])
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, OpenAIKind):
        assert body == passed_through(sent, oa_up, stream=False)
    else:
        check_format(oa_up, body, fmt)


def test_langchain_anthropic_with_structured_output_json_schema(an_up, mock, rec, base, key) -> None:
    mock.push(text(an_up, PARIS_JSON))
    llm = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0, max_tokens=1024)
    out = llm.with_structured_output(City, method="json_schema", include_raw=True).invoke("Where is the Eiffel tower?")
    assert out["parsed"] == City(**PARIS)
    [sent] = rec.sent()
    check_city_schema(sent["output_config"]["format"]["schema"])
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=False)
    else:
        check_format(an_up, body, sent_format(sent))


class Where(BaseModel):
    city: str


def test_instructor_create_partial_streams_tool_arguments(oa_up, mock, rec, v1, key) -> None:
    # instructor's Partial streaming reads the call's argument fragments as they come.
    client = instructor.from_openai(openai_client(v1, key), mode=instructor.Mode.TOOLS)
    mock.push(tool_call_stream(oa_up, "PartialWhere"))  # the tool instructor names for Partial[Where]
    partials = list(client.chat.completions.create_partial(
        model=oa_up.model, response_model=Where, max_retries=0,
        messages=[{"role": "user", "content": "Where is the Eiffel tower?"}]))
    assert partials[-1].model_dump() == {"city": "Paris"}
    assert len(partials) >= 2  # piece by piece, not all at the end
    [sent] = rec.sent()
    assert sent["stream"] is True
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "PartialWhere"}}
    body = upstream_body(mock, key, oa_up)
    assert body["stream"] is True
    if isinstance(oa_up, OpenAIKind):
        assert body == passed_through(sent, oa_up, stream=True)


def test_langchain_openai_streamed_tool_call(oa_up, mock, rec, v1, key) -> None:
    mock.push(oa_up.tool_call_stream())
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0).bind_tools([WEATHER])
    chunks = list(llm.stream("Weather in Paris?"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert [(c["name"], c["args"], c["id"]) for c in total.tool_calls] == [
        ("get_weather", {"city": "Paris"}, oa_up.tool_id)]
    assert total.invalid_tool_calls == []
    assert len([c for c in chunks if c.tool_call_chunks]) >= 4  # the fragments, one by one
    assert total.response_metadata["finish_reason"] == "tool_calls"
    assert upstream_body(mock, key, oa_up)["stream"] is True


def test_pydantic_ai_anthropic_tool_output_streamed(an_up, mock, rec, base, key) -> None:
    # The Anthropic model streams (128k tokens asked for): the `final_result`
    # call's arguments arrive as input_json_delta fragments of whatever the
    # upstream streamed.
    mock.push(tool_call_stream(an_up, "final_result"))
    result = Agent(pai_anthropic(an_up, base, key), output_type=Where).run_sync("Where is the Eiffel tower?")
    assert result.output == Where(city="Paris")
    [sent] = rec.sent()
    [tool] = sent["tools"]
    assert (tool["name"], sent["stream"]) == ("final_result", True)
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=True)
    elif isinstance(an_up, OpenAIKind):
        [up_tool] = body["tools"]
        assert (up_tool["function"]["name"], up_tool["function"]["parameters"]) == ("final_result",
                                                                                  tool["input_schema"])
    else:
        [up_tool] = body["tools"]
        assert (up_tool["name"], up_tool["parameters"]) == ("final_result", tool["input_schema"])


def test_langchain_anthropic_streamed_tool_call(an_up, mock, rec, base, key) -> None:
    mock.push(an_up.tool_call_stream())
    llm = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0,
                        max_tokens=200).bind_tools([WEATHER])
    chunks = list(llm.stream("Weather in Paris?"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert [(c["name"], c["args"], c["id"]) for c in total.tool_calls] == [
        ("get_weather", {"city": "Paris"}, an_up.tool_id)]
    assert total.invalid_tool_calls == []
    assert total.response_metadata["stop_reason"] == "tool_use"
    assert upstream_body(mock, key, an_up)["stream"] is True


def test_langchain_responses_api_with_structured_output(rs_up, mock, rec, v1, key) -> None:
    # ChatOpenAI on the Responses API: `text.format` to each upstream kind.
    mock.push(text(rs_up, PARIS_JSON, cached=CACHED))
    llm = ChatOpenAI(model=rs_up.model, base_url=v1, api_key=key, max_retries=0, use_responses_api=True)
    out = llm.with_structured_output(City, method="json_schema", include_raw=True).invoke("Where is the Eiffel tower?")
    assert out["parsed"] == City(**PARIS)
    usage = out["raw"].usage_metadata
    assert (usage["input_tokens"], usage["input_token_details"]["cache_read"], usage["output_tokens"]) == (
        IN, CACHED, OUT)
    assert rec.paths() == ["/v1/responses"]
    [sent] = rec.sent()
    fmt = sent["text"]["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "City", True)
    check_city_schema(fmt["schema"])
    body = upstream_body(mock, key, rs_up)
    if isinstance(rs_up, ResponsesKind):  # relayed: as the client wrote it, the model replaced
        assert body == {**sent, "model": rs_up.upstream_model}
    else:
        check_format(rs_up, body, fmt)


def test_litellm_completion_response_format(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, PARIS_JSON))
    r = litellm.completion(model=f"openai/{oa_up.model}", api_base=v1, api_key=key, max_tokens=100,
                           response_format=City, messages=[{"role": "user", "content": "Where is the Eiffel tower?"}])
    assert City.model_validate_json(r.choices[0].message.content) == City(**PARIS)
    [sent] = rec.sent()
    fmt = sent_format(sent)
    assert fmt["name"] == "City"
    check_city_schema(fmt["schema"])
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, OpenAIKind):
        assert body == passed_through(sent, oa_up, stream=False)
    else:
        check_format(oa_up, body, fmt)


# ==== reasoning controls ===========================================================


def test_pydantic_ai_openai_reasoning_effort(oa_up, mock, rec, v1, key) -> None:
    mock.push(thought_and_text(oa_up, "In Paris."))
    result = Agent(pai_openai(oa_up, v1, key)).run_sync(
        "Where is the Eiffel tower?", model_settings={"openai_reasoning_effort": "low", "max_tokens": 4000})
    assert result.output == "In Paris."
    # The upstream's reasoning, whatever its shape, is `reasoning_content`.
    [thinking] = [p for p in result.all_messages()[-1].parts if isinstance(p, ThinkingPart)]
    assert thinking.content == THOUGHT
    [sent] = rec.sent()
    assert (sent["reasoning_effort"], sent["max_completion_tokens"]) == ("low", 4000)
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, AnthropicKind):  # low: a budget of 2048
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["max_tokens"] == 4000
    elif isinstance(oa_up, ResponsesKind):
        assert effort_of(oa_up, body) == "low"
    else:
        assert body == passed_through(sent, oa_up, stream=False)


def test_pydantic_ai_anthropic_thinking_budget(an_up, mock, rec, base, key) -> None:
    mock.push(thought_and_text(an_up, "In Paris."))
    settings = {"anthropic_thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096}
    result = Agent(pai_anthropic(an_up, base, key)).run_sync("Where is the Eiffel tower?", model_settings=settings)
    assert result.output == "In Paris."
    [thinking] = [p for p in result.all_messages()[-1].parts if isinstance(p, ThinkingPart)]
    assert thinking.content == THOUGHT
    [sent] = rec.sent()
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=False)
    else:  # a budget under 4096 is `low`
        assert effort_of(an_up, body) == "low"
        assert "thinking" not in body


@pytest.mark.parametrize("effort,budget", [("low", 2048), ("medium", 8192), ("high", 24576)])
def test_langchain_openai_reasoning_effort(effort, budget, oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, "In Paris."))
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0, reasoning_effort=effort,
                     max_tokens=32000)
    assert llm.invoke("Where is the Eiffel tower?").content == "In Paris."
    [sent] = rec.sent()
    assert (sent["reasoning_effort"], sent["max_completion_tokens"]) == (effort, 32000)
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, AnthropicKind):
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["max_tokens"] == 32000
    elif isinstance(oa_up, ResponsesKind):
        assert effort_of(oa_up, body) == effort
        assert body["max_output_tokens"] == 32000
    else:
        assert body == passed_through(sent, oa_up, stream=False)


@pytest.mark.parametrize("budget,effort", [(1024, "low"), (10000, "medium"), (16384, "high")])
def test_langchain_anthropic_thinking_budget(budget, effort, an_up, mock, rec, base, key) -> None:
    mock.push(thought_and_text(an_up, "In Paris."))
    llm = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0, max_tokens=20000,
                        thinking={"type": "enabled", "budget_tokens": budget})
    answer = llm.invoke("Where is the Eiffel tower?")
    blocks = [(b["type"], b.get("thinking", b.get("text"))) for b in answer.content]
    assert blocks == [("thinking", THOUGHT), ("text", "In Paris.")]
    [sent] = rec.sent()
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    body = upstream_body(mock, key, an_up)
    if isinstance(an_up, AnthropicKind):
        assert body == passed_through(sent, an_up, stream=False)
    else:
        assert effort_of(an_up, body) == effort


# An effort's thinking budget is held below max_tokens, and there is none when
# under 1024 tokens would be left for it.
@pytest.mark.parametrize("effort,max_tokens,budget",
                         [("medium", 20000, 8192), ("high", 5000, 4999), ("low", 1000, None)])
def test_litellm_reasoning_effort(effort, max_tokens, budget, oa_up, mock, rec, v1, key) -> None:
    mock.push(thought_and_text(oa_up, "In Paris."))
    r = litellm.completion(model=f"openai/{oa_up.model}", api_base=v1, api_key=key, max_tokens=max_tokens,
                           reasoning_effort=effort, messages=[{"role": "user", "content": "Where?"}])
    assert r.choices[0].message.content == "In Paris."
    assert r.choices[0].message.reasoning_content == THOUGHT
    [sent] = rec.sent()
    assert (sent["reasoning_effort"], sent["max_tokens"]) == (effort, max_tokens)
    body = upstream_body(mock, key, oa_up)
    if isinstance(oa_up, AnthropicKind):
        assert body.get("thinking") == (budget and {"type": "enabled", "budget_tokens": budget})
        assert body["max_tokens"] == max_tokens
    elif isinstance(oa_up, ResponsesKind):
        assert effort_of(oa_up, body) == effort
    else:
        assert body == passed_through(sent, oa_up, stream=False)


# ==== cached tokens ================================================================
# The upstream reports IN input tokens of which CACHED were read from its
# cache (Anthropic: input_tokens apart from cache_read_input_tokens). A Chat
# Completions client gets prompt_tokens = IN with cached_tokens = CACHED among
# them; a Messages client input_tokens = IN - CACHED and cache_read_input_tokens.


def test_langchain_openai_cached_tokens(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, "Cached hello.", cached=CACHED))
    answer = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0).invoke("Hi")
    assert answer.content == "Cached hello."
    usage = answer.response_metadata["token_usage"]
    assert (usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]) == (IN, CACHED)
    assert answer.usage_metadata["input_tokens"] == IN
    assert answer.usage_metadata["input_token_details"]["cache_read"] == CACHED
    assert answer.usage_metadata["output_tokens"] == OUT
    rec.sent()
    upstream_body(mock, key, oa_up)


def test_langchain_openai_cached_tokens_streamed(oa_up, mock, rec, v1, key) -> None:
    mock.push(text_stream(oa_up, ["Cached ", "hello."], cached=CACHED))
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0, stream_usage=True)
    chunks = list(llm.stream("Hi"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "Cached hello."
    assert total.usage_metadata["input_tokens"] == IN
    assert total.usage_metadata["input_token_details"]["cache_read"] == CACHED
    assert total.usage_metadata["output_tokens"] == OUT
    [sent] = rec.sent()
    assert sent["stream_options"] == {"include_usage": True}
    assert upstream_body(mock, key, oa_up)["stream"] is True


def test_langchain_anthropic_cached_tokens(an_up, mock, rec, base, key) -> None:
    mock.push(text(an_up, "Cached hello.", cached=CACHED))
    answer = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0, max_tokens=100).invoke("Hi")
    assert answer.content == "Cached hello."
    usage = answer.response_metadata["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (IN - CACHED, CACHED)
    # LangChain adds the cached tokens back into its input count.
    assert answer.usage_metadata["input_tokens"] == IN
    assert answer.usage_metadata["input_token_details"]["cache_read"] == CACHED
    rec.sent()
    upstream_body(mock, key, an_up)


def test_langchain_anthropic_cached_tokens_streamed(an_up, mock, rec, base, key) -> None:
    mock.push(text_stream(an_up, ["Cached ", "hello."], cached=CACHED))
    llm = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0, max_tokens=100,
                        streaming=True, stream_usage=True)
    chunks = list(llm.stream("Hi"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "Cached hello."
    assert total.usage_metadata["input_tokens"] == IN
    assert total.usage_metadata["input_token_details"]["cache_read"] == CACHED
    assert total.usage_metadata["output_tokens"] == OUT
    [sent] = rec.sent()
    assert sent["stream"] is True
    assert upstream_body(mock, key, an_up)["stream"] is True


def test_pydantic_ai_cached_tokens(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, "Cached hello.", cached=CACHED))
    result = Agent(pai_openai(oa_up, v1, key)).run_sync("Hi")
    assert result.output == "Cached hello."
    assert (result.usage.input_tokens, result.usage.cache_read_tokens, result.usage.output_tokens) == (IN, CACHED, OUT)
    rec.sent()
    upstream_body(mock, key, oa_up)


def test_pydantic_ai_anthropic_cached_tokens(an_up, mock, rec, base, key) -> None:
    mock.push(text_stream(an_up, ["Cached ", "hello."], cached=CACHED))
    result = Agent(pai_anthropic(an_up, base, key)).run_sync("Hi")
    assert result.output == "Cached hello."
    assert (result.usage.input_tokens, result.usage.cache_read_tokens, result.usage.output_tokens) == (IN, CACHED, OUT)
    rec.sent()
    upstream_body(mock, key, an_up)


def test_litellm_cached_tokens(oa_up, mock, rec, v1, key) -> None:
    mock.push(text(oa_up, "Cached hello.", cached=CACHED))
    r = litellm.completion(model=f"openai/{oa_up.model}", api_base=v1, api_key=key,
                           messages=[{"role": "user", "content": "Hi"}])
    assert r.choices[0].message.content == "Cached hello."
    assert (r.usage.prompt_tokens, r.usage.prompt_tokens_details.cached_tokens) == (IN, CACHED)
    assert r.usage.completion_tokens == OUT
    rec.sent()
    upstream_body(mock, key, oa_up)


def test_litellm_anthropic_provider_cached_tokens(an_up, mock, rec, base, key) -> None:
    mock.push(text(an_up, "Cached hello.", cached=CACHED))
    r = litellm.completion(model=f"anthropic/{an_up.model}", api_base=base, api_key=key, max_tokens=100,
                           messages=[{"role": "user", "content": "Hi"}])
    assert r.choices[0].message.content == "Cached hello."
    # litellm reports Anthropic's usage the OpenAI way: the cached tokens among the prompt's.
    assert (r.usage.prompt_tokens, r.usage.prompt_tokens_details.cached_tokens) == (IN, CACHED)
    assert r.usage.cache_read_input_tokens == CACHED
    assert rec.paths() == ["/v1/messages"]
    upstream_body(mock, key, an_up)


# ==== embeddings of token ids ======================================================

TEXTS = ["Dragons guard treasure.", "Paris is the capital of France."]


def _embeddings(vectors: list[list[float]], tokens: int) -> dict:
    # Out of order, as an upstream may answer: the gateway sorts by index.
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)][::-1]
    return {"json": {"object": "list", "model": "up-gpt", "data": data,
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}}


def test_langchain_openai_embeddings_send_token_ids(mock, rec, v1, key) -> None:
    """LangChain's OpenAIEmbeddings tokenizes with tiktoken (cl100k_base, from
    the cache litellm ships) and sends token-id arrays: an openai-kind
    upstream must get those arrays (not their decimal text), with `dimensions`."""
    ids = [tiktoken.get_encoding("cl100k_base").encode(t) for t in TEXTS]
    mock.push(_embeddings([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]], sum(map(len, ids))),
              _embeddings([[0.0, 1.0, 0.0]], len(ids[1])))
    emb = OpenAIEmbeddings(model="via-openai", base_url=v1, api_key=key, dimensions=3, max_retries=0,
                           tiktoken_model_name="text-embedding-3-small")
    vectors = emb.embed_documents(TEXTS)
    assert vectors == [pytest.approx([0.6, 0.8, 0.0]), pytest.approx([0.0, 0.0, 1.0])]
    assert emb.embed_query(TEXTS[1]) == pytest.approx([0.0, 1.0, 0.0])
    first, second = rec.sent(2)
    assert (first["input"], first["dimensions"]) == (ids, 3)
    assert second["input"] == [ids[1]]
    up_first, up_second = upstream_requests(mock, key, 2)
    assert up_first["path"] == "/v1/embeddings"
    assert up_first["body"] == {"model": "up-gpt", "input": ids, "encoding_format": "float", "dimensions": 3}
    assert up_second["body"] == {"model": "up-gpt", "input": [ids[1]], "encoding_format": "float", "dimensions": 3}


def test_langchain_openai_embeddings_on_the_echo_and_refused_by_anthropic(mock, rec, v1, key) -> None:
    # The echo embeds the ids as their decimal text; an Anthropic upstream has no embeddings.
    emb = OpenAIEmbeddings(model="dragon", base_url=v1, api_key=key, max_retries=0,
                           tiktoken_model_name="text-embedding-3-small")
    [one, two] = emb.embed_documents(TEXTS)
    assert len(one) == len(two) > 0 and one != two
    with pytest.raises(openai.BadRequestError) as refused:
        OpenAIEmbeddings(model="via-anthropic", base_url=v1, api_key=key, max_retries=0,
                         tiktoken_model_name="text-embedding-3-small").embed_query(TEXTS[0])
    assert refused.value.body["param"] == "model"
    assert "cannot serve /v1/embeddings" in refused.value.body["message"]
    upstream_requests(mock, key, 0)


# ==== rerank =======================================================================

DOCS = ["Berlin is in Germany.", "Paris is the capital of France.", "Lyon is in France."]


def test_litellm_rerank_cohere_v2_at_the_upstream(mock, rec, key) -> None:
    # litellm's cohere provider posts Cohere's v2 shape to {api_base}/v2/rerank;
    # an openai-kind upstream gets the Cohere/Jina shape at {base_url}/rerank.
    mock.push({"json": {"id": "rr-up", "results": [{"index": 2, "relevance_score": 0.4},
                                                    {"index": 1, "relevance_score": 0.9},
                                                    {"index": 0, "relevance_score": 0.1}],
                        "usage": {"total_tokens": 42}}})
    r = litellm.rerank(model="cohere/via-openai", query="capital of France", documents=DOCS, top_n=2,
                       max_tokens_per_doc=64, api_base=rec.url, api_key=key)
    assert [(x["index"], x["relevance_score"]) for x in r.results] == [(1, 0.9), (2, 0.4)]
    assert r.meta["api_version"] == {"version": "2"}
    assert r.meta["billed_units"] == {"search_units": 1}
    assert rec.paths() == ["/v2/rerank"]
    [sent] = rec.sent()
    assert (sent["query"], sent["documents"], sent["top_n"], sent["max_tokens_per_doc"]) == (
        "capital of France", DOCS, 2, 64)
    [up] = upstream_requests(mock, key, 1)
    assert up["path"] == "/v1/rerank"
    assert up["headers"]["authorization"] == "Bearer " + MOCK_UPSTREAM_KEYS["MOCK_OPENAI_KEY"]
    assert up["body"] == {"model": "up-gpt", "query": "capital of France", "documents": DOCS,
                          "top_n": 2, "max_tokens_per_doc": 64}


def test_cohere_sdk_v2_rerank_request(mock, rec, key) -> None:
    """The Cohere SDK's `ClientV2.rerank` request as it sends it (the SDK is
    not installed): POST /v2/rerank with the key as a bearer token."""
    mock.push({"json": [{"index": 0, "score": 0.2}, {"index": 1, "score": 0.7}]})  # TEI's bare answer
    r = httpx.post(rec.url + "/v2/rerank", headers={"Authorization": f"Bearer {key}", "X-Fern-Language": "Python"},
                   json={"model": "via-openai", "query": "capital of France", "documents": DOCS[:2], "top_n": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["results"] == [{"index": 1, "relevance_score": 0.7}]
    assert body["meta"]["api_version"] == {"version": "2"}
    [up] = upstream_requests(mock, key, 1)
    assert up["body"] == {"model": "up-gpt", "query": "capital of France", "documents": DOCS[:2], "top_n": 1}


def test_litellm_rerank_on_the_echo_and_refused_by_anthropic(mock, rec, key) -> None:
    r = litellm.rerank(model="cohere/dragon", query="dragon treasure", top_n=2, api_base=rec.url, api_key=key,
                       documents=["a sunny day", "a dragon on its treasure", "treasure maps"])
    assert [x["index"] for x in r.results] == [1, 2]  # by word overlap
    with pytest.raises(litellm.BadRequestError, match="cannot serve"):
        litellm.rerank(model="cohere/via-anthropic", query="q", documents=["a"], api_base=rec.url, api_key=key)
    assert rec.paths() == ["/v2/rerank", "/v2/rerank"]
    upstream_requests(mock, key, 0)


# ==== the streamed role chunk ======================================================

ROLE_DELTA = {"role": "assistant", "content": "", "refusal": None}


def _frames(response: httpx.Response) -> list[dict]:
    return [json.loads(line[5:]) for line in response.iter_lines()
            if line.startswith("data:") and line != "data: [DONE]"]


@pytest.mark.parametrize("answer", ["text", "tool call"])
def test_streamed_role_chunk(answer, oa_up, mock, rec, v1, key) -> None:
    # As OpenAI opens a stream, whatever the upstream: content "" and refusal
    # null, before a text or a tool call (clients accumulate from it).
    mock.push(oa_up.text_stream(["Hel", "lo"]) if answer == "text" else oa_up.tool_call_stream())
    with httpx.stream("POST", v1 + "/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": oa_up.model, "stream": True,
                            "messages": [{"role": "user", "content": "Hi"}]}) as r:
        assert r.status_code == 200
        frames = _frames(r)
    assert frames[0]["choices"] == [{"index": 0, "delta": ROLE_DELTA, "logprobs": None, "finish_reason": None}]
    assert all("role" not in f["choices"][0]["delta"] for f in frames[1:] if f["choices"])
    upstream_body(mock, key, oa_up)


def test_langchain_openai_stream(oa_up, mock, rec, v1, key) -> None:
    mock.push(text_stream(oa_up, ["Streamed ", "through ", "the gateway."]))
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0)
    pieces = [c.content for c in llm.stream("Stream it")]
    assert "".join(pieces) == "Streamed through the gateway."
    assert pieces[0] == ""  # the role chunk
    assert upstream_body(mock, key, oa_up)["stream"] is True


def test_litellm_stream(oa_up, mock, rec, v1, key) -> None:
    mock.push(text_stream(oa_up, ["Streamed ", "through ", "the gateway."], cached=CACHED))
    chunks = list(litellm.completion(model=f"openai/{oa_up.model}", api_base=v1, api_key=key, stream=True,
                                     stream_options={"include_usage": True},
                                     messages=[{"role": "user", "content": "Stream it"}]))
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens, usage.completion_tokens) == (
        IN, CACHED, OUT)
    first = chunks[0].choices[0].delta
    assert (first.role, first.content) == ("assistant", "")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Streamed through the gateway."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert upstream_body(mock, key, oa_up)["stream"] is True


def test_pydantic_ai_openai_stream(oa_up, mock, rec, v1, key) -> None:
    mock.push(text_stream(oa_up, ["Streamed ", "through ", "the gateway."], cached=CACHED))
    agent = Agent(pai_openai(oa_up, v1, key))
    with agent.run_stream_sync("Stream it") as result:
        pieces = list(result.stream_text(delta=True))
    assert "".join(pieces) == "Streamed through the gateway."
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (IN, CACHED)
    [sent] = rec.sent()
    assert sent["stream"] is True
    assert upstream_body(mock, key, oa_up)["stream"] is True


# ==== tool call arguments are a string =============================================

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_langchain_openai_tool_round_trip(oa_up, mock, rec, v1, key) -> None:
    # The call comes back with its arguments as a JSON string (LangChain parses
    # it), and goes up again with the tool result as a string too.
    mock.push(tool_call(oa_up, "get_weather", {"city": "Paris"}), text(oa_up, "Sunny, 18 degrees."))
    llm = ChatOpenAI(model=oa_up.model, base_url=v1, api_key=key, max_retries=0).bind_tools([WEATHER])
    asked = llm.invoke("Weather in Paris?")
    [call] = asked.tool_calls
    assert (call["name"], call["args"], call["id"]) == ("get_weather", {"city": "Paris"}, oa_up.tool_id)
    assert asked.invalid_tool_calls == []  # arguments that were no JSON string would land here
    final = llm.invoke(["Weather in Paris?", asked, ToolMessage("18 degrees and sunny", tool_call_id=call["id"])])
    assert final.content == "Sunny, 18 degrees."
    _, second = rec.sent(2)
    [sent_call] = second["messages"][1]["tool_calls"]
    assert isinstance(sent_call["function"]["arguments"], str)
    _, up = upstream_requests(mock, key, 2)
    body = up["body"]
    if isinstance(oa_up, AnthropicKind):
        [use] = [b for b in body["messages"][1]["content"] if b["type"] == "tool_use"]
        assert (use["id"], use["name"], use["input"]) == (oa_up.tool_id, "get_weather", {"city": "Paris"})
    elif isinstance(oa_up, ResponsesKind):
        [fc] = [i for i in body["input"] if i.get("type") == "function_call"]
        assert (fc["call_id"], fc["name"], json.loads(fc["arguments"])) == (oa_up.tool_id, "get_weather",
                                                                           {"city": "Paris"})
    else:
        assert body == passed_through(second, oa_up, stream=False)


def test_langchain_anthropic_tool_round_trip(an_up, mock, rec, base, key) -> None:
    mock.push(tool_call(an_up, "get_weather", {"city": "Paris"}), text(an_up, "Sunny, 18 degrees."))
    llm = ChatAnthropic(model=an_up.model, base_url=base, api_key=key, max_retries=0,
                        max_tokens=200).bind_tools([WEATHER])
    asked = llm.invoke("Weather in Paris?")
    [call] = asked.tool_calls
    assert (call["name"], call["args"], call["id"]) == ("get_weather", {"city": "Paris"}, an_up.tool_id)
    final = llm.invoke(["Weather in Paris?", asked, ToolMessage("18 degrees and sunny", tool_call_id=call["id"])])
    assert final.content == "Sunny, 18 degrees."
    _, second = rec.sent(2)
    _, up = upstream_requests(mock, key, 2)
    body = up["body"]
    if isinstance(an_up, OpenAIKind):  # the input object becomes the arguments string
        [sent_call] = body["messages"][1]["tool_calls"]
        assert sent_call["id"] == an_up.tool_id
        assert isinstance(sent_call["function"]["arguments"], str)
        assert json.loads(sent_call["function"]["arguments"]) == {"city": "Paris"}
        assert body["messages"][2] == {"role": "tool", "tool_call_id": an_up.tool_id,
                                       "content": "18 degrees and sunny"}
    elif isinstance(an_up, ResponsesKind):
        [fc] = [i for i in body["input"] if i.get("type") == "function_call"]
        assert (fc["call_id"], json.loads(fc["arguments"])) == (an_up.tool_id, {"city": "Paris"})
    else:
        assert body == passed_through(second, an_up, stream=False)


@pytest.mark.parametrize("kind", [AnthropicKind, ResponsesKind, OpenAIKind], ids=FROM_OPENAI_IDS)
def test_an_empty_tool_input_is_the_string_braces(kind, mock, rec, v1, key) -> None:
    # A call without arguments (Anthropic's input {}) is "{}", as OpenAI gives it.
    up = kind()
    mock.push(tool_call(up, "get_time", {}))
    r = httpx.post(v1 + "/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": up.model, "messages": [{"role": "user", "content": "Time?"}],
                         "tools": [{"type": "function", "function": {"name": "get_time", "parameters": {
                             "type": "object", "properties": {}}}}]})
    assert r.status_code == 200, r.text
    [call] = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_time", "arguments": "{}"}


def test_tool_call_arguments_as_an_object_are_refused_as_openai_refuses_them(mock, rec, v1, key) -> None:
    # The request of a client that decoded the arguments: OpenAI answers 400, so does the gateway.
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"}]
    for model in ("via-anthropic", "via-responses", "via-openai"):
        with pytest.raises(openai.BadRequestError) as refused:
            openai_client(v1, key).chat.completions.create(model=model, messages=messages, tools=[WEATHER])
        assert refused.value.body["param"] == "messages.1.tool_calls.0.function.arguments"
        assert refused.value.body["message"].endswith("expected a string, got object")
    upstream_requests(mock, key, 0)
