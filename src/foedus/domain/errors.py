"""The one error type users see: an input problem named by file, line, field
and expectation. Interfaces print it and exit with status 2; they never show
a traceback for it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input."""

    field: str
    expected: str
    line: int | None = None

    def render(self, file: str | None) -> str:
        where = file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        name = self.field or "(document)"
        return f"{where}: {name}: {self.expected}"


@dataclass
class InputError(Exception):
    """Raised for any malformed user or data input."""

    file: str | None
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(p.render(self.file) for p in self.problems)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "problems": [
                {"field": p.field, "line": p.line, "expected": p.expected} for p in self.problems
            ],
        }

