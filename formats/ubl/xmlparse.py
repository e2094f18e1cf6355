"""Hardened XML parsing for the UBL reader, and element paths for its messages.

``formats`` may not import ``schemas``, so the reader keeps its own copy of the rules
``schemas/xmlsafe.py`` applies: no DTD is loaded, no entity is expanded, nothing is fetched
from the network, the input is bounded in size, and a document that carries a DOCTYPE at
all is refused (no e-invoice syntax needs one; it is how XXE and billion-laughs payloads
arrive). Every refusal is a ``ParseError`` naming the line.

``Paths`` writes the location of an element or attribute the way every reader message
and ``Loss`` names it: ``/Invoice/cac:InvoiceLine[3]/cac:Item/cbc:Name`` (an index only
where the parent has several children of that name; 1-based, as in XPath).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from formats.errors import ParseError

MAX_XML_BYTES = 100 * 1024 * 1024
"""Largest XML document accepted (a 500-line UBL invoice is about 1 MB)."""

DOCUMENT = "/"
"""The path given to errors about the document as a whole (size, well-formedness)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
        remove_comments=False,
    )


def _doctype_line(data: bytes) -> int | None:
    """The line of a DOCTYPE in the prolog (before the root element), if there is one.

    Checked before parsing, so that no parser ever sees it (libxml2 may try to fetch an
    external DTD even when told not to load one).
    """
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("latin-1")
    text = text.removeprefix("\ufeff").removeprefix("\xef\xbb\xbf")
    i = 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if text.startswith("<?", i):
            end = text.find("?>", i)
        elif text.startswith("<!--", i):
            end = text.find("-->", i)
        elif text.startswith("<!DOCTYPE", i):
            return text.count("\n", 0, i) + 1
        else:
            return None
        if end < 0:
            return None
        i = end + 2


def _doctype_refused(line: int) -> ParseError:
    return ParseError(
        "the document has a DOCTYPE declaration; e-invoices never need one and it is "
        "refused (XXE and entity-expansion protection)",
        path=DOCUMENT,
        line=line,
    )


def parse(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse ``data`` safely and return the root element, or raise ``ParseError``."""
    if len(data) > max_bytes:
        raise ParseError(
            f"the document is {len(data)} bytes; the limit is {max_bytes}", path=DOCUMENT, line=1
        )
    if not data.strip():
        raise ParseError("the document is empty", path=DOCUMENT, line=1)
    doctype = _doctype_line(data)
    if doctype is not None:
        raise _doctype_refused(doctype)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        message = re.sub(r",? line \d+, column \d+$", "", str(exc.msg or exc))
        raise ParseError(f"not well-formed XML: {message}", path=DOCUMENT, line=line) from None
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refused(1)
    for node in root.iter(etree.Entity):
        where: object = node.sourceline
        raise ParseError(
            f"the document uses the entity {node.text}",
            path=DOCUMENT,
            line=where if isinstance(where, int) else None,
        )
    return root


class Paths:
    """Element paths with namespace prefixes; sibling positions are computed once per parent."""

    def __init__(self, prefixes: Mapping[str, str], root_namespace: str | None) -> None:
        self.prefixes = dict(prefixes)
        self.root_namespace = root_namespace
        self._positions: dict[etree._Element, dict[etree._Element, str]] = {}

    def name(self, element: etree._Element) -> str:
        qname = etree.QName(element)
        namespace = qname.namespace
        if namespace is None or namespace == self.root_namespace:
            return qname.localname
        prefix = self.prefixes.get(namespace) or element.prefix
        return f"{prefix}:{qname.localname}" if prefix else f"{{{namespace}}}{qname.localname}"

    def _step(self, element: etree._Element) -> str:
        parent = element.getparent()
        if parent is None:
            return self.name(element)
        positions = self._positions.get(parent)
        if positions is None:
            counts: dict[str, int] = {}
            for child in parent:
                if isinstance(child.tag, str):
                    counts[child.tag] = counts.get(child.tag, 0) + 1
            seen: dict[str, int] = {}
            positions = {}
            for child in parent:
                if isinstance(child.tag, str):
                    seen[child.tag] = seen.get(child.tag, 0) + 1
                    step = self.name(child)
                    positions[child] = f"{step}[{seen[child.tag]}]" if counts[child.tag] > 1 else step
            self._positions[parent] = positions
        return positions[element]

    def _attribute(self, element: etree._Element, attribute: str) -> str:
        qname = etree.QName(attribute)
        if qname.namespace is None:
            return qname.localname
        prefix = self.prefixes.get(qname.namespace)
        if prefix is None:
            prefix = next((p for p, ns in element.nsmap.items() if ns == qname.namespace and p), None)
        return f"{prefix}:{qname.localname}" if prefix else f"{{{qname.namespace}}}{qname.localname}"

    def path(self, element: etree._Element, attribute: str | None = None) -> str:
        steps: list[str] = []
        node: etree._Element | None = element
        while node is not None:
            steps.append(self._step(node))
            node = node.getparent()
        out = "/" + "/".join(reversed(steps))
        if attribute is not None:
            out += "/@" + self._attribute(element, attribute)
        return out
