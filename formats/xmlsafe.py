"""Hardened XML parsing, shared by every reader and by the validation engine.

No DTD is loaded, no entity is expanded, nothing is fetched from the network, the input
is bounded in size, and a document that carries a DOCTYPE at all is refused before any
parser sees it (no e-invoice syntax needs one; it is how XXE and billion-laughs payloads
arrive, and libxml2 may try to fetch an external DTD even when told not to load one).
Every refusal is a ``ParseError`` naming the line. It lives on the ground floor so that
``formats`` (the readers) and ``schemas`` (the validation engine) apply the same rules.
"""

from __future__ import annotations

import re

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
