"""Turn pydantic validation errors into :class:`InputError` problems that name
the file, the line, the field and what was expected."""

from __future__ import annotations

import difflib
import typing
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
        allowed = _keys_at(model, loc[:-1]) if model is not None else []
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=2, cutoff=0.6) if loc else []
        hint = f"did you mean {' or '.join(near)}? " if near else ""
        return f"unknown key ({hint}check spelling; see docs/packages.md for the allowed keys)"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
        return f"expected {msg}"
    if msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    if got is not None and not isinstance(got, (dict, list)) and kind != "missing":
        options = [o.strip("' ") for o in str((err.get("ctx") or {}).get("expected", "")).replace(" or ", ", ").split(",") if o.strip()]
        near = difflib.get_close_matches(str(got), options, n=1, cutoff=0.6) if kind in ("enum", "literal_error") else []
        return f"{msg}, got {got!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
    return msg


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the (sub-)model at ``loc`` allows (field names and aliases);
    empty where ``loc`` does not lead to a model."""
    current: Any = model
    for part in loc:
        current = _model_in(current)
        if current is None:
            return []
        if isinstance(part, int):
            continue  # a list item: the model in the list is found next time
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return []
        current = field.annotation
    current = _model_in(current)
    if current is None:
        return []
    return sorted({k for n, f in current.model_fields.items() for k in (n, f.alias) if k})


def _model_in(tp: Any) -> type[BaseModel] | None:
    """The pydantic model a type annotation holds (directly, or in a list,
    an optional or a union), or None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


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
