"""The C host example (examples/c/host.c) serving the gateway from libmws, driven
by the official openai and anthropic SDKs, then stopped with a signal.

The binary comes from $MWS_C_HOST_BIN (scripts/test.sh builds examples/c and
sets it). One run is under valgrind, failing on any invalid access or definite
leak, so the example that hosts the server is checked like the others.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import anthropic
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"^mws host listening on (http://127\.0\.0\.1:\d+)$")
KEY = re.compile(r"^api key: (mws_live_[0-9A-Za-z]{32,})$")
VALGRIND_FLAGS = [
    "--error-exitcode=99",
    "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect",
    "--show-leak-kinds=definite,indirect",
    f"--suppressions={REPO / 'ffi/tests/c/valgrind.supp'}",
    "--quiet",
]
# Valgrind runs the library some 20-50 times slower.
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 120


def host_binary() -> str:
    binary = os.environ.get("MWS_C_HOST_BIN")
    if not binary:
        pytest.skip("MWS_C_HOST_BIN is not set: scripts/test.sh builds examples/c and sets it")
    assert os.access(binary, os.X_OK), f"MWS_C_HOST_BIN={binary} is not an executable file"
    return binary


class Host:
    """The host example as a process; its output is read by threads."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout.put)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr.append)),
        ]
        for t in self._threads:
            t.daemon = True
            t.start()

    @staticmethod
    def _read(stream, sink) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def announced(self) -> tuple[str, str]:
        url = key = None
        while url is None or key is None:
            try:
                line = self.stdout.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                self.proc.kill()
                raise AssertionError("host announced nothing:\n" + "\n".join(self.stderr))
            if m := LISTENING.match(line):
                url = m.group(1)
            if m := KEY.match(line):
                key = m.group(1)
        return url, key

    def stop(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        for t in self._threads:
            t.join(10)
        return code


@pytest.mark.parametrize(
    ("valgrind", "sig"),
    [(False, signal.SIGINT), (False, signal.SIGTERM), (True, signal.SIGINT)],
    ids=["sigint", "sigterm", "valgrind-sigint"],
)
def test_sdks_against_the_c_host(valgrind: bool, sig: signal.Signals, tmp_path: Path) -> None:
    argv = [host_binary(), "127.0.0.1:0"]
    if valgrind:
        tool = shutil.which("valgrind")
        if tool is None:
            pytest.skip("valgrind is not installed (scripts/test.sh installs it)")
        argv = [tool, *VALGRIND_FLAGS, *argv]
    host = Host(argv, tmp_path)
    url, key = host.announced()

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)
    reply = client.chat.completions.create(
        model="dragon",
        messages=[{"role": "user", "content": "Hello through the C host"}],
    )
    assert reply.choices[0].message.content == "Hello through the C host"
    assert reply.model == "dragon"

    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "streamed through the C host"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "streamed through the C host"

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{url}/v1", api_key="mws_live_" + "x" * 32, max_retries=0).models.list()

    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=60)
    message = claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=[{"role": "user", "content": "Anthropic through the C host"}],
    )
    assert message.content[0].text == "Anthropic through the C host"

    code = host.stop(sig)
    log = "\n".join(host.stderr)
    assert code == 0, f"host exited {code}:\n{log}"
    assert f"{sig.name} received" in log
    assert "host: stopped" in log
