"""The fault suite: the real `mws-gateway` binary, as its own process, in front of
a faulty upstream (faulty_upstream.py) under concurrent load (fault_load.py),
with the sqlite file made read-only for a while in the middle. Afterwards:
every response had the outcome its fault must give, the upstream calls were
cancelled or bounded, the ledger and the balances agree to the nano-dollar with
no money left reserved, the process kept its pid and came back to its baseline
of file descriptors, sockets and memory, and its logs (at debug level here, at
the default level in the read-only test) hold no key, admin token or prompt.

Making the file read-only honestly: the tests run as root, which ignores
permission bits, so they set the immutable flag (`chattr +i`, which root must
obey too) on gateway.db and gateway.db-wal; every write then fails with EPERM
(SQLITE_IOERR_WRITE). Where the flag cannot be set (no CAP_LINUX_IMMUTABLE, or
a filesystem without it) those parts are skipped, loudly.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN_TOKEN, Gateway, gateway_config, make_account
from fault_load import ERR500_TRIES, HELD, PAIRS, PROMPT_MARK, Load, judge
from test_accounts import NANOS, get_account, get_usage, nanos

UPSTREAM_KEY = "faulty-upstream-secret-" + secrets.token_hex(16)
WARM_UP_S, SOAK_S, WORKERS = 5, 20, 40
READ_ONLY_AT_S, READ_ONLY_FOR_S = 7, 3
CREDITS = 30  # dollars per account
# RSS after the soak may exceed the warmed-up baseline by this factor plus
# this many MiB (allocator caches, lazily grown tables); a leak of a task, a
# connection or a buffer per request over thousands of requests goes past it.
RSS_FACTOR, RSS_SLACK_MIB = 1.15, 8


def upstreams_config(upstream: str, hole: str) -> str:
    timeouts = (
        'api_key_env = "FAULTY_UPSTREAM_KEY"\nconnect_timeout_secs = 1.0\n'
        "first_byte_timeout_secs = 1.5\nidle_timeout_secs = 1.5\nmax_retries = 1\n"
    )
    profile = (
        '[[profiles]]\nid = "{id}"\nupstream = "{up}"\nupstream_model = "m"\n'
        "context_window = 100000\ntokens_per_second = 100\ninput_price_per_mtok = 0.48\n"
        "output_price_per_mtok = 1.08\nfallbacks = [{fb}]\n"
    )
    upstream_ = '[[upstreams]]\nname = "{}"\nkind = "{}"\nbase_url = "http://{}/v1"\n' + timeouts
    return "\n".join([
        upstream_.format("oa", "openai", upstream),
        upstream_.format("an", "anthropic", upstream),
        upstream_.format("hole", "openai", hole),
        profile.format(id="dragon", up="oa", fb=""),
        profile.format(id="dragon-pro", up="an", fb=""),
        profile.format(id="dragon-flash", up="oa", fb='"an"'),
        profile.format(id="dragon-blitz", up="hole", fb=""),
    ])


@pytest.fixture(scope="module")
def faulty_upstream():
    """The faulty upstream's address; a process of its own."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("faulty_upstream.py"))],
        stdout=subprocess.PIPE, text=True,
    )
    match = re.search(r"listening on (\S+)", proc.stdout.readline())
    assert match, "the faulty upstream did not start"
    yield match.group(1)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        # Python 3.11's wait_for can swallow the cancellation of a held
        # connection's task (up to HANG_LIMIT_S); how it exits is not under test.
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def black_hole():
    """An address whose connects hang: a listener with a backlog of one,
    already taken, so the kernel drops further SYNs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    yield "%s:%d" % listener.getsockname()
    filler.close()
    listener.close()


def start(start_gateway, upstream: str, hole: str, workdir=None, log_level=None) -> Gateway:
    env = {"FAULTY_UPSTREAM_KEY": UPSTREAM_KEY}
    if log_level:
        env["RUST_LOG"] = log_level
    return start_gateway(
        gateway_config(extra=upstreams_config(upstream, hole)), workdir=workdir, env=env
    )


def chattr(paths: list[Path], immutable: bool) -> bool:
    done = subprocess.run(["chattr", "+i" if immutable else "-i", *map(str, paths)],
                          capture_output=True)
    return done.returncode == 0


def store_files(gateway: Gateway) -> list[Path]:
    return [gateway.workdir / "gateway.db", gateway.workdir / "gateway.db-wal"]


def chattr_works(tmp: Path) -> bool:
    probe = tmp / "chattr-probe"
    probe.write_text("x")
    ok = chattr([probe], True) and chattr([probe], False)
    probe.unlink()
    return ok


@dataclass
class Usage:
    """What /proc says about a process."""

    fds: int
    sockets: int
    rss_kib: int

    @staticmethod
    def of(pid: int) -> "Usage":
        fds = sockets = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue  # closed meanwhile
            fds += 1
            sockets += target.startswith("socket:")
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        return Usage(fds, sockets, rss)


def settle_to(pid: int, limit: Usage | None, deadline_s: float) -> Usage:
    """The process's usage once its fds and sockets are at most `limit`'s (or,
    without a limit, unchanged for two seconds), or at the deadline."""
    deadline = time.monotonic() + deadline_s
    last, steady_since = Usage.of(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = Usage.of(pid)
        if limit is not None and now.fds <= limit.fds and now.sockets <= limit.sockets:
            return now
        if (now.fds, now.sockets) != (last.fds, last.sockets):
            last, steady_since = now, time.monotonic()
        elif limit is None and time.monotonic() - steady_since >= 2:
            return now
    return Usage.of(pid)


@dataclass
class Window:
    start: float
    end: float
    health_503: bool


async def read_only_window(gateway: Gateway, files: list[Path]) -> Window | None:
    """Makes the store read-only for a while, watching /health; None when the
    flag cannot be set here."""
    await asyncio.sleep(READ_ONLY_AT_S)
    if not chattr(files, True):
        return None
    start, health_503 = time.monotonic(), False
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            while time.monotonic() < start + READ_ONLY_FOR_S:
                r = await client.get("/health")
                if r.status_code == 503:
                    assert r.json()["status"] == "unavailable", r.text
                    health_503 = True
                await asyncio.sleep(0.1)
            chattr(files, False)
            deadline = time.monotonic() + 20
            while (await client.get("/health")).status_code != 200:
                assert time.monotonic() < deadline, "the store never recovered"
                await asyncio.sleep(0.05)
    finally:
        chattr(files, False)
    return Window(start, time.monotonic(), health_503)


@dataclass
class Soak:
    gateway: Gateway
    accounts: list
    load: Load
    window: Window | None
    baseline: Usage
    after: Usage
    upstream_stats: dict


@pytest.fixture(scope="module")
def soak(start_gateway, faulty_upstream, black_hole) -> Soak:
    gateway = start(start_gateway, faulty_upstream, black_hole, log_level="debug")
    pid = gateway.proc.pid
    accounts = [make_account(gateway.url, CREDITS, name=f"soak-{i}") for i in range(6)]
    load = Load(gateway.url, accounts, seed=7)
    asyncio.run(load.run(WARM_UP_S, WORKERS, n_start=0))
    load.outcomes.clear()
    baseline = settle_to(pid, None, 30)

    async def soak_run() -> Window | None:
        window = asyncio.ensure_future(read_only_window(gateway, store_files(gateway)))
        await load.run(SOAK_S, WORKERS, n_start=1_000_000)
        return await window

    try:
        window = asyncio.run(soak_run())
    finally:
        chattr(store_files(gateway), False)
    after = settle_to(pid, baseline, 30)
    stats = httpx.get(f"http://{faulty_upstream}/_faults/stats", timeout=10).json()
    return Soak(gateway, accounts, load, window, baseline, after, stats)


def test_every_response_had_its_faults_outcome(soak: Soak) -> None:
    outcomes = soak.load.outcomes
    assert len(outcomes) > 200, f"only {len(outcomes)} requests in {SOAK_S}s"
    window = (soak.window.start, soak.window.end) if soak.window else None
    wrong = [(o.request, why) for o in outcomes if (why := judge(o, window))]
    assert not wrong, f"{len(wrong)} of {len(outcomes)} wrong, e.g. {wrong[:5]}"
    seen = {(o.request.fault, o.request.stream) for o in outcomes if not o.store_refused}
    assert seen == set(PAIRS), f"faults not exercised: {set(PAIRS) - seen}"
    if soak.window is None:
        pytest.skip("chattr +i does not work here: the read-only store was NOT tested under load")
    assert soak.window.health_503, "/health never said 503 while the store was read-only"
    assert any(o.store_refused for o in outcomes), "nothing was refused while read-only"


def test_upstream_calls_were_cancelled_or_bounded(soak: Soak) -> None:
    calls, gone = soak.upstream_stats["calls"], set(soak.upstream_stats["gone"])
    done = [o for o in soak.load.outcomes if not o.store_refused]
    held = [o.request.tag for o in done if o.request.fault in HELD]
    assert held
    not_cancelled = [t for t in held if t not in gone]
    assert not not_cancelled, f"upstream calls left running: {not_cancelled[:10]}"
    # Both upstreams tried, each at most 1 + max_retries times (a try on a
    # pooled connection the upstream closed as idle never reaches it).
    retried = {o.request.tag: (calls.get(f"{o.request.tag}/openai", 0),
                               calls.get(f"{o.request.tag}/anthropic", 0))
               for o in done if o.request.fault == "err500"}
    assert retried
    assert all(1 <= n <= ERR500_TRIES for pair in retried.values() for n in pair), retried
    exact = sum(pair == (ERR500_TRIES, ERR500_TRIES) for pair in retried.values())
    assert exact >= 0.9 * len(retried), retried


def test_ledger_and_balances_agree_and_nothing_stays_reserved(soak: Soak) -> None:
    by_id = {}
    with soak.gateway.admin() as admin:
        for account in soak.accounts:
            rows = get_usage(admin, account.id)["data"]
            after = get_account(admin, account.id)
            spent = sum(nanos(r["cost_usd"]) for r in rows)
            assert CREDITS * NANOS - nanos(after["balance_usd"]) == spent
            assert nanos(after["lifetime_spend_usd"]) == spent
            by_id |= {r["request_id"]: r for r in rows}
            # A request worth far more than the balance: the 402 says what is
            # available, which is the balance only when no reservation leaked.
            r = httpx.post(f"{soak.gateway.url}/v1/chat/completions", headers=account.headers(),
                           json={"model": "dragon", "max_tokens": 2_000_000_000,
                                 "messages": [{"role": "user", "content": "how much?"}]})
            assert r.status_code == 402, r.text
            available = re.search(r"but \$([0-9.]+) is available", r.json()["error"]["message"])
            assert available and available.group(1) == f"{after['balance_usd']:.6f}", r.text
    for o in soak.load.outcomes:
        if o.request_id is None:
            continue  # the SDKs' successes do not show it
        row = by_id.get(o.request_id)
        if o.kind == "complete":
            assert row and row["status"] == 200, (o.request, row)
        elif o.kind == "error_status":
            assert row is None, (o.request, row)
        elif o.kind == "broken_stream":
            assert row and row["status"] in (502, 504) and row["cost_usd"] > 0, (o.request, row)
        elif o.kind == "cut":
            assert row and row["status"] == 499 and row["output_tokens"] > 0, (o.request, row)


def test_the_process_came_back_to_its_baseline(soak: Soak) -> None:
    pid = soak.gateway.proc.pid
    assert soak.gateway.proc.poll() is None, "the gateway exited"
    assert httpx.get(f"{soak.gateway.url}/health", timeout=10).status_code == 200
    assert Path(f"/proc/{pid}").exists()
    base, after = soak.baseline, soak.after
    assert after.sockets <= base.sockets, (base, after)
    assert after.fds <= base.fds, (base, after)
    assert after.rss_kib <= base.rss_kib * RSS_FACTOR + RSS_SLACK_MIB * 1024, (base, after)


def test_read_only_store_refuses_new_work_and_keeps_what_it_accepted(
    start_gateway, faulty_upstream, black_hole, tmp_path
) -> None:
    if not chattr_works(tmp_path):
        pytest.skip("*** chattr +i does not work here: the read-only store is NOT tested ***")
    gateway = start(start_gateway, faulty_upstream, black_hole)
    account = make_account(gateway.url, CREDITS, name="read-only")
    files = store_files(gateway)
    try:
        ids = asyncio.run(read_only_phase(gateway, account, files))
        chattr(files, False)
        wait_health(gateway.url, 200)
        with gateway.admin() as admin:
            rows = {r["request_id"]: r for r in get_usage(admin, account.id)["data"]}
            assert set(ids) <= set(rows), "settlements accepted while read-only are missing"
            assert all(rows[i]["status"] == 200 for i in ids)
        # Again, but the process dies while the file is read-only: the journal
        # keeps the settlements for the next start.
        more = asyncio.run(read_only_phase(gateway, account, files))
        gateway.kill()
    finally:
        chattr(files, False)
    restarted = start(start_gateway, faulty_upstream, black_hole, workdir=gateway.workdir)
    with restarted.admin() as admin:
        rows = get_usage(admin, account.id)["data"]
        after = get_account(admin, account.id)
    assert set(ids + more) <= {r["request_id"] for r in rows}
    assert CREDITS * NANOS - nanos(after["balance_usd"]) == sum(nanos(r["cost_usd"]) for r in rows)
    soak_logs.append(("default level", gateway.stderr + restarted.stderr))


def wait_health(url: str, status: int) -> None:
    deadline = time.monotonic() + 20
    while httpx.get(f"{url}/health", timeout=10).status_code != status:
        assert time.monotonic() < deadline, f"/health never answered {status}"
        time.sleep(0.05)


async def read_only_phase(gateway: Gateway, account, files: list[Path]) -> list[str]:
    """Streams in flight when the file turns read-only; what new work gets
    meanwhile. Returns the request ids of the streams, all completed."""
    async with httpx.AsyncClient(base_url=gateway.url, headers=account.headers(),
                                 timeout=30) as client:
        started = [asyncio.Event() for _ in range(4)]

        async def slow(i: int) -> str:
            path = "/v1/messages" if i % 2 else "/v1/chat/completions"
            body = {"model": "dragon", "max_tokens": 64, "stream": True, "messages": [
                {"role": "user", "content": f"{PROMPT_MARK} FAULT=slow TAG=ro{i} go"}]}
            async with client.stream("POST", path, json=body) as r:
                assert r.status_code == 200
                text = ""
                async for piece in r.aiter_text():
                    text += piece
                    started[i].set()
            assert "message_stop" in text or "[DONE]" in text, text[-300:]
            return r.headers["request-id"]

        streams = [asyncio.ensure_future(slow(i)) for i in range(4)]
        await asyncio.gather(*(e.wait() for e in started))
        assert chattr(files, True)
        # The first change that needs a commit finds the file read-only.
        with gateway.admin() as admin:
            r = admin.post("/admin/accounts", json={"name": "refused"})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["type"] == "server_error"
            assert r.json()["error"]["message"].startswith("store unavailable: sqlite: ")
            assert r.headers["retry-after"] == "1"
            assert admin.get(f"/admin/accounts/{account.id}").status_code == 200
        for path, kind in (("/v1/messages", "overloaded_error"),
                           ("/v1/chat/completions", "server_error")):
            r = await client.post(path, json={"model": "dragon", "max_tokens": 8, "messages": [
                {"role": "user", "content": f"{PROMPT_MARK} FAULT=ok TAG=refused"}]})
            assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
            assert r.json()["error"]["type"] == kind
        assert (await client.get("/health")).status_code == 503
        return list(await asyncio.gather(*streams))


# Logs gathered by the tests above, scanned by the last test.
soak_logs: list[tuple[str, list[str]]] = []


def test_logs_hold_no_keys_admin_token_or_prompts(
    soak: Soak, start_gateway, faulty_upstream, black_hole
) -> None:
    # The same faults for a few seconds at the default level too.
    gateway = start(start_gateway, faulty_upstream, black_hole)
    accounts = [make_account(gateway.url, CREDITS, name=f"quiet-{i}") for i in range(2)]
    asyncio.run(Load(gateway.url, accounts, seed=11).run(3, 8, n_start=2_000_000))
    gateway.stop()
    logs = [("debug level", soak.gateway.stderr), ("default level", gateway.stderr)] + soak_logs
    secrets_ = {"admin token": ADMIN_TOKEN, "upstream key": UPSTREAM_KEY, "prompt": PROMPT_MARK}
    for i, account in enumerate(soak.accounts + accounts):
        secrets_[f"key {i}"] = account.key
        secrets_[f"secret of key {i}"] = account.key.removeprefix("mws_live_")
    assert any("retrying upstream" in line for line in soak.gateway.stderr), "not a debug log"
    for level, lines in logs:
        assert any("request" in line for line in lines), f"no request lines at {level}"
        text = "\n".join(lines)
        for what, value in secrets_.items():
            assert value not in text, f"the {what} appears in the log at {level}"
