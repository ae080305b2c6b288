"""Safe YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` constructs no arbitrary objects but silently keeps the
last of two duplicate keys and forgets line numbers. This loader composes the
node tree with the safe resolver, rejects duplicate keys, and returns the data
together with a map from each path (tuple of keys and indices) to its
1-based line, so validation errors can point at the line. Written by hand
because no maintained library offers both on top of the safe loader.

The node tree is composed by libyaml (PyYAML's C parser) when PyYAML has
it: six times faster than the pure-Python composer (1.2 s against 0.2 s
for the shipped data and seed packages, read by every command). A first
pass over libyaml's events (iterative, no recursion) checks the nesting
depth before its recursive composer runs. Any document that fails either
step goes to the pure-Python loader, which gives the error messages (and
lines) the tests and docs show, so the C parser never decides what a user
reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from foedus.domain.errors import InputError, Problem

Lines = dict[tuple, int]

#: Hostile input is refused in bounded time and memory. The largest shipped
#: file (a seed package) is about 100 KB, nests 8 levels and holds about
#: 10,000 values, so these limits leave wide room for real files while a
#: 306-byte "billion laughs" alias bomb or a 5,000-deep nested list is
#: refused within a fraction of a second.
MAX_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists (PyYAML's composer recurses once per level).
MAX_DEPTH = 64
#: Values built from one document after aliases (``*name``) are expanded.
MAX_VALUES = 200_000


class _TooMuch(Exception):
    """A limit was exceeded while composing or building: (field, expectation, line)."""


class _Loader(yaml.SafeLoader):
    """Safe loader; dates stay ISO strings-compatible objects as PyYAML makes
    them. It counts nesting while composing, so a deep document stops with
    a clear error instead of exhausting Python's stack."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise _TooMuch("(document)", f"nesting at most {MAX_DEPTH} levels deep (lists and mappings inside each other); it is deeper here", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_CLoader = type("_CLoader", (yaml.CSafeLoader,), {}) if getattr(yaml, "__with_libyaml__", False) else None
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _fast_node(text: str):
    """``(loader, node)`` composed by libyaml, or ``None`` when libyaml is
    missing or the document is too deep or not valid YAML (the pure-Python
    loader then says why)."""
    if _CLoader is None:
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_CLoader):
            if isinstance(event, _OPENS):
                depth += 1
                if depth >= MAX_DEPTH:  # a scalar inside would be one level deeper still
                    return None
            elif isinstance(event, _CLOSES):
                depth -= 1
        loader = _CLoader(text)
        try:
            return loader, loader.get_single_node()
        except BaseException:
            loader.dispose()
            raise
    except yaml.YAMLError:
        return None


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
#: Tags the safe constructor knows; any other explicit tag (``!!python/...``)
#: is refused before anything is constructed.
_SAFE_TAGS = frozenset(t for t in _Loader.yaml_constructors if t)


def _refused(node: yaml.Node, path: tuple, problems: list[Problem]) -> bool:
    if node.tag in _SAFE_TAGS:
        return False
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    problems.append(
        Problem(
            _dotted(path) or "(document)",
            f"expected plain YAML data, not the tag '{tag}' (foedus never builds objects from YAML tags)",
            node.start_mark.line + 1,
        )
    )
    return True


class _Budget:
    """How many more values may be built (aliases re-use a node, so a
    document can expand far beyond its size)."""

    def __init__(self, lines: Lines, n: int = MAX_VALUES):
        self.lines = lines
        self.left = n

    def spend(self, node: yaml.Node, path: tuple, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            # name the top-level entry being expanded: deeper paths run
            # through the aliases, far from anything written in the file
            top = path[:1]
            raise _TooMuch(
                _dotted(top) or "(document)",
                f"at most {MAX_VALUES:,} values once aliases (*name) are expanded; this document expands to more (an alias bomb?)",
                self.lines.get(top, node.start_mark.line + 1),
            )


def _size(node: yaml.Node, budget: _Budget, path: tuple) -> None:
    """Charge ``budget`` for every value under ``node`` (aliases expanded)."""
    stack = [node]
    while stack:
        n = stack.pop()
        budget.spend(n, path)
        if isinstance(n, yaml.MappingNode):
            stack.extend(v for kv in n.value for v in kv)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _build(node: yaml.Node, path: tuple, lines: Lines, loader: _Loader, problems: list[Problem], budget: _Budget) -> Any:
    budget.spend(node, path)
    lines[path] = node.start_mark.line + 1
    if _refused(node, path, problems):
        return None
    if (isinstance(node, yaml.MappingNode) and node.tag != _MAP) or (isinstance(node, yaml.SequenceNode) and node.tag != _SEQ):
        _size(node, budget, path)
        return loader.construct_object(node, deep=True)  # !!omap, !!pairs, !!set: safe constructors
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if _refused(key_node, path, problems):
                continue
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                problems.append(Problem(_dotted(path), "mapping keys must be plain scalars", key_node.start_mark.line + 1))
                continue
            if key in out:
                problems.append(
                    Problem(
                        _dotted(path + (key,)),
                        f"duplicate key '{key}' (first given on line {lines[path + (key,)]})",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, loader, problems, budget)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, path + (i,), lines, loader, problems, budget) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def dotted(path: tuple) -> str:
    """Render a data path as ``commitments[2].troops``."""
    return _dotted(path)


def loads(text: str, file: str | None = None) -> tuple[Any, Lines]:
    """Parse YAML text safely; raise :class:`InputError` on syntax errors,
    duplicate keys, or text too large, too deep or expanding to too many
    values (see ``MAX_BYTES``, ``MAX_DEPTH``, ``MAX_VALUES``). Returns
    ``(data, lines)``."""
    if len(text) > MAX_BYTES:
        raise InputError(file, [Problem("(file)", f"expected a YAML document of at most {MAX_BYTES // 2**20} MiB, got {len(text) / 2**20:.1f} MiB")])
    try:
        fast = _fast_node(text)
        loader, node = fast if fast is not None else (_Loader(text), None)
        try:
            if fast is None:
                node = loader.get_single_node()
            lines: Lines = {}
            problems: list[Problem] = []
            data = None if node is None else _build(node, (), lines, loader, problems, _Budget(lines))
        finally:
            loader.dispose()
    except _TooMuch as exc:
        field, expected, line = exc.args
        raise InputError(file, [Problem(field, f"expected {expected}", line)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "malformed YAML"
        cm = exc.context_mark
        if exc.context and cm is not None and (mark is None or cm.line != mark.line):
            what += f" ({exc.context} that starts on line {cm.line + 1})"
        raise InputError(file, [Problem("(syntax)", f"not valid YAML: {what}", line)]) from None
    except yaml.YAMLError as exc:
        raise InputError(file, [Problem("(syntax)", f"not valid YAML: {exc}")]) from None
    if problems:
        raise InputError(file, problems)
    return data, lines


def load(path: str | Path) -> tuple[Any, Lines]:
    """Read and parse a YAML file; unreadable files are input errors too."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(str(path), [Problem("(file)", f"expected a YAML file of at most {MAX_BYTES // 2**20} MiB, got {size / 2**20:.1f} MiB")])
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), [Problem("(file)", "file not found")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem("(file)", "is a directory, expected a YAML file")]) from None
    except UnicodeDecodeError:
        raise InputError(str(path), [Problem("(file)", "not UTF-8 text")]) from None
    except OSError as exc:
        raise InputError(str(path), [Problem("(file)", f"cannot be read ({exc.strerror})")]) from None
    return loads(text, str(path))


def line_for(lines: Lines, loc: tuple) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
