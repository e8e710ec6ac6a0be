"""The admin operations, sync and async: the admin API's JSON, in-process."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, Dict

import pytest

from conftest import CHAT, MEMORY, fund
from mws_gateway import (
    AsyncGateway,
    AuthenticationError,
    BadRequestError,
    Gateway,
    InsufficientCreditsError,
    NotFoundError,
    RateLimitError,
)

PLANS = MEMORY + '[[plans]]\nname = "pro"\nmin_tier = 1\nmonthly_quota_usd = 100\n'


def test_accounts_credits_plans_keys_usage() -> None:
    gw = Gateway(config_toml=PLANS)
    admin = gw.admin
    account = admin.create_account("team")
    assert account["name"] == "team" and account["id"].startswith("acct_")
    assert account["balance_usd"] == 0 and account["plan"] is None
    assert admin.account(account["id"]) == account

    with pytest.raises(InsufficientCreditsError):
        admin.create_key(account["id"], "too-early")
    assert admin.add_credits(account["id"], 20)["balance_usd"] == 20
    assert admin.add_credits(account["id"], 5.5)["balance_usd"] == 25.5
    assert admin.add_credits(account["id"], Decimal("0.000000001"))["balance_usd"] == pytest.approx(
        25.500000001
    )
    assert admin.set_plan(account["id"], "pro")["plan"] == "pro"
    assert admin.set_plan(account["id"], None)["plan"] is None
    with pytest.raises(BadRequestError, match="pro"):
        admin.set_plan(account["id"], "gold")

    key = admin.create_key(account["id"], "ci", rpm=30, tpm=1000)
    assert key["key"].startswith("mws_live_")
    assert (key["name"], key["rpm"], key["tpm"], key["revoked"]) == ("ci", 30, 1000, False)
    listed = admin.list_keys(account["id"])["data"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0]  # secrets are shown once

    throttled = admin.set_key_throttle(key["id"], rpm=5)
    assert (throttled["rpm"], throttled["tpm"]) == (5, None)

    gw.chat_completions(CHAT, api_key=key["key"])
    usage = admin.usage(account["id"])
    assert usage["account_id"] == account["id"]
    assert usage["totals"]["requests"] == 1 and len(usage["data"]) == 1
    assert usage["data"][0]["key_id"] == key["id"]

    assert admin.revoke_key(key["id"])["revoked"] is True
    with pytest.raises(AuthenticationError):
        gw.chat_completions(CHAT, api_key=key["key"])


def test_admin_errors_are_openai_shaped() -> None:
    gw = Gateway(config_toml=MEMORY)
    with pytest.raises(NotFoundError) as err:
        gw.admin.account("acct_missing")
    assert (err.value.status, err.value.type) == (404, "invalid_request_error")
    with pytest.raises(BadRequestError) as bad:
        gw.admin.create_account("  ")
    assert bad.value.param == "name"
    account = gw.admin.create_account("x")
    with pytest.raises(BadRequestError) as neg:
        gw.admin.add_credits(account["id"], -1)
    assert neg.value.param == "amount_usd"
    with pytest.raises(InsufficientCreditsError) as poor:
        gw.admin.create_key(account["id"])
    assert (poor.value.status, poor.value.type) == (402, "insufficient_quota")


def test_key_throttle_limits_calls() -> None:
    gw = Gateway(config_toml=MEMORY)
    _, key = fund(gw, rpm=2)
    gw.chat_completions(CHAT, api_key=key)
    gw.chat_completions(CHAT, api_key=key)
    with pytest.raises(RateLimitError) as err:
        gw.chat_completions(CHAT, api_key=key)
    assert err.value.status == 429


def test_admin_async() -> None:
    async def main() -> Dict[str, Any]:
        agw = AsyncGateway(config_toml=PLANS)
        admin = agw.admin
        account = await admin.create_account("async-team")
        assert (await admin.account(account["id"]))["name"] == "async-team"
        await admin.add_credits(account["id"], 25)
        assert (await admin.set_plan(account["id"], "pro"))["plan"] == "pro"
        key = await admin.create_key(account["id"], "k", tpm=5000)
        assert (await admin.list_keys(account["id"]))["data"][0]["tpm"] == 5000
        assert (await admin.set_key_throttle(key["id"], rpm=7, tpm=None))["rpm"] == 7
        await agw.chat_completions(CHAT, api_key=key["key"])
        assert (await admin.revoke_key(key["id"]))["revoked"] is True
        with pytest.raises(NotFoundError):
            await admin.account("acct_missing")
        usage: Dict[str, Any] = await admin.usage(account["id"])
        deployments: Dict[str, Any] = await admin.deployments()
        assert deployments["object"] == "list"
        return usage

    usage = asyncio.run(main())
    assert usage["totals"]["requests"] == 1


def test_deployments_with_their_health() -> None:
    gw = Gateway(config_toml=MEMORY)
    gw.chat_completions(CHAT)
    report = gw.admin.deployments()
    assert report["object"] == "list"
    # The built-in catalogue: one deployment per profile, each on the echo.
    dragon = next(d for d in report["data"] if d["upstream_model"] == "dragon")
    assert (dragon["upstream"], dragon["state"], dragon["requests"]) == ("echo", "healthy", 1)
    assert dragon["profiles"] == [{"id": "dragon", "role": "deployment", "weight": 1}]
