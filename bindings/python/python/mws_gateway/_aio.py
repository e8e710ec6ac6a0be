"""Runs native work on the module's tokio runtime and awaits it on the asyncio
event loop.

Each loop gets one ``_native.Completions``: finished results are queued there and
a byte on its socket wakes the loop (``add_reader``), whose callback turns the
whole batch into Python objects and resolves the waiting futures. So the
runtime's threads never wait for the GIL, and a cancelled asyncio task aborts
its native task."""

from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Any, Callable, Dict, MutableMapping

from . import _native

Start = Callable[[_native.Completions, int], _native.Task]


class _Bridge:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.completions = _native.Completions()
        # No reference to the loop here: the loop keys a weak dictionary of bridges.
        self.pending: Dict[int, asyncio.Future[Any]] = {}
        loop.add_reader(self.completions.fileno(), self._drain)

    def _drain(self) -> None:
        for token, ok, value in self.completions.drain():
            future = self.pending.pop(token, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


_bridges: MutableMapping[asyncio.AbstractEventLoop, _Bridge] = weakref.WeakKeyDictionary()
_tokens = itertools.count()


def _bridge(loop: asyncio.AbstractEventLoop) -> _Bridge:
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _Bridge(loop)
        _bridges[loop] = bridge
    return bridge


async def run(start: Start) -> Any:
    """Starts native work with ``start(completions, token)`` and awaits its result."""
    loop = asyncio.get_running_loop()
    bridge = _bridge(loop)
    token = next(_tokens)
    future = loop.create_future()
    bridge.pending[token] = future
    try:
        task = start(bridge.completions, token)
    except BaseException:
        del bridge.pending[token]
        raise
    try:
        return await future
    except asyncio.CancelledError:
        task.cancel()
        bridge.pending.pop(token, None)
        raise
