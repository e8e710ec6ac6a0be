"""One exception class per error kind, under MwsError, each carrying the HTTP
status, the error type in the called endpoint's shape, the message and the
param. Most are raised here by a real failure; the mapping of every kind in both
shapes is checked through the module's own converter."""

from __future__ import annotations

import pickle
from typing import Any, Callable, Dict, Iterator, Optional, Type

import pytest

import mws_gateway
from conftest import CHAT, MEMORY, MESSAGES, fund
from mws_gateway import (
    AuthenticationError,
    BadRequestError,
    Gateway,
    GatewayTimeoutError,
    InsufficientCreditsError,
    InternalServerError,
    MethodNotAllowedError,
    MwsError,
    NotFoundError,
    OverloadedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
    _native,
)
from scripted import Scripted

# kind (as the core names it): class, status, Anthropic type, OpenAI type
KINDS = {
    "invalid_request": (BadRequestError, 400, "invalid_request_error", "invalid_request_error"),
    "authentication": (AuthenticationError, 401, "authentication_error", "invalid_request_error"),
    "insufficient_credits": (InsufficientCreditsError, 402, "billing_error", "insufficient_quota"),
    "permission_denied": (PermissionDeniedError, 403, "permission_error", "invalid_request_error"),
    "not_found": (NotFoundError, 404, "not_found_error", "invalid_request_error"),
    "method_not_allowed": (
        MethodNotAllowedError,
        405,
        "invalid_request_error",
        "invalid_request_error",
    ),
    "payload_too_large": (PayloadTooLargeError, 413, "request_too_large", "invalid_request_error"),
    "rate_limited": (RateLimitError, 429, "rate_limit_error", "requests"),
    "internal": (InternalServerError, 500, "api_error", "server_error"),
    "upstream": (UpstreamError, 502, "api_error", "server_error"),
    "overloaded": (OverloadedError, 503, "overloaded_error", "server_error"),
    "timeout": (GatewayTimeoutError, 504, "api_error", "server_error"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_maps_to_its_class_in_both_shapes(kind: str) -> None:
    cls, status, anthropic_type, openai_type = KINDS[kind]
    for shape, type_ in (("anthropic", anthropic_type), ("openai", openai_type)):
        e = _native.exception_for_kind(kind, shape, "what went wrong", "field.path")
        assert type(e) is cls and isinstance(e, MwsError)
        assert isinstance(e, MwsError)
        assert (e.status, e.type, e.message, e.param) == (
            status,
            type_,
            "what went wrong",
            "field.path",
        )
    assert getattr(mws_gateway, cls.__name__) is cls


def test_exceptions_print_pickle_and_compare() -> None:
    e = RateLimitError("slow down", status=429, type="rate_limit_error", param=None)
    assert str(e) == "429 rate_limit_error: slow down"
    assert "RateLimitError('slow down', status=429" in repr(e)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is RateLimitError
    assert (back.status, back.type, back.message, back.param) == (
        429,
        "rate_limit_error",
        "slow down",
        None,
    )


def check(
    call: Callable[[], object],
    cls: Type[MwsError],
    status: int,
    type_: str,
    param: Optional[str] = None,
) -> None:
    """`call()` raises exactly `cls` with this status, type (and param)."""
    with pytest.raises(cls) as err:
        call()
    e = err.value
    assert type(e) is cls
    assert (e.status, e.type) == (status, type_), repr(e)
    assert e.message and e.message in str(e)
    if param is not None:
        assert e.param == param


def test_bad_request_in_each_shape(gw: Gateway) -> None:
    check(
        lambda: gw.messages({"model": "dragon", "messages": [{"role": "user", "content": "hi"}]}),
        BadRequestError,
        400,
        "invalid_request_error",
        "max_tokens",
    )
    check(
        lambda: gw.chat_completions({"model": "dragon"}),
        BadRequestError,
        400,
        "invalid_request_error",
        "messages",
    )


def test_authentication_in_each_shape(gw: Gateway) -> None:
    check(
        lambda: gw.messages(MESSAGES, api_key="mws_live_not_a_key"),
        AuthenticationError,
        401,
        "authentication_error",
    )
    check(
        lambda: gw.chat_completions(CHAT, api_key="mws_live_not_a_key"),
        AuthenticationError,
        401,
        "invalid_request_error",
    )


def test_insufficient_credits_in_each_shape() -> None:
    # A profile so dear that one request's worst case is over the balance.
    gw = Gateway(
        config_toml=MEMORY
        + """
[[profiles]]
id = "dear"
upstream = "echo"
context_window = 100000
tokens_per_second = 100
input_price_per_mtok = 1.0
output_price_per_mtok = 100000.0
[routing]
default_profile = "dear"
aliases = {}
"""
    )
    _, key = fund(gw, usd=25)
    check(
        lambda: gw.messages({**MESSAGES, "max_tokens": 4096}, api_key=key),
        InsufficientCreditsError,
        402,
        "billing_error",
    )
    check(
        lambda: gw.chat_completions({**CHAT, "max_tokens": 4096}, api_key=key),
        InsufficientCreditsError,
        402,
        "insufficient_quota",
    )


def test_not_found(gw: Gateway) -> None:
    check(lambda: gw.models("no-such-model"), NotFoundError, 404, "invalid_request_error", "model")


def test_rate_limited_in_each_shape(gw: Gateway) -> None:
    _, key = fund(gw, rpm=1)
    gw.count_tokens(MESSAGES, api_key=key)  # not counted as a request
    gw.messages(MESSAGES, api_key=key)
    check(lambda: gw.messages(MESSAGES, api_key=key), RateLimitError, 429, "rate_limit_error")
    check(lambda: gw.chat_completions(CHAT, api_key=key), RateLimitError, 429, "requests")


def test_internal_error_when_the_address_is_taken(gw: Gateway) -> None:
    with gw.serve("127.0.0.1:0") as server:
        check(lambda: gw.serve(server.address), InternalServerError, 500, "server_error")


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    upstream = Scripted()
    yield upstream
    upstream.close()


def test_upstream_failures(scripted: Scripted) -> None:
    gw = Gateway(config_toml=scripted.config(first_byte_timeout_secs=0.3))
    body: Dict[str, Any] = {**MESSAGES, "model": "scripted"}
    chat: Dict[str, Any] = {**CHAT, "model": "scripted"}

    scripted.error(500, "boom")
    check(lambda: gw.messages(body), UpstreamError, 502, "api_error")
    scripted.error(500, "boom")
    check(lambda: gw.chat_completions(chat), UpstreamError, 502, "server_error")

    scripted.error(503, "busy")
    check(lambda: gw.messages(body), OverloadedError, 503, "overloaded_error")

    scripted.error(413, "too big")
    check(lambda: gw.chat_completions(chat), PayloadTooLargeError, 413, "invalid_request_error")

    scripted.error(404, "no such model upstream")
    check(lambda: gw.messages(body), NotFoundError, 404, "not_found_error")

    scripted.error(400, "bad temperature", param="temperature")
    check(
        lambda: gw.chat_completions(chat),
        BadRequestError,
        400,
        "invalid_request_error",
        "temperature",
    )

    scripted.stall(2.0)
    check(lambda: gw.messages(body), GatewayTimeoutError, 504, "api_error")


def test_errors_before_a_stream_starts_raise_from_the_call(gw: Gateway) -> None:
    check(
        lambda: gw.messages_stream(MESSAGES, api_key="mws_live_nope"),
        AuthenticationError,
        401,
        "authentication_error",
    )
    check(
        lambda: gw.chat_completions_stream({"model": "dragon"}),
        BadRequestError,
        400,
        "invalid_request_error",
        "messages",
    )
