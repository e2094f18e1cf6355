"""Hardened XML parsing for the validation engine: the first layer of every validation.

The rules are those of ``formats.xmlsafe`` (shared with the readers, so a document the
engine accepts is one the readers accept): no DTD, no entity, no network, a size limit,
and any DOCTYPE refused before a parser sees it. Only the parsed, DOCTYPE-free tree is
ever handed to XSD or Saxon. This module maps the shared ``ParseError`` into the
engine's ``XmlInputError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from formats.errors import ParseError
from formats.xmlsafe import MAX_XML_BYTES, parse

__all__ = ["MAX_XML_BYTES", "XmlInputError", "parse_xml"]


@dataclass
class XmlInputError(Exception):
    """The bytes are not a well-formed, safe XML document."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line}" if self.line else ""
        where += f", column {self.column})" if self.line and self.column else (")" if where else "")
        return f"{self.message}{where}"


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse ``data`` safely or raise ``XmlInputError`` naming the line."""
    try:
        root = parse(data, max_bytes=max_bytes)
    except ParseError as exc:
        raise XmlInputError(exc.message, exc.line) from None
    return root.getroottree()
