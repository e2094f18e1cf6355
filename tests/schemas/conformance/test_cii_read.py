"""Every CII document and Factur-X/ZUGFeRD 2.x PDF of the corpus that is expected valid reads.

For each row of ``expected.csv`` with format ``cii`` and expected ``valid`` (the CEN CII
examples), and for the CII XML embedded in each ``facturx-pdf`` row expected ``valid`` (every
Factur-X/ZUGFeRD 2.x profile, XRechnung CII):

1. ``formats.cii.read.from_xml`` reads it into the canonical invoice;
2. every ``Loss`` is of a reviewed kind (``ALLOWED_LOSSES``: a value EN 16931 does not define),
   and none sits where the CII terms table (``formats/cii/terms.py``) puts a business term,
   except the reviewed cases of ``TERM_LOSSES`` (the sender gave a term more often than the
   model holds it, or without the group it belongs to);
3. the terms the table finds are the values the invoice holds (a cross-check of reader and
   table).

The ZUGFeRD 1.0 PDF (a pre-D16B syntax) is refused with the ZUGFeRD 1.0 ``ParseError``. The
embedded XML is extracted here with pypdf (the Factur-X adapter will own that extraction).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from functools import cache

import pypdf
import pytest

from formats.cii.read import from_xml
from formats.cii.terms import locations, values
from formats.errors import ParseError
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice
from formats.xmlsafe import parse
from tests.schemas.conformance.corpus import data, rows

pytestmark = pytest.mark.conformance

CII_ROWS = [
    row["path"] for row in rows("expected.csv") if row["format"] == "cii" and row["expected"] == "valid"
]
PDF_ROWS = [
    row["path"]
    for row in rows("expected.csv")
    if row["format"] == "facturx-pdf" and row["expected"] == "valid"
]
ZUGFERD1 = [path for path in PDF_ROWS if "/ZUGFeRDv1/" in path]
PDF_V2 = [path for path in PDF_ROWS if path not in ZUGFERD1]

_BEYOND = "a Factur-X/ZUGFeRD EXTENDED term (or a CII element) that EN 16931 does not define"
_S = "rsm:SupplyChainTradeTransaction/"
_AGR = _S + "ram:ApplicableHeaderTradeAgreement/"
_DEL = _S + "ram:ApplicableHeaderTradeDelivery/"
_SET = _S + "ram:ApplicableHeaderTradeSettlement/"
_LINE = _S + "ram:IncludedSupplyChainTradeLineItem/"
_PRICE_DISCOUNT = (
    _LINE + "ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge/"
    "ram:ActualAmount"
)

# The kinds of loss the reader may report (path without positions and without the root),
# each with why it is not an EN 16931 business term.
ALLOWED_LOSSES: dict[str, str] = {
    "@xsi:schemaLocation": "a hint for XML tools where the XSD is; no business data",
    "rsm:ExchangedDocumentContext/ram:TestIndicator/udt:Indicator": "the CII test flag",
    "rsm:ExchangedDocument/ram:Name": _BEYOND + " (document name, EXTENDED)",
    "rsm:ExchangedDocument/ram:IncludedNote/ram:ContentCode": _BEYOND + " (note content code)",
    _AGR + "ram:SpecifiedProcuringProject/ram:Name": "the project name CII requires; BT-11 is the id",
    _AGR + "ram:SellerTradeParty/ram:DefinedTradeContact/ram:DepartmentName": (
        "the contact department next to a contact person (Factur-X BT-41-0): one contact point in EN 16931"
    ),
    _AGR + "ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID": (
        "the scheme of an empty electronic address (XRechnung-O.xml writes <ram:URIID schemeID='EM'/>)"
    ),
    _DEL + "ram:DeliveryNoteReferencedDocument/ram:IssuerAssignedID": _BEYOND + " (delivery note, EXTENDED)",
    _DEL + "ram:ShipToTradeParty/ram:DefinedTradeContact/ram:DepartmentName": (
        _BEYOND + " (deliver-to contact; EN 16931 BG-13 has no contact)"
    ),
    _SET + "ram:ApplicableTradeTax/ram:AllowanceChargeBasisAmount": _BEYOND + " (EXTENDED)",
    _SET + "ram:ApplicableTradeTax/ram:LineTotalBasisAmount": _BEYOND + " (EXTENDED)",
    **{
        _SET + "ram:InvoiceeTradeParty/" + tail: _BEYOND + " (the invoicee party, EXTENDED)"
        for tail in (
            "ram:ID",
            "ram:GlobalID",
            "ram:GlobalID/@schemeID",
            "ram:Name",
            "ram:PostalTradeAddress/ram:CityName",
            "ram:PostalTradeAddress/ram:CountryID",
            "ram:PostalTradeAddress/ram:LineOne",
            "ram:PostalTradeAddress/ram:PostcodeCode",
        )
    },
    **{
        _SET + "ram:SpecifiedLogisticsServiceCharge/" + tail: _BEYOND
        + " (logistics service charge, EXTENDED)"
        for tail in (
            "ram:AppliedAmount",
            "ram:Description",
            "ram:AppliedTradeTax/ram:TypeCode",
            "ram:AppliedTradeTax/ram:CategoryCode",
            "ram:AppliedTradeTax/ram:RateApplicablePercent",
        )
    },
    **{
        _SET + "ram:SpecifiedTradePaymentTerms/ram:ApplicableTradePaymentDiscountTerms/" + tail: (
            _BEYOND + " (payment discount terms, EXTENDED)"
        )
        for tail in ("ram:BasisPeriodMeasure", "ram:BasisPeriodMeasure/@unitCode", "ram:CalculationPercent")
    },
    _LINE + "ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:BasisQuantity": (
        "the gross price's base quantity where it differs from the net price's (BT-149 is one quantity)"
    ),
    _LINE + "ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:BasisQuantity/@unitCode": (
        "its unit"
    ),
    _LINE + "ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge/"
    "ram:Reason": "the reason of a price discount: EN 16931 BT-147 has no reason",
    _LINE + "ram:SpecifiedLineTradeDelivery/ram:PackageQuantity": _BEYOND + " (package quantity, EXTENDED)",
    _LINE + "ram:SpecifiedLineTradeDelivery/ram:PackageQuantity/@unitCode": _BEYOND + " (its unit)",
    _LINE + "ram:SpecifiedLineTradeSettlement/ram:AdditionalReferencedDocument/ram:IssuerAssignedID": (
        "a line document reference other than the invoiced object identifier (BT-128, type 130)"
    ),
    **{
        _LINE + "ram:SpecifiedTradeProduct/ram:IncludedReferencedProduct/" + tail: (
            _BEYOND + " (a product included in the item, EXTENDED)"
        )
        for tail in (
            "ram:GlobalID",
            "ram:GlobalID/@schemeID",
            "ram:Name",
            "ram:SellerAssignedID",
            "ram:UnitQuantity",
            "ram:UnitQuantity/@unitCode",
        )
    },
    # reviewed losses on a business-term location (TERM_LOSSES below)
    _AGR + "ram:BuyerTradeParty/ram:ID": "see TERM_LOSSES",
    _AGR + "ram:AdditionalReferencedDocument/ram:IssuerAssignedID": "see TERM_LOSSES",
    _AGR + "ram:AdditionalReferencedDocument/ram:TypeCode": "see TERM_LOSSES",
    _SET + "ram:PaymentReference": "see TERM_LOSSES",
    _SET
    + "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID": (
        "see TERM_LOSSES"
    ),
    _SET + "ram:SpecifiedTradeAllowanceCharge/ram:CalculationPercent": "see TERM_LOSSES",
    _PRICE_DISCOUNT: "see TERM_LOSSES",
}

TERM_LOSSES: dict[str, str] = {
    _AGR + "ram:BuyerTradeParty/ram:ID": (
        "BT-46 given twice (ram:ID and ram:GlobalID): the model holds one buyer identifier; the "
        "GlobalID, which says its scheme, is read"
    ),
    _AGR + "ram:AdditionalReferencedDocument/ram:IssuerAssignedID": (
        "BT-18 given twice (two documents of type 130): the model holds one invoiced object identifier"
    ),
    _SET + "ram:PaymentReference": (
        "BT-83 without any payment means: BG-16 needs its payment means code (BT-81), which is not given"
    ),
    _SET
    + "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID": (
        "BT-84 given twice in one account (IBAN and a proprietary id): the IBAN is read"
    ),
    _SET + "ram:SpecifiedTradeAllowanceCharge/ram:CalculationPercent": (
        "a negative percentage (EXTENDED correction invoice): EN 16931 percentages are not negative; "
        "the amount is kept as given"
    ),
    _PRICE_DISCOUNT: (
        "BT-147 given several times on one line (EXTENDED; the model holds their sum), or larger than "
        "the gross price (the model's net price, gross − discount, would be negative; CII_example5)"
    ),
}


def shape(path: str) -> str:
    """``/rsm:CrossIndustryInvoice/a[2]/b`` → ``a/b``."""
    return re.sub(r"\[\d+\]", "", path).removeprefix("/rsm:CrossIndustryInvoice/")


@cache
def embedded_xml(path: str) -> bytes:
    """The invoice XML a Factur-X/ZUGFeRD PDF embeds (the first ``*.xml`` attachment)."""
    reader = pypdf.PdfReader(io.BytesIO(data(path)))
    for name, contents in sorted(reader.attachments.items()):
        if name.lower().endswith(".xml") and contents:
            return contents[0]
    raise AssertionError(f"{path}: no embedded XML")


@cache
def _read(source: str) -> tuple[Invoice, tuple[Loss, ...]]:
    invoice, losses = from_xml(_bytes(source))
    return invoice, tuple(losses)


def _bytes(source: str) -> bytes:
    return embedded_xml(source) if source.endswith(".pdf") else data(source)


def _check(source: str) -> None:
    invoice, losses = _read(source)
    term_paths = {path for found in locations(parse(_bytes(source))).values() for path in found}
    unexpected = [loss for loss in losses if shape(loss.path) not in ALLOWED_LOSSES]
    assert not unexpected, "\n".join(
        f"{loss.path} (line {loss.line}) {loss.value!r}: {loss.reason}" for loss in unexpected
    )
    on_terms = [loss for loss in losses if loss.path in term_paths and shape(loss.path) not in TERM_LOSSES]
    assert not on_terms, "\n".join(f"{loss.path} {loss.value!r}: {loss.reason}" for loss in on_terms)
    _cross_check(source, invoice)


def _cross_check(source: str, invoice: Invoice) -> None:
    found = values(parse(_bytes(source)))
    totals = invoice.totals
    assert found["BT-1"] == [invoice.number]
    assert found["BT-3"] == [invoice.type_code]
    assert found["BT-5"] == [invoice.currency_code]
    assert found["BT-27"] == [invoice.seller.name]
    assert found["BT-44"] == [invoice.buyer.name]
    for term, amount in (("BT-109", totals.tax_exclusive_amount), ("BT-112", totals.tax_inclusive_amount)):
        assert [Decimal(v) for v in found[term]] == ([amount] if amount is not None else []), term
    assert [Decimal(v) for v in found["BT-115"]] == [totals.amount_due]
    assert found["BT-126"] == [line.id for line in invoice.lines]
    assert [Decimal(v) for v in found["BT-129"]] == [line.quantity for line in invoice.lines]
    assert found["BT-130"] == [line.unit_code for line in invoice.lines]
    assert [Decimal(v) for v in found["BT-131"]] == [line.net_amount for line in invoice.lines]
    assert [Decimal(v) for v in found["BT-146"]] == [line.price.net_amount for line in invoice.lines]
    assert found["BT-151"] == [line.vat.category_code for line in invoice.lines]
    assert found["BT-153"] == [line.item.name for line in invoice.lines]
    assert found["BT-118"] == [entry.category_code for entry in invoice.vat_breakdown]
    assert [Decimal(v) for v in found["BT-117"]] == [entry.tax_amount for entry in invoice.vat_breakdown]


@pytest.mark.parametrize("path", CII_ROWS)
def test_a_valid_cii_document_reads(path: str) -> None:
    _check(path)


@pytest.mark.parametrize("path", PDF_V2)
def test_a_valid_facturx_pdf_reads(path: str) -> None:
    _check(path)


@pytest.mark.parametrize("path", ZUGFERD1)
def test_zugferd_1_is_refused_with_a_clear_message(path: str) -> None:
    with pytest.raises(ParseError, match=r"ZUGFeRD 1\.0 .*not supported.*ZUGFeRD 2\.x/Factur-X"):
        from_xml(embedded_xml(path))


def test_the_corpus_has_every_profile() -> None:
    """The parametrised tests cover MINIMUM to EXTENDED and XRechnung (no silent shrinking)."""
    assert len(CII_ROWS) >= 15
    guidelines = {values(parse(_bytes(p)))["BT-24"][0] for p in PDF_V2}
    for marker in ("minimum", "basicwl", "basic", "extended", "xrechnung"):
        assert any(marker in g for g in guidelines), marker
    assert any(g == "urn:cen.eu:en16931:2017" for g in guidelines)
    assert ZUGFERD1


def test_minimum_and_basic_wl_read_as_invoices_without_lines() -> None:
    summaries = [p for p in PDF_V2 if re.search(r"MINIMUM|BASIC-?WL", p)]
    assert summaries
    for path in summaries:
        invoice, _ = _read(path)
        found = values(parse(_bytes(path)))
        assert invoice.lines == [], path
        assert [Decimal(v) for v in found["BT-112"]] == [invoice.totals.tax_inclusive_amount], path
        assert [Decimal(v) for v in found["BT-115"]] == [invoice.totals.amount_due], path


def test_reviewed_term_losses_are_allowed_kinds() -> None:
    assert set(TERM_LOSSES) <= set(ALLOWED_LOSSES)
