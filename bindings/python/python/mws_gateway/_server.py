"""A running HTTP server: its address, and a graceful stop on ``close()``, on
leaving a ``with`` block (exception or not), when it is garbage collected, and
at interpreter shutdown."""

from __future__ import annotations

import weakref
from types import TracebackType
from typing import Optional, Type

from . import _aio, _native


class Server:
    """Returned by ``Gateway.serve``; use it as a context manager (``with`` or
    ``async with``) or call ``close()`` / ``await aclose()``."""

    def __init__(self, native: _native.Server) -> None:
        self._native = native
        # Runs once: on close(), on collection, or at exit (weakref.finalize's atexit).
        self._finalizer = weakref.finalize(self, native.close)

    @property
    def url(self) -> str:
        """``http://host:port``, the base URL of the OpenAI SDK less ``/v1``, and
        the base URL of the Anthropic SDK as it is."""
        return self._native.url

    @property
    def address(self) -> str:
        """The bound address, ``host:port`` (the port resolved when 0 was asked)."""
        return self._native.address

    @property
    def port(self) -> int:
        return self._native.port

    @property
    def closed(self) -> bool:
        return self._native.closed

    def close(self) -> None:
        """Stops accepting, lets requests and streams in flight finish (up to
        ``server.shutdown_grace_secs``), then returns. Idempotent."""
        self._finalizer()

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        if self._finalizer.detach() is not None:
            await _aio.run(self._native.close_async)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving"
        return f"<mws_gateway.Server {self.url} {state}>"
