"""Stopping safely: hold SIGINT and SIGTERM while a step that must not be
cut runs, then deliver them.

Python runs signal handlers in the main thread, between bytecodes: Ctrl-C's
KeyboardInterrupt (and the CLI's SIGTERM handler, which raises one too) can
land anywhere. A few steps must finish once begun, or not begin: the rename
and insert that make a stored run visible, the removal of a discarded run's
files, the start of a local Dask cluster (half-started, it cannot be shut
down). ``with defer_signals(): ...`` swaps both handlers for one that only
notes the signal, and afterwards calls the handler that was installed
before, as if the signal came then. Keep such steps short: a stop waits for
them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["defer_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_depth = 0  # nesting of defer_signals() in the main thread
_pending: list[int] = []


def _hold(signum: int, frame: object) -> None:
    _pending.append(signum)


def _restore(old: dict[int, Any]) -> None:
    try:
        if signal.SIGINT in old:
            signal.signal(signal.SIGINT, old[signal.SIGINT])
    finally:  # even if a SIGTERM handler runs in between
        if signal.SIGTERM in old:
            signal.signal(signal.SIGTERM, old[signal.SIGTERM])


@contextlib.contextmanager
def defer_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during the block, then deliver them to the
    handlers installed before (a handler that raises raises here, at the
    end of the block). Does nothing outside the main thread (Python runs
    signal handlers there only); nested blocks leave the holding to the
    outermost one."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old: dict[int, Any] = {}
    if _depth == 0:
        _pending = []
        try:
            for s in _SIGNALS:
                previous = signal.getsignal(s)
                if previous is None:  # installed outside Python: leave it
                    continue
                old[s] = previous
                signal.signal(s, _hold)
        except BaseException:  # a signal came while swapping: put everything back
            _restore(old)
            raise
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _restore(old)
            pending, _pending = list(dict.fromkeys(_pending)), []
            for s in pending:  # deliver, as if the signal came now
                handler = old.get(s)
                if callable(handler):
                    handler(s, None)
                elif handler == signal.SIG_DFL:
                    signal.raise_signal(s)
