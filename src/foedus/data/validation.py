"""Turn pydantic validation errors into :class:`InputError` problems that name
the file, the line, the field and what was expected."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from foedus.data.yamlio import Lines, dotted, line_for
from foedus.domain.errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)


def _expected(err: dict[str, Any], model: type[BaseModel] | None, loc: tuple) -> str:
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    got = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key (check spelling; see docs/packages.md for the allowed keys)"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
        return f"expected {msg}"
    if msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    if got is not None and not isinstance(got, (dict, list)) and kind != "missing":
        return f"{msg}, got {got!r}"
    return msg


def validate(model: type[M], data: Any, *, file: str | None, lines: Lines | None = None, context: dict | None = None) -> M:
    """Validate ``data`` into ``model`` or raise :class:`InputError`."""
    if not isinstance(data, dict):
        what = "empty file" if data is None else f"a {type(data).__name__}"
        raise InputError(file, [Problem("(document)", f"expected a mapping of keys to values, got {what}", 1)])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            problems.append(Problem(dotted(loc), _expected(err, model, loc), line_for(lines or {}, loc)))
        raise InputError(file, problems) from None
