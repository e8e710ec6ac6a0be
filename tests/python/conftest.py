"""Start real `mws-gateway` processes for the end-to-end tests.

The binary comes from $MWS_GATEWAY_BIN (scripts/test.sh builds it and sets it);
the scripted mock upstream from $MWS_MOCK_BIN (`start_mock`).
Each gateway gets its own temporary config and working directory (its cwd, where
its sqlite store `gateway.db` lives), listens on 127.0.0.1 port 0, and
announces its address on stderr; a thread keeps reading its output afterwards
so the pipe never fills up.

Every /v1 request needs a valid API key, so each gateway has the admin API on
(token in MWS_ADMIN_TOKEN) and the fixtures below create accounts and keys
through it.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

ADMIN_TOKEN = "mws-admin-test-" + secrets.token_hex(16)

# The stores a test gateway can run on; the workdir is the gateway's cwd, so the
# sqlite file lands there. Every test gateway has the admin API on.
STORES = {
    "sqlite": '[store]\nkind = "sqlite"\npath = "gateway.db"\n',
    "memory": '[store]\nkind = "memory"\n',
}

ADMIN_CONFIG = """\
[admin]
token_env = "MWS_ADMIN_TOKEN"
"""

# Generous limits so the suite never trips a limiter by accident: per IP for
# requests without a key, and one tier for every account.
HIGH_LIMITS = """\
[limits]
unauthenticated_rpm_per_ip = 100000
unauthenticated_tpm_per_ip = 1000000000

[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 100000
tpm = 1000000000
"""

LISTENING = re.compile(r"mws-gateway listening on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def gateway_config(limits: str = HIGH_LIMITS, extra: str = "", store: str = "sqlite") -> str:
    """A full config: the store (sqlite in the workdir, or memory), the admin
    API, `limits`, then `extra`."""
    return STORES[store] + "\n" + ADMIN_CONFIG + "\n" + limits + "\n" + extra


def gateway_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["MWS_ADMIN_TOKEN"] = ADMIN_TOKEN
    env.pop("MWS_CONFIG", None)
    env.update(extra or {})
    return env


class Gateway:
    """One running gateway process."""

    def __init__(
        self, binary: str, config: Path | None, workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.workdir = workdir
        self.config = config
        self.log: deque[str] = deque(maxlen=2000)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        argv = [binary, "serve", "--listen", "127.0.0.1:0"]
        if config is not None:
            argv[1:1] = ["--config", str(config)]
        self.proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=gateway_env(env),
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
            (self.stderr if announce else self.stdout).append(line)
            if announce and self.url is None:
                match = LISTENING.search(line)
                if match:
                    self.url = match.group(1)
                    self._ready.set()
        # The process closed its output: it is gone, stop waiting for it.
        if announce:
            self._ready.set()

    def admin(self) -> httpx.Client:
        """A client for this gateway's admin API; close it (or use `with`)."""
        assert self.url is not None
        return admin_client(self.url)

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

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing; what is durable is what survives."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        for thread in self._threads:
            thread.join(5)


def admin_client(url: str) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )


@dataclass
class Account:
    """An account made for a test, with one key."""

    id: str
    key: str
    key_id: str
    url: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def client(self, **kwargs) -> httpx.Client:
        """An httpx client on the gateway sending this account's key."""
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=30, **kwargs)


def make_account(
    url: str,
    usd: float | str | None = 1000,
    *,
    name: str = "test",
    plan: str | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
) -> Account:
    """Create an account on the gateway at `url` holding `usd` of credits (and a
    plan, when given) and one key, optionally with its own rpm/tpm throttle."""
    with admin_client(url) as admin:
        response = admin.post("/admin/accounts", json={"name": name})
        assert response.status_code == 201, response.text
        account_id = response.json()["id"]
        if usd:
            response = admin.post(f"/admin/accounts/{account_id}/credits", json={"amount_usd": usd})
            assert response.status_code == 200, response.text
        if plan is not None:
            response = admin.put(f"/admin/accounts/{account_id}/plan", json={"plan": plan})
            assert response.status_code == 200, response.text
        body: dict[str, object] = {"name": f"{name}-key"}
        if rpm is not None:
            body["rpm"] = rpm
        if tpm is not None:
            body["tpm"] = tpm
        response = admin.post(f"/admin/accounts/{account_id}/keys", json=body)
        assert response.status_code == 201, response.text
        key = response.json()
    assert key["key"].startswith("mws_live_")
    return Account(id=account_id, key=key["key"], key_id=key["id"], url=url)


# The kinds of scripted upstream on the mock, and the key a gateway sends to
# each (`echo_and_mock_profiles`), from the environment variable `mock_key_env`
# names.
MOCK_KINDS = ("openai", "anthropic", "openai-responses")


def mock_key_env(kind: str) -> str:
    """The environment variable holding the key of the mock upstream of `kind`."""
    return f"MOCK_{kind.upper().replace('-', '_')}_KEY"


MOCK_UPSTREAM_KEYS = {"MOCK_OPENAI_KEY": "sk-up-openai-test", "MOCK_ANTHROPIC_KEY": "sk-ant-up-test",
                      "MOCK_OPENAI_RESPONSES_KEY": "sk-up-responses-test"}


def mock_upstreams(mock_base_url: str) -> str:
    """One [[upstreams]] entry per kind in MOCK_KINDS, `mock-{kind}`, on the
    scripted mock at `mock_base_url` (no retries)."""
    return "".join(
        f'[[upstreams]]\nname = "mock-{kind}"\nkind = "{kind}"\nbase_url = "{mock_base_url}"\n'
        f'api_key_env = "{mock_key_env(kind)}"\nmax_retries = 0\n'
        for kind in MOCK_KINDS)


def profile_config(profile_id: str, upstream: str, model: str) -> str:
    """One [[profiles]] entry with a round price and context window."""
    return (f'[[profiles]]\nid = "{profile_id}"\nupstream = "{upstream}"\n'
            f'upstream_model = "{model}"\ncontext_window = 200000\ntokens_per_second = 100\n'
            "input_price_per_mtok = 1.0\noutput_price_per_mtok = 2.0\n")


def echo_and_mock_profiles(mock_base_url: str, openai_model: str, anthropic_model: str,
                           responses_model: str = "up-resp") -> str:
    """Config for four profiles, one per upstream kind: `dragon` on the echo
    (the default), `via-openai`, `via-anthropic` and `via-responses` on the
    scripted mock at `mock_base_url` as an OpenAI-kind, an Anthropic-kind and
    an `openai-responses` upstream (no retries; start the gateway with
    MOCK_UPSTREAM_KEYS in its environment)."""
    upstreams = '[[upstreams]]\nname = "echo"\nkind = "echo"\n' + mock_upstreams(mock_base_url)
    return (upstreams + profile_config("dragon", "echo", "echo")
            + profile_config("via-openai", "mock-openai", openai_model)
            + profile_config("via-anthropic", "mock-anthropic", anthropic_model)
            + profile_config("via-responses", "mock-openai-responses", responses_model)
            + '[routing]\ndefault_profile = "dragon"\naliases = {}\n')


def _binary(var: str = "MWS_GATEWAY_BIN", build: str = "-p mws-core --bin mws-gateway") -> str:
    binary = os.environ.get(var)
    if not binary:
        pytest.exit(
            f"{var} is not set: run scripts/test.sh, or build with "
            f"`cargo build {build}` and export its path",
            returncode=2,
        )
    if not os.access(binary, os.X_OK):
        pytest.exit(f"{var}={binary} is not an executable file", returncode=2)
    return binary


class MockUpstream:
    """The scripted upstream (`mock-upstream --record`): both APIs on one address,
    answering from a queue filled through its /_mock control routes (see
    core/src/testing.rs) and recording every request."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen(
            [binary, "--record"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # it prints its address, then nothing
        match = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"mock-upstream did not announce its address: {line!r}")
        self.addr = match.group(1)
        self.control = httpx.Client(base_url=f"http://{self.addr}/_mock", timeout=10)

    @property
    def base_url(self) -> str:
        """What an [[upstreams]] entry takes as base_url."""
        return f"http://{self.addr}/v1"

    def reset(self) -> None:
        """Drops queued replies and recorded requests."""
        for path in ("/replies", "/received"):
            assert self.control.delete(path).status_code == 204

    def push(self, *replies: dict) -> None:
        """Queues replies: {"json": BODY, "status", "headers"}, {"sse": [FRAME]},
        {"openai_chunks": [CHUNK]}, {"anthropic_events": [EVENT]} or
        {"responses_events": [EVENT]}."""
        response = self.control.post("/replies", json={"replies": list(replies)})
        assert response.status_code == 200, response.text

    def received(self) -> list[dict]:
        """[{"path", "headers", "body"}] of every request, oldest first."""
        response = self.control.get("/received")
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "control"):
            self.control.close()


@pytest.fixture(scope="session")
def gateway_bin() -> str:
    return _binary()


@pytest.fixture(scope="session")
def start_gateway(tmp_path_factory, gateway_bin: str) -> Iterator[Callable[..., Gateway]]:
    """Factory: start a gateway with the given TOML config text (a full config:
    build it with `gateway_config`) in a new workdir, or in `workdir` to restart
    on the same store; `config_text=None` starts it with no config at all; `env`
    adds environment variables. Stopped at session end."""
    started: list[Gateway] = []

    def start(
        config_text: str | None, workdir: Path | None = None, env: dict[str, str] | None = None
    ) -> Gateway:
        if workdir is None:
            workdir = tmp_path_factory.mktemp("gateway")
        config = None
        if config_text is not None:
            config = workdir / "gateway.toml"
            config.write_text(config_text, encoding="utf-8")
        gateway = Gateway(gateway_bin, config, workdir, env)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def start_mock() -> Iterator[Callable[[], MockUpstream]]:
    """Factory: start a scripted mock upstream ($MWS_MOCK_BIN). Stopped at session end."""
    binary = _binary("MWS_MOCK_BIN", "-p mws-bench --bin mock-upstream")
    started: list[MockUpstream] = []

    def start() -> MockUpstream:
        mock = MockUpstream(binary)
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()


@pytest.fixture(scope="session")
def main_gateway(start_gateway) -> Gateway:
    """The gateway most tests share: built-in catalogue, sqlite, high limits."""
    return start_gateway(gateway_config())


@pytest.fixture(scope="session")
def gateway_url(main_gateway: Gateway) -> str:
    """Base URL (no trailing slash, no /v1) of the main gateway."""
    assert main_gateway.url is not None
    return main_gateway.url


@pytest.fixture(scope="session")
def api_base(gateway_url: str) -> str:
    """The OpenAI-style base URL: gateway + /v1."""
    return gateway_url + "/v1"


@pytest.fixture(scope="session")
def admin(main_gateway: Gateway) -> Iterator[httpx.Client]:
    """An httpx client for the main gateway's admin API."""
    with main_gateway.admin() as client:
        yield client


@pytest.fixture(scope="session")
def account(gateway_url: str) -> Account:
    """The shared account on the main gateway: $1000 and one key."""
    return make_account(gateway_url, 1000, name="shared")


@pytest.fixture(scope="session")
def api_key(account: Account) -> str:
    """A valid key of an account holding $1000 on the main gateway."""
    return account.key


@pytest.fixture(scope="session")
def new_account() -> Callable[..., Account]:
    """Factory: `new_account(url, usd=1000, plan=..., rpm=..., tpm=...)` makes a
    fresh account with one key on any gateway."""
    return make_account
