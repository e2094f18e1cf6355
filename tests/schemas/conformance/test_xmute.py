"""The XML-Mutate declarations of the XRechnung BR-DE unit instances (``xmute-tests.csv``).

Every row is one ``<?xmute …?>`` instruction; every mutant it declares (one, or one per code
value) is made on an unchanged copy of its file and checked with the XRechnung Schematron alone,
as the corpus' own check did (rules-compiled/README.md §3): each rule in ``schematron_invalid``
fires, no rule in ``schematron_valid`` fires. The XSD and CEN layers are deliberately not run: a
``remove`` mutant is often schema-invalid, and the instances "might not be valid instances" of
XRechnung anyway (xrechnung-schematron docs/development.md).
"""

from __future__ import annotations

from collections import Counter

import pytest
from lxml import etree

from schemas.engine import Engine
from tests.schemas.conformance import xmute
from tests.schemas.conformance.corpus import data, rows, rule_ids, tree

pytestmark = pytest.mark.conformance

ROWS = rows("xmute-tests.csv")
ARTEFACT = {"cii": "xrechnung-cii-xslt", "ubl-inv": "xrechnung-ubl-xslt", "ubl-cn": "xrechnung-ubl-xslt"}


def _folder(row: dict[str, str]) -> str:
    return row["path"].split("/")[-2]


def _cases() -> list[pytest.ParameterSet]:
    cases = []
    for row in ROWS:
        name = row["path"].rsplit("/", 1)[-1]
        for index, label in enumerate(xmute.labels(row["mutator"], row["mutator_params"])):
            case_id = f"{name}:{row['line']}:{row['mutator']}"
            if row["mutator"] == "code":
                case_id += f"={label}"
            cases.append(pytest.param(row, index, id=case_id))
    return cases


CASES = _cases()


def test_declarations_are_what_the_index_says() -> None:
    """Every row's instruction is where the index says, and no active instruction is left out."""
    assert ROWS, "xmute-tests.csv is empty"
    declared: Counter[str] = Counter()
    for path in sorted({row["path"] for row in ROWS}):
        declared[path] += len(xmute.instructions(tree(path).getroot()))
    listed = Counter(row["path"] for row in ROWS)
    assert declared == listed
    # Each row names its own instruction and target (id, mutator and the element that follows).
    for row in ROWS:
        pi = xmute.find_instruction(tree(row["path"]).getroot(), int(row["line"]))
        attributes = xmute.pi_attributes(pi)
        where = f"{row['path']}:{row['line']}"
        assert attributes.get("mutator") == row["mutator"], where
        assert attributes.get("id") == row["mutation_id"], where
        assert etree.QName(xmute.target_of(pi)).localname == row["target_element"], where
    # The corpus needs no mutator beyond these (its two `whitespace` instructions are commented out).
    assert {row["mutator"] for row in ROWS} <= {"identity", "remove", "empty", "code"}


@pytest.mark.parametrize(("row", "index"), CASES)
def test_mutant(engine: Engine, row: dict[str, str], index: int) -> None:
    made = xmute.mutant(data(row["path"]), int(row["line"]), row["mutator"], row["mutator_params"], index)
    items, _svrl = engine.run_schematron(ARTEFACT[_folder(row)], made.root)
    fired = {item.id for item in items if item.id}
    must_fire = rule_ids(row["schematron_invalid"])
    must_not_fire = rule_ids(row["schematron_valid"])
    what = f"{row['mutation_id']} ({row['mutator']} {made.label!r} on {row['target_element']})"
    missing = [rule for rule in must_fire if rule not in fired]
    unwanted = [rule for rule in must_not_fire if rule in fired]
    assert not missing, f"{what}: {missing} must fire; fired {sorted(fired)}"
    assert not unwanted, f"{what}: {unwanted} must not fire"


# ----------------------------------------------------------------------------- the helper itself

_SAMPLE = b"""<r xmlns:c="urn:c">
  <?xmute mutator="remove" id="a"?>
  <c:A>1</c:A> <c:B u="x">2</c:B>
  <?xmute mutator="empty" id="b"?>
  <c:C><c:D>3</c:D></c:C>
</r>"""


def test_helper_parses_parameters() -> None:
    assert xmute.parse_params("") == {}
    assert xmute.parse_params("values=C63;attribute=unitCode") == {"values": "C63", "attribute": "unitCode"}
    assert xmute.labels("code", "values=a, b,,c;separator=,") == ["a", "b", "c"]
    assert xmute.labels("code", "values=a;b;separator=;") == ["a", "b"]


def test_helper_mutators() -> None:
    removed = xmute.mutant(_SAMPLE, 2, "remove", "").root
    assert [etree.QName(e).localname for e in removed if isinstance(e.tag, str)] == ["B", "C"]
    assert b" <c:B" in etree.tostring(removed)  # the removed element's tail text stays
    emptied = xmute.mutant(_SAMPLE, 4, "empty", "").root
    assert emptied.find("{urn:c}C") is not None
    assert emptied.find(".//{urn:c}D") is None
    coded = [m.root.findtext("{urn:c}A") for m in xmute.mutants(_SAMPLE, 2, "code", "values=x, y")]
    assert coded == ["x", "y"]
    spaced = [m.root.findtext("{urn:c}A") or "" for m in xmute.mutants(_SAMPLE, 2, "whitespace", "")]
    assert all(value.strip() == "1" and value != "1" for value in spaced)
    assert etree.tostring(xmute.mutant(_SAMPLE, 2, "identity", "").root) == etree.tostring(
        etree.fromstring(_SAMPLE)
    )
    with pytest.raises(xmute.MutationError):
        xmute.mutant(_SAMPLE, 4, "code", "values=z")  # complex content
