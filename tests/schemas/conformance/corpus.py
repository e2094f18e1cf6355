"""Where the official test data lives and cached access to it (shared by the conformance tests).

The corpus is the sibling checkout ``../shared/corpus`` of the repository (see its MANIFEST.md).
Everything here is read-only and cached: each corpus file is read and parsed once per session.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from lxml import etree

from schemas.xmlsafe import parse_xml

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
MISSING = "../shared/corpus not found: the conformance suite needs the official test data"

# Rule ids in expected.csv / xmute-tests.csv carry the prefix of the rule set they belong to.
RULE_PREFIXES = ("xrubl:", "xrcii:", "cenubl:", "cencii:")


def available() -> bool:
    return (CORPUS / "MANIFEST.md").is_file()


def rows(name: str) -> list[dict[str, str]]:
    """The rows of one of the corpus index files (``expected.csv`` ...); none without the corpus."""
    if not available():
        return []
    with (CORPUS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rule_ids(field: str) -> list[str]:
    """The rule ids in a CSV field (separated by ``;`` or white space), without their prefix."""
    ids = []
    for token in re.split(r"[;\s]+", field.strip()):
        if not token:
            continue
        for prefix in RULE_PREFIXES:
            if token.startswith(prefix):
                token = token[len(prefix) :]
                break
        ids.append(token)
    return ids


@cache
def data(path: str) -> bytes:
    """The bytes of a corpus file (``path`` relative to the corpus)."""
    return (CORPUS / path).read_bytes()


@cache
def tree(path: str) -> etree._ElementTree:
    """The parsed corpus file (hardened parser). Shared: never mutate it, deep-copy first."""
    return parse_xml(data(path))
