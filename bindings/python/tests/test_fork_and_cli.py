"""The runtime across os.fork(), and the mws-gateway console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import httpx
import pytest

from conftest import CHAT
from mws_gateway import Gateway, MwsError

MWS_GATEWAY = str(Path(sys.executable).parent / "mws-gateway")


def in_child(check: Callable[[], bool]) -> int:
    """Runs `check()` in a forked child; its exit status (0 when it passed)."""
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads; that is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if check() else 3
        except BaseException as e:  # report anything, never return into pytest
            print(f"child failed: {e!r}", file=sys.stderr)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_after_fork_the_child_gets_a_fresh_runtime_and_old_gateways_refuse() -> None:
    parent = Gateway()
    parent.chat_completions(CHAT)  # the parent's runtime is running
    stream = parent.chat_completions_stream(CHAT)
    server = parent.serve()

    def check() -> bool:
        with pytest.raises(MwsError, match="os.fork") as err:
            parent.chat_completions(CHAT)
        assert err.value.type == "process_forked" and err.value.status == 500
        with pytest.raises(MwsError, match="os.fork"):
            next(stream)
        with pytest.raises(MwsError, match="os.fork"):
            parent.admin.create_account("x")
        server.close()  # the parent's server: nothing to stop here, no error
        child = Gateway()
        reply = child.chat_completions(CHAT)
        streamed = list(child.messages_stream({**CHAT, "max_tokens": 50}))
        with child.serve() as own:
            assert own.port != server.port
        return bool(reply["choices"][0]["message"]["content"] == "Hello, dragon!" and streamed)

    assert in_child(check) == 0
    # The parent is untouched.
    assert parent.chat_completions(CHAT)["choices"][0]["message"]["content"] == "Hello, dragon!"
    assert next(stream)["object"] == "chat.completion.chunk"
    stream.close()
    server.close()


def test_the_console_script_help() -> None:
    out = subprocess.run([MWS_GATEWAY, "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "Usage: mws-gateway" in out.stdout
    for command in ("serve", "accounts", "credits", "keys", "usage"):
        assert command in out.stdout
    bad = subprocess.run(
        [MWS_GATEWAY, "no-such-command"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "unrecognized subcommand" in bad.stderr


def test_the_console_script_runs_the_admin_commands(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(f'[store]\nkind = "sqlite"\npath = "{tmp_path / "gw.db"}"\n')

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MWS_GATEWAY, *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )

    created = run("accounts", "create", "--name", "x")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert account["name"] == "x" and account["id"].startswith("acct_")
    credited = json.loads(run("credits", "add", account["id"], "--usd", "25").stdout)
    assert credited["balance_usd"] == 25
    key = json.loads(run("keys", "create", account["id"], "--rpm", "10").stdout)
    assert key["key"].startswith("mws_live_") and key["rpm"] == 10
    # The same store from Python sees what the command line wrote.
    gw = Gateway(config_path=config)
    gw.chat_completions(CHAT, api_key=key["key"])
    usage = json.loads(run("usage", account["id"]).stdout)
    assert usage["totals"]["requests"] == 1
    missing = run("accounts", "show", "acct_missing")
    assert missing.returncode == 1
    assert (
        json.loads(missing.stderr.strip().splitlines()[-1])["error"]["type"]
        == "invalid_request_error"
    )
    assert (tmp_path / "gw.db").exists() and not (tmp_path / "mws-data").exists()


def test_python_dash_m_runs_the_same_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mws_gateway", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and out.stdout.startswith("mws-gateway ")


def test_the_console_script_serves_until_sigint(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('[store]\nkind = "memory"\n')
    child = subprocess.Popen(
        [MWS_GATEWAY, "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("mws-gateway listening on http://127.0.0.1:")
    url = line.split()[-1]
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "draining requests in flight" in err and "Traceback" not in err
