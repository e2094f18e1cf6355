"""What a reader could not carry into the canonical invoice: shared by every format's reader."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Loss"]


@dataclass(frozen=True)
class Loss:
    """A value in the document that the canonical invoice does not hold.

    ``path`` is the element (or ``…/@attribute``) path with positions, in the format's own
    prefixes; ``line`` its source line; ``reason`` why it was not read.
    """

    path: str
    line: int | None
    value: str
    reason: str
