"""Problems found in an invoice, as data: a path, the business term, a rule and a message.

Validation returns problems rather than raising on the first one, so a user sees every
fault at once. Each problem names the JSON path (``$.lines[2].unit_code``), the EN 16931
term it is about (``BT-130``) and, where there is one, the rule (``BR-CL-23``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from formats.invoice.terms import term_for_path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    term: str | None = None
    rule: str | None = None
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def __str__(self) -> str:
        about = ", ".join(x for x in (self.term, self.rule) if x)
        return f"{self.path}: {self.message}" + (f" [{about}]" if about else "")


def json_path(loc: Iterable[str | int]) -> str:
    """``("lines", 2, "unit_code")`` → ``$.lines[2].unit_code``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def problem_at(
    path: str,
    message: str,
    *,
    rule: str | None = None,
    severity: Severity = Severity.ERROR,
    term: str | None = None,
) -> Problem:
    """A problem whose term is looked up from its path unless given."""
    if term is None:
        found = term_for_path(path)
        term = found.id if found else None
    return Problem(path=path, message=message, term=term, rule=rule, severity=severity)


_RULE_IN_MESSAGE = re.compile(r"^(BR-[A-Z0-9-]+?|BT-\d+(?:-\d)?)(?:/[A-Z0-9-]+)*: ")

_FRIENDLY = {
    "missing": "this field is required",
    "extra_forbidden": "unknown field (check the spelling against the JSON Schema)",
}


def from_validation_error(error: ValidationError) -> list[Problem]:
    """Map pydantic's errors onto problems with JSON paths and BT ids."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = json_path(loc)
        message = _FRIENDLY.get(item["type"], item["msg"])
        rule = None
        match = _RULE_IN_MESSAGE.match(message)
        if match and match.group(1).startswith("BR-"):
            rule = match.group(1)
        found = term_for_path(path)
        term = found.id if found else None
        if item["type"] == "missing" and found is not None:
            message = f"{found.name} ({found.id}) is required"
        problems.append(Problem(path=path, message=message, term=term, rule=rule))
    return problems


_PATH_PART = re.compile(r"\[(\d+)\]|[^.\[\]]+")


def _document_order(path: str) -> tuple[tuple[int, int | str], ...]:
    """``$.lines[10].id`` sorts after ``$.lines[2].id``: list indexes compare as numbers."""
    return tuple((0, int(m.group(1))) if m.group(1) else (1, m.group(0)) for m in _PATH_PART.finditer(path))


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """Errors first, then warnings; each in document order."""
    return sorted(problems, key=lambda p: (p.severity != Severity.ERROR, _document_order(p.path)))
