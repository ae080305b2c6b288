"""Finished responses of the expensive read-only requests, kept as bytes, and
identical requests in flight answered by one computation.

Why: under load the page's requests repeat (a slider has eleven positions;
many people open the same page), and a comparison of twelve packages is
about 140 KB of JSON (with one package's detail, about 130 KB more) that
takes milliseconds to assemble even when every number is cached. Results are deterministic (seeded futures), so a request
with the same body, for the same package files, gets the same bytes. The
key names the route, the request body in canonical form and the content
digest of every package it names, so an upload that replaces a package
never meets a stale answer. Errors are not kept: the next request computes
again.

Hand-written because it has to be both a bounded LRU of bytes and a
"single flight" for requests in progress (``functools.lru_cache`` does
neither across threads). Thread-safe: the server answers a kept response
on its event loop (``peek``) and computes the others in its thread pool
(``get``).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Callable, Hashable

import orjson

#: Bytes of finished responses kept. A comparison of the twelve seed
#: packages is about 140 KB, one package's detail about 130 KB, an
#: exploration about 50 KB: this holds a thousand or more distinct answers,
#: far more than a slider's positions, in a bounded share of the server's memory.
MAX_BYTES = 256 * 1024 * 1024


def json_bytes(content) -> bytes:
    """A result as compact JSON bytes, without FastAPI's generic encoder (the
    results are plain dicts of floats already); NaN or infinity, which JSON
    cannot carry, become null. What the server and its worker processes send.

    Written by orjson: a comparison's 140 KB took 1.3-2 ms with the standard
    library and takes about 0.1 ms, for every answer of every slider move.
    Floats keep their shortest round-trip digits (a small one is written
    ``0.000056`` where the standard library writes ``5.6e-05``: the same
    number). What orjson does not take (an integer beyond 64 bits) goes to
    the standard library."""
    try:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        pass
    try:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except ValueError:
        return json.dumps(_finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def canonical(body) -> str:
    """A request body as canonical JSON (sorted keys), for cache keys."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ResponseCache:
    """``get(key, compute)``: the bytes for ``key``, computed at most once
    while it is in flight, kept (LRU) within ``max_bytes``; ``peek(key)``:
    the kept bytes or ``None``, never waiting on a computation (what the
    server's event loop asks before it hands a request to a thread)."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, bytes] = OrderedDict()
        self._running: dict[Hashable, Future] = {}
        self._size = 0
        self.hits = self.misses = self.joined = 0

    def peek(self, key: Hashable) -> bytes | None:
        with self._lock:
            return self._hit(key)

    def _hit(self, key: Hashable) -> bytes | None:
        hit = self._done.get(key)
        if hit is not None:
            self._done.move_to_end(key)
            self.hits += 1
        return hit

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        with self._lock:
            hit = self._hit(key)
            if hit is not None:
                return hit
            fut = self._running.get(key)
            owner = fut is None
            if owner:
                fut = self._running[key] = Future()
                self.misses += 1
            else:
                self.joined += 1
        if not owner:
            return fut.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._running[key]
            fut.set_exception(exc)
            raise
        with self._lock:
            del self._running[key]
            if len(value) <= self.max_bytes:
                self._done[key] = value
                self._size += len(value)
                while self._size > self.max_bytes:
                    _, old = self._done.popitem(last=False)
                    self._size -= len(old)
        fut.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._done.clear()
            self._size = 0

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._done), "bytes": self._size, "hits": self.hits, "misses": self.misses, "joined": self.joined}
