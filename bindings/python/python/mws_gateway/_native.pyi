"""The Rust extension behind mws_gateway. Use the package's public classes; this
module's API may change between releases. Written by hand and checked against
the built module by mypy's stubtest (tests/test_typing_and_examples.py)."""

import os
from typing import Any, Mapping, final

from ._errors import MwsError

__all__ = [
    "Gateway",
    "Stream",
    "Server",
    "Completions",
    "Task",
    "run_cli",
    "exception_for_kind",
    "__version__",
]

__version__: str

@final
class Gateway:
    def __new__(
        cls, config_path: str | os.PathLike[str] | None = None, config_toml: str | None = None
    ) -> Gateway: ...
    def call(
        self,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        id: str | None = None,
    ) -> dict[str, Any]: ...
    def stream(
        self, endpoint: str, body: Mapping[str, Any], api_key: str | None = None
    ) -> Stream: ...
    def admin(
        self, op: str, id: str | None = None, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]: ...
    def call_async(
        self,
        completions: Completions,
        token: int,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        id: str | None = None,
    ) -> Task: ...
    def stream_async(
        self,
        completions: Completions,
        token: int,
        endpoint: str,
        body: Mapping[str, Any],
        api_key: str | None = None,
    ) -> Task: ...
    def admin_async(
        self,
        completions: Completions,
        token: int,
        op: str,
        id: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Task: ...
    def serve(self, address: str) -> Server: ...

@final
class Stream:
    def next(self) -> dict[str, Any] | None: ...
    def next_async(self, completions: Completions, token: int) -> Task: ...
    def close(self) -> None: ...
    def close_async(self, completions: Completions, token: int) -> Task: ...

@final
class Server:
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def close_async(self, completions: Completions, token: int) -> Task: ...

@final
class Completions:
    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[tuple[int, bool, Any]]: ...

@final
class Task:
    def cancel(self) -> None: ...

def run_cli(argv: list[str]) -> int: ...
def exception_for_kind(
    kind: str, shape: str, message: str, param: str | None = None
) -> MwsError: ...
