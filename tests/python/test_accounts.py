"""Accounts, keys, credits, limits and the usage ledger, end to end.

Each test that needs limits or balances of its own makes a fresh account (and,
where the config matters, a gateway of its own); money is compared in integer
nano-dollars: round(usd * 1e9).
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import anthropic
import httpx
import openai
import pytest

from conftest import Account, Gateway, gateway_config, make_account

NANOS = 1_000_000_000
# dragon: $0.48 in, $1.08 out per million tokens; dragon-thinkmaxing: $3.48, $6.96.
DRAGON = (480_000_000, 1_080_000_000)
THINKMAXING = (3_480_000_000, 6_960_000_000)

MESSAGE = {"model": "dragon", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}
CHAT = {"model": "dragon", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}


def nanos(usd: float) -> int:
    return round(usd * NANOS)


def cost_nanos(input_tokens: int, output_tokens: int, prices: tuple[int, int]) -> int:
    """The contract's cost: tokens x price per million, rounded UP to the nano-dollar."""
    total = input_tokens * prices[0] + output_tokens * prices[1]
    return -(-total // 1_000_000)


def get_account(admin: httpx.Client, account_id: str) -> dict:
    response = admin.get(f"/admin/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()


def get_usage(admin: httpx.Client, account_id: str) -> dict:
    response = admin.get(f"/admin/accounts/{account_id}/usage")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_rows(
    admin: httpx.Client, account_id: str, count: int, timeout: float = 10
) -> list[dict]:
    """The ledger rows once there are `count` (streams settle as they end)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = get_usage(admin, account_id)["data"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


# --- authentication with the official SDKs -----------------------------------


@pytest.fixture(scope="module")
def fresh(gateway_url: str) -> Account:
    return make_account(gateway_url, 100, name="sdk")


def test_openai_sdk_with_key(api_base: str, fresh: Account) -> None:
    client = openai.OpenAI(base_url=api_base, api_key=fresh.key, max_retries=0)
    completion = client.chat.completions.create(
        model="dragon", messages=[{"role": "user", "content": "keyed"}]
    )
    assert completion.choices[0].message.content == "keyed"


def test_anthropic_sdk_with_key(gateway_url: str, fresh: Account) -> None:
    client = anthropic.Anthropic(base_url=gateway_url, api_key=fresh.key, max_retries=0)
    message = client.messages.create(
        model="dragon", max_tokens=32, messages=[{"role": "user", "content": "keyed"}]
    )
    assert message.content[0].text == "keyed"


def test_anthropic_sdk_with_bearer_token(gateway_url: str, fresh: Account) -> None:
    # auth_token sends Authorization: Bearer instead of x-api-key.
    client = anthropic.Anthropic(base_url=gateway_url, auth_token=fresh.key, max_retries=0)
    message = client.messages.create(
        model="dragon", max_tokens=32, messages=[{"role": "user", "content": "bearer"}]
    )
    assert message.content[0].text == "bearer"


@pytest.mark.parametrize("key", ["sk-wrong", "mws_live_" + "Z" * 40])
def test_openai_sdk_refused(api_base: str, key: str) -> None:
    client = openai.OpenAI(base_url=api_base, api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="dragon", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"


@pytest.mark.parametrize("key", ["sk-ant-wrong", "mws_live_" + "Z" * 40])
def test_anthropic_sdk_refused(gateway_url: str, key: str) -> None:
    client = anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(
            model="dragon", max_tokens=16, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_openai_sdk_without_any_key_header(api_base: str) -> None:
    client = openai.OpenAI(base_url=api_base, api_key="unused", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="dragon",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"Authorization": openai.Omit()},
        )


def test_anthropic_sdk_without_any_key_header(gateway_url: str) -> None:
    # The SDK needs a credential unless the header is explicitly omitted.
    client = anthropic.Anthropic(
        base_url=gateway_url,
        api_key="unused",
        default_headers={"x-api-key": anthropic.Omit()},
        max_retries=0,
    )
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(
            model="dragon", max_tokens=16, messages=[{"role": "user", "content": "x"}]
        )


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_both_headers_on_both_shapes(
    gateway_url: str, fresh: Account, header: str, path: str
) -> None:
    value = f"Bearer {fresh.key}" if header == "authorization" else fresh.key
    response = httpx.post(gateway_url + path, json=MESSAGE, headers={header: value}, timeout=30)
    assert response.status_code == 200, response.text


def test_models_need_a_key(gateway_url: str, fresh: Account) -> None:
    assert httpx.get(gateway_url + "/v1/models", timeout=30).status_code == 401
    response = httpx.get(gateway_url + "/v1/models", headers=fresh.headers(), timeout=30)
    assert response.status_code == 200


# --- both stores ------------------------------------------------------------------
# The tests taking `gw` run on the main gateway (sqlite) and on one with the
# memory store.


@pytest.fixture(scope="module")
def memory_gateway(start_gateway) -> Gateway:
    return start_gateway(gateway_config(store="memory"))


@pytest.fixture(scope="module", params=["sqlite", "memory"])
def gw(request, main_gateway: Gateway, memory_gateway: Gateway) -> Gateway:
    return main_gateway if request.param == "sqlite" else memory_gateway


@pytest.fixture()
def gw_admin(gw: Gateway):
    with gw.admin() as client:
        yield client


# --- revoke and throttle -------------------------------------------------------


def test_revoked_key_is_refused(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 30, name="revoke")
    with account.client() as client:
        assert client.post("/v1/messages", json=MESSAGE).status_code == 200
        response = gw_admin.delete(f"/admin/keys/{account.key_id}")
        assert response.status_code == 200, response.text
        assert response.json()["revoked"] is True
        refused = client.post("/v1/messages", json=MESSAGE)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["type"] == "authentication_error"
        refused = client.post("/v1/chat/completions", json=CHAT)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "invalid_api_key"
    keys = gw_admin.get(f"/admin/accounts/{account.id}/keys").json()["data"]
    assert [(k["id"], k["revoked"]) for k in keys] == [(account.key_id, True)]
    assert all("key" not in k and "hash" not in k for k in keys)


def test_other_keys_survive_a_revocation(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 30, name="two-keys")
    second = gw_admin.post(f"/admin/accounts/{account.id}/keys", json={"name": "second"})
    assert second.status_code == 201, second.text
    assert gw_admin.delete(f"/admin/keys/{account.key_id}").status_code == 200
    headers = {"x-api-key": second.json()["key"]}
    response = httpx.post(gw.url + "/v1/messages", json=MESSAGE, headers=headers, timeout=30)
    assert response.status_code == 200, response.text


def test_key_throttle(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 30, name="throttle")
    response = gw_admin.patch(f"/admin/keys/{account.key_id}", json={"rpm": 2})
    assert response.status_code == 200, response.text
    assert response.json()["rpm"] == 2
    with account.client() as client:
        first = client.post("/v1/chat/completions", json=CHAT)
        second = client.post("/v1/chat/completions", json=CHAT)
        third = client.post("/v1/chat/completions", json=CHAT)
        fourth = client.post("/v1/messages", json=MESSAGE)
    for ok in (first, second):
        assert ok.status_code == 200, ok.text
        assert ok.headers["x-ratelimit-limit-requests"] == "2"
    assert third.status_code == 429, third.text
    assert third.json()["error"]["code"] == "rate_limit_exceeded"
    assert third.headers["x-ratelimit-limit-requests"] == "2"
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(third.headers["retry-after"]) >= 1
    assert fourth.status_code == 429, fourth.text
    assert fourth.json()["error"]["type"] == "rate_limit_error"
    assert int(fourth.headers["retry-after"]) >= 1
    # Refused requests cost nothing and are not in the ledger.
    assert get_usage(gw_admin, account.id)["totals"]["requests"] == 2


def test_key_created_with_throttle(gw: Gateway) -> None:
    account = make_account(gw.url, 30, name="throttled-at-birth", rpm=1)
    with account.client() as client:
        first = client.post("/v1/messages", json=MESSAGE)
        second = client.post("/v1/messages", json=MESSAGE)
    assert first.status_code == 200, first.text
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    assert second.status_code == 429, second.text
    assert int(second.headers["retry-after"]) >= 1


def test_key_token_throttle(gw: Gateway) -> None:
    # tpm counts the reservation at admission (input estimate + max_tokens) and
    # the real usage once settled; tokens are admitted while any remain.
    account = make_account(gw.url, 30, name="tpm", tpm=1000)
    with account.client() as client:
        ok = client.post("/v1/messages", json=MESSAGE)
        assert ok.status_code == 200, ok.text
        assert ok.headers["x-ratelimit-limit-tokens"] == "1000"
        assert int(ok.headers["x-ratelimit-remaining-tokens"]) <= 1000 - MESSAGE["max_tokens"]
        # About 750 tokens in and 750 echoed back: the window is used up.
        long = {
            "model": "dragon",
            "max_tokens": 2000,
            "messages": [{"role": "user", "content": "word " * 600}],
        }
        big = client.post("/v1/messages", json=long)
        assert big.status_code == 200, big.text
        assert big.headers["x-ratelimit-remaining-tokens"] == "0"
        usage = big.json()["usage"]
        assert usage["input_tokens"] + usage["output_tokens"] > 1000
        limited = client.post("/v1/messages", json=MESSAGE)
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert limited.headers["x-ratelimit-limit-tokens"] == "1000"
    assert limited.headers["x-ratelimit-remaining-tokens"] == "0"
    assert int(limited.headers["retry-after"]) >= 1


def test_clearing_a_throttle(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 30, name="unthrottle", rpm=1)
    with account.client() as client:
        assert client.post("/v1/messages", json=MESSAGE).status_code == 200
        assert client.post("/v1/messages", json=MESSAGE).status_code == 429
        cleared = gw_admin.patch(f"/admin/keys/{account.key_id}", json={"rpm": None})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["rpm"] is None
        response = client.post("/v1/messages", json=MESSAGE)
    assert response.status_code == 200, response.text
    assert response.headers["x-ratelimit-limit-requests"] == "100000"


# --- credits -------------------------------------------------------------------


def test_key_creation_needs_25_dollars(gw_admin: httpx.Client) -> None:
    account = gw_admin.post("/admin/accounts", json={"name": "poor"}).json()
    assert nanos(account["balance_usd"]) == 0
    assert account["lifetime_spend_usd"] == 0
    assert account["plan"] is None
    refused = gw_admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"})
    assert refused.status_code == 402, refused.text
    gw_admin.post(f"/admin/accounts/{account['id']}/credits", json={"amount_usd": 24.999999999})
    refused = gw_admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"})
    assert refused.status_code == 402, refused.text
    topped = gw_admin.post(
        f"/admin/accounts/{account['id']}/credits", json={"amount_usd": 0.000000001}
    )
    assert nanos(topped.json()["balance_usd"]) == 25 * NANOS
    created = gw_admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"})
    assert created.status_code == 201, created.text
    assert created.json()["key"].startswith("mws_live_")
    assert len(created.json()["key"]) >= len("mws_live_") + 32


def test_request_over_balance_is_402(gw: Gateway, gw_admin: httpx.Client) -> None:
    # $25 cannot cover 4,000,000 output tokens at $6.96/M ($27.84).
    account = make_account(gw.url, 25, name="402")
    huge = {
        "model": "dragon-thinkmaxing",
        "max_tokens": 4_000_000,
        "messages": [{"role": "user", "content": "expensive"}],
    }
    with account.client() as client:
        refused = client.post("/v1/messages", json=huge)
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["type"] == "billing_error"
        refused = client.post("/v1/chat/completions", json=huge)
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["code"] == "insufficient_quota"
        # Nothing was taken; a request whose worst case fits is served.
        assert nanos(get_account(gw_admin, account.id)["balance_usd"]) == 25 * NANOS
        ok = client.post("/v1/messages", json=dict(huge, max_tokens=1_000_000))
        assert ok.status_code == 200, ok.text
    rows = get_usage(gw_admin, account.id)["data"]
    assert len(rows) == 1 and rows[0]["request_id"] == ok.headers["request-id"]


def test_openai_sdk_402(api_base: str, gateway_url: str) -> None:
    account = make_account(gateway_url, 25, name="402-sdk")
    client = openai.OpenAI(base_url=api_base, api_key=account.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="dragon-thinkmaxing",
            max_tokens=4_000_000,
            messages=[{"role": "user", "content": "x"}],
        )
    assert caught.value.status_code == 402


def test_exact_cost_messages(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 1000, name="exact")
    body = {
        "model": "dragon",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "What does one request cost, exactly? " * 5}],
    }
    with account.client() as client:
        response = client.post("/v1/messages", json=body)
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    expected = cost_nanos(usage["input_tokens"], usage["output_tokens"], DRAGON)

    report = get_usage(gw_admin, account.id)
    (row,) = report["data"]
    assert row["request_id"] == response.headers["request-id"]
    assert row["key_id"] == account.key_id
    assert row["profile"] == "dragon"
    assert row["status"] == 200
    assert (row["input_tokens"], row["output_tokens"]) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    assert nanos(row["cost_usd"]) == expected
    assert nanos(report["totals"]["cost_usd"]) == expected
    assert report["totals"]["requests"] == 1
    after = get_account(gw_admin, account.id)
    assert nanos(after["balance_usd"]) == 1000 * NANOS - expected
    assert nanos(after["lifetime_spend_usd"]) == expected


def test_exact_cost_chat_and_stream(gw: Gateway, gw_admin: httpx.Client) -> None:
    account = make_account(gw.url, 1000, name="exact-chat")
    body = {
        "model": "dragon-thinkmaxing",
        "max_tokens": 300,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Streams are charged from their usage. " * 4}],
    }
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=account.key, max_retries=0)
    chunks = list(client.chat.completions.create(**body))
    streamed = chunks[-1].usage
    assert streamed is not None
    plain = client.chat.completions.with_raw_response.create(**dict(body, stream=False))
    completion = plain.parse()
    assert completion.usage is not None

    rows = wait_for_rows(gw_admin, account.id, 2)
    assert len(rows) == 2
    costs = {nanos(r["cost_usd"]) for r in rows if r["request_id"] == plain.headers["request-id"]}
    assert costs == {
        cost_nanos(completion.usage.prompt_tokens, completion.usage.completion_tokens, THINKMAXING)
    }
    expected_total = cost_nanos(
        streamed.prompt_tokens, streamed.completion_tokens, THINKMAXING
    ) + cost_nanos(completion.usage.prompt_tokens, completion.usage.completion_tokens, THINKMAXING)
    assert sum(nanos(r["cost_usd"]) for r in rows) == expected_total
    after = get_account(gw_admin, account.id)
    assert nanos(after["balance_usd"]) == 1000 * NANOS - expected_total
    assert nanos(after["lifetime_spend_usd"]) == expected_total


SLOW_ECHO = """\
[[upstreams]]
name = "echo"
kind = "echo"
simulate_speed = true
"""


def test_interrupted_stream_is_charged_for_what_was_delivered(start_gateway) -> None:
    # The echo upstream at dragon-spark's 143 tokens a second: the client hangs
    # up after the first frames, long before the ~800 tokens would be echoed.
    gateway = start_gateway(gateway_config(extra=SLOW_ECHO))
    account = make_account(gateway.url, 100, name="cut")
    text = "slow words " * 300
    body = {
        "model": "dragon-spark",
        "max_tokens": 4000,
        "stream": True,
        "messages": [{"role": "user", "content": text}],
    }
    with account.client() as client:
        with client.stream("POST", "/v1/messages", json=body) as response:
            assert response.status_code == 200
            request_id = response.headers["request-id"]
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > 2000:
                    break
    with gateway.admin() as admin:
        (row,) = wait_for_rows(admin, account.id, 1)
        after = get_account(admin, account.id)
    assert row["request_id"] == request_id
    assert row["status"] == 499
    assert row["input_tokens"] >= len(text) // 4
    assert 0 < row["output_tokens"] < row["input_tokens"]
    expected = cost_nanos(row["input_tokens"], row["output_tokens"], (600_000_000, 900_000_000))
    assert nanos(row["cost_usd"]) == expected
    # Charged for that, the rest of the reservation released.
    assert nanos(after["balance_usd"]) == 100 * NANOS - expected


# A profile priced far below a nano-dollar a token, so rounding up shows.
PENNY = """\
[[upstreams]]
name = "echo"
kind = "echo"

[[profiles]]
id = "penny"
upstream = "echo"
context_window = 100000
tokens_per_second = 100
input_price_per_mtok = 0.0000015
output_price_per_mtok = 0.0000025

[routing]
default_profile = "penny"
aliases = {}
"""


def test_cost_rounds_up_to_the_nano_dollar(start_gateway) -> None:
    gateway = start_gateway(gateway_config(extra=PENNY))
    account = make_account(gateway.url, 100, name="penny")
    with account.client() as client, gateway.admin() as admin:
        response = client.post("/v1/messages", json=dict(MESSAGE, model="penny"))
        assert response.status_code == 200, response.text
        usage = response.json()["usage"]
        expected = cost_nanos(usage["input_tokens"], usage["output_tokens"], (1500, 2500))
        assert expected == 1  # a few tokens cost a fraction of a nano-dollar: billed as one
        (row,) = get_usage(admin, account.id)["data"]
        assert nanos(row["cost_usd"]) == expected
        assert nanos(get_account(admin, account.id)["balance_usd"]) == 100 * NANOS - expected


# --- tiers and plans -------------------------------------------------------------


def test_tier_promotion_by_lifetime_spend(start_gateway) -> None:
    gateway = start_gateway(
        gateway_config(
            "[limits]\nunauthenticated_rpm_per_ip = 100000\n"
            "[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 2\ntpm = 1000000000\n"
            "[[limits.tiers]]\nmin_lifetime_spend_usd = 0.000001\nrpm = 50\ntpm = 1000000000\n"
        )
    )
    account = make_account(gateway.url, 100, name="tiers")
    with account.client() as client:
        first = client.post("/v1/messages", json=MESSAGE)
        assert first.status_code == 200, first.text
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        # It has now spent something: the next request sees the higher tier.
        second = client.post("/v1/messages", json=MESSAGE)
        assert second.status_code == 200, second.text
        assert second.headers["x-ratelimit-limit-requests"] == "50"
        third = client.post("/v1/messages", json=MESSAGE)
        assert third.status_code == 200, third.text
        assert third.headers["x-ratelimit-limit-requests"] == "50"
    # An account that has spent nothing stays on the first tier.
    other = make_account(gateway.url, 100, name="tiers-new")
    with other.client() as client:
        response = client.get("/v1/models")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "2"


PLANS = """\
[[plans]]
name = "pro"
min_tier = 0
monthly_quota_usd = 1

[[plans]]
name = "team"
min_tier = 1
monthly_quota_usd = 0
"""

PLAN_LIMITS = """\
[limits]
unauthenticated_rpm_per_ip = 100000

[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 1000
tpm = 1000000000

[[limits.tiers]]
min_lifetime_spend_usd = 1000
rpm = 5000
tpm = 1000000000
"""


@pytest.fixture(scope="module")
def plan_gateway(start_gateway) -> Gateway:
    return start_gateway(gateway_config(PLAN_LIMITS, PLANS))


def test_plan_quota_spent_before_balance(plan_gateway: Gateway) -> None:
    with plan_gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "pro"}).json()
        # Without $25 or a plan: no key.
        no_key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"})
        assert no_key.status_code == 402, no_key.text
        planned = admin.put(f"/admin/accounts/{account['id']}/plan", json={"plan": "pro"})
        assert planned.status_code == 200, planned.text
        assert planned.json()["plan"] == "pro"
        created = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"})
        assert created.status_code == 201, created.text
        key = created.json()["key"]

        headers = {"x-api-key": key}
        url = plan_gateway.url
        response = httpx.post(url + "/v1/messages", json=MESSAGE, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        usage = response.json()["usage"]
        expected = cost_nanos(usage["input_tokens"], usage["output_tokens"], DRAGON)
        (row,) = get_usage(admin, account["id"])["data"]
        assert nanos(row["cost_usd"]) == expected
        after = get_account(admin, account["id"])
        assert nanos(after["balance_usd"]) == 0  # spent from the quota
        assert nanos(after["lifetime_spend_usd"]) == expected

        # A worst case beyond the $1 quota (and a $0 balance) is refused.
        huge = dict(MESSAGE, model="dragon-thinkmaxing", max_tokens=200_000)  # $1.39 worst
        refused = httpx.post(url + "/v1/messages", json=huge, headers=headers, timeout=30)
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["type"] == "billing_error"


def test_unknown_plan_is_400(plan_gateway: Gateway) -> None:
    with plan_gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "x"}).json()
        response = admin.put(f"/admin/accounts/{account['id']}/plan", json={"plan": "gold"})
        assert response.status_code == 400, response.text
        cleared = admin.put(f"/admin/accounts/{account['id']}/plan", json={"plan": None})
        assert cleared.status_code == 200 and cleared.json()["plan"] is None


def test_plan_min_tier(plan_gateway: Gateway) -> None:
    with plan_gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "team"}).json()
        admin.post(f"/admin/accounts/{account['id']}/credits", json={"amount_usd": 30})
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()["key"]
        headers = {"x-api-key": key}
        url = plan_gateway.url
        before = httpx.post(url + "/v1/messages", json=MESSAGE, headers=headers, timeout=30)
        assert before.headers["x-ratelimit-limit-requests"] == "1000"
        admin.put(f"/admin/accounts/{account['id']}/plan", json={"plan": "team"})
        after = httpx.post(url + "/v1/messages", json=MESSAGE, headers=headers, timeout=30)
        assert after.status_code == 200, after.text
        assert after.headers["x-ratelimit-limit-requests"] == "5000"


# --- admin API -------------------------------------------------------------------


def test_admin_needs_the_token(gateway_url: str) -> None:
    assert (
        httpx.post(gateway_url + "/admin/accounts", json={"name": "x"}, timeout=30).status_code
        == 401
    )
    wrong = {"Authorization": "Bearer not-the-token"}
    response = httpx.post(
        gateway_url + "/admin/accounts", json={"name": "x"}, headers=wrong, timeout=30
    )
    assert response.status_code == 401


def test_admin_off_without_token_env(start_gateway) -> None:
    gateway = start_gateway('[store]\nkind = "memory"\n')
    with gateway.admin() as admin:
        assert admin.post("/admin/accounts", json={"name": "x"}).status_code == 404


def test_admin_account_shape(admin: httpx.Client) -> None:
    response = admin.post("/admin/accounts", json={"name": "shape"})
    assert response.status_code == 201, response.text
    account = response.json()
    assert set(account) >= {"id", "name", "balance_usd", "lifetime_spend_usd", "plan"}
    assert account["name"] == "shape"
    credited = admin.post(
        f"/admin/accounts/{account['id']}/credits", json={"amount_usd": "12.345678901"}
    )
    assert credited.status_code == 200, credited.text
    assert nanos(credited.json()["balance_usd"]) == 12_345_678_901
    for bad in ({"amount_usd": 0}, {"amount_usd": -1}, {"amount_usd": 0.0000000001}, {}):
        assert (
            admin.post(f"/admin/accounts/{account['id']}/credits", json=bad).status_code == 400
        ), bad
    assert admin.get("/admin/accounts/acct_nope").status_code == 404


# --- concurrency -------------------------------------------------------------------


def test_concurrent_requests_never_overspend(gw: Gateway, gw_admin: httpx.Client) -> None:
    # Each request really costs about $0.16 (15,000 tokens in and out on
    # dragon-thinkmaxing) and reserves about $0.19 at worst: $25 covers some of
    # the 200, never all of them, whatever the timing.
    credits = 25 * NANOS
    account = make_account(gw.url, 25, name="concurrency")
    body = {
        "model": "dragon-thinkmaxing",
        "max_tokens": 20_000,
        "messages": [{"role": "user", "content": "dragons " * 7_500}],
    }

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=gw.url, headers=account.headers(), timeout=120, limits=limits
        ) as client:
            return await asyncio.gather(
                *(client.post("/v1/messages", json=body) for _ in range(200))
            )

    responses = asyncio.run(fire())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 402}, {s: statuses.count(s) for s in set(statuses)}
    accepted = [r for r in responses if r.status_code == 200]
    assert 0 < len(accepted) < 200
    for r in responses:
        if r.status_code == 402:
            assert r.json()["error"]["type"] == "billing_error"

    report = get_usage(gw_admin, account.id)
    rows = report["data"]
    assert sorted(r["request_id"] for r in rows) == sorted(
        r.headers["request-id"] for r in accepted
    )
    spent = sum(nanos(r["cost_usd"]) for r in rows)
    for response in accepted:
        usage = response.json()["usage"]
        assert usage["output_tokens"] > 0
    assert spent == sum(
        cost_nanos(
            r.json()["usage"]["input_tokens"], r.json()["usage"]["output_tokens"], THINKMAXING
        )
        for r in accepted
    )
    assert spent <= credits
    after = get_account(gw_admin, account.id)
    balance = nanos(after["balance_usd"])
    assert balance >= 0
    assert credits - balance == spent
    assert nanos(after["lifetime_spend_usd"]) == spent


# --- crash -------------------------------------------------------------------------


def test_completed_requests_survive_sigkill(start_gateway) -> None:
    config = gateway_config()
    gateway = start_gateway(config)
    account = make_account(gateway.url, 1000, name="crash")
    completed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=gateway.url, headers=account.headers(), timeout=10) as client:
            for i in range(5000):  # bounded; stops at the kill long before
                if stop.is_set():
                    return
                try:
                    response = client.post(
                        "/v1/messages",
                        json=dict(MESSAGE, messages=[{"role": "user", "content": f"crash {i}"}]),
                    )
                    body = response.json()  # the whole body arrived
                except (httpx.HTTPError, ValueError):
                    return
                if response.status_code == 200 and body["content"][0]["text"] == f"crash {i}":
                    with lock:
                        completed.append(response.headers["request-id"])
                        if len(completed) >= 150:
                            enough.set()

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    enough.wait(60)
    gateway.kill()  # SIGKILL with requests in flight
    assert gateway.proc.returncode == -signal.SIGKILL
    stop.set()
    for thread in threads:
        thread.join(30)
    with lock:
        done = list(completed)
    assert len(done) >= 150

    restarted = start_gateway(config, gateway.workdir)
    with restarted.admin() as admin:
        rows = get_usage(admin, account.id)["data"]
        in_ledger = {r["request_id"] for r in rows}
        missing = [rid for rid in done if rid not in in_ledger]
        assert not missing, f"{len(missing)} of {len(done)} completed requests lost: {missing[:5]}"
        after = get_account(admin, account.id)
    spent = sum(nanos(r["cost_usd"]) for r in rows)
    assert 1000 * NANOS - nanos(after["balance_usd"]) == spent
    # The key survived too.
    response = httpx.post(
        restarted.url + "/v1/messages", json=MESSAGE, headers=account.headers(), timeout=30
    )
    assert response.status_code == 200, response.text
