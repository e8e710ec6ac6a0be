"""Two `mws-gateway serve` processes on one Redis, as the README runs them:
keys, balances, limits and the ledger are shared, and the command line works
on the same store.

The Redis is the one scripts/test.sh starts for the run ($MWS_TEST_REDIS_URL,
read through `url_env`); each test has a key prefix of its own. Without it the
tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from conftest import ADMIN_CONFIG, HIGH_LIMITS, Gateway, make_account
from test_cli import cli_json

REDIS_URL = os.environ.get("MWS_TEST_REDIS_URL", "")
MESSAGE = {"model": "dragon", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture()
def redis_config() -> str:
    if not REDIS_URL:
        if os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail("CI is set but MWS_TEST_REDIS_URL is not: scripts/test.sh starts a Redis")
        pytest.skip("MWS_TEST_REDIS_URL is not set: run scripts/test.sh, which starts a Redis")
    prefix = f"mwspy:{secrets.token_hex(6)}:"
    store = f'[store]\nkind = "redis"\nurl_env = "MWS_TEST_REDIS_URL"\nkey_prefix = "{prefix}"\n'
    return store + "\n" + ADMIN_CONFIG + "\n" + HIGH_LIMITS


def pair(start_gateway, tmp_path_factory, config: str) -> tuple[Gateway, Gateway, Path]:
    first = tmp_path_factory.mktemp("redis-a")
    a = start_gateway(config, first)
    b = start_gateway(config, tmp_path_factory.mktemp("redis-b"))
    return a, b, first


def test_two_processes_share_keys_balances_and_the_ledger(
    start_gateway, tmp_path_factory, gateway_bin: str, redis_config: str
) -> None:
    a, b, workdir = pair(start_gateway, tmp_path_factory, redis_config)
    account = make_account(a.url, 30, name="shared")

    # A key made through one process works on the other, with both SDKs.
    claude = anthropic.Anthropic(base_url=b.url, api_key=account.key, max_retries=0)
    message = claude.messages.create(**MESSAGE)
    assert message.content[0].text == "hi"
    gpt = openai.OpenAI(base_url=a.url + "/v1", api_key=account.key, max_retries=0)
    completion = gpt.chat.completions.create(
        model="dragon", messages=[{"role": "user", "content": "hello"}]
    )
    assert completion.choices[0].message.content == "hello"

    # One ledger and one balance, whichever process is asked.
    with a.admin() as admin_a, b.admin() as admin_b:
        rows_b = admin_b.get(f"/admin/accounts/{account.id}/usage").json()["data"]
        assert len(rows_b) == 2
        spent = sum(round(r["cost_usd"] * 1e9) for r in rows_b)
        balance = admin_a.get(f"/admin/accounts/{account.id}").json()["balance_usd"]
        assert round(balance * 1e9) == 30_000_000_000 - spent

        # Revoked through b: refused by a within a second.
        assert admin_b.delete(f"/admin/keys/{account.key_id}").status_code == 200
    started = time.monotonic()
    while True:
        response = httpx.post(a.url + "/v1/messages", json=MESSAGE, headers={"x-api-key": account.key})
        if response.status_code == 401:
            break
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 1, "revoked on b, still served by a"
        time.sleep(0.02)

    # The command line on the same config reads the same store.
    report = cli_json(gateway_bin, workdir, "usage", account.id)
    assert [r["request_id"] for r in report["data"]] == [r["request_id"] for r in rows_b]


def test_a_key_throttle_holds_across_processes(
    start_gateway, tmp_path_factory, redis_config: str
) -> None:
    a, b, _ = pair(start_gateway, tmp_path_factory, redis_config)
    account = make_account(a.url, 30, name="throttled", rpm=4)
    statuses = []
    for i in range(10):
        url = (a if i % 2 else b).url
        response = httpx.post(url + "/v1/chat/completions", json=MESSAGE, headers=account.headers())
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert statuses.count(200) == 4, statuses
    assert statuses.count(429) == 6, statuses
