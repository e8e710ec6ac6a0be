"""The sync surface: ``Gateway``, its ``Admin`` and ``Stream``. Every call
releases the GIL while the core works, so threads can call at once."""

from __future__ import annotations

from types import TracebackType
from typing import Iterator, Optional, Type

from . import _admin, _native
from ._server import Server
from ._types import Body, JSONObject, PathLike


class Stream(Iterator[JSONObject]):
    """The events of a streamed answer: for ``messages_stream`` each Anthropic
    event (its ``type`` says which), for ``chat_completions_stream`` each OpenAI
    chunk (no ``[DONE]``), for ``responses_stream`` each Responses event. ``close()``, leaving a ``with`` block or dropping the
    stream stops it early and cancels the upstream request."""

    def __init__(self, native: _native.Stream) -> None:
        self._native = native

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> JSONObject:
        event = self._native.next()
        if event is None:
            raise StopIteration
        return event

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


class Admin:
    """Accounts, credits, plans, keys, usage and deployments, in-process and without the admin
    token (the host process is trusted). Each returns the admin API's JSON; errors
    come in the OpenAI shape, as the admin API sends them."""

    def __init__(self, native: _native.Gateway) -> None:
        self._native = native

    def _run(self, op: _admin.Op) -> JSONObject:
        return self._native.admin(*op)

    def create_account(self, name: str) -> JSONObject:
        return self._run(_admin.create_account(name))

    def account(self, account_id: str) -> JSONObject:
        return self._run(_admin.account(account_id))

    def add_credits(self, account_id: str, amount_usd: _admin.Amount) -> JSONObject:
        """Adds credits in USD (up to 9 decimals); returns the account."""
        return self._run(_admin.add_credits(account_id, amount_usd))

    def set_plan(self, account_id: str, plan: Optional[str]) -> JSONObject:
        """Sets a configured plan, or clears it with None; returns the account."""
        return self._run(_admin.set_plan(account_id, plan))

    def create_key(
        self,
        account_id: str,
        name: str = "default",
        rpm: Optional[int] = None,
        tpm: Optional[int] = None,
    ) -> JSONObject:
        """A new key; its secret (``key``) is in this answer only. Needs $25 of
        credits or a plan (else InsufficientCreditsError)."""
        return self._run(_admin.create_key(account_id, name, rpm, tpm))

    def list_keys(self, account_id: str) -> JSONObject:
        return self._run(_admin.list_keys(account_id))

    def set_key_throttle(
        self, key_id: str, rpm: Optional[int] = None, tpm: Optional[int] = None
    ) -> JSONObject:
        """Sets the key's own limits; None removes that limit."""
        return self._run(_admin.set_key_throttle(key_id, rpm, tpm))

    def revoke_key(self, key_id: str) -> JSONObject:
        return self._run(_admin.revoke_key(key_id))

    def usage(self, account_id: str) -> JSONObject:
        """The account's ledger rows and their totals."""
        return self._run(_admin.usage(account_id))

    def deployments(self) -> JSONObject:
        """Every deployment of the profiles with its health: ``state``
        (healthy, cooling_down, circuit_open, half_open), cooldown and circuit
        times, requests in flight, recent latency and error rate."""
        return self._run(_admin.deployments())


class Gateway:
    """The gateway, from a TOML file (``config_path``), a TOML string
    (``config_toml``) or neither (the built-in catalogue on the echo upstream with
    the memory store).

    Calls take the request in the endpoint's own JSON shape and return the JSON
    the HTTP endpoint would. With ``api_key`` they are authenticated, limited and
    charged as over HTTP; without, they run unmetered as the host process."""

    def __init__(
        self, config_path: Optional[PathLike] = None, config_toml: Optional[str] = None
    ) -> None:
        self._native = _native.Gateway(config_path, config_toml)
        self.admin = Admin(self._native)

    def messages(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/messages (Anthropic Messages)."""
        return self._native.call("messages", body, api_key)

    def messages_stream(self, body: Body, *, api_key: Optional[str] = None) -> Stream:
        """POST /v1/messages streamed: the Anthropic events."""
        return Stream(self._native.stream("messages", body, api_key))

    def count_tokens(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/messages/count_tokens: ``{"input_tokens": N}``."""
        return self._native.call("count_tokens", body, api_key)

    def chat_completions(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/chat/completions (OpenAI Chat Completions)."""
        return self._native.call("chat_completions", body, api_key)

    def chat_completions_stream(self, body: Body, *, api_key: Optional[str] = None) -> Stream:
        """POST /v1/chat/completions streamed: the OpenAI chunks."""
        return Stream(self._native.stream("chat_completions", body, api_key))

    def models(
        self, model_id: Optional[str] = None, *, api_key: Optional[str] = None
    ) -> JSONObject:
        """GET /v1/models, or GET /v1/models/{model_id} with a model id."""
        return self._native.call("models", None, api_key, model_id)

    def embeddings(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/embeddings."""
        return self._native.call("embeddings", body, api_key)

    def rerank(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/rerank."""
        return self._native.call("rerank", body, api_key)

    def responses(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/responses (the OpenAI Responses API): the ``response`` object,
        stored for the caller unless ``"store": False``."""
        return self._native.call("responses", body, api_key)

    def responses_stream(self, body: Body, *, api_key: Optional[str] = None) -> Stream:
        """POST /v1/responses streamed: the Responses events (each with its ``type``)."""
        return Stream(self._native.stream("responses", body, api_key))

    def response(self, response_id: str, *, api_key: Optional[str] = None) -> JSONObject:
        """GET /v1/responses/{response_id}: a stored response of the caller."""
        return self._native.call("response", None, api_key, response_id)

    def delete_response(self, response_id: str, *, api_key: Optional[str] = None) -> JSONObject:
        """DELETE /v1/responses/{response_id}: ``{"id", "object": "response.deleted", "deleted": true}``."""
        return self._native.call("delete_response", None, api_key, response_id)

    def response_input_items(
        self,
        response_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        order: Optional[str] = None,
        api_key: Optional[str] = None,
    ) -> JSONObject:
        """GET /v1/responses/{response_id}/input_items: one page of its input items."""
        query = {k: v for k, v in (("limit", limit), ("after", after), ("order", order)) if v is not None}
        return self._native.call("response_input_items", query, api_key, response_id)

    def responses_input_tokens(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/responses/input_tokens: ``{"object": "response.input_tokens", "input_tokens": N}``."""
        return self._native.call("responses_input_tokens", body, api_key)

    def responses_compact(self, body: Body, *, api_key: Optional[str] = None) -> JSONObject:
        """POST /v1/responses/compact: the conversation as one ``compaction`` item."""
        return self._native.call("responses_compact", body, api_key)

    def serve(self, address: str = "127.0.0.1:0") -> Server:
        """Serves the HTTP API on ``address`` (port 0 picks a free port) until the
        returned server is closed."""
        return Server(self._native.serve(address))
