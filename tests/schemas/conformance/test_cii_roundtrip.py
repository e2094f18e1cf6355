"""Every CII document and Factur-X / ZUGFeRD PDF of the corpus expected valid survives CII → invoice → CII.

For each row of ``expected.csv`` that is expected ``valid``:

* format ``cii`` (the CEN CII examples): the XML is read with ``formats.cii.read.from_xml``;
* format ``facturx-pdf`` (FNFE, FeRD/intarsys, symtrax, Mustang, akretion samples): the
  embedded XML is taken out with ``formats.facturx.extract`` (ZUGFeRD 1.0 files are
  recognised and refused as such, see ``test_zugferd1_is_reported_as_such``).

Then the invoice is written back as CII in the profile its guideline id (BT-24) names, its
stated amounts kept (``keep_supplied``: converting must not change what the sender
invoiced) and, for MINIMUM and BASIC WL, without lines. Checked:

1. every business term has the same values before and after (``formats/cii/terms.py``;
   numbers compared as ``Decimal``; a term absent and a term without values are the same),
   except a reviewed model limit (``KNOWN_LIMITS``) for that term in that file only;
2. validated with the set that judges the input (the CEN CII rules for the CEN examples,
   the Factur-X set of the profile for the PDFs, XRechnung CII where the guideline id says
   so), no rule fires on the output that did not fire on the input (multisets of rule id
   and level).

UBL ↔ CII through the canonical invoice is checked the same way in ``test_cross_format``.

BT-7 and BT-8 are one value per invoice (0..1) that the CEN CII binding places inside the
VAT breakdown (``ram:ApplicableTradeTax``, which repeats). The CEN CII syntax rules say how
often: CII-SR-461 allows one ``ram:TaxPointDate`` in all, so BT-7 is compared as written;
CII-SR-462 allows ``ram:DueDateTypeCode`` in several breakdowns when all are equal, so a
sender may repeat BT-8 where the writer states it once: BT-8 is compared as its distinct
values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import pytest
from lxml import etree

from formats.cii import EN16931, Profile, profile_for_guideline, to_xml
from formats.cii.read import from_xml
from formats.cii.terms import locations, values
from formats.cii.write import unsupported
from formats.errors import InvoiceInputError, ParseError
from formats.facturx import extract
from formats.invoice import RoundingRule
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice
from schemas.engine import Engine
from schemas.report import Report, Validity
from tests.schemas.conformance.corpus import data, rows

pytestmark = pytest.mark.conformance

ROWS = [
    row
    for row in rows("expected.csv")
    if row["format"] in ("cii", "facturx-pdf")
    and row["expected"] == "valid"
    and "ZUGFeRDv1" not in row["path"]
]
ZUGFERD1 = [
    row for row in rows("expected.csv") if "ZUGFeRDv1" in row["path"] and row["format"] == "facturx-pdf"
]

NUMERIC = frozenset(
    {
        *(f"BT-{n}" for n in (92, 93, 94, 96, 99, 100, 101, 103, 119, 129, 131, 152)),
        *(f"BT-{n}" for n in range(106, 118)),
        *(f"BT-{n}" for n in (136, 137, 138, 141, 142, 143, 146, 147, 148, 149)),
    }
)
BREAKDOWN = frozenset(f"BT-{n}" for n in range(116, 122))
ONE_VALUE = frozenset({"BT-8"})
"""Terms a sender may repeat with the same value (CII-SR-462): compared as distinct values."""


@dataclass(frozen=True)
class Limit:
    """A term a CII file states more often (or otherwise) than the EN 16931 model holds it."""

    term: str
    file: str
    """A part of the corpus path: the limit applies to those files only."""
    reason: str


KNOWN_LIMITS = (
    *(
        Limit(
            "BT-46",
            name,
            "BT-46 given both as ram:ID and ram:GlobalID: the model holds one buyer identifier (0..1); "
            "the GlobalID, which states its scheme, is kept, the ID is a Loss",
        )
        for name in (
            "zugferd_2p0_EN16931_1_Teilrechnung",
            "zugferd_2p0_EN16931_Einfach",
            "zugferd_2p0_EN16931_Rabatte",
            "zugferd_2p0_EN16931_Rechnungskorrektur",
            "zugferd_2p0_EXTENDED_Rechnungskorrektur",
            "zugferd_2p0_EXTENDED_Warenrechnung",
            "zugferd_2p1_EXTENDED_Kostenrechnung",
        )
    ),
    Limit(
        "BT-83",
        "Avoir_FR_type381_BASIC",
        "BT-83 without any payment means: BG-16 needs its payment means code (BT-81, 1..1), "
        "which the file does not give, so the model has no place for it; a Loss",
    ),
    Limit(
        "BT-84",
        "mustang/validator/src/test/resources/validXRechnung",
        "BT-84 given twice in one account (ram:IBANID and ram:ProprietaryID): the model holds one "
        "account identifier per credit transfer; the IBAN is kept, the proprietary id is a Loss",
    ),
    Limit(
        "BT-147",
        "zugferd_2p0_EXTENDED_",
        "several price discounts on one line (EXTENDED): the model holds one item price discount "
        "(0..1); their sum is kept as BT-147, each amount is a Loss",
    ),
    Limit(
        "BT-147",
        "CII_example5",
        "a price discount (10) larger than the gross price (1.1): the model derives the net price as "
        "gross − discount (BR-26, BR-27), which would be negative; the stated net price is kept, the "
        "discount is a Loss",
    ),
    Limit(
        "BT-94",
        "zugferd_2p0_EXTENDED_Rechnungskorrektur",
        "a negative allowance percentage (-2 % of a negative base, EXTENDED correction invoice): "
        "EN 16931 percentages are not negative; the amount is kept, the percentage is a Loss",
    ),
    Limit(
        "BT-18",
        "zugferd_2p0_EXTENDED_Rechnungskorrektur",
        "a second invoiced object identifier (two documents of type 130): the model holds one "
        "(0..1); the first is kept, the second is a Loss",
    ),
)


def limits_for(path: str) -> dict[str, Limit]:
    return {limit.term: limit for limit in KNOWN_LIMITS if limit.file in path}


BEYOND_PROFILE = {
    "symtrax/Beispiele/MINIMUM/zugferd_2p1_MINIMUM_Rechnung": (
        "states seller and buyer address lines, city and post code, which the MINIMUM XSD has no "
        "element for (its address is the country only): the input fails its own profile's XSD, and "
        "written back as MINIMUM those terms (exactly the ones the writer names) are left out"
    ),
}
"""Received files stating terms their own profile's XSD cannot hold; reviewed."""


@dataclass(frozen=True)
class RuleLimit:
    """Rules that fire on the output because a value beyond EN 16931 was a reader Loss."""

    rules: frozenset[str]
    file: str
    lost: str
    """Local name of the lost element whose absence makes the rules fire."""
    reason: str


_LOGISTICS = RuleLimit(
    frozenset({"BR-FXEXT-CO-12", "BR-FXEXT-CO-13", "BR-FXEXT-S08b", "BR-FXEXT-S-08ini", "BR-FXEXT-S-08rev"}),
    "",
    "SpecifiedLogisticsServiceCharge",
    "an EXTENDED logistics service charge (BT-x-272) is no EN 16931 term (a reader Loss); the stated "
    "charge total (BT-108), tax basis (BT-109) and VAT breakdown include it, so the EXTENDED sums "
    "over the remaining charges no longer add up",
)
KNOWN_RULE_LIMITS = (
    RuleLimit(_LOGISTICS.rules, "zugferd_2p0_EXTENDED_Warenrechnung", _LOGISTICS.lost, _LOGISTICS.reason),
    RuleLimit(_LOGISTICS.rules, "zugferd_2p1_EXTENDED_Kostenrechnung", _LOGISTICS.lost, _LOGISTICS.reason),
)


@cache
def xml_of(path: str) -> bytes:
    raw = data(path)
    if path.lower().endswith(".pdf"):
        return extract(raw).xml
    return raw


@cache
def _read(path: str) -> tuple[Invoice, tuple[Loss, ...]]:
    invoice, losses = from_xml(xml_of(path))
    return invoice, tuple(losses)


def profile_of(invoice: Invoice) -> Profile:
    spec = invoice.process_control.specification_identifier
    found = profile_for_guideline(spec) if spec else None
    return found or EN16931


def set_id_for(row: dict[str, str], profile: Profile) -> str:
    if row["format"] == "cii" and row["verdict_scope"] == "en16931":
        return "eu.cen.en16931:cii:1.3.16"
    return profile.validation_sets[0]


def _number(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def comparable(root: etree._Element) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for term, texts in values(root).items():
        if term == "BT-121":
            texts = [text.upper() for text in texts]
        items: list[object] = [_number(t) for t in texts] if term in NUMERIC else list(texts)
        if term in ONE_VALUE:
            items = list(dict.fromkeys(items))
        out[term] = sorted(items, key=str) if term in BREAKDOWN else items
    return out


def fired(report: Report) -> Counter[tuple[str, str]]:
    return Counter((item.id, item.level.value) for item in report.items() if item.id)


def test_the_selection() -> None:
    assert len([r for r in ROWS if r["format"] == "cii"]) >= 15
    assert len([r for r in ROWS if r["format"] == "facturx-pdf"]) >= 20


def test_every_known_limit_names_a_file_of_the_selection() -> None:
    parts = [limit.file for limit in KNOWN_LIMITS] + [limit.file for limit in KNOWN_RULE_LIMITS]
    for part in [*parts, *BEYOND_PROFILE]:
        assert any(part in row["path"] for row in ROWS), part


@pytest.mark.parametrize("row", [pytest.param(r, id=r["path"]) for r in ROWS])
def test_round_trip(engine: Engine, row: dict[str, str]) -> None:
    path = row["path"]
    invoice, losses = _read(path)
    profile = profile_of(invoice)
    beyond = [reason for part, reason in BEYOND_PROFILE.items() if part in path]
    written = to_xml(invoice, profile, RoundingRule.TOTALS, keep_supplied=True, omit_unsupported=bool(beyond))
    left_out = {p.term for p in unsupported(invoice, profile, received=True) if p.term} if beyond else set()
    assert bool(beyond) == bool(left_out), f"BEYOND_PROFILE is stale for {path}"

    source = etree.fromstring(xml_of(path))
    before, after = comparable(source), comparable(etree.fromstring(written))
    if not profile.carries_lines:
        before = {term: v for term, v in before.items() if term not in _LINE_TERMS}
    changed = {term: (before.get(term) or [], after.get(term) or []) for term in before.keys() | after.keys()}
    changed = {term: pair for term, pair in changed.items() if pair[0] != pair[1]}
    limits = limits_for(path)
    stale = sorted(set(limits) - set(changed))
    assert not stale, f"reviewed model limits that no longer change anything (remove them): {stale}"
    term_paths = locations(source)
    lost = {loss.path for loss in losses}
    unreported = sorted(term for term in limits if not lost & set(term_paths[term]))
    assert not unreported, f"reviewed model limits the reader does not report as a Loss: {unreported}"
    changed = {term: pair for term, pair in changed.items() if term not in limits and term not in left_out}
    assert not changed, f"business terms changed (before, after): {changed}"

    set_id = set_id_for(row, profile)
    report_in = engine.validate(xml_of(path), path, set_id)
    report_out = engine.validate(written, f"{path} (written back)", set_id)
    broken = [layer.name for layer in report_out.layers if layer.validity is Validity.ERROR]
    assert not broken, f"layers that could not run on the output: {broken}"
    if beyond:
        assert any(i.id == "XSD" for i in report_in.items()), (
            "the input is expected to fail its profile's XSD"
        )
    new = fired(report_out) - fired(report_in)
    for limit in KNOWN_RULE_LIMITS:
        if limit.file in path:
            assert any(limit.lost in loss.path for loss in losses), f"{limit.lost} is not a reader Loss"
            assert {rule for rule, _ in new} & limit.rules, f"stale rule limit {limit}"
            new = Counter({key: n for key, n in new.items() if key[0] not in limit.rules})
    details = [
        f"{i.id} {i.level.value}: {i.message[:160]}"
        for i in report_out.items()
        if (i.id, i.level.value) in new
    ]
    assert not new, f"rules fire on the output that did not fire on the input: {details}"


_LINE_TERMS = frozenset(f"BT-{n}" for n in range(126, 160))


@pytest.mark.parametrize("row", [pytest.param(r, id=r["path"]) for r in ZUGFERD1])
def test_zugferd1_is_reported_as_such(row: dict[str, str]) -> None:
    def read() -> None:
        from_xml(extract(data(row["path"])).xml)

    with pytest.raises((ParseError, InvoiceInputError), match="ZUGFeRD 1"):
        read()
