"""Hardened XML parsing: the first layer of every validation.

No DTD is loaded, no entity is expanded, nothing is fetched from the network, and the
input is bounded in size. A document that carries a DOCTYPE at all is refused: no
e-invoice syntax uses one, and it is how XXE and billion-laughs payloads arrive.
Only the parsed, DOCTYPE-free tree is ever handed to XSD or Saxon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

MAX_XML_BYTES = 100 * 1024 * 1024
"""Largest XML document accepted (a 500-line UBL invoice is about 1 MB)."""


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


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse ``data`` safely or raise ``XmlInputError`` naming the line."""
    if len(data) > max_bytes:
        raise XmlInputError(f"the document is {len(data)} bytes; the limit is {max_bytes}")
    if not data.strip():
        raise XmlInputError("the document is empty")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        message = re.sub(r",? line \d+, column \d+$", "", str(exc.msg or exc))
        raise XmlInputError(f"not well-formed XML: {message}", line, column) from None
    docinfo = tree.docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlInputError(
            "the document has a DOCTYPE declaration; e-invoices never need one and it is "
            "refused (XXE and entity-expansion protection)",
            1,
        )
    for node in tree.iter(etree.Entity):
        raise XmlInputError(f"the document uses the entity &{node.name};", node.sourceline)
    return tree
