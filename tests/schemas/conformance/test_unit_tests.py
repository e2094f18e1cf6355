"""The official VEFA unit tests of CEN EN 16931 and Peppol BIS 3.0 (``unit-tests.csv``).

Each row is one ``<test>`` of a VEFA ``testSet`` file: a partial invoice document and what the
rules of its configuration must (not) report about it. The semantics are those of the VEFA
validator's ``AbstractExpectation`` as written down in the corpus MANIFEST §3:

1. run the configuration's Schematron on the test's document alone (no XSD: most documents
   are fragments);
2. with a ``scope``, ignore every fired rule whose id is not in it;
3. each id in ``expect_error`` (and ``expect_fatal``) fires with flag fatal/error, each id in
   ``expect_warning`` with flag warning; ``RULExN`` means exactly N times (default once);
4. no id in ``expect_success`` fires;
5. no other in-scope rule fires.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from lxml import etree

from schemas.engine import Engine
from schemas.report import Item, Level
from tests.schemas.conformance.corpus import rows, tree

pytestmark = pytest.mark.conformance

VEFA = "http://difi.no/xsd/vefa/validator/1.0"

# The Schematron artefacts each VEFA configuration runs, in order (their items are combined).
# The configurations come from the sources' buildconfig*.xml (MANIFEST §2, "Which rule set").
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "tc434-ubl": ("cen-ubl-xslt",),
    "tc434-cii": ("cen-cii-xslt",),
    "peppolbis-en16931-base-3.0-ubl": ("peppol-ubl-xslt",),
    "peppolbis-en16931-base-3.0-cii": ("peppol-cii-xslt",),
    "peppolbis-en16931-01-3.0-ubl-invoice": ("cen-ubl-xslt", "peppol-ubl-xslt"),
}
BLOCKING = frozenset({Level.FATAL, Level.ERROR})
_COUNTED = re.compile(r"^(?P<id>.+?)x(?P<n>\d+)$")

ROWS = rows("unit-tests.csv")


def _case_id(row: dict[str, str]) -> str:
    folder, name = row["path"].split("/")[-2:]
    return f"{folder}/{name}#{row['test_index']}"


def ids(field: str) -> list[str]:
    """The rule ids of a CSV field; several are separated by ``;`` (or white space)."""
    return [token for token in re.split(r"[;\s]+", field) if token]


def expected_counts(field: str) -> Counter[str]:
    """``BR-01;BR-CL-21x3`` -> {BR-01: 1, BR-CL-21: 3}."""
    counts: Counter[str] = Counter()
    for token in ids(field):
        match = _COUNTED.match(token)
        if match:
            counts[match["id"]] += int(match["n"])
        else:
            counts[token] += 1
    return counts


def vefa_document(path: str, index: int) -> etree._Element:
    """The ``index``-th (1-based) test's document, copied out as a document of its own."""
    tests = tree(path).getroot().findall(f"{{{VEFA}}}test")
    assert 1 <= index <= len(tests), f"{path} has {len(tests)} tests, not {index}"
    for child in tests[index - 1]:
        if isinstance(child.tag, str) and etree.QName(child).namespace != VEFA:
            return copy.deepcopy(child)  # keeps every in-scope namespace declaration
    raise AssertionError(f"{path}: test {index} holds no document")


@dataclass
class Outcome:
    problems: list[str]
    fired: list[tuple[str, str]]  # in-scope (id, level) pairs, for the failure message


def check(row: dict[str, str], items: list[Item]) -> Outcome:
    """Apply the VEFA expectation of ``row`` to the items the rules reported."""
    scope = set(ids(row["scope"]))
    in_scope = [i for i in items if i.id and (not scope or i.id in scope)]
    errors = expected_counts(row["expect_fatal"]) + expected_counts(row["expect_error"])
    warnings = expected_counts(row["expect_warning"])
    success = set(ids(row["expect_success"]))
    fired_errors = Counter(i.id for i in in_scope if i.level in BLOCKING and i.id)
    fired_warnings = Counter(i.id for i in in_scope if i.level is Level.WARNING and i.id)
    problems = []
    for rule, times in errors.items():
        if fired_errors[rule] != times:
            problems.append(f"{rule} must fire {times}x as fatal/error, fired {fired_errors[rule]}x")
    for rule, times in warnings.items():
        if fired_warnings[rule] != times:
            problems.append(f"{rule} must fire {times}x as warning, fired {fired_warnings[rule]}x")
    for item in in_scope:
        expected = item.id in errors if item.level in BLOCKING else item.id in warnings
        if item.id in success:
            problems.append(f"{item.id} must not fire, fired ({item.level.value})")
        elif not expected:
            problems.append(f"unexpected {item.id} ({item.level.value}): {item.message[:120]}")
    return Outcome(problems, [(i.id or "", i.level.value) for i in in_scope])


def test_every_configuration_is_known() -> None:
    assert ROWS, "unit-tests.csv is empty"
    unknown = {row["configuration"] for row in ROWS} - set(CONFIGURATIONS)
    assert not unknown, f"configurations without a rule mapping: {sorted(unknown)}"


@pytest.mark.parametrize("row", ROWS, ids=[_case_id(row) for row in ROWS])
def test_vefa_unit_test(engine: Engine, row: dict[str, str]) -> None:
    document = vefa_document(row["path"], int(row["test_index"]))
    line = getattr(document, "sourceline", None)  # (lxml-stubs mistype sourceline)
    assert line == int(row["line"]), "the test's document is not where the index says"
    items: list[Item] = []
    for key in CONFIGURATIONS[row["configuration"]]:
        found, _svrl = engine.run_schematron(key, document)
        items.extend(found)
    outcome = check(row, items)
    assert not outcome.problems, (
        f"{row['path']} test {row['test_index']} ({row['description']}): "
        + "; ".join(dict.fromkeys(outcome.problems))
        + f" | in-scope fired: {outcome.fired}"
    )
