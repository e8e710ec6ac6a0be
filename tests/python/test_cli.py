"""The `mws-gateway` command line: admin subcommands on the configured store,
shared with a running gateway, and the no-config first start with its demo key."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import gateway_config, gateway_env

NANOS = 1_000_000_000
KEY = re.compile(r"mws_live_[0-9A-Za-z]{32,}")
MESSAGE = {"model": "dragon", "max_tokens": 32, "messages": [{"role": "user", "content": "cli"}]}


def run_cli(
    binary: str, workdir: Path, *args: str, config: bool = True
) -> subprocess.CompletedProcess:
    argv = [binary]
    if config:
        argv += ["--config", str(workdir / "gateway.toml")]
    return subprocess.run(
        argv + list(args),
        cwd=workdir,
        env=gateway_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_json(binary: str, workdir: Path, *args: str, config: bool = True) -> dict:
    """Runs a subcommand that must succeed and print exactly one JSON object."""
    done = run_cli(binary, workdir, *args, config=config)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{args} printed {done.stdout!r}"
    value = json.loads(lines[0])
    assert isinstance(value, dict)
    return value


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "gateway.toml").write_text(gateway_config(), encoding="utf-8")
    return tmp_path


def nanos(usd: float) -> int:
    return round(usd * NANOS)


HELP = [
    [],
    ["serve"],
    ["accounts"],
    ["accounts", "create"],
    ["accounts", "list"],
    ["credits"],
    ["credits", "add"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["usage"],
]


@pytest.mark.parametrize("args", HELP, ids=lambda a: " ".join(a) or "top")
def test_help(gateway_bin: str, tmp_path: Path, args: list[str]) -> None:
    done = run_cli(gateway_bin, tmp_path, *args, "--help", config=False)
    assert done.returncode == 0, done.stderr
    assert "Usage: mws-gateway" in done.stdout
    # --help never touches a store.
    assert not (tmp_path / "mws-data").exists()


def test_admin_subcommands(gateway_bin: str, workdir: Path) -> None:
    account = cli_json(gateway_bin, workdir, "accounts", "create", "--name", "cli-team")
    assert account["name"] == "cli-team"
    assert set(account) >= {"id", "name", "balance_usd", "lifetime_spend_usd", "plan"}
    assert nanos(account["balance_usd"]) == 0
    account_id = account["id"]
    assert (workdir / "gateway.db").exists()

    # No key without $25.
    refused = run_cli(gateway_bin, workdir, "keys", "create", account_id)
    assert refused.returncode != 0
    assert "25" in refused.stderr
    assert not KEY.search(refused.stdout + refused.stderr)

    credited = cli_json(gateway_bin, workdir, "credits", "add", account_id, "--usd", "25.000000001")
    assert credited["id"] == account_id
    assert nanos(credited["balance_usd"]) == 25 * NANOS + 1

    key = cli_json(
        gateway_bin,
        workdir,
        "keys",
        "create",
        account_id,
        "--name",
        "ci",
        "--rpm",
        "30",
        "--tpm",
        "5000",
    )
    assert KEY.fullmatch(key["key"])
    assert key["name"] == "ci"
    assert (key["rpm"], key["tpm"]) == (30, 5000)
    assert key["revoked"] is False

    listed = cli_json(gateway_bin, workdir, "keys", "list", account_id)
    assert [k["id"] for k in listed["data"]] == [key["id"]]
    assert key["key"] not in json.dumps(listed)

    revoked = cli_json(gateway_bin, workdir, "keys", "revoke", key["id"])
    assert revoked["id"] == key["id"]
    assert revoked["revoked"] is True

    usage = cli_json(gateway_bin, workdir, "usage", account_id)
    assert usage["data"] == []
    assert usage["totals"]["requests"] == 0
    assert nanos(usage["totals"]["cost_usd"]) == 0


def test_bad_arguments_fail(gateway_bin: str, workdir: Path) -> None:
    assert (
        run_cli(gateway_bin, workdir, "credits", "add", "acct_nope", "--usd", "5").returncode != 0
    )
    account = cli_json(gateway_bin, workdir, "accounts", "create", "--name", "x")
    for usd in ("-5", "0", "abc", "0.0000000001"):
        done = run_cli(gateway_bin, workdir, "credits", "add", account["id"], "--usd", usd)
        assert done.returncode != 0, usd
    assert run_cli(gateway_bin, workdir, "keys", "revoke", "key_nope").returncode != 0


def wait_for_status(url: str, key: str, status: int, timeout: float = 5) -> httpx.Response:
    """Polls until a request with `key` gets `status` (the store picks up
    changes made by another process within about half a second)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(
            url + "/v1/messages", json=MESSAGE, headers={"x-api-key": key}, timeout=30
        )
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_cli_and_running_gateway_share_the_store(
    gateway_bin: str, start_gateway, tmp_path_factory
) -> None:
    workdir = tmp_path_factory.mktemp("shared-store")
    gateway = start_gateway(gateway_config(), workdir)
    account = cli_json(gateway_bin, workdir, "accounts", "create", "--name", "shared")
    cli_json(gateway_bin, workdir, "credits", "add", account["id"], "--usd", "40")
    key = cli_json(gateway_bin, workdir, "keys", "create", account["id"])

    served = wait_for_status(gateway.url, key["key"], 200)
    assert served.status_code == 200, served.text
    usage = served.json()["usage"]

    # The gateway's charge is in the CLI's view of the ledger.
    report = cli_json(gateway_bin, workdir, "usage", account["id"])
    rows = [r for r in report["data"] if r["request_id"] == served.headers["request-id"]]
    assert len(rows) == 1
    assert (rows[0]["input_tokens"], rows[0]["output_tokens"]) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    expected = -(
        -(usage["input_tokens"] * 480_000_000 + usage["output_tokens"] * 1_080_000_000) // 1_000_000
    )
    assert nanos(rows[0]["cost_usd"]) == expected

    # The account list has it, with its tier.
    listed = cli_json(gateway_bin, workdir, "accounts", "list")
    found = [a for a in listed["data"] if a["id"] == account["id"]]
    assert len(found) == 1 and found[0]["tier"]["index"] == 0, listed

    # A page of the ledger, with the day's sums, as the dashboard reads it.
    page = cli_json(
        gateway_bin, workdir, "usage", account["id"], "--limit", "1", "--order", "desc", "--days", "2"
    )
    assert page["page"]["rows"] == 1 and len(page["data"]) == 1
    assert [d["requests"] for d in page["daily"]] == [0, 1]
    assert page["by_profile"][0]["profile"] == "dragon"
    bad = run_cli(gateway_bin, workdir, "usage", account["id"], "--limit", "0")
    assert bad.returncode != 0 and "limit" in bad.stderr

    # The admin API sees what the CLI made, and the CLI's revocation reaches the gateway.
    with gateway.admin() as admin:
        keys = admin.get(f"/admin/accounts/{account['id']}/keys").json()["data"]
        assert [k["id"] for k in keys] == [key["id"]]
    cli_json(gateway_bin, workdir, "keys", "revoke", key["id"])
    refused = wait_for_status(gateway.url, key["key"], 401)
    assert refused.status_code == 401, refused.text


def test_no_config_demo_key(start_gateway, tmp_path_factory, gateway_bin: str) -> None:
    workdir = tmp_path_factory.mktemp("first-start")
    first = start_gateway(None, workdir)
    assert (workdir / "mws-data" / "gateway.db").exists()
    deadline = time.monotonic() + 10
    found = None
    while found is None and time.monotonic() < deadline:
        found = next((m for line in list(first.stdout) if (m := KEY.search(line))), None)
        if found is None:
            time.sleep(0.05)
    assert found is not None, "no demo key on stdout:\n" + "\n".join(first.log)
    demo_key = found.group(0)
    assert "demo" in "\n".join(first.stdout)

    client = openai.OpenAI(base_url=first.url + "/v1", api_key=demo_key, max_retries=0)
    completion = client.chat.completions.create(
        model="dragon", max_tokens=32, messages=[{"role": "user", "content": "demo"}]
    )
    assert completion.choices[0].message.content == "demo"
    refused = openai.OpenAI(
        base_url=first.url + "/v1", api_key="mws_live_" + "0" * 40, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        refused.chat.completions.create(model="dragon", messages=[{"role": "user", "content": "x"}])
    first.stop()
    assert first.proc.returncode == 0
    # The key is on stdout only, never in the log on stderr.
    assert not any(demo_key in line for line in first.stderr)

    second = start_gateway(None, workdir)
    client = openai.OpenAI(base_url=second.url + "/v1", api_key=demo_key, max_retries=0)
    completion = client.chat.completions.create(
        model="dragon", max_tokens=32, messages=[{"role": "user", "content": "again"}]
    )
    assert completion.choices[0].message.content == "again"
    second.stop()  # its output is complete once it has exited
    assert not any(KEY.search(line) for line in second.log), "\n".join(second.log)

    # The CLI without a config works on the same default store.
    demo_line = next(line for line in first.stdout if "acct_" in line)
    account_id = re.search(r"acct_[0-9A-Za-z]+", demo_line).group(0)
    account = cli_json(gateway_bin, workdir, "accounts", "show", account_id, config=False)
    assert account["name"] == "demo"
    usage = cli_json(gateway_bin, workdir, "usage", account_id, config=False)
    assert usage["totals"]["requests"] == 2
    spent = sum(nanos(r["cost_usd"]) for r in usage["data"])
    assert nanos(account["balance_usd"]) == 25 * NANOS - spent
