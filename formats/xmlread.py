"""What every XML invoice reader (UBL, CII) needs besides its own mapping.

Value parsing shared by the syntaxes (``xs:decimal``, booleans), source lines, the indexed
children of an element, an element's comparable signature, and pruning the plain data a
reader builds before the canonical model validates it. Each reader keeps only what its
syntax decides (dates: ``xs:date`` in UBL, format 102 in CII; its mapping).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from lxml import etree

from formats.invoice.terms import TERMS

__all__ = ["Children", "boolean", "line_of", "named", "prune", "signature", "xs_decimal"]

_XS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""``xs:decimal``: ASCII digits with an optional sign and point; no exponent, NaN, ``_``, space."""


def xs_decimal(text: str) -> Decimal:
    """The exact value of an ``xs:decimal`` (stripped) text; ``ValueError`` naming it if not one."""
    if _XS_DECIMAL.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a decimal number")
    return Decimal(text)


def boolean(text: str) -> bool:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true or false)")


def line_of(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def named(term: str) -> str:
    """``BT-1 Invoice number``: a business term as the messages name it."""
    return f"{term} {TERMS[term].name}"


def prune(value: Any, keep: Collection[str] = ()) -> Any:
    """Leave out absent values and groups that ended up empty, except the keys in ``keep``."""
    if isinstance(value, dict):
        pruned: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                item = prune(item, keep)
                if not item and key not in keep:  # an empty group or list
                    continue
            elif item is None:
                continue
            pruned[key] = item
        return pruned
    if isinstance(value, list):
        return [prune(v, keep) for v in value]
    return value


def signature(element: etree._Element) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Tags, texts and attributes of an element and its descendants: equal for equal content."""
    return [
        (
            str(node.tag),
            (node.text or "").strip(),
            tuple(sorted((str(k), str(v)) for k, v in node.attrib.items())),
        )
        for node in element.iter()
        if isinstance(node.tag, str)
    ]


class Children(dict[etree._Element, dict[object, list[etree._Element]]]):
    """``children[parent][tag]``: the children of ``parent`` with that tag, in document order.

    A reader asks each element for several of its children; an element's children are
    indexed the first time it is asked, so every question after that is a look-up.
    """

    def __missing__(self, parent: etree._Element) -> dict[object, list[etree._Element]]:
        index: dict[object, list[etree._Element]] = {}
        for child in parent:  # comments and processing instructions too: never asked for
            index.setdefault(child.tag, []).append(child)
        self[parent] = index
        return index
