"""Shared requests, configurations and helpers for the mws_gateway tests."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

from mws_gateway import Gateway

MEMORY = '[store]\nkind = "memory"\n'

CHAT: Dict[str, Any] = {
    "model": "dragon",
    "messages": [{"role": "user", "content": "Hello, dragon!"}],
}
MESSAGES: Dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Hello, dragon!"}],
}

# About 250 tokens: at 20 tokens a second the echo takes over 12 s to stream it,
# in deltas of 24 characters (about 0.3 s apart).
LONG_TEXT = "the quick brown dragon jumps over the lazy knight " * 20


def slow_config(tokens_per_second: int = 20) -> str:
    """The echo upstream pacing its streams, behind one profile `slow`."""
    return f"""
[store]
kind = "memory"

[[upstreams]]
name = "echo"
kind = "echo"
simulate_speed = true

[[profiles]]
id = "slow"
upstream = "echo"
context_window = 100000
tokens_per_second = {tokens_per_second}
input_price_per_mtok = 1.0
output_price_per_mtok = 2.0

[routing]
default_profile = "slow"
aliases = {{}}

[limits]
[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 100000
tpm = 100000000
"""


def slow_chat(text: str = LONG_TEXT) -> Dict[str, Any]:
    return {"model": "slow", "messages": [{"role": "user", "content": text}]}


def slow_messages(text: str = LONG_TEXT) -> Dict[str, Any]:
    return {"model": "slow", "max_tokens": 4096, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def gw() -> Gateway:
    return Gateway()


def fund(gw: Gateway, name: str = "test", usd: float = 100, **key: Any) -> Tuple[str, str]:
    """An account with credits and a key: (account id, secret key)."""
    account = gw.admin.create_account(name)
    gw.admin.add_credits(account["id"], usd)
    created = gw.admin.create_key(account["id"], "test", **key)
    return account["id"], created["key"]


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Polls `check` until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


def ledger(gw: Gateway, account_id: str) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = gw.admin.usage(account_id)["data"]
    return rows
