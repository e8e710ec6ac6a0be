"""The exceptions of mws_gateway: one class per error kind of the gateway, all
under :class:`MwsError`, each with the HTTP ``status``, the error ``type`` in the
shape of the endpoint called (Anthropic for ``messages`` and ``count_tokens``,
OpenAI otherwise and for admin operations), the ``message`` and the ``param``
(the request field at fault) when there is one. The native module raises them."""

from __future__ import annotations

from typing import Any, Optional, Tuple


class MwsError(Exception):
    """Base class of every error the gateway reports."""

    status: int
    type: str
    message: str
    param: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        status: int = 500,
        type: str = "api_error",
        param: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param

    def __str__(self) -> str:
        return f"{self.status} {self.type}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status}, "
            f"type={self.type!r}, param={self.param!r})"
        )

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keyword-only fields survive pickling (say, across multiprocessing).
        return (_rebuild, (type(self), self.message, self.status, self.type, self.param))


def _rebuild(
    cls: type[MwsError], message: str, status: int, type_: str, param: Optional[str]
) -> MwsError:
    return cls(message, status=status, type=type_, param=param)


class BadRequestError(MwsError):
    """400: the request is malformed or a field has the wrong type or value."""


class AuthenticationError(MwsError):
    """401: missing, invalid or revoked API key."""


class InsufficientCreditsError(MwsError):
    """402: out of credits or quota."""


class PermissionDeniedError(MwsError):
    """403: the key may not do this."""


class NotFoundError(MwsError):
    """404: unknown model, account or key."""


class MethodNotAllowedError(MwsError):
    """405: the route exists but not with this method."""


class PayloadTooLargeError(MwsError):
    """413: the request is over the configured size."""


class RateLimitError(MwsError):
    """429: a request or token limit was reached."""


class InternalServerError(MwsError):
    """500: an unexpected state inside the gateway."""


class UpstreamError(MwsError):
    """502: the upstream failed or answered with something unusable."""


class OverloadedError(MwsError):
    """503: the gateway or the upstream is overloaded or shutting down."""


class GatewayTimeoutError(MwsError):
    """504: the upstream did not answer in time."""
