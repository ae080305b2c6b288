"""Safe YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` constructs no arbitrary objects but silently keeps the
last of two duplicate keys and forgets line numbers. This loader composes the
node tree with the safe resolver, rejects duplicate keys, and returns the data
together with a map from each path (tuple of keys and indices) to its
1-based line, so validation errors can point at the line. Written by hand
because no maintained library offers both on top of the safe loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from foedus.domain.errors import InputError, Problem

Lines = dict[tuple, int]


class _Loader(yaml.SafeLoader):
    """Safe loader; dates stay ISO strings-compatible objects as PyYAML makes them."""


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


def _build(node: yaml.Node, path: tuple, lines: Lines, loader: _Loader, problems: list[Problem]) -> Any:
    lines[path] = node.start_mark.line + 1
    if _refused(node, path, problems):
        return None
    if (isinstance(node, yaml.MappingNode) and node.tag != _MAP) or (isinstance(node, yaml.SequenceNode) and node.tag != _SEQ):
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
            out[key] = _build(value_node, path + (key,), lines, loader, problems)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, path + (i,), lines, loader, problems) for i, child in enumerate(node.value)]
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
    """Parse YAML text safely; raise :class:`InputError` on syntax errors or
    duplicate keys. Returns ``(data, lines)``."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            lines: Lines = {}
            problems: list[Problem] = []
            data = None if node is None else _build(node, (), lines, loader, problems)
        finally:
            loader.dispose()
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
