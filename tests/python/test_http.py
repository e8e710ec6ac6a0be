"""Plain HTTP checks with httpx: endpoints the SDKs do not cover, errors, headers, routing."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from conftest import Account, gateway_config, make_account

RATELIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


@pytest.fixture(scope="module")
def http(gateway_url: str, api_key: str):
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=gateway_url, headers=headers, timeout=30) as client:
        yield client


def assert_limit_headers(response: httpx.Response) -> None:
    for name in RATELIMIT_HEADERS:
        assert response.headers.get(name), f"{name} missing on {response.status_code}"
    assert response.headers.get("request-id"), f"request-id missing on {response.status_code}"


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["message"]
    return error


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    return body["error"]


# --- rerank and count_tokens -------------------------------------------------

DOCUMENTS = [
    "The weather in Paris is sunny today.",
    "Dragons guard treasure in old stories.",
    "A red dragon sleeps on a hoard of gold treasure.",
    "Bread is baked in an oven.",
]


def test_rerank_sorted(http: httpx.Client) -> None:
    response = http.post(
        "/v1/rerank",
        json={"model": "dragon", "query": "dragon treasure gold", "documents": DOCUMENTS},
    )
    assert response.status_code == 200, response.text
    assert_limit_headers(response)
    results = response.json()["results"]
    assert sorted(r["index"] for r in results) == list(range(len(DOCUMENTS)))
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["index"] == 2  # shares the most words with the query
    assert results[0]["relevance_score"] > results[-1]["relevance_score"]


def test_rerank_top_n(http: httpx.Client) -> None:
    response = http.post(
        "/v1/rerank",
        json={
            "model": "dragon",
            "query": "dragon treasure gold",
            "documents": DOCUMENTS,
            "top_n": 2,
        },
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == [2, 1]


def test_rerank_bad_request(http: httpx.Client) -> None:
    response = http.post("/v1/rerank", json={"model": "dragon", "query": "q"})
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert "documents" in error["message"]
    assert_limit_headers(response)


def test_count_tokens(http: httpx.Client) -> None:
    body = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "x" * 400}]}
    response = http.post("/v1/messages/count_tokens", json=body)
    assert response.status_code == 200, response.text
    assert_limit_headers(response)
    count = response.json()["input_tokens"]
    # Four characters a token over the whole request: at least the 400 characters.
    assert 100 <= count < 150


# --- operations ---------------------------------------------------------------


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_metrics(http: httpx.Client) -> None:
    http.post("/v1/chat/completions", json={"model": "dragon", "messages": [{"role": "user", "content": "m"}]})
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE mws_requests_total counter" in response.text
    assert "mws_requests_total{" in response.text


# --- errors -------------------------------------------------------------------


def test_unknown_route_openai_shape(http: httpx.Client) -> None:
    response = http.get("/v1/no-such-endpoint")
    error = assert_openai_error(response, 404)
    assert error["type"] == "invalid_request_error"
    assert_limit_headers(response)


def test_unknown_route_under_messages_anthropic_shape(gateway_url: str, api_key: str) -> None:
    # A connection of its own: see test_keep_alive_after_unread_body below.
    response = httpx.post(
        gateway_url + "/v1/messages/x", json={}, headers={"x-api-key": api_key}, timeout=30
    )
    assert_anthropic_error(response, 404, "not_found_error")
    assert_limit_headers(response)


def _read_response(sock: socket.socket) -> tuple[str, bytes]:
    """Read one HTTP/1.1 response with a content-length; ("", b"") if the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return "", data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], body


def test_keep_alive_after_unread_body(gateway_url: str) -> None:
    # What httpx and the SDKs do: headers and body in separate writes, then the
    # next request on the same kept-alive connection.
    host, port = gateway_url.removeprefix("http://").split(":")
    body = b"{}"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/messages/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
        )
        time.sleep(0.2)
        sock.sendall(body)
        status, _ = _read_response(sock)
        assert status.startswith("HTTP/1.1 404")
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, _ = _read_response(sock)
        except OSError as error:
            status = f"<{error}>"
        assert status.startswith("HTTP/1.1 200"), "connection closed after the 404"


def test_bad_request_openai_shape(http: httpx.Client) -> None:
    response = http.post(
        "/v1/chat/completions", json={"model": "dragon", "messages": "not a list"}
    )
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    assert_limit_headers(response)


def test_bad_request_anthropic_shape(http: httpx.Client) -> None:
    response = http.post(
        "/v1/messages",
        json={
            "model": "dragon",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": [{"type": "bogus"}]}],
        },
    )
    error = assert_anthropic_error(response, 400, "invalid_request_error")
    assert "messages.0.content.0.type" in error["message"]
    assert_limit_headers(response)
    assert response.headers.get("anthropic-ratelimit-requests-limit")


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_openai_error(response, 400)
    assert_limit_headers(response)


def test_wrong_method(http: httpx.Client) -> None:
    response = http.get("/v1/chat/completions")
    error = assert_openai_error(response, 405)
    assert "GET" in error["message"]
    assert_limit_headers(response)
    response = http.delete("/v1/messages")
    assert_anthropic_error(response, 405, "invalid_request_error")
    assert_limit_headers(response)


@pytest.fixture(scope="module")
def small_body_gateway(start_gateway) -> Account:
    gateway = start_gateway(gateway_config(extra="[server]\nmax_body_bytes = 1000\n"))
    assert gateway.url is not None
    return make_account(gateway.url, 100)


def test_body_too_large_anthropic(small_body_gateway: Account) -> None:
    body = {
        "model": "dragon",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "x" * 5000}],
    }
    response = httpx.post(
        small_body_gateway.url + "/v1/messages",
        json=body,
        headers=small_body_gateway.headers(),
        timeout=30,
    )
    assert_anthropic_error(response, 413, "request_too_large")
    assert_limit_headers(response)


def test_body_too_large_openai(small_body_gateway: Account) -> None:
    body = {"model": "dragon", "messages": [{"role": "user", "content": "x" * 5000}]}
    response = httpx.post(
        small_body_gateway.url + "/v1/chat/completions",
        json=body,
        headers=small_body_gateway.headers(),
        timeout=30,
    )
    error = assert_openai_error(response, 413)
    assert error["type"] == "invalid_request_error"
    assert_limit_headers(response)


def test_small_body_still_served(small_body_gateway: Account) -> None:
    body = {"model": "dragon", "max_tokens": 16, "messages": [{"role": "user", "content": "ok"}]}
    response = httpx.post(
        small_body_gateway.url + "/v1/messages",
        json=body,
        headers=small_body_gateway.headers(),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_per_ip_limit_without_key(start_gateway) -> None:
    # Requests without a valid key are refused (401) and counted per client IP,
    # so guessing keys is throttled: over the limit they get 429.
    gateway = start_gateway(
        gateway_config(
            "[limits]\nunauthenticated_rpm_per_ip = 2\nunauthenticated_tpm_per_ip = 1000000000\n"
        )
    )
    openai_body = {"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        first = client.post("/v1/chat/completions", json=openai_body)
        second = client.post(
            "/v1/chat/completions",
            json=openai_body,
            headers={"Authorization": "Bearer mws_live_" + "x" * 40},
        )
        for refused in (first, second):
            error = assert_openai_error(refused, 401)
            assert error["code"] == "invalid_api_key"
            assert_limit_headers(refused)
            assert refused.headers["x-ratelimit-limit-requests"] == "2"
        assert int(second.headers["x-ratelimit-remaining-requests"]) < int(
            first.headers["x-ratelimit-remaining-requests"]
        )

        limited = client.post("/v1/chat/completions", json=openai_body)
        error = assert_openai_error(limited, 429)
        assert error["code"] == "rate_limit_exceeded"
        assert_limit_headers(limited)
        assert limited.headers["x-ratelimit-remaining-requests"] == "0"
        assert int(limited.headers["retry-after"]) >= 1

        anthropic_limited = client.post(
            "/v1/messages",
            json={"model": "dragon", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert_anthropic_error(anthropic_limited, 429, "rate_limit_error")
        assert_limit_headers(anthropic_limited)
        assert int(anthropic_limited.headers["retry-after"]) >= 1

        # Operations endpoints are not under /v1 and stay reachable.
        assert client.get("/health").status_code == 200


def test_tier_limit_429(start_gateway) -> None:
    # An account's ceiling comes from its tier; over it, 429 in both shapes.
    gateway = start_gateway(
        gateway_config(
            "[limits]\nunauthenticated_rpm_per_ip = 100000\n"
            "[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 2\ntpm = 1000000000\n"
        )
    )
    account = make_account(gateway.url, 100)
    openai_body = {
        "model": "dragon",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with account.client() as client:
        first = client.post("/v1/chat/completions", json=openai_body)
        second = client.post("/v1/chat/completions", json=openai_body)
        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert int(second.headers["x-ratelimit-remaining-requests"]) < int(
            first.headers["x-ratelimit-remaining-requests"]
        )

        limited = client.post("/v1/chat/completions", json=openai_body)
        error = assert_openai_error(limited, 429)
        assert error["code"] == "rate_limit_exceeded"
        assert_limit_headers(limited)
        assert limited.headers["x-ratelimit-limit-requests"] == "2"
        assert limited.headers["x-ratelimit-remaining-requests"] == "0"
        assert int(limited.headers["retry-after"]) >= 1

        anthropic_limited = client.post(
            "/v1/messages",
            json={"model": "dragon", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert_anthropic_error(anthropic_limited, 429, "rate_limit_error")
        assert_limit_headers(anthropic_limited)
        assert int(anthropic_limited.headers["retry-after"]) >= 1


# --- routing ------------------------------------------------------------------

ROUTES = [
    ("gpt-4o", "dragon"),
    ("claude-sonnet-4-6", "dragon"),
    ("dragon-coder", "dragon-coder"),
    ("dragon-thinkmaxing", "dragon-thinkmaxing"),
    ("no-such-model", "dragon"),
]


@pytest.mark.parametrize(("model", "profile"), ROUTES)
def test_routing_chat_completions(http: httpx.Client, model: str, profile: str) -> None:
    response = http.post(
        "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "route"}]}
    )
    assert response.status_code == 200, response.text
    assert response.headers["mws-profile"] == profile
    assert response.json()["model"] == model
    assert_limit_headers(response)


@pytest.mark.parametrize(("model", "profile"), ROUTES)
def test_routing_messages(http: httpx.Client, model: str, profile: str) -> None:
    response = http.post(
        "/v1/messages",
        json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "route"}]},
    )
    assert response.status_code == 200, response.text
    assert response.headers["mws-profile"] == profile
    assert response.json()["model"] == model
    assert_limit_headers(response)


def test_routing_stream_header(http: httpx.Client) -> None:
    body = {
        "model": "dragon-coder",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": "route"}],
    }
    with http.stream("POST", "/v1/messages", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["mws-profile"] == "dragon-coder"
        assert_limit_headers(response)
        text = response.read().decode()
    assert "event: message_start" in text
    assert "event: message_stop" in text


def test_no_key_is_401(gateway_url: str) -> None:
    body = {"model": "dragon", "max_tokens": 16, "messages": [{"role": "user", "content": "open"}]}
    response = httpx.post(gateway_url + "/v1/messages", json=body, timeout=30)
    error = assert_anthropic_error(response, 401, "authentication_error")
    assert "key" in error["message"].lower()
    assert_limit_headers(response)

    response = httpx.post(
        gateway_url + "/v1/chat/completions",
        json={"model": "dragon", "messages": [{"role": "user", "content": "open"}]},
        timeout=30,
    )
    error = assert_openai_error(response, 401)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert_limit_headers(response)


@pytest.mark.parametrize(
    "key",
    ["sk-test-any", "mws_live_", "mws_live_" + "A" * 40, "Bearer", "mws_live_" + "!" * 40],
)
def test_bad_key_is_401(gateway_url: str, key: str) -> None:
    body = {"model": "dragon", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(
        gateway_url + "/v1/messages", json=body, headers={"x-api-key": key}, timeout=30
    )
    assert_anthropic_error(response, 401, "authentication_error")
    response = httpx.post(
        gateway_url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert assert_openai_error(response, 401)["code"] == "invalid_api_key"
