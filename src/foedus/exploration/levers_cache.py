"""The compiled levers of each set of packages, kept (the web app compares,
explores and follows year by year the same packages under other
assumptions, and a comparison compiles every package without each of its
guarantors), and each package's JSON text, the key they are kept by."""

from __future__ import annotations

import threading

from foedus.models.levers import Levers, compile_packages


_COMPILED: dict = {}
#: Sets of packages whose compiled levers are kept.
KEEP_COMPILED = 64
#: Packages whose JSON text (the cache key) is kept, by identity.
_TEXTS: dict[int, tuple[object, str]] = {}
KEEP_TEXTS = 4096


#: Guards the caches' insertions and evictions (the web app's threads share them).
_CACHE_LOCK = threading.Lock()


def package_text(p) -> str:
    """``p.model_dump_json()``, once per package object: a :class:`Package`
    is frozen, so its text never changes (serialising the twelve seed
    packages again took several milliseconds of every web request). The
    object is kept with its text, so its ``id`` is not reused meanwhile."""
    seen = _TEXTS.get(id(p))
    if seen is not None and seen[0] is p:
        return seen[1]
    text = p.model_dump_json()
    remember(_TEXTS, id(p), (p, text), KEEP_TEXTS)
    return text


def remember(cache: dict, key, value, keep: int) -> None:
    """``cache[key] = value``, forgetting the oldest entries beyond ``keep``."""
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > keep:
            cache.pop(next(iter(cache)))


def cached_per_packages(cache: dict, packages, countries, build, keep: int):
    """``build()`` kept in ``cache`` per set of packages (by their text and
    the country table), the last ``keep``."""
    key = (id(countries), tuple(package_text(p) for p in packages))
    value = cache.get(key)
    if value is None:
        value = build()
        remember(cache, key, value, keep)
    return value


def compiled(packages, countries) -> Levers:
    """Compile packages, reusing the result for the same packages (the web
    app re-explores and re-compares the same packages with other
    assumptions; the compiled levers keep their lever-only plans)."""
    return cached_per_packages(_COMPILED, packages, countries, lambda: compile_packages(packages, countries), KEEP_COMPILED)
