"""MWS gateway for Python: host the Anthropic- and OpenAI-compatible gateway in
your process (``Gateway.serve``) or call it in-process without HTTP, sync
(``Gateway``) or with asyncio (``AsyncGateway``).

    from mws_gateway import Gateway

    gw = Gateway()  # built-in catalogue, echo upstream, memory store
    reply = gw.chat_completions(
        {"model": "dragon", "messages": [{"role": "user", "content": "Hi"}]}
    )
"""

from ._async import AsyncAdmin, AsyncGateway, AsyncStream
from ._errors import (
    AuthenticationError,
    BadRequestError,
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
)
from ._gateway import Admin, Gateway, Stream
from ._native import __version__
from ._server import Server
from ._types import Body, JSONObject

__all__ = [
    "Admin",
    "AsyncAdmin",
    "AsyncGateway",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Body",
    "Gateway",
    "GatewayTimeoutError",
    "InsufficientCreditsError",
    "InternalServerError",
    "JSONObject",
    "MethodNotAllowedError",
    "MwsError",
    "NotFoundError",
    "OverloadedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "Server",
    "Stream",
    "UpstreamError",
    "__version__",
]
