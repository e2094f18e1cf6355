"""Reading SVRL (Schematron output) into report items, with the line of each location.

SVRL names a location as an XPath, written differently by each Schematron compiler:
``/*:Invoice[namespace-uri()='…'][1]/*:Note[…][2]`` (ISO skeleton, CEN),
``/Q{ns}Invoice[1]/Q{ns}Note[2]`` (SchXslt) or ``/ubl:Invoice[1]/cbc:Note[2]`` with
prefixes declared in the SVRL. ``locate`` walks the parsed document along such a path
step by step (no XPath engine, so nothing in the path is evaluated) to find the line.
"""

from __future__ import annotations

import re

from lxml import etree

from schemas.report import Item, Level, terms_in

SVRL = "http://purl.oclc.org/dsdl/svrl"
_LEVELS = {
    "fatal": Level.FATAL,
    "error": Level.ERROR,
    "warning": Level.WARNING,
    "warn": Level.WARNING,
    "information": Level.INFO,
    "info": Level.INFO,
}
_STEP = re.compile(
    r"""^(?:Q\{(?P<qns>[^}]*)\}(?P<qlocal>[\w.\-]+)            # Q{ns}local
        |\*:(?P<slocal>[\w.\-]+)(?:\[namespace-uri\(\)='(?P<sns>[^']*)'\])?   # *:local[ns]
        |(?:(?P<prefix>[\w.\-]+):)?(?P<local>[\w.\-]+)          # prefix:local or local
        |\*\[local-name\(\)='(?P<llocal>[^']+)'(?:\s+and\s+namespace-uri\(\)='(?P<lns>[^']*)')?\]
        )(?:\[(?P<index>\d+)\])?$""",
    re.VERBOSE,
)


def _steps(location: str) -> list[str]:
    steps, depth, current = [], 0, ""
    for char in location:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "/" and depth == 0:
            if current:
                steps.append(current)
            current = ""
        else:
            current += char
    if current:
        steps.append(current)
    return steps


def locate(root: etree._Element, location: str | None, prefixes: dict[str, str]) -> int | None:
    """The source line of the element ``location`` points at (its nearest element)."""
    if not location or not location.startswith("/"):
        return None
    node: etree._Element | None = None
    for step in _steps(location):
        if step.startswith("@") or step.endswith("()"):
            break  # an attribute or text node: report its element's line
        match = _STEP.match(step)
        if match is None:
            break
        groups = match.groupdict()
        local = groups["qlocal"] or groups["slocal"] or groups["local"] or groups["llocal"]
        if groups["qlocal"]:
            namespace: str | None = groups["qns"]
        elif groups["slocal"]:
            namespace = groups["sns"]  # None: any namespace
        elif groups["llocal"]:
            namespace = groups["lns"]
        else:
            namespace = prefixes.get(groups["prefix"] or "", "") if groups["prefix"] else ""
        index = int(groups["index"] or 1)
        candidates = [root] if node is None else list(node)
        found = [
            c
            for c in candidates
            if isinstance(c.tag, str)
            and etree.QName(c).localname == local
            and (namespace is None or (etree.QName(c).namespace or "") == namespace)
        ]
        if len(found) < index:
            break
        node = found[index - 1]
    line = node.sourceline if node is not None else None
    return line if isinstance(line, int) else None


def parse_svrl(svrl: str | bytes, document: etree._Element | None = None) -> list[Item]:
    """Every failed assertion and successful report in ``svrl``, as report items."""
    data = svrl.encode("utf-8") if isinstance(svrl, str) else svrl
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    prefixes = {
        ns.get("prefix", ""): ns.get("uri", "")
        for ns in root.iter(f"{{{SVRL}}}ns-prefix-in-attribute-values")
    }
    items = []
    for node in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(node.findtext(f"{{{SVRL}}}text") or "").split())
        flag = (node.get("flag") or node.get("role") or "").lower()
        rule_id = node.get("id") or _id_from_text(text)
        location = node.get("location")
        items.append(
            Item(
                level=_level(flag, node),
                id=rule_id,
                message=text,
                location=location,
                line=locate(document, location, prefixes) if document is not None else None,
                test=node.get("test"),
                terms=terms_in(text),
            )
        )
    return items


def _level(flag: str, node: etree._Element) -> Level:
    """The flag (or role) decides; without one, a failed assertion is an error and a
    successful report a warning. Reports state a fact rather than a violation: the
    Factur-X rules use unflagged reports for data a profile ignores ("@currencyID marked
    as not used in the given context"), which the profile tolerates."""
    if flag in _LEVELS:
        return _LEVELS[flag]
    return Level.WARNING if etree.QName(node).localname == "successful-report" else Level.ERROR


_BRACKET_ID = re.compile(r"^\[([A-Za-z][\w.\-]+)\]")


def _id_from_text(text: str) -> str | None:
    """Some compiled rules carry the id only in the text: ``[BR-CO-15]-Invoice total…``."""
    match = _BRACKET_ID.match(text)
    return match.group(1) if match else None
