"""Start real `mws-gateway` processes for the end-to-end tests.

The binary comes from $MWS_GATEWAY_BIN (scripts/test.sh builds it and sets it).
Each gateway gets its own temporary config and working directory, listens on
127.0.0.1 port 0, and announces its address on stderr; a thread keeps reading
its output afterwards so the pipe never fills up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections import deque
from pathlib import Path
from typing import Callable, Iterator

import pytest

# Generous limits so the suite never trips the per-IP limiter by accident.
HIGH_LIMITS = """\
[limits]
unauthenticated_rpm_per_ip = 100000
unauthenticated_tpm_per_ip = 1000000000
"""

LISTENING = re.compile(r"mws-gateway listening on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


class Gateway:
    """One running gateway process."""

    def __init__(self, binary: str, config: Path, workdir: Path) -> None:
        self.log: deque[str] = deque(maxlen=500)
        self.url: str | None = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [binary, "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._threads = [
            threading.Thread(target=self._drain, args=(self.proc.stderr, True), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stdout, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self.url is None:
            try:
                self.proc.wait(1)  # it may be exiting: let its exit code arrive
            except subprocess.TimeoutExpired:
                pass
            running = self.proc.poll() is None
            self.stop()
            why = (
                f"did not announce its address within {START_TIMEOUT_S}s"
                if running
                else f"exited with code {self.proc.returncode} before announcing its address"
            )
            raise RuntimeError(f"mws-gateway {why}; output:\n" + "\n".join(self.log))

    def _drain(self, stream, announce: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            self.log.append(line)
            if announce and self.url is None:
                match = LISTENING.search(line)
                if match:
                    self.url = match.group(1)
                    self._ready.set()
        # The process closed its output: it is gone, stop waiting for it.
        if announce:
            self._ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for thread in self._threads:
            thread.join(5)


def _binary() -> str:
    binary = os.environ.get("MWS_GATEWAY_BIN")
    if not binary:
        pytest.exit(
            "MWS_GATEWAY_BIN is not set: run scripts/test.sh, or build with "
            "`cargo build -p mws-core --bin mws-gateway` and export its path",
            returncode=2,
        )
    if not os.access(binary, os.X_OK):
        pytest.exit(f"MWS_GATEWAY_BIN={binary} is not an executable file", returncode=2)
    return binary


@pytest.fixture(scope="session")
def start_gateway(tmp_path_factory) -> Iterator[Callable[[str], Gateway]]:
    """Factory: start a gateway with the given TOML config text; stopped at session end."""
    binary = _binary()
    started: list[Gateway] = []

    def start(config_text: str) -> Gateway:
        workdir = tmp_path_factory.mktemp("gateway")
        config = workdir / "gateway.toml"
        config.write_text(config_text, encoding="utf-8")
        gateway = Gateway(binary, config, workdir)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def gateway_url(start_gateway) -> str:
    """Base URL (no trailing slash, no /v1) of a gateway on the built-in catalogue."""
    gateway = start_gateway(HIGH_LIMITS)
    assert gateway.url is not None
    return gateway.url


@pytest.fixture(scope="session")
def api_base(gateway_url: str) -> str:
    """The OpenAI-style base URL: gateway + /v1."""
    return gateway_url + "/v1"
