"""The Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned in
tests/claude-code) run headless (`claude -p`) against a real gateway, offline,
with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY pointed at it: on the echo, and
translated to each remote upstream kind on the scripted mock (its default
answers: "Hello from the mock upstream.", 10 input tokens of which 4 cached on
the Responses API). Checks what Claude Code printed and what each upstream got."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import MOCK_UPSTREAM_KEYS, MockUpstream, echo_and_mock_profiles, gateway_config, make_account
from test_upstreams_sdk import AnthropicKind, OpenAIKind, ResponsesKind

CLAUDE_TIMEOUT_S = 120
MOCK_TEXT = "Hello from the mock upstream."


def _claude_bin() -> str:
    default = Path(__file__).resolve().parents[1] / "claude-code" / "node_modules" / ".bin" / "claude"
    binary = os.environ.get("MWS_CLAUDE_BIN", str(default))
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no Claude Code CLI at {binary}: run scripts/test.sh, or `npm ci` in "
                    "tests/claude-code (or point MWS_CLAUDE_BIN at a claude binary)")
    return binary


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
    return make_account(gateway_url, 1000, name="claude-code").key


def claude(tmp_path: Path, gateway_url: str, key: str, prompt: str, model: str) -> dict:
    """`claude -p PROMPT --output-format json` in a fresh home, nothing of it
    leaving the machine; its JSON result."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    for d in (home, work):
        d.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "ANTHROPIC_BASE_URL": gateway_url, "ANTHROPIC_API_KEY": key, "ANTHROPIC_MODEL": model,
           "ANTHROPIC_SMALL_FAST_MODEL": model, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1"}
    proc = subprocess.run([_claude_bin(), "-p", prompt, "--output-format", "json"], cwd=work, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CLAUDE_TIMEOUT_S)
    assert proc.returncode == 0, f"claude exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def test_claude_code_through_the_echo(tmp_path, gateway_url, key) -> None:
    # The echo answers the user's own words, not Claude Code's system reminders.
    result = claude(tmp_path, gateway_url, key, "Say hello to the dragon", "dragon")
    assert result["is_error"] is False, result
    assert result["result"] == "Say hello to the dragon", result


@pytest.mark.parametrize("kind", [OpenAIKind(), AnthropicKind(), ResponsesKind()],
                         ids=["openai-upstream", "anthropic-upstream", "responses-upstream"])
def test_claude_code_through_each_upstream_kind(tmp_path, gateway_url, key, mock, kind) -> None:
    mock.reset()
    result = claude(tmp_path, gateway_url, key, "Say hello", kind.model)
    assert result["is_error"] is False, result
    assert result["result"] == MOCK_TEXT, result
    received = [r for r in mock.received() if r["path"] == kind.path]
    assert received, mock.received()
    body = received[-1]["body"]
    assert body["model"] == kind.upstream_model
    assert body["stream"] is True
    assert key not in json.dumps(received[-1]["headers"])
    if isinstance(kind, ResponsesKind):
        # Translated: its system prompt as instructions, its tools as
        # non-strict functions, stateless, one cache key for the session.
        assert body["instructions"] and body["store"] is False
        assert body["tools"] and all(t["type"] == "function" and t["strict"] is False for t in body["tools"])
        assert body["prompt_cache_key"].startswith("mws-")
        # The mock reports 4 of its 10 input tokens cached: apart, as Anthropic counts.
        assert result["usage"]["cache_read_input_tokens"] == 4, result["usage"]
        assert result["usage"]["input_tokens"] == 6, result["usage"]
    elif isinstance(kind, OpenAIKind):
        assert body["messages"][0]["role"] == "system"
    else:
        # Same kind: Claude Code's own body, verbatim but the model (2.1.337
        # ends it with a message of role "system", which goes up as sent).
        assert body["system"] and any(m["role"] == "user" for m in body["messages"])
