"""formats.facturx.extract / from_pdf: the corpus PDFs classified, and every bad input refused.

Corpus PDFs are listed in ``facturx-index.csv`` of the shared corpus (skipped without it); the
bad inputs are made here.
"""

from __future__ import annotations

import re
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from formats.errors import InvoiceInputError, ParseError
from formats.facturx import MAX_EMBEDDED_BYTES, embed, extract, from_pdf
from formats.facturx.container import PdfInputError
from formats.facturx.levels import level_for_guideline
from tests.formats.facturx.base import GUIDELINES, cii, pdfa
from tests.schemas.conformance.corpus import CORPUS, MISSING, data, rows

INDEX = rows("facturx-index.csv")
CORPUS_ROWS = [pytest.param(row, id=Path(row["path"]).name) for row in INDEX] or [
    pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-corpus")
]
CORRUPT = "facturx/mustang/Mustang-CLI/src/test/resources/corrupt-factur-x-waytoosmall.pdf"
FLAVOR_BY_NAME = {"factur-x.xml": "factur-x", "zugferd-invoice.xml": "zugferd2", "xrechnung.xml": "xrechnung"}
XMP_LEVEL = {"EN16931": "EN 16931"}


def expected_flavor(row: dict[str, str], name: str) -> str:
    if name == "ZUGFeRD-invoice.xml" or (
        row["profile_group"].startswith("ZUGFeRD1") and ";" not in row["embedded_files_observed"]
    ):
        return "zugferd1"
    return FLAVOR_BY_NAME[name.lower()]


@pytest.mark.conformance
@pytest.mark.parametrize("row", CORPUS_ROWS)
def test_corpus_pdf_is_classified(row: dict[str, str]) -> None:
    pdf = data(row["path"])
    if row["profile_group"] == "corrupt":
        with pytest.raises(InvoiceInputError, match="damaged or truncated"):
            extract(pdf)
        return
    got = extract(pdf)
    observed = row["embedded_files_observed"].split(";")
    assert got.name in observed
    assert sorted([got.name, *got.attachments]) == sorted(observed)
    assert got.flavor == expected_flavor(row, got.name)
    assert b"CrossIndustry" in got.xml
    if ";" not in row["embedded_files_observed"]:  # one invoice: the index read its guideline id
        assert got.guideline_id in (row["guideline_id_observed"], None)
    if got.guideline_id is not None and row["pdfa_id_observed"] != "xmp-err":
        assert got.conformance_level is not None
        assert got.document_type == "INVOICE"
        assert level_for_guideline(got.guideline_id) is not None


@pytest.mark.conformance
def test_corpus_without_a_parsable_xmp_still_extracts() -> None:
    if not INDEX:
        pytest.skip(MISSING)
    got = extract(data("facturx/mustang/validator/src/test/resources/invalidXMP-ParseError.pdf"))
    assert (got.conformance_level, got.document_type) == (None, None)
    assert got.name == "factur-x.xml"


@pytest.mark.conformance
def test_corrupt_corpus_pdf_is_refused_with_a_clear_message() -> None:
    if not (CORPUS / CORRUPT).is_file():
        pytest.skip(MISSING)
    with pytest.raises(InvoiceInputError, match=r"the PDF is damaged or truncated and cannot be read \("):
        from_pdf(data(CORRUPT))


@pytest.mark.conformance
def test_zugferd_1_is_reported_as_such() -> None:
    path = "facturx/zugferd-corpus/ZUGFeRDv1/correct/Intarsys/ZUGFeRD_1p0_BASIC_Einfach.pdf"
    if not (CORPUS / path).is_file():
        pytest.skip(MISSING)
    assert extract(data(path)).flavor == "zugferd1"
    with pytest.raises(ParseError, match=re.escape("ZUGFeRD 1.0 invoice (ZUGFeRD-invoice.xml")):
        from_pdf(data(path))


def _mutate(pdf: bytes, change: Any) -> bytes:
    doc = pikepdf.open(BytesIO(pdf))
    change(doc)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _bomb(doc: pikepdf.Pdf) -> None:
    spec = doc.Root.AF[0]
    stream = spec.EF.F
    stream.write(zlib.compress(b" " * (MAX_EMBEDDED_BYTES + 1024), 9), filter=pikepdf.Name.FlateDecode)
    del stream.Params.Size


def _no_invoice(doc: pikepdf.Pdf) -> None:
    doc.Root.AF = pikepdf.Array()
    del doc.Root.Names


def _rename(doc: pikepdf.Pdf) -> None:  # the invoice under an odd name, found by its root
    spec = doc.Root.AF[0]
    spec.F = spec.UF = "rechnung.xml"
    del doc.Root.Names


def test_bad_inputs_are_refused_with_a_clear_message() -> None:
    good = embed(pdfa(), cii(), level="EN 16931")
    cases = [
        (b"", "empty"),
        (b"GIF89a", "not a PDF"),
        (good[: len(good) // 2], "damaged or truncated"),
        (pdfa(), "no embedded files"),
        (_mutate(good, _bomb), f"the limit is {MAX_EMBEDDED_BYTES}"),
        (_mutate(good, _no_invoice), "no embedded files"),
    ]
    for pdf, message in cases:
        with pytest.raises(PdfInputError, match=re.escape(message)):
            extract(pdf)
    with pytest.raises(InvoiceInputError, match="the limit is 100"):
        extract(good, max_bytes=100)


def test_invoice_found_by_its_root_under_another_name() -> None:
    got = extract(_mutate(embed(pdfa(), cii(), level="EN 16931"), _rename))
    assert (got.name, got.flavor, got.xml) == ("rechnung.xml", "factur-x", cii())


def test_encrypted_pdf_is_refused() -> None:
    doc = pikepdf.open(BytesIO(embed(pdfa(), cii(), level="EN 16931")))
    out = BytesIO()
    doc.save(out, encryption=pikepdf.Encryption(owner="o", user="", R=4, aes=False, metadata=False))
    with pytest.raises(InvoiceInputError, match="encrypted"):
        extract(out.getvalue())


def test_guideline_disagreeing_with_the_xmp_level_names_both() -> None:
    out = embed(pdfa(), cii(), level="EN 16931")
    swapped = out.replace(b"ConformanceLevel>EN 16931<", b"ConformanceLevel>EXTENDED<")
    assert swapped != out
    assert len(swapped) == len(out)
    with pytest.raises(
        InvoiceInputError, match=r"'EXTENDED' disagrees with the guideline id 'urn:cen.eu:en16931:2017'"
    ):
        extract(swapped)


def test_en16931_level_over_an_xrechnung_xml_agrees() -> None:
    """XRechnung is a CIUS of EN 16931 (the symtrax corpus sample embeds one so)."""
    xml = cii(GUIDELINES["XRECHNUNG"])
    assert extract(embed(pdfa(), xml, level="EN 16931")).guideline_id == GUIDELINES["XRECHNUNG"]
