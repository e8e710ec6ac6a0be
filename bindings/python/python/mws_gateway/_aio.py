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
import threading
import weakref
from typing import Any, Callable, Dict, MutableMapping, Optional, Tuple

from . import _native


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


class _LastBridge(threading.local):
    """A loop runs on one thread: each thread remembers its last loop's bridge,
    which spares a weak-dictionary lookup per call."""

    pair: Optional[Tuple["weakref.ref[asyncio.AbstractEventLoop]", _Bridge]] = None


_last = _LastBridge()


def _bridge(loop: asyncio.AbstractEventLoop) -> _Bridge:
    cached = _last.pair
    if cached is not None and cached[0]() is loop:
        return cached[1]
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _Bridge(loop)
        _bridges[loop] = bridge
    _last.pair = (weakref.ref(loop), bridge)
    return bridge


async def run(start: Callable[..., _native.Task], *args: Any) -> Any:
    """Starts native work with ``start(completions, token, *args)`` and awaits
    its result."""
    loop = asyncio.get_running_loop()
    bridge = _bridge(loop)
    token = next(_tokens)
    future = loop.create_future()
    bridge.pending[token] = future
    try:
        task = start(bridge.completions, token, *args)
    except BaseException:
        del bridge.pending[token]
        raise
    try:
        return await future
    except asyncio.CancelledError:
        task.cancel()
        bridge.pending.pop(token, None)
        raise
