"""The XML-Mutate (KoSIT, 0.6) mutators the XRechnung unit instances use, on lxml trees.

A ``<?xmute mutator="…" …?>`` processing instruction declares a mutation of the element that
follows it (its next sibling element: other ``xmute`` instructions, comments and text between
them are skipped). Each mutation is applied to a fresh copy of the document, so it is the only
change. ``xmute-tests.csv`` gives the parameters as ``key=value`` pairs joined by ``;``
(``values=0.00, 1.1``, ``values=C63;attribute=unitCode``, ``values=…;separator=,``).

Mutators, as XML-Mutate implements them:

* ``identity``: no change;
* ``remove``: the element is taken out (XML-Mutate leaves a comment in its place; comments do
  not change what Schematron sees, so none is left here);
* ``empty``: with ``attribute=``, the named attributes become ``""``; otherwise the element
  loses its child elements, or, without any, its text;
* ``code``: one mutant per entry of ``values=`` split by ``separator=`` (default ``,``), blank
  entries dropped; the entry replaces the element's text, or the ``attribute=`` named attribute.
  Entries are trimmed: declarations are written ``values="a, b"``, and two of them only hold for
  the trimmed codes (``cii-valid-mime-code-BT-125``: `` application/pdf`` fires BR-DEX-01;
  ``cii-BT-134-within-invoice-period-3``: `` 20160101`` fires PEPPOL-EN16931-R110). The
  ``CodeMutationGenerator`` sources we read pass the untrimmed entry and trim only the mutant's
  name; the corpus' own mutation check (rules-compiled/README.md §3, 1010/1010 mutants meet
  their expectations) can only have passed with trimmed entries;
* ``whitespace``: variants of the element's text with white space before, after, or both
  (XML-Mutate draws random white-space sequences; these are fixed ones). No active instruction in
  the corpus uses it: its two occurrences are commented out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from schemas.xmlsafe import parse_xml

PI_TARGET = "xmute"
_PARAM_KEYS = re.compile(r";(?=[A-Za-z][\w-]*=)")
_PSEUDO_ATTR = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
WHITESPACE_VARIANTS = (" {}", "{} ", "\t{}\n", "\n  {}  \n")


class MutationError(Exception):
    """A mutation cannot be applied to its target (as XML-Mutate would report it)."""


@dataclass(frozen=True)
class Mutant:
    label: str  # the value a ``code`` mutant sets, the variant of ``whitespace``; "" otherwise
    root: etree._Element


def parse_params(text: str) -> dict[str, str]:
    """``values=C63;attribute=unitCode`` -> {"values": "C63", "attribute": "unitCode"}."""
    params: dict[str, str] = {}
    for part in _PARAM_KEYS.split(text.strip()) if text.strip() else []:
        key, sep, value = part.partition("=")
        if not sep:
            raise MutationError(f"mutator parameter without a value: {part!r}")
        params[key.strip()] = value
    return params


def pi_attributes(pi: etree._ProcessingInstruction) -> dict[str, str]:
    """The pseudo-attributes of an ``xmute`` instruction (``mutator``, ``id``, ...)."""
    return {m[1]: m[2] if m[2] is not None else m[3] for m in _PSEUDO_ATTR.finditer(pi.text or "")}


def instructions(root: etree._Element) -> list[etree._ProcessingInstruction]:
    """Every active ``xmute`` instruction in the document (commented-out ones are comments)."""
    return [
        node
        for node in root.iter(etree.ProcessingInstruction)
        if isinstance(node, etree._ProcessingInstruction) and node.target == PI_TARGET
    ]


def find_instruction(root: etree._Element, line: int) -> etree._ProcessingInstruction:
    """The ``xmute`` instruction that ends on ``line`` (lxml's source line of a PI)."""
    found = [pi for pi in instructions(root) if getattr(pi, "sourceline", None) == line]
    if len(found) != 1:
        raise MutationError(f"{len(found)} xmute instructions on line {line}, expected exactly one")
    return found[0]


def target_of(pi: etree._ProcessingInstruction) -> etree._Element:
    """The element a mutation instruction applies to: the next sibling element."""
    node = pi.getnext()
    while node is not None and not isinstance(node.tag, str):
        node = node.getnext()
    if node is None:
        raise MutationError(f"no element follows the xmute instruction on line {pi.sourceline}")
    return node


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        raise MutationError("cannot remove the root element")
    tail = element.tail
    previous = element.getprevious()
    parent.remove(element)  # lxml removes the tail text with the element: keep it
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _empty(element: etree._Element, params: dict[str, str]) -> None:
    attributes = [a.strip() for a in params.get("attribute", "").split(",") if a.strip()]
    if attributes:
        for name in attributes:
            if name not in element.attrib:
                raise MutationError(f"expected attribute {name} does not exist")
            element.set(name, "")
        return
    children = [child for child in element if isinstance(child.tag, str)]
    if children:
        for child in children:
            _remove(child)
        return
    if not (element.text or "").strip():
        raise MutationError("nothing found to empty")
    element.text = None


def _code_values(params: dict[str, str]) -> list[str]:
    if "values" not in params:
        raise MutationError("the code mutator needs values=")
    separator = params.get("separator") or ","
    return [value.strip() for value in params["values"].split(separator) if value.strip()]


def _set_value(element: etree._Element, params: dict[str, str], value: str) -> None:
    attribute = params.get("attribute", "").strip()
    if attribute:
        if attribute not in element.attrib:
            raise MutationError(f"no attribute named {attribute} found")
        element.set(attribute, value)
        return
    if any(isinstance(child.tag, str) for child in element):
        raise MutationError("found complex content, but was expecting a single text value")
    for child in list(element):  # comments or PIs inside the text
        element.remove(child)
    element.text = value


def labels(mutator: str, params: str) -> list[str]:
    """One label per mutant the instruction declares (known before the document is read)."""
    if mutator == "code":
        return _code_values(parse_params(params))
    if mutator == "whitespace":
        return [variant.format("…") for variant in WHITESPACE_VARIANTS]
    if mutator in ("identity", "noop", "remove", "empty"):
        return [""]
    raise MutationError(f"mutator {mutator!r} is not implemented here")


def mutant(data: bytes, line: int, mutator: str, params: str, index: int = 0) -> Mutant:
    """The ``index``-th mutant the instruction on ``line`` declares, made on a fresh parse of ``data``.

    Each mutant starts from the unchanged document, so its mutation is the only change.
    """
    options = parse_params(params)
    label = labels(mutator, params)[index]
    root = parse_xml(data).getroot()
    target = target_of(find_instruction(root, line))
    if mutator == "remove":
        _remove(target)
    elif mutator == "empty":
        _empty(target, options)
    elif mutator == "code":
        _set_value(target, options, label)
    elif mutator == "whitespace":
        if any(isinstance(child.tag, str) for child in target) or not (target.text or "").strip():
            raise MutationError("the whitespace mutator needs a non-empty text value")
        target.text = WHITESPACE_VARIANTS[index].format(target.text)
    return Mutant(label, root)


def mutants(data: bytes, line: int, mutator: str, params: str) -> Iterator[Mutant]:
    """Every mutant the instruction on ``line`` declares."""
    for index in range(len(labels(mutator, params))):
        yield mutant(data, line, mutator, params, index)
