"""Fixtures of the cXML tests: the corpus DTD (validation never touches the network) and credentials.

The DTDs and the public samples live in ``../shared/corpus/cxml`` (see its README); without
the corpus the tests that need them are skipped, saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from formats.cxml.read import CXML_DOCTYPE
from tests.schemas.conformance.corpus import CORPUS

CXML_CORPUS = CORPUS / "cxml"
DTD_PATH = CXML_CORPUS / "dtd" / "1.2.069" / "InvoiceDetail.dtd"
MISSING_CXML = f"{CXML_CORPUS} not found: the cXML tests need the corpus DTDs and samples"
CREDENTIALS = {
    "from": {"domain": "NetworkID", "identity": "AN01000000001"},
    "to": {"domain": "NetworkID", "identity": "AN01000000999"},
    "sender": {"domain": "NetworkID", "identity": "AN01000000001"},
    "shared_secret": "abracadabra",
}


@pytest.fixture(scope="session")
def invoice_dtd() -> etree.DTD:
    if not DTD_PATH.is_file():
        pytest.skip(MISSING_CXML)
    return etree.DTD(str(DTD_PATH))


def dtd_errors(dtd: etree.DTD, document: bytes) -> list[str]:
    """Validate ``document`` against ``dtd`` (its DOCTYPE blanked, nothing loaded); the errors."""
    found = CXML_DOCTYPE.search(document)
    assert found is not None, "the document has no cXML DOCTYPE"
    cleaned = document[: found.start()] + b" " * (found.end() - found.start()) + document[found.end() :]
    tree = etree.fromstring(cleaned, etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False))
    if dtd.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in dtd.error_log.filter_from_errors()]  # type: ignore[attr-defined]


def corpus_file(relative: str) -> Path:
    path = CXML_CORPUS / relative
    if not path.is_file():
        pytest.skip(MISSING_CXML)
    return path
