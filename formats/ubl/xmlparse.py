"""Element paths for the UBL reader's messages (the hardened parser is ``formats.xmlsafe``).

``Paths`` writes the location of an element or attribute the way every reader message
and ``Loss`` names it: ``/Invoice/cac:InvoiceLine[3]/cac:Item/cbc:Name`` (an index only
where the parent has several children of that name; 1-based, as in XPath).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree


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
