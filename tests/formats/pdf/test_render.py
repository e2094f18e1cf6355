"""The readable invoice PDF: PDF/A-3b, legible in each language, deterministic.

Every example is rendered in English, French and German and must pass pikepdf's PDF/A-3b
checker (rules taken from veraPDF; not a full veraPDF verdict) with no finding at all.
Poppler (``pdftoppm``, ``pdftotext``) then renders the pages and extracts the text, where
the invoice number, buyer, grand total, amount due and IBAN must be read as a person reads
them. The expected amounts are formatted here independently of ``formats.numbers``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from pikepdf import pdfa

from formats.errors import SerializeError
from formats.invoice import Invoice, calculate, load_json, parse_invoice
from formats.pdf import render_pdf

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
LANGUAGES = ("en", "fr", "de")
CASES = [pytest.param(path.stem, lang, id=f"{path.stem}.{lang}") for path in EXAMPLES for lang in LANGUAGES]

POPPLER_MISSING = "poppler-utils (pdftoppm, pdftotext) is not installed: apt-get install poppler-utils"
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None, reason=POPPLER_MISSING
)


@cache
def example(stem: str) -> Invoice:
    return parse_invoice(load_json((REPO / "examples" / f"{stem}.json").read_bytes()))


@cache
def rendered(stem: str, language: str) -> bytes:
    return render_pdf(example(stem), language=language)


def assert_pdfa(data: bytes) -> None:
    report = pdfa.validate_written(io.BytesIO(data), "3b")
    assert report.passed, report.summary()


def text_of(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    text = out.stdout.decode("utf-8").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text)


def page_count(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "12", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert all(p.stat().st_size > 0 for p in pages)
    return len(pages)


def euro(value: Decimal, language: str) -> str:
    """EUR amounts as each language writes them, built without the module under test."""
    whole, fraction = f"{value:,.2f}".split(".")
    if language == "en":
        return f"€{whole}.{fraction}"
    group = " " if language == "fr" else "."
    return f"{whole.replace(',', group)},{fraction} €"


# ---------------------------------------------------------------------------- PDF/A


@pytest.mark.parametrize(("stem", "language"), CASES)
def test_every_example_is_pdfa_3b(stem: str, language: str) -> None:
    assert_pdfa(rendered(stem, language))


def test_structure_written_by_reportlab_itself() -> None:
    data = rendered("fr-domestic-direct-debit", "fr")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Encrypt" not in pdf.trailer
        root = pdf.Root
        intent = root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1"
        assert int(intent.DestOutputProfile.N) == 3
        assert "/JavaScript" not in root
        assert "/OpenAction" not in root
        xmp = bytes(root.Metadata.read_bytes()).decode("utf-8")
        assert "<pdfaid:part>3</pdfaid:part>" in xmp
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        assert str(pdf.docinfo.Title) == "Facture FA-2026-01187"
        assert "Facture FA-2026-01187</rdf:li>" in xmp
        assert str(pdf.docinfo.CreationDate).startswith("D:20261102")
        for page in pdf.pages:
            assert "/Trans" not in page.obj
            for font in page.Resources.Font.values():
                descriptor = font.FontDescriptor
                assert "/FontFile2" in descriptor, f"{font.BaseFont} is not embedded"
                assert str(font.BaseFont).endswith(("DejaVuSans", "DejaVuSans-Bold", "Vera", "VeraBd"))


# ---------------------------------------------------------------------------- what a reader sees


@needs_poppler
@pytest.mark.parametrize(("stem", "language"), CASES)
def test_key_values_are_legible(stem: str, language: str, tmp_path: Path) -> None:
    invoice = calculate(example(stem))
    text = text_of(rendered(stem, language), tmp_path)
    assert invoice.number in text
    assert invoice.buyer.name in text
    assert invoice.totals.tax_inclusive_amount is not None
    assert invoice.totals.amount_due is not None
    assert euro(invoice.totals.tax_inclusive_amount, language) in text
    assert euro(invoice.totals.amount_due, language) in text
    instructions = invoice.payment_instructions
    for transfer in instructions.credit_transfers if instructions else []:
        iban = transfer.account_identifier.replace(" ", "")
        assert " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) in text


@needs_poppler
@pytest.mark.parametrize(
    ("language", "due", "title", "page"),
    [
        ("en", "€827.78", "Invoice", "Page 1 of 1"),
        ("fr", "827,78 €", "Facture", "Page 1 sur 1"),
        ("de", "827,78 €", "Rechnung", "Seite 1 von 1"),
    ],
)
def test_language_words_and_numbers(language: str, due: str, title: str, page: str, tmp_path: Path) -> None:
    text = text_of(rendered("fr-domestic-direct-debit", language), tmp_path)
    for expected in (due, title, page, "FR76 1027 8073 0500 0201 9280 140"):
        assert expected in text


@needs_poppler
def test_dates_and_unit_prices_per_language(tmp_path: Path) -> None:
    assert "30 November 2026" in text_of(rendered("large-500-lines", "en"), tmp_path)
    german = text_of(rendered("large-500-lines", "de"), tmp_path)
    assert "30.11.2026" in german
    assert "4,2190 €" in german  # a unit price keeps its four decimals
    assert "3.500 Stk." in german
    assert "2 novembre 2026" in text_of(rendered("fr-domestic-direct-debit", "fr"), tmp_path)


@needs_poppler
@pytest.mark.parametrize(("stem", "pages"), [("fr-domestic-direct-debit", 1), ("de-domestic-b2b", 1)])
def test_small_invoices_fit_one_page(stem: str, pages: int, tmp_path: Path) -> None:
    assert page_count(rendered(stem, "de"), tmp_path) == pages


@needs_poppler
def test_large_invoice_flows_with_repeated_header(tmp_path: Path) -> None:
    data = rendered("large-500-lines", "en")
    pages = page_count(data, tmp_path)
    assert pages >= 15
    text = text_of(data, tmp_path)
    assert f"Page {pages} of {pages}" in text
    assert text.count("Unit price") >= pages  # the lines table header on every page it reaches
    assert "Schlagsahne 30 % Fett, 1 l" in text


@needs_poppler
def test_default_language_follows_the_seller(tmp_path: Path) -> None:
    assert "Rechnung" in text_of(render_pdf(example("de-domestic-b2b")), tmp_path)
    assert "Facture" in text_of(render_pdf(example("fr-domestic-direct-debit")), tmp_path)
    data = example("de-domestic-b2b").model_dump(mode="json")
    data["seller"]["address"].update(country_code="CH", post_code="1003", city="Lausanne")
    assert "Facture" in text_of(render_pdf(parse_invoice(data)), tmp_path)
    data["seller"]["address"].update(country_code="BE", post_code="2000", city="Antwerpen")
    assert "Factuur" in text_of(render_pdf(parse_invoice(data)), tmp_path)
    data["seller"]["address"].update(country_code="US", post_code="10001", city="New York")
    assert "Invoice" in text_of(render_pdf(parse_invoice(data)), tmp_path)


@needs_poppler
def test_credit_note_title(tmp_path: Path) -> None:
    text = text_of(rendered("be-credit-note", "fr"), tmp_path)
    assert "Avoir" in text
    assert "Montant à rembourser" in text


# ---------------------------------------------------------------------------- edge cases


def test_same_invoice_same_bytes() -> None:
    invoice = example("mixed-rates-allowance-charge")
    first = render_pdf(invoice, language="de")
    assert render_pdf(invoice.model_copy(deep=True), language="de") == first
    assert render_pdf(calculate(invoice), language="de") == first  # calculated or not, same figures
    assert render_pdf(invoice, language="fr") != first


@needs_poppler
def test_invoice_without_lines_shows_totals(tmp_path: Path) -> None:
    invoice = calculate(example("de-domestic-b2b"))
    summary = invoice.model_copy(update={"lines": []})  # a MINIMUM / BASIC WL summary
    data = render_pdf(summary, language="en")
    assert_pdfa(data)
    text = text_of(data, tmp_path)
    assert "carries no line detail" in text
    assert "Unit price" not in text
    assert euro(Decimal("7438.03"), "en") in text
    assert page_count(data, tmp_path) == 1


@needs_poppler
def test_invoice_without_lines_keeps_given_totals(tmp_path: Path) -> None:
    """A MINIMUM summary: totals given, no lines and no VAT breakdown to recompute from."""
    invoice = example("de-domestic-b2b")
    totals = invoice.totals.model_copy(
        update={
            "tax_exclusive_amount": Decimal("100.00"),
            "vat_total": Decimal("19.00"),
            "tax_inclusive_amount": Decimal("119.00"),
            "amount_due": Decimal("119.00"),
        }
    )
    # MINIMUM carries no buyer address either (BG-8)
    buyer = invoice.buyer.model_copy(update={"address": None})
    summary = invoice.model_copy(update={"lines": [], "totals": totals, "vat_breakdown": [], "buyer": buyer})
    data = render_pdf(summary, language="de")
    assert_pdfa(data)
    text = text_of(data, tmp_path)
    assert "119,00 €" in text
    assert "100,00 €" in text
    assert invoice.buyer.name in text


@needs_poppler
def test_characters_outside_the_font_are_replaced_visibly(tmp_path: Path) -> None:
    data = example("de-domestic-b2b").model_dump(mode="json")
    data["buyer"]["name"] = "Kōhī 漢字 Shop 🙂 GmbH"
    data["lines"][0]["item"]["description"] = "Ligature ﬁt, combining e\u0301, tab\there, zero\u200bwidth"
    rendered_pdf = render_pdf(parse_invoice(data), language="de")
    assert_pdfa(rendered_pdf)
    text = text_of(rendered_pdf, tmp_path)
    assert "Kōhī \ufffd\ufffd Shop \ufffd GmbH" in text
    assert "combining é" in text
    assert "zerowidth" in text


def test_payment_link_is_a_printable_link_annotation(tmp_path: Path) -> None:
    url = "https://pay.example.com/i/FA-2026-01187?amount=827.78"
    data = render_pdf(example("fr-domestic-direct-debit"), language="fr", payment_link=url)
    assert_pdfa(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        links = [a for page in pdf.pages for a in page.get("/Annots", []) if a.Subtype == "/Link"]
    assert [str(a.A.URI) for a in links] == [url]
    assert int(links[0].F) & 4  # printable, as PDF/A requires
    if shutil.which("pdftotext"):
        assert "Payer en ligne" in text_of(data, tmp_path)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "ftp://example.com/x", "https://", "https://a b.com"]
)
def test_payment_link_must_be_http_url(link: str) -> None:
    with pytest.raises(SerializeError, match="payment_link"):
        render_pdf(example("de-domestic-b2b"), payment_link=link)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(SerializeError, match=r"'xx'.*en, fr, de"):
        render_pdf(example("de-domestic-b2b"), language="xx")


def test_language_tags_are_accepted() -> None:
    invoice = example("de-domestic-b2b")
    assert render_pdf(invoice, language="fr-BE") == render_pdf(invoice, language="fr")
