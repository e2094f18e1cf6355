"""Validation reports, phive-shaped: one result per layer, each with its items.

A document is valid only when every layer ran (``valid``) and no layer has a fatal or
error item. A layer that could not run is ``error``; one not run because an earlier layer
failed is ``skipped``; neither is ever read as valid.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Validity(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    SKIPPED = "skipped"
    ERROR = "error"


class Level(StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


BLOCKING = frozenset({Level.FATAL, Level.ERROR})
_TERMS = re.compile(r"\b(B[TG]-\d+(?:-\d+)?)\b")


def terms_in(text: str) -> list[str]:
    """The BT/BG ids a rule's message names, in order, without repeats."""
    return list(dict.fromkeys(_TERMS.findall(text)))


@dataclass
class Item:
    level: Level
    id: str | None
    message: str
    location: str | None = None
    line: int | None = None
    test: str | None = None
    terms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.value
        return data


@dataclass
class ArtefactUse:
    key: str
    title: str
    version: str
    sha256: str
    status: str
    origin: str


@dataclass
class LayerResult:
    name: str
    kind: str
    validity: Validity
    duration_ms: float = 0.0
    items: list[Item] = field(default_factory=list)
    artefact: ArtefactUse | None = None
    message: str | None = None
    svrl: str | None = None  # the raw SVRL, kept only when asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "validity": self.validity.value,
            "duration_ms": round(self.duration_ms, 3),
            "artefact": asdict(self.artefact) if self.artefact else None,
            "message": self.message,
            "items": [i.as_dict() for i in self.items],
        }


@dataclass
class Report:
    document: str
    sha256: str | None = None
    size: int | None = None
    syntax: str | None = None
    specification_id: str | None = None
    set_id: str | None = None
    set_title: str | None = None
    layers: list[LayerResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the document could not be read at all
    duration_ms: float = 0.0
    embedded: str | None = None  # name of the XML taken out of a PDF

    @property
    def valid(self) -> bool:
        if self.error is not None or not self.layers:
            return False
        return all(layer.validity is Validity.VALID for layer in self.layers)

    @property
    def unreadable(self) -> bool:
        return self.error is not None

    def items(self) -> list[Item]:
        return [item for layer in self.layers for item in layer.items]

    def count(self, *levels: Level) -> int:
        return sum(1 for item in self.items() if item.level in levels)

    def fired(self) -> list[str]:
        """Ids of every rule that fired, with repeats (for conformance checks)."""
        return [item.id for item in self.items() if item.id]

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "sha256": self.sha256,
            "size": self.size,
            "valid": self.valid,
            "error": self.error,
            "syntax": self.syntax,
            "specification_id": self.specification_id,
            "embedded": self.embedded,
            "set": {"id": self.set_id, "title": self.set_title} if self.set_id else None,
            "summary": {
                "fatal": self.count(Level.FATAL),
                "error": self.count(Level.ERROR),
                "warning": self.count(Level.WARNING),
                "info": self.count(Level.INFO),
            },
            "duration_ms": round(self.duration_ms, 3),
            "layers": [layer.as_dict() for layer in self.layers],
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        layers = []
        for raw in data.get("layers", []):
            art = raw.get("artefact")
            layers.append(
                LayerResult(
                    name=raw["name"],
                    kind=raw["kind"],
                    validity=Validity(raw["validity"]),
                    duration_ms=raw.get("duration_ms", 0.0),
                    items=[Item(**{**i, "level": Level(i["level"])}) for i in raw.get("items", [])],
                    artefact=ArtefactUse(**art) if art else None,
                    message=raw.get("message"),
                )
            )
        set_info = data.get("set") or {}
        return cls(
            document=data["document"],
            sha256=data.get("sha256"),
            size=data.get("size"),
            syntax=data.get("syntax"),
            specification_id=data.get("specification_id"),
            set_id=set_info.get("id"),
            set_title=set_info.get("title"),
            layers=layers,
            notes=list(data.get("notes", [])),
            error=data.get("error"),
            duration_ms=data.get("duration_ms", 0.0),
            embedded=data.get("embedded"),
        )
