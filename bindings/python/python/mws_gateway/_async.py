"""The asyncio surface: ``AsyncGateway``, its ``AsyncAdmin`` and ``AsyncStream``,
with the names of the sync surface as coroutines and async iterators. The core
runs on the module's tokio runtime; the event loop is never blocked."""

from __future__ import annotations

from types import TracebackType
from typing import AsyncIterator, Optional, Type

from . import _admin, _aio, _native
from ._server import Server
from ._types import Body, JSONObject, PathLike


class AsyncStream(AsyncIterator[JSONObject]):
    """The events of a streamed answer, for ``async for``. ``await aclose()``,
    leaving an ``async with`` block, cancelling the task that iterates, or
    dropping the stream stops it early and cancels the upstream request."""

    def __init__(self, native: _native.Stream) -> None:
        self._native = native

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> JSONObject:
        event: Optional[JSONObject] = await _aio.run(self._native.next_async)
        if event is None:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        await _aio.run(self._native.close_async)

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()


class AsyncAdmin:
    """The admin operations of ``Admin``, as coroutines."""

    def __init__(self, native: _native.Gateway) -> None:
        self._native = native

    async def _run(self, op: _admin.Op) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.admin_async, *op)
        return reply

    async def create_account(self, name: str) -> JSONObject:
        return await self._run(_admin.create_account(name))

    async def account(self, account_id: str) -> JSONObject:
        return await self._run(_admin.account(account_id))

    async def add_credits(self, account_id: str, amount_usd: _admin.Amount) -> JSONObject:
        return await self._run(_admin.add_credits(account_id, amount_usd))

    async def set_plan(self, account_id: str, plan: Optional[str]) -> JSONObject:
        return await self._run(_admin.set_plan(account_id, plan))

    async def create_key(
        self,
        account_id: str,
        name: str = "default",
        rpm: Optional[int] = None,
        tpm: Optional[int] = None,
    ) -> JSONObject:
        return await self._run(_admin.create_key(account_id, name, rpm, tpm))

    async def list_keys(self, account_id: str) -> JSONObject:
        return await self._run(_admin.list_keys(account_id))

    async def set_key_throttle(
        self, key_id: str, rpm: Optional[int] = None, tpm: Optional[int] = None
    ) -> JSONObject:
        return await self._run(_admin.set_key_throttle(key_id, rpm, tpm))

    async def revoke_key(self, key_id: str) -> JSONObject:
        return await self._run(_admin.revoke_key(key_id))

    async def usage(self, account_id: str) -> JSONObject:
        return await self._run(_admin.usage(account_id))

    async def deployments(self) -> JSONObject:
        return await self._run(_admin.deployments())


class AsyncGateway:
    """``Gateway`` for asyncio: the same constructor and calls, as coroutines;
    the ``*_stream`` coroutines return an ``AsyncStream``."""

    def __init__(
        self, config_path: Optional[PathLike] = None, config_toml: Optional[str] = None
    ) -> None:
        self._native = _native.Gateway(config_path, config_toml)
        self.admin = AsyncAdmin(self._native)

    async def _stream(self, endpoint: str, body: Body, api_key: Optional[str]) -> AsyncStream:
        native = await _aio.run(self._native.stream_async, endpoint, body, api_key)
        return AsyncStream(native)

    async def messages(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.call_async, "messages", body, api_key)
        return reply

    async def messages_stream(self, body: Body, *, api_key: Optional[str] = None) -> AsyncStream:
        return await self._stream("messages", body, api_key)

    async def count_tokens(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.call_async, "count_tokens", body, api_key)
        return reply

    async def chat_completions(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "chat_completions", body, api_key
        )
        return reply

    async def chat_completions_stream(
        self, body: Body, *, api_key: Optional[str] = None
    ) -> AsyncStream:
        return await self._stream("chat_completions", body, api_key)

    async def models(
        self, model_id: Optional[str] = None, *, api_key: Optional[str] = None
    ) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "models", None, api_key, model_id
        )
        return reply

    async def embeddings(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.call_async, "embeddings", body, api_key)
        return reply

    async def rerank(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.call_async, "rerank", body, api_key)
        return reply

    async def responses(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(self._native.call_async, "responses", body, api_key)
        return reply

    async def responses_stream(
        self, body: Body, *, api_key: Optional[str] = None
    ) -> AsyncStream:
        return await self._stream("responses", body, api_key)

    async def response(self, response_id: str, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "response", None, api_key, response_id
        )
        return reply

    async def delete_response(
        self, response_id: str, *, api_key: Optional[str] = None
    ) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "delete_response", None, api_key, response_id
        )
        return reply

    async def response_input_items(
        self,
        response_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        order: Optional[str] = None,
        api_key: Optional[str] = None,
    ) -> JSONObject:
        query = {k: v for k, v in (("limit", limit), ("after", after), ("order", order)) if v is not None}
        reply: JSONObject = await _aio.run(
            self._native.call_async, "response_input_items", query, api_key, response_id
        )
        return reply

    async def responses_input_tokens(
        self, body: Body, *, api_key: Optional[str] = None
    ) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "responses_input_tokens", body, api_key
        )
        return reply

    async def responses_compact(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        reply: JSONObject = await _aio.run(
            self._native.call_async, "responses_compact", body, api_key
        )
        return reply

    def serve(self, address: str = "127.0.0.1:0") -> Server:
        """Serves the HTTP API (binding is immediate); use ``async with`` on the
        server, or ``await server.aclose()``, to stop it without blocking the loop."""
        return Server(self._native.serve(address))
