"""The official openai Python SDK on the Responses API (POST /v1/responses,
streamed and not, GET/DELETE /v1/responses/{id}, /input_items, /input_tokens,
/compact and the WebSocket transport) through a real gateway, on four profiles:
the echo upstream (`dragon`), and the scripted mock as an OpenAI-kind
(`via-openai`), an Anthropic-kind (`via-anthropic`) and an `openai-responses`
upstream (`via-responses`), to which the requests are relayed. For the mocks
each test scripts the upstream's answer in its own API shape and checks what the
upstream was sent; for the relay, that it is the body the SDK sent with only
`model` replaced (and, after a `previous_response_id`, the whole conversation
as `input`)."""

from __future__ import annotations

import json
import threading

import httpx
import openai
import pytest
from pydantic import BaseModel

from conftest import MOCK_UPSTREAM_KEYS, MockUpstream, echo_and_mock_profiles, gateway_config, make_account
from test_upstreams_sdk import CITY, FRAGMENTS, IN, OUT, RESULT, SCHEMA, AnthropicKind, OpenAIKind, ResponsesKind

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}
WEATHER = {"type": "function", "name": "get_weather", "description": "Look up the weather for a city.",
           "parameters": SCHEMA}
QUESTION = "What's the weather in Paris?"
WS_TIMEOUT_S = 30
# The bodies of the POST /v1/responses the SDK client sent, oldest first
# (emptied for each test by the `up`, `scripted` and `relay` fixtures).
SENT: list[dict] = []


class City(BaseModel):
    city: str
    country: str
    population_millions: float


PARIS = City(city="Paris", country="France", population_millions=2.1)


class EchoKind:
    """The echo upstream: nothing to script; it echoes the last user text, calls
    get_weather for QUESTION and quotes tool results."""

    model = "dragon"
    scripted = False

    relay = False

    def text_reply(self, prompt: str, stream: bool = False, echo: dict | None = None) -> tuple[list[dict], str]:
        return [], prompt

    def tool_call_reply(self, stream: bool = False, echo: dict | None = None) -> list[dict]:
        return []

    def tool_result_reply(self, call_id: str, stream: bool = False) -> tuple[list[dict], str]:
        return [], f"Tool result {call_id} returned: {RESULT}"


class MockKind:
    """One kind of scripted upstream (the classes of test_upstreams_sdk do the
    shapes): what to queue for each answer, and the text it makes."""

    scripted = True
    reply = "Bonjour from the upstream, via the Responses API."
    pieces = ["Bonjour from ", "the upstream, ", "via the Responses API."]
    final = "It is 18 degrees and sunny in Paris."

    relay = False

    def __init__(self, kind: OpenAIKind | AnthropicKind | ResponsesKind, model: str) -> None:
        self.kind = kind
        self.model = model

    def _echo(self, echo: dict | None) -> dict:
        """The request fields a Responses upstream echoes in its response
        object; the other kinds' answers have no such fields."""
        return (echo or {}) if self.relay else {}

    def text_reply(self, prompt: str, stream: bool = False, echo: dict | None = None) -> tuple[list[dict], str]:
        echo = self._echo(echo)
        reply = self.kind.text_stream(self.pieces, **echo) if stream else self.kind.text(self.reply, **echo)
        return [reply], self.reply

    def tool_call_reply(self, stream: bool = False, echo: dict | None = None) -> list[dict]:
        echo = self._echo(echo)
        return [self.kind.tool_call_stream(**echo) if stream else self.kind.tool_call(**echo)]

    def tool_result_reply(self, call_id: str, stream: bool = False) -> tuple[list[dict], str]:
        reply = self.kind.text_stream([self.final[:10], self.final[10:]]) if stream else self.kind.text(self.final)
        return [reply], self.final


class RelayKind(MockKind):
    """The `openai-responses` upstream: the requests are relayed, the answers
    (scripted in the Responses shape) come back as the upstream sent them but
    for the response object's id, model and previous_response_id."""

    relay = True

    def __init__(self) -> None:
        super().__init__(ResponsesKind(relay=True), ResponsesKind.model)


@pytest.fixture(scope="module")
def mock(start_mock) -> MockUpstream:
    return start_mock()


@pytest.fixture(scope="module")
def gateway_url(start_gateway, mock: MockUpstream) -> str:
    extra = echo_and_mock_profiles(mock.base_url, OpenAIKind.upstream_model, AnthropicKind.upstream_model)
    gateway = start_gateway(gateway_config(extra=extra), env=MOCK_UPSTREAM_KEYS)
    assert gateway.url is not None
    return gateway.url


@pytest.fixture(scope="module")
def key(gateway_url: str) -> str:
    return make_account(gateway_url, 1000, name="responses").key


def _record(request: httpx.Request) -> None:
    if request.method == "POST" and request.url.path.endswith("/v1/responses"):
        SENT.append(json.loads(request.content))


@pytest.fixture(scope="module")
def client(gateway_url: str, key: str) -> openai.OpenAI:
    http_client = openai.DefaultHttpxClient(event_hooks={"request": [_record]})
    return openai.OpenAI(base_url=gateway_url + "/v1", api_key=key, max_retries=0, http_client=http_client)


def _kind(name: str) -> EchoKind | MockKind:
    if name == "echo":
        return EchoKind()
    if name == "openai-upstream":
        return MockKind(OpenAIKind(), OpenAIKind.model)
    if name == "anthropic-upstream":
        return MockKind(AnthropicKind(), AnthropicKind.model)
    return RelayKind()


@pytest.fixture(params=["echo", "openai-upstream", "anthropic-upstream", "responses-upstream"])
def up(request, mock: MockUpstream):
    """The profile under test, with the mock emptied."""
    mock.reset()
    SENT.clear()
    yield _kind(request.param)
    mock.reset()


@pytest.fixture(params=["openai-upstream", "anthropic-upstream", "responses-upstream"])
def scripted(request, mock: MockUpstream):
    """A profile on the scripted mock, with the mock emptied."""
    mock.reset()
    SENT.clear()
    yield _kind(request.param)
    mock.reset()


@pytest.fixture
def relay(mock: MockUpstream):
    """The profile relayed to the `openai-responses` upstream, with the mock emptied."""
    mock.reset()
    SENT.clear()
    yield RelayKind()
    mock.reset()


def _script(mock: MockUpstream, replies: list[dict]) -> None:
    if replies:
        mock.push(*replies)


def _received(mock: MockUpstream, up, key: str, count: int, over_http: bool = True) -> list[dict]:
    """What the scripted upstream was sent (nothing for the echo). Relayed
    requests the SDK sent `over_http` are checked against what it sent."""
    if not up.scripted:
        return []
    received = mock.received()
    assert len(received) == count, [r["path"] for r in received]
    for request in received:  # the client's key never reaches an upstream
        assert key not in json.dumps(request["headers"])
    if up.relay and over_http:
        assert len(SENT) == count
        for request, sent in zip(received, SENT):
            _check_relayed(request["body"], sent)
    return received


def _check_relayed(got: dict, sent: dict) -> None:
    """The relayed body is the client's with only `model` replaced, or, when it
    continued a stored response, with `input` the whole conversation and no
    `previous_response_id`."""
    got, want = dict(got), {**sent, "model": ResponsesKind.upstream_model}
    if "previous_response_id" in sent:
        assert "previous_response_id" not in got, got
        del want["previous_response_id"]
        whole, new = got.pop("input"), want.pop("input")
        assert isinstance(whole, list) and len(whole) > len(new), whole
        assert whole[-len(new):] == new, (whole, new)
    assert got == want


def _check_response(r, model: str) -> None:
    assert r.id.startswith("resp_"), r.id
    assert r.object == "response"
    assert r.model == model
    assert r.status == "completed"
    assert r.error is None
    assert r.created_at > 0


def _check_usage(r, up) -> None:
    usage = r.usage
    assert usage is not None
    if up.scripted:
        assert (usage.input_tokens, usage.output_tokens) == (IN, OUT)
    else:
        assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def _message_text(item) -> str:
    """The text of a message item, input or output, as a model or a dict."""
    item = item if isinstance(item, dict) else item.model_dump()
    content = item["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content)


def _check_event_order(events) -> None:
    """response.created first, sequence numbers strictly increasing, exactly one
    terminal event and it is the last one."""
    types = [e.type for e in events]
    assert types[0] == "response.created", types
    assert events[0].response.status in ("queued", "in_progress")
    numbers = [e.sequence_number for e in events]
    assert all(b > a for a, b in zip(numbers, numbers[1:])), numbers
    assert [t for t in types if t in TERMINAL] == [types[-1]], types
    assert "error" not in types


def _check_text_events(events, text: str) -> None:
    """One message item's events in the order the spec gives them; its deltas add up to `text`."""
    types = [e.type for e in events]
    order = ["response.created", "response.output_item.added", "response.content_part.added",
             "response.output_text.delta", "response.output_text.done",
             "response.content_part.done", "response.output_item.done", "response.completed"]
    for name in order:
        assert name in types, (name, types)
    firsts = [types.index(name) for name in order]
    assert firsts == sorted(firsts), types
    [added] = [e for e in events if e.type == "response.output_item.added"]
    assert added.item.type == "message" and added.item.role == "assistant"
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert {(e.item_id, e.output_index, e.content_index) for e in deltas} == {(added.item.id, added.output_index, 0)}
    assert "".join(e.delta for e in deltas) == text
    [done] = [e for e in events if e.type == "response.output_text.done"]
    assert done.text == text
    [item_done] = [e for e in events if e.type == "response.output_item.done"]
    assert item_done.item.id == added.item.id
    assert _message_text(item_done.item) == text


# ---- create -----------------------------------------------------------------------


def test_create_text(up, mock, client, key) -> None:
    prompt = "Tell me about dragons in three words."
    replies, text = up.text_reply(prompt, echo={"instructions": "Be brief.", "max_output_tokens": 200})
    _script(mock, replies)
    r = client.responses.create(model=up.model, instructions="Be brief.", input=prompt, max_output_tokens=200)
    _check_response(r, up.model)
    assert r.output_text == text
    [message] = r.output
    assert (message.type, message.role, message.status) == ("message", "assistant", "completed")
    assert [part.type for part in message.content] == ["output_text"]
    assert message.id
    assert r.instructions == "Be brief."
    assert r.max_output_tokens == 200
    _check_usage(r, up)
    for request in _received(mock, up, key, 1):
        up.kind.check_request(request, "Be brief.", prompt, stream=False)
        assert up.kind.max_tokens(request["body"], 200) == (200, 200)


def test_create_with_message_items(up, mock, client, key) -> None:
    # The input as items: a developer message (the system prompt) and typed content parts.
    prompt = "Items in, items out."
    replies, text = up.text_reply(prompt)
    _script(mock, replies)
    r = client.responses.create(model=up.model, input=[
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]},
    ])
    _check_response(r, up.model)
    assert r.output_text == text
    for request in _received(mock, up, key, 1):
        up.kind.check_request(request, "Be brief.", prompt, stream=False)


# ---- stream -----------------------------------------------------------------------


def test_stream_text(up, mock, client, key) -> None:
    prompt = "Stream me a poem about a dragon who guards a library of scrolls."
    replies, text = up.text_reply(prompt, stream=True)
    _script(mock, replies)
    with client.responses.stream(model=up.model, instructions="Be brief.", input=prompt) as stream:
        events = list(stream)
        final = stream.get_final_response()
    _check_event_order(events)
    _check_text_events(events, text)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= (3 if up.scripted else 2), "delta by delta, not buffered into one"
    assert events[-1].type == "response.completed"
    completed = events[-1].response
    _check_response(completed, up.model)
    assert completed.output_text == text
    _check_usage(completed, up)
    assert final.id == completed.id == events[0].response.id
    assert final.output_text == text
    for request in _received(mock, up, key, 1):
        up.kind.check_request(request, "Be brief.", prompt, stream=True)


def test_stream_with_create(up, mock, client, key) -> None:
    # stream=True on create: the raw events, as an SDK user iterates them.
    prompt = "Raw events, please."
    replies, text = up.text_reply(prompt, stream=True)
    _script(mock, replies)
    events = list(client.responses.create(model=up.model, input=prompt, stream=True))
    _check_event_order(events)
    _check_text_events(events, text)
    assert events[-1].response.output_text == text
    _received(mock, up, key, 1)


def test_stream_function_call(up, mock, client, key) -> None:
    _script(mock, up.tool_call_reply(stream=True))
    with client.responses.stream(model=up.model, input=QUESTION, tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    _check_event_order(events)
    types = [e.type for e in events]
    [added] = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert added.item.name == "get_weather"
    args = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert args and {e.item_id for e in args} == {added.item.id}
    [args_done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert "".join(e.delta for e in args) == args_done.arguments
    assert json.loads(args_done.arguments) == CITY
    [item_done] = [e for e in events
                   if e.type == "response.output_item.done" and e.item.type == "function_call"]
    assert types.index("response.output_item.added") < types.index("response.function_call_arguments.delta")
    assert types.index("response.function_call_arguments.done") < types.index("response.completed")
    assert item_done.item.call_id == added.item.call_id
    assert json.loads(item_done.item.arguments) == CITY
    [call] = [o for o in final.output if o.type == "function_call"]
    assert (call.call_id, call.name, json.loads(call.arguments)) == (added.item.call_id, "get_weather", CITY)
    if up.scripted:
        assert call.call_id == up.kind.tool_id  # verbatim
        assert len(args) >= len(FRAGMENTS) - 1
    assert final.status == "completed"


# ---- structured output -------------------------------------------------------------


def test_parse_pydantic(up, mock, client, key) -> None:
    # The echo answers valid JSON only when the user text is JSON, so the prompt is.
    prompt = PARIS.model_dump_json()
    replies, _ = up.text_reply(prompt)
    if up.relay:  # a Responses upstream echoes the format
        fmt = {"type": "json_schema", "name": "City", "strict": True, "schema": City.model_json_schema()}
        replies = [up.kind.text(PARIS.model_dump_json(), text={"format": fmt})]
    elif up.scripted:
        replies = [up.kind.text(PARIS.model_dump_json())]
    _script(mock, replies)
    r = client.responses.parse(model=up.model, input=prompt, text_format=City)
    _check_response(r, up.model)
    assert r.output_parsed == PARIS
    assert json.loads(r.output_text) == PARIS.model_dump()
    assert r.text.format.type == "json_schema"
    assert r.text.format.name == "City"
    for request in _received(mock, up, key, 1):
        body = request["body"]
        if isinstance(up.kind, OpenAIKind):
            fmt = body["response_format"]
            assert fmt["type"] == "json_schema"
            assert fmt["json_schema"]["name"] == "City"
            schema = fmt["json_schema"]["schema"]
        elif isinstance(up.kind, ResponsesKind):
            fmt = body["text"]["format"]
            assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "City", True)
            schema = fmt["schema"]
        else:
            fmt = body["output_config"]["format"]
            assert fmt["type"] == "json_schema"
            schema = fmt["schema"]
        assert set(schema["properties"]) == {"city", "country", "population_millions"}
        assert set(schema["required"]) == {"city", "country", "population_millions"}


# ---- tools ------------------------------------------------------------------------


def _function_call(r):
    [call] = [o for o in r.output if o.type == "function_call"]
    return call


def test_function_tool_round_trip_stored(up, mock, client, key) -> None:
    _script(mock, up.tool_call_reply(echo={"instructions": "Use tools.", "tools": [WEATHER]}))
    first = client.responses.create(model=up.model, instructions="Use tools.", input=QUESTION, tools=[WEATHER])
    _check_response(first, up.model)
    call = _function_call(first)
    assert (call.type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert json.loads(call.arguments) == CITY
    assert call.call_id and call.id
    if up.scripted:
        assert call.call_id == up.kind.tool_id
    assert [t.name for t in first.tools] == ["get_weather"]

    replies, text = up.tool_result_reply(call.call_id)
    _script(mock, replies)
    second = client.responses.create(
        model=up.model, instructions="Use tools.", tools=[WEATHER], previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": RESULT}])
    _check_response(second, up.model)
    assert second.previous_response_id == first.id
    assert second.id != first.id
    assert text in second.output_text
    assert not [o for o in second.output if o.type == "function_call"]
    for i, request in enumerate(_received(mock, up, key, 2)):
        # The upstream gets the whole conversation: the stored turn and this one.
        up.kind.check_request(request, "Use tools.", QUESTION, stream=False)
        up.kind.check_tools(request["body"])
        if i == 1:
            up.kind.check_tool_result(request["body"])
            if up.relay:  # the question, the upstream's call item as it sent it, the output
                question, item, output = request["body"]["input"]
                assert (question["role"], _message_text(question)) == ("user", QUESTION)
                assert item == up.kind.tool_call()["json"]["output"][0]
                assert output == {"type": "function_call_output", "call_id": call.call_id, "output": RESULT}


def test_function_tool_round_trip_stateless(up, mock, client, key) -> None:
    # store=False: nothing kept, the client sends every item again (as Codex does).
    question = {"type": "message", "role": "user", "content": QUESTION}
    _script(mock, up.tool_call_reply(echo={"instructions": "Use tools.", "tools": [WEATHER], "store": False}))
    first = client.responses.create(model=up.model, instructions="Use tools.", input=[question],
                                    tools=[WEATHER], store=False)
    _check_response(first, up.model)
    assert first.store is False
    call = _function_call(first)
    assert json.loads(call.arguments) == CITY
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)

    replies, text = up.tool_result_reply(call.call_id)
    _script(mock, replies)
    items = [question, *(item.model_dump(exclude_none=True) for item in first.output),
             {"type": "function_call_output", "call_id": call.call_id, "output": RESULT}]
    second = client.responses.create(model=up.model, instructions="Use tools.", input=items,
                                     tools=[WEATHER], store=False)
    _check_response(second, up.model)
    assert text in second.output_text
    assert second.previous_response_id is None
    for i, request in enumerate(_received(mock, up, key, 2)):
        up.kind.check_request(request, "Use tools.", QUESTION, stream=False)
        if i == 1:
            up.kind.check_tool_result(request["body"])


def test_streamed_tool_round_trip(up, mock, client, key) -> None:
    _script(mock, up.tool_call_reply(stream=True))
    with client.responses.stream(model=up.model, input=QUESTION, tools=[WEATHER]) as stream:
        first = stream.get_final_response()
    call = _function_call(first)
    replies, text = up.tool_result_reply(call.call_id, stream=True)
    _script(mock, replies)
    with client.responses.stream(
            model=up.model, tools=[WEATHER], previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": RESULT}]) as stream:
        events = list(stream)
        second = stream.get_final_response()
    _check_event_order(events)
    assert text in second.output_text
    for i, request in enumerate(_received(mock, up, key, 2)):
        assert request["body"]["stream"] is True
        if i == 1:
            up.kind.check_tool_result(request["body"])


# ---- stored responses -------------------------------------------------------------


def test_retrieve(up, mock, client, key) -> None:
    prompt = "Keep this one."
    replies, text = up.text_reply(prompt, echo={"metadata": {"test": "retrieve"}})
    _script(mock, replies)
    created = client.responses.create(model=up.model, input=prompt, metadata={"test": "retrieve"})
    assert created.store is True  # the default
    got = client.responses.retrieve(created.id)
    _check_response(got, up.model)
    assert got.id == created.id
    assert got.output_text == text
    assert got.created_at == created.created_at
    assert got.metadata == {"test": "retrieve"}
    assert [o.id for o in got.output] == [o.id for o in created.output]
    assert (got.usage.input_tokens, got.usage.output_tokens) == (created.usage.input_tokens,
                                                                 created.usage.output_tokens)
    _received(mock, up, key, 1)  # served from the store, not the upstream


def test_retrieve_streamed(up, mock, client, key) -> None:
    # A streamed response is stored too, complete.
    prompt = "Keep this streamed one."
    replies, text = up.text_reply(prompt, stream=True)
    _script(mock, replies)
    with client.responses.stream(model=up.model, input=prompt) as stream:
        final = stream.get_final_response()
    got = client.responses.retrieve(final.id)
    assert (got.id, got.status, got.output_text) == (final.id, "completed", text)


def test_delete(up, mock, client, key) -> None:
    prompt = "Delete me."
    replies, _ = up.text_reply(prompt)
    _script(mock, replies)
    created = client.responses.create(model=up.model, input=prompt)
    raw = client.responses.with_raw_response.delete(created.id)
    assert raw.http_response.status_code == 200
    body = raw.http_response.json()
    assert body == {"id": created.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.retrieve(created.id)
    assert gone.value.status_code == 404
    assert gone.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(created.id)


def test_input_items_list(up, mock, client, key) -> None:
    replies, _ = up.text_reply("third")
    _script(mock, replies)
    created = client.responses.create(model=up.model, input=[
        {"type": "message", "role": "user", "content": "first"},
        {"type": "message", "role": "assistant", "content": "second"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "third"}]},
    ])
    asc = client.responses.input_items.list(created.id, order="asc")
    assert [(i.type, i.role, _message_text(i)) for i in asc.data] == [
        ("message", "user", "first"), ("message", "assistant", "second"), ("message", "user", "third")]
    assert all(i.id for i in asc.data)
    assert asc.has_more is False
    assert (asc.first_id, asc.last_id) == (asc.data[0].id, asc.data[-1].id)
    desc = client.responses.input_items.list(created.id)  # desc is the default order
    assert [i.id for i in desc.data] == [i.id for i in reversed(asc.data)]
    page = client.responses.input_items.list(created.id, order="asc", limit=2)
    assert [i.id for i in page.data] == [i.id for i in asc.data[:2]]
    assert page.has_more is True
    rest = client.responses.input_items.list(created.id, order="asc", after=page.data[-1].id)
    assert [i.id for i in rest.data] == [asc.data[2].id]
    # Every item the SDK pages through, across pages.
    assert [i.id for i in client.responses.input_items.list(created.id, order="asc", limit=1)] == [
        i.id for i in asc.data]


def test_input_items_of_a_function_call_output(up, mock, client, key) -> None:
    _script(mock, up.tool_call_reply())
    first = client.responses.create(model=up.model, input=QUESTION, tools=[WEATHER])
    call = _function_call(first)
    replies, _ = up.tool_result_reply(call.call_id)
    _script(mock, replies)
    second = client.responses.create(
        model=up.model, tools=[WEATHER], previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": RESULT}])
    items = client.responses.input_items.list(second.id, order="asc").data
    outputs = [i for i in items if i.type == "function_call_output"]
    assert [(o.call_id, o.output) for o in outputs] == [(call.call_id, RESULT)]


def test_other_account_gets_404(up, mock, client, gateway_url, key) -> None:
    prompt = "Mine, not yours."
    replies, text = up.text_reply(prompt)
    _script(mock, replies)
    created = client.responses.create(model=up.model, input=prompt)
    other = openai.OpenAI(base_url=gateway_url + "/v1", max_retries=0,
                          api_key=make_account(gateway_url, 100, name="other").key)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)
    # Nor can it continue another account's conversation.
    with pytest.raises((openai.NotFoundError, openai.BadRequestError)):
        other.responses.create(model=up.model, input="go on", previous_response_id=created.id)
    # The owner still has it.
    assert client.responses.retrieve(created.id).output_text == text


def test_unknown_response_is_404(client) -> None:
    assert client.responses.create(model="dragon", input="The route is there.").status == "completed"
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.retrieve("resp_does_not_exist_0000000000")
    assert missing.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError):
        client.responses.delete("resp_does_not_exist_0000000000")


# ---- upstream errors and what only a Responses upstream does -------------------------


def test_upstream_errors(scripted, mock, client, key) -> None:
    up = scripted
    mock.push(up.kind.error(400, "max_output_tokens is too large for up-model"),
              up.kind.error(429, "Slow down, please", {"retry-after": "7"}),
              up.kind.error(400, "Streams are off today"))
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model=up.model, input="Hi")
    assert bad.value.status_code == 400
    # The upstream's message verbatim, after the gateway's "upstream NAME: ".
    assert bad.value.body["type"] == "invalid_request_error"
    assert bad.value.body["message"].endswith(": max_output_tokens is too large for up-model")
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model=up.model, input="Hi")
    assert limited.value.status_code == 429
    assert limited.value.body["message"].endswith(": Slow down, please")
    assert limited.value.response.headers["retry-after"] == "7"
    # A stream refused before its first event is an HTTP error as well.
    with pytest.raises(openai.BadRequestError) as refused:
        list(client.responses.create(model=up.model, input="Hi", stream=True))
    assert refused.value.body["message"].endswith(": Streams are off today")
    _received(mock, up, key, 3)  # no retries: max_retries = 0 on both sides


def test_built_in_tools_are_relayed(relay, mock, client, key) -> None:
    # web_search reaches an `openai-responses` upstream, and its item comes back.
    tools = [{"type": "web_search"}]
    search = {"id": "ws_up1", "type": "web_search_call", "status": "completed",
              "action": {"type": "search", "query": "dragons", "sources": [{"type": "url", "url": "https://example.com/"}]}}
    reply = relay.kind.text("Dragons are myths.", tools=tools)
    reply["json"]["output"].insert(0, search)
    mock.push(reply)
    r = client.responses.create(model=relay.model, input="Tell me about dragons.", tools=tools,
                                include=["web_search_call.action.sources"])
    _check_response(r, relay.model)
    assert [o.type for o in r.output] == ["web_search_call", "message"]
    assert r.output[0].model_dump(exclude_none=True) == search
    assert r.output_text == "Dragons are myths."
    [request] = _received(mock, relay, key, 1)
    assert request["body"]["tools"] == tools
    assert request["body"]["include"] == ["web_search_call.action.sources"]
    # Kept as the upstream gave it, under the gateway's id.
    assert client.responses.retrieve(r.id).output[0].model_dump(exclude_none=True) == search
    # The other kinds of upstream have no such tools: refused before they are called.
    for model in ("dragon", OpenAIKind.model, AnthropicKind.model):
        with pytest.raises(openai.BadRequestError) as bad:
            client.responses.create(model=model, input="Tell me about dragons.", tools=tools)
        assert bad.value.body["param"] == "tools.0.type"
    assert len(mock.received()) == 1


def test_relayed_stream_cut_short_ends_with_response_failed(relay, mock, client, key) -> None:
    events = relay.kind.text_stream(["Half ", "a ", "story."])["responses_events"]
    frames = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
    mock.push({"sse": frames, "fail_after": 5})  # up to the first delta
    got = list(client.responses.create(model=relay.model, input="Tell me a story.", stream=True))
    assert [e.type for e in got] == [e["type"] for e in events[:5]] + ["response.failed"]
    assert [e.sequence_number for e in got] == list(range(6))
    failed = got[-1].response
    assert failed.id == got[0].response.id and failed.id.startswith("resp_")
    assert (failed.model, failed.status, failed.error.code) == (relay.model, "failed", "server_error")
    assert got[4].delta == "Half "
    _received(mock, relay, key, 1)


# ---- input_tokens and compact (echo) ------------------------------------------------


def test_input_tokens(client) -> None:
    short = client.responses.input_tokens.count(model="dragon", input="Hello there, dragon.")
    assert short.object == "response.input_tokens"
    assert short.input_tokens > 0
    long = client.responses.input_tokens.count(model="dragon", input="Hello there, dragon. " * 40,
                                               instructions="Be brief.", tools=[WEATHER])
    assert long.input_tokens > short.input_tokens * 10


def test_compact(client) -> None:
    conversation = [
        {"type": "message", "role": "user", "content": "Remember the number four."},
        {"type": "message", "role": "assistant", "content": "I will remember four."},
        {"type": "message", "role": "user", "content": "Now compact our conversation."},
    ]
    compacted = client.responses.compact(model="dragon", input=conversation, prompt_cache_key="compact-test")
    assert compacted.object == "response.compaction"
    assert compacted.id and compacted.created_at > 0
    assert compacted.output[-1].type == "compaction", [o.type for o in compacted.output]
    assert compacted.usage.input_tokens > 0
    # The compacted window, passed back as is, starts a new chain.
    items = [o.model_dump(exclude_none=True) for o in compacted.output]
    go_on = client.responses.create(model="dragon", store=False, input=[
        *items, {"type": "message", "role": "user", "content": "Continue from here."}])
    assert (go_on.status, go_on.output_text) == ("completed", "Continue from here.")


def test_compact_needs_a_model(client) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.post("/responses/compact", cast_to=object,
                    body={"input": [{"type": "message", "role": "user", "content": "Compact this."}]})
    assert bad.value.body["type"] == "invalid_request_error"
    assert bad.value.body["param"] == "model"


# ---- WebSocket transport ------------------------------------------------------------


def _ws_turn(conn, **create) -> list:
    """Sends one response.create and reads events up to its terminal event; the
    connection is closed after WS_TIMEOUT_S so a silent server fails the test."""
    watchdog = threading.Timer(WS_TIMEOUT_S, conn.close)
    watchdog.start()
    events = []
    try:
        conn.response.create(**create)
        for event in conn:
            events.append(event)
            if event.type in TERMINAL or event.type == "error":
                break
    finally:
        watchdog.cancel()
    assert events and events[-1].type in TERMINAL, [e.type for e in events]
    return events


def test_websocket_text_and_tool_round_trip(up, mock, client, key) -> None:
    prompt = "Over the socket, please."
    replies, text = up.text_reply(prompt, stream=True)
    _script(mock, replies)
    _script(mock, up.tool_call_reply(stream=True))
    with client.responses.connect() as conn:
        events = _ws_turn(conn, model=up.model, input=prompt)
        _check_event_order(events)
        _check_text_events(events, text)
        assert events[-1].response.output_text == text

        # A second turn on the same socket: a tool call, then its result,
        # continued from the previous response (kept for the connection even with store=False).
        events = _ws_turn(conn, model=up.model, input=QUESTION, tools=[WEATHER], store=False)
        _check_event_order(events)
        first = events[-1].response
        call = _function_call(first)
        assert json.loads(call.arguments) == CITY
        replies, text = up.tool_result_reply(call.call_id, stream=True)
        _script(mock, replies)
        events = _ws_turn(conn, model=up.model, tools=[WEATHER], store=False, previous_response_id=first.id,
                          input=[{"type": "function_call_output", "call_id": call.call_id, "output": RESULT}])
        _check_event_order(events)
        assert text in events[-1].response.output_text
    for i, request in enumerate(_received(mock, up, key, 3, over_http=False)):
        assert request["body"]["stream"] is True
        if i == 2:
            up.kind.check_tool_result(request["body"])
            if up.relay:  # the whole conversation, not the connection's previous_response_id
                assert "previous_response_id" not in request["body"]
                assert [item["type"] for item in request["body"]["input"]] == [
                    "message", "function_call", "function_call_output"]
