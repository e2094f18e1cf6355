"""to_facturx / to_pdf / from_pdf over the example invoices (formats.cii + formats.pdf + embed).

Each example is written in every profile it fits (as given, else with ``omit_unsupported``):
the structural PDF/A-3 checks find nothing, the XML comes back byte-identical and reads back,
and (with the corpus rule packs) the Engine, fed the PDF, reports no error under the matching
Factur-X / XRechnung set.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from formats import cii
from formats.errors import SerializeError
from formats.facturx import extract, from_pdf, to_facturx, to_pdf
from formats.invoice import Invoice, load_json, parse_invoice
from schemas.engine import Engine
from schemas.pdf import check_pdf
from schemas.report import Level

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
CASES = [
    pytest.param(p.stem, prof.name, id=f"{p.stem}.{prof.name}")
    for p in EXAMPLES
    for prof in cii.PROFILES.values()
]
SETS = {
    "minimum": "fr.factur-x:minimum:",
    "basicwl": "fr.factur-x:basicwl:",
    "basic": "fr.factur-x:basic:",
    "en16931": "fr.factur-x:en16931:",
    "extended": "fr.factur-x:extended:",
    "xrechnung": "de.xrechnung:cii:",
}


@cache
def example(stem: str) -> Invoice:
    return parse_invoice(load_json((REPO / "examples" / f"{stem}.json").read_bytes()))


@cache
def written(stem: str, profile: str) -> tuple[bytes, bytes] | None:
    """(the Factur-X PDF, its CII XML), or None when the profile cannot carry the example at all."""
    chosen = cii.profile(profile)
    for omit in (False, True):
        try:
            pdf = to_facturx(example(stem), chosen, omit_unsupported=omit)
        except SerializeError:
            continue
        return pdf, cii.to_xml(example(stem), chosen, omit_unsupported=omit)
    return None


def test_every_example_fits_at_least_en16931() -> None:
    for path in EXAMPLES:
        assert written(path.stem, "en16931") is not None, path.stem


@pytest.mark.parametrize(("stem", "profile"), CASES)
def test_example_round_trips(stem: str, profile: str) -> None:
    result = written(stem, profile)
    if result is None:
        pytest.skip(f"{stem} cannot be written as {profile}, even omitting unsupported terms")
    pdf, xml = result
    check = check_pdf(pdf)
    assert [(i.id, i.message) for i in check.items] == []
    got = extract(pdf)
    assert got.xml == xml
    assert got.name == ("xrechnung.xml" if profile == "xrechnung" else "factur-x.xml")
    assert got.guideline_id == cii.profile(profile).guideline_id
    if cii.profile(profile).carries_lines:  # MINIMUM and BASIC WL do not carry a whole invoice
        invoice, _losses = from_pdf(pdf)
        assert invoice.number == example(stem).number


def test_deterministic() -> None:
    first = to_facturx(example(EXAMPLES[0].stem), "EN16931")
    assert first == to_facturx(example(EXAMPLES[0].stem), "EN16931")


def test_to_pdf_has_no_attachment() -> None:
    pdf = to_pdf(example(EXAMPLES[0].stem))
    root: Any = PdfReader(BytesIO(pdf)).trailer["/Root"]
    assert "/AF" not in root
    assert "/Names" not in root


def test_serialize_error_comes_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    import formats.pdf

    def fail(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered although the XML could not be written")

    monkeypatch.setattr(formats.pdf, "render_pdf", fail)
    with pytest.raises(SerializeError, match="cannot be written as Factur-X MINIMUM"):
        to_facturx(example("large-500-lines"), "MINIMUM")
    with pytest.raises(SerializeError, match="unknown CII profile 'platinum'"):
        to_facturx(example("large-500-lines"), "PLATINUM")


@pytest.mark.conformance
@pytest.mark.parametrize(("stem", "profile"), CASES)
def test_example_validates_under_the_matching_set(engine: Engine, stem: str, profile: str) -> None:
    result = written(stem, profile)
    if result is None:
        pytest.skip(f"{stem} cannot be written as {profile}")
    report = engine.validate(result[0], f"{stem}.pdf")
    assert report.error is None
    assert report.embedded == ("xrechnung.xml" if profile == "xrechnung" else "factur-x.xml")
    assert (report.set_id or "").startswith(SETS[profile])
    errors = [(i.id, i.message) for i in report.items() if i.level in (Level.ERROR, Level.FATAL)]
    assert errors == []


@pytest.mark.parametrize(("stem", "profile"), CASES)
def test_the_factur_x_library_reads_our_files(stem: str, profile: str) -> None:
    """An independent reader: akretion's factur-x finds the XML, XSD-checks it, names the level."""
    import facturx
    from lxml import etree

    made = written(stem, profile)
    if made is None:
        pytest.skip(f"{profile} cannot carry {stem}")
    pdf, xml = made
    name, found = facturx.get_xml_from_pdf(pdf, check_xsd=profile != "xrechnung")
    assert found == xml
    assert name == ("xrechnung.xml" if profile == "xrechnung" else "factur-x.xml")
    level = facturx.get_level(etree.fromstring(found))
    assert level == cii.profile(profile).facturx_level


@pytest.mark.parametrize("profile", ["minimum", "basicwl"])
def test_our_summary_profiles_read_back(profile: str) -> None:
    """MINIMUM carries no buyer address and neither profile carries lines: still readable."""
    invoice = example("de-domestic-b2b")
    pdf = to_facturx(invoice, profile, omit_unsupported=True)
    back, losses = from_pdf(pdf)
    assert back.is_summary
    assert (back.number, back.totals.amount_due) == (invoice.number, cii.prepare(invoice).totals.amount_due)
    assert losses == []
    assert (back.buyer.address is None) == (profile == "minimum")
