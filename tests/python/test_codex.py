"""The OpenAI Codex CLI (tests/codex, pinned; scripts/test.sh installs it)
against a real gateway over the Responses API: `codex exec --json` with an
isolated CODEX_HOME whose config.toml names the gateway as a custom model
provider (`wire_api = "responses"`), on the echo and on the scripted mock as an
OpenAI-kind and an Anthropic-kind upstream. Nothing leaves the machine: update
checks, analytics, feedback, plugins and apps are off, so Codex only ever talks
to the gateway on 127.0.0.1.

What Codex 0.171 sends (recorded from it): always `stream: true`, `store:
false`, `include: ["reasoning.encrypted_content"]`, `prompt_cache_key`,
`parallel_tool_calls: true`, `tool_choice: "auto"`, `reasoning`, the whole
conversation as items each time (developer and user messages, function_call and
function_call_output, custom_tool_call and custom_tool_call_output, all with
ids), and tools: function tools (`exec_command` first, required `cmd`;
`write_stdin`, `request_user_input`, `view_image`, goals), a `namespace` of
sub-agent functions, the hosted `web_search`, and for models it knows (say
gpt-5.5) the freeform `custom` tool `apply_patch` (a lark grammar) and
`tool_search`. A custom provider speaks HTTP unless `supports_websockets = true`;
over the WebSocket it first sends a `response.create` with `generate: false`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import MOCK_UPSTREAM_KEYS, MockUpstream, echo_and_mock_profiles, gateway_config, make_account
from test_upstreams_sdk import AnthropicKind, OpenAIKind, ResponsesKind

CODEX_TIMEOUT_S = 180
MARKER = "codex-marker-4711"
# Codex warns (as an error item) that it has no metadata for a model it does not know.
METADATA_WARNING = "Model metadata for"


def _codex_bin() -> str:
    default = Path(__file__).resolve().parents[1] / "codex" / "node_modules" / ".bin" / "codex"
    binary = os.environ.get("MWS_CODEX_BIN", str(default))
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no Codex CLI at {binary}: run scripts/test.sh, or `npm ci` in tests/codex "
                    "(or point MWS_CODEX_BIN at a codex binary)")
    return binary


def codex_config(base_url: str, model: str, websockets: bool = False) -> str:
    """An isolated config.toml: the gateway as the only model provider, no
    approvals and no sandbox (the commands run in a temp dir), nothing that
    reaches OpenAI (update check, analytics, feedback, plugins, apps), and no
    hosted web search: no upstream behind the gateway can run OpenAI's, and the
    gateway refuses a built-in tool rather than dropping it (README, Codex CLI)."""
    return f"""\
model = "{model}"
model_provider = "mws"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
web_search = "disabled"

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false

[model_providers.mws]
name = "MWS gateway"
base_url = "{base_url}"
env_key = "MWS_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = {"true" if websockets else "false"}
"""


@dataclass
class CodexRun:
    returncode: int
    events: list[dict]
    stderr: str
    workdir: Path

    def items(self, kind: str) -> list[dict]:
        """The completed items of one type (agent_message, command_execution, ...)."""
        return [e["item"] for e in self.events
                if e.get("type") == "item.completed" and e["item"].get("type") == kind]

    @property
    def messages(self) -> list[str]:
        return [item["text"] for item in self.items("agent_message")]

    @property
    def errors(self) -> list[str]:
        """Error events and error items, less the unknown-model warning."""
        top = [e.get("message", "") for e in self.events if e.get("type") == "error"]
        items = [i.get("message", "") for i in self.items("error")]
        return [m for m in top + items if not m.startswith(METADATA_WARNING)] + [
            json.dumps(e) for e in self.events if e.get("type") == "turn.failed"]

    def check_ok(self) -> None:
        assert self.returncode == 0, self.describe()
        assert self.errors == [], self.describe()
        assert [e["type"] for e in self.events if e["type"].startswith("turn.")] == [
            "turn.started", "turn.completed"], self.describe()

    def describe(self) -> str:
        return (f"codex exited {self.returncode}\nevents:\n"
                + "\n".join(json.dumps(e) for e in self.events) + "\nstderr:\n" + self.stderr[-4000:])


@pytest.fixture(scope="module")
def mock(start_mock) -> MockUpstream:
    return start_mock()


@pytest.fixture(scope="module")
def gateway_url(start_gateway, mock: MockUpstream) -> str:
    extra = echo_and_mock_profiles(mock.base_url, OpenAIKind.upstream_model, AnthropicKind.upstream_model)
    gateway = start_gateway(gateway_config(extra=extra, store="memory"), env=MOCK_UPSTREAM_KEYS)
    assert gateway.url is not None
    return gateway.url


@pytest.fixture(scope="module")
def key(gateway_url: str) -> str:
    return make_account(gateway_url, 1000, name="codex").key


@pytest.fixture
def codex(tmp_path: Path, gateway_url: str, key: str):
    """Runs `codex exec --json PROMPT` in a fresh work dir with its own
    CODEX_HOME and HOME, the environment stripped of anything OpenAI's."""
    binary = _codex_bin()

    def run(prompt: str, model: str = "dragon", websockets: bool = False) -> CodexRun:
        home = tmp_path / "home"
        codex_home = home / ".codex"
        workdir = tmp_path / "work"
        for d in (codex_home, workdir):
            d.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(
            codex_config(gateway_url + "/v1", model, websockets), encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "CODEX_HOME": str(codex_home), "MWS_KEY": key, "LANG": "C.UTF-8", "TERM": "dumb",
               "NO_COLOR": "1"}
        argv = [binary, "exec", "--json", "--skip-git-repo-check", "--ephemeral", "--color", "never",
                "-C", str(workdir), prompt]
        proc = subprocess.run(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=CODEX_TIMEOUT_S)
        events = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                events.append(json.loads(line))
        return CodexRun(proc.returncode, events, proc.stderr, workdir)

    return run


@pytest.fixture
def fresh_mock(mock: MockUpstream):
    mock.reset()
    yield mock
    mock.reset()


# ---- the echo ---------------------------------------------------------------------


def test_codex_answers_through_the_echo(codex) -> None:
    # No word of any of Codex's tool names, so the echo answers with text.
    prompt = "Hello from Codex, dragon! Say this back."
    run = codex(prompt)
    run.check_ok()
    # The last user turn ends with the prompt (Codex sends its environment
    # context as a user message just before it).
    [answer] = run.messages
    assert answer.endswith(prompt), run.describe()


def test_codex_runs_a_command_the_echo_asks_for(codex) -> None:
    # "exec" names Codex's exec_command tool; its one required argument `cmd`
    # gets the whole text (no capitalised word after the first), which is a
    # shell command. Codex runs it and sends function_call_output back; the echo
    # quotes that output as the final answer.
    prompt = f"exec echo {MARKER}"
    run = codex(prompt)
    run.check_ok()
    [command] = run.items("command_execution")
    assert prompt in command["command"], run.describe()
    assert command["exit_code"] == 0 and command["status"] == "completed", run.describe()
    assert MARKER in command["aggregated_output"], run.describe()
    [answer] = run.messages
    assert answer.startswith("Tool result "), run.describe()
    assert MARKER in answer, run.describe()


def test_codex_custom_apply_patch_tool_round_trip(codex) -> None:
    # For a model it knows Codex offers apply_patch as a freeform `custom` tool;
    # the gateway offers it to the upstream as a one-string-argument function
    # and turns the call back into a custom_tool_call. "apply" names it; the
    # echo's argument is no valid patch, so Codex answers with its verification
    # error as custom_tool_call_output, which the echo quotes.
    run = codex("apply a patch to nothing at all", model="gpt-5.5")
    run.check_ok()
    [answer] = run.messages
    assert answer.startswith("Tool result "), run.describe()
    assert "apply_patch" in answer, run.describe()
    assert list(run.workdir.iterdir()) == []


def test_codex_over_the_websocket_transport(codex) -> None:
    # supports_websockets: Codex opens ws://.../v1/responses, sends a warm-up
    # response.create with generate: false, then the turn; it falls back to
    # HTTP (with an error item saying so) when the socket fails.
    prompt = "Hello over the socket, dragon."
    run = codex(prompt, websockets=True)
    run.check_ok()
    [answer] = run.messages
    assert answer.endswith(prompt), run.describe()
    assert "Falling back" not in json.dumps(run.events), run.describe()


def test_codex_tool_round_trip_over_the_websocket(codex) -> None:
    run = codex(f"exec echo {MARKER}", websockets=True)
    run.check_ok()
    [command] = run.items("command_execution")
    assert MARKER in command["aggregated_output"], run.describe()
    [answer] = run.messages
    assert MARKER in answer, run.describe()
    assert "Falling back" not in json.dumps(run.events), run.describe()


# ---- scripted upstreams -----------------------------------------------------------


def _openai_exec_call(call_id: str, cmd: str) -> dict:
    kind = OpenAIKind()
    args = json.dumps({"cmd": cmd})
    start = {"index": 0, "id": call_id, "type": "function",
             "function": {"name": "exec_command", "arguments": ""}}
    return kind._chunks([{"role": "assistant", "tool_calls": [start]},
                         {"tool_calls": [{"index": 0, "function": {"arguments": args[:9]}}]},
                         {"tool_calls": [{"index": 0, "function": {"arguments": args[9:]}}]}],
                        "tool_calls")


def _anthropic_exec_call(call_id: str, cmd: str) -> dict:
    kind = AnthropicKind()
    args = json.dumps({"cmd": cmd})
    block = {"type": "tool_use", "id": call_id, "name": "exec_command", "input": {}}
    return kind._events(block, [{"type": "input_json_delta", "partial_json": args[:9]},
                                {"type": "input_json_delta", "partial_json": args[9:]}], "tool_use")


def _responses_exec_call(call_id: str, cmd: str) -> dict:
    kind = ResponsesKind(relay=True)
    args = json.dumps({"cmd": cmd})
    call = {"id": "fc_codex", "type": "function_call", "status": "completed", "call_id": call_id,
            "name": "exec_command", "arguments": args}
    at = {"item_id": "fc_codex", "output_index": 0}
    items = [
        {"type": "response.output_item.added", "output_index": 0,
         "item": {**call, "status": "in_progress", "arguments": ""}},
        {"type": "response.function_call_arguments.delta", **at, "delta": args[:9]},
        {"type": "response.function_call_arguments.delta", **at, "delta": args[9:]},
        {"type": "response.function_call_arguments.done", **at, "name": "exec_command", "arguments": args},
        {"type": "response.output_item.done", "output_index": 0, "item": call},
    ]
    return kind._events(items, [call])


SCRIPTED = {
    "openai-upstream": (OpenAIKind, _openai_exec_call, "call_codex_0001"),
    "anthropic-upstream": (AnthropicKind, _anthropic_exec_call, "toolu_codex_0001"),
    # Codex's own requests relayed to a Responses upstream, as it wrote them.
    "responses-upstream": (lambda: ResponsesKind(relay=True), _responses_exec_call, "call_codex_0002"),
}


@pytest.fixture(params=list(SCRIPTED))
def scripted(request, fresh_mock):
    kind, exec_call, call_id = SCRIPTED[request.param]
    return kind(), exec_call, call_id


def _last_user_text(kind, body: dict) -> str:
    """The text of the last user turn of an upstream request, in its own shape."""
    if isinstance(kind, ResponsesKind):
        [last] = [i for i in body["input"] if i.get("role") == "user"][-1:]
        return "".join(p.get("text", "") for p in last["content"] if p.get("type") == "input_text")
    [last] = [m for m in body["messages"] if m["role"] == "user"][-1:]
    content = last["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def test_codex_answers_through_a_scripted_upstream(codex, scripted, fresh_mock, key) -> None:
    kind, _, _ = scripted
    fresh_mock.push(kind.text_stream(["Hello from ", "the scripted ", "upstream."]))
    prompt = "Hello from Codex, upstream! Say something."
    run = codex(prompt, model=kind.model)
    run.check_ok()
    assert run.messages == ["Hello from the scripted upstream."], run.describe()
    [request] = fresh_mock.received()
    body = request["body"]
    assert request["path"] == kind.path
    assert key not in json.dumps(request["headers"])
    assert body["model"] == kind.upstream_model
    assert body["stream"] is True
    assert _last_user_text(kind, body).endswith(prompt)
    names = [t["function"]["name"] if "function" in t else t["name"] for t in body["tools"]]
    assert names[0] == "exec_command", names
    exec_tool = body["tools"][0]
    schema = (exec_tool["function"]["parameters"] if "function" in exec_tool
              else exec_tool.get("parameters") or exec_tool["input_schema"])
    assert schema["required"] == ["cmd"]
    if isinstance(kind, ResponsesKind):
        # Relayed as Codex wrote it: its own fields, and
        # the tools it offers, hosted and custom ones included.
        assert body["store"] is False
        assert "reasoning.encrypted_content" in body.get("include", [])
        assert body["prompt_cache_key"] and not body["prompt_cache_key"].startswith("mws-")
        assert {t["type"] for t in body["tools"]} >= {"function"}
    # Codex's developer messages become the system prompt.
    elif isinstance(kind, OpenAIKind):
        assert body["messages"][0]["role"] == "system"
    else:
        assert body["system"]


def test_codex_tool_round_trip_through_a_scripted_upstream(codex, scripted, fresh_mock, key) -> None:
    kind, exec_call, call_id = scripted
    fresh_mock.push(exec_call(call_id, f"echo {MARKER}"), kind.text_stream(["Ran it: ", "all good."]))
    run = codex("Run the marker command, please.", model=kind.model)
    run.check_ok()
    [command] = run.items("command_execution")
    assert command["exit_code"] == 0 and MARKER in command["aggregated_output"], run.describe()
    assert run.messages == ["Ran it: all good."], run.describe()
    first, second = fresh_mock.received()
    assert first["body"]["stream"] is True and second["body"]["stream"] is True
    # The call and its output reach the upstream in its own shape, the id verbatim.
    body = second["body"]
    if isinstance(kind, ResponsesKind):
        # Codex sends the whole conversation itself (store: false): the
        # upstream's call item verbatim, then Codex's output for it.
        assert "previous_response_id" not in body
        call, result = [i for i in body["input"] if i.get("type") in ("function_call", "function_call_output")][-2:]
        assert (call["call_id"], call["name"]) == (call_id, "exec_command")
        assert json.loads(call["arguments"]) == {"cmd": f"echo {MARKER}"}
        assert (result["type"], result["call_id"]) == ("function_call_output", call_id)
        output = result["output"] if isinstance(result["output"], str) else json.dumps(result["output"])
    elif isinstance(kind, OpenAIKind):
        assistant, result = body["messages"][-2:]
        [call] = assistant["tool_calls"]
        assert (call["id"], call["function"]["name"]) == (call_id, "exec_command")
        assert json.loads(call["function"]["arguments"]) == {"cmd": f"echo {MARKER}"}
        assert (result["role"], result["tool_call_id"]) == ("tool", call_id)
        output = result["content"] if isinstance(result["content"], str) else json.dumps(result["content"])
    else:
        assistant, user = body["messages"][-2:]
        [use] = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert (use["id"], use["name"], use["input"]) == (call_id, "exec_command", {"cmd": f"echo {MARKER}"})
        [result] = [b for b in user["content"] if b["type"] == "tool_result"]
        assert result["tool_use_id"] == call_id
        output = json.dumps(result["content"])
    assert MARKER in output
