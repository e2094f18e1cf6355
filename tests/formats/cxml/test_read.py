# mypy: disable-error-code="union-attr,arg-type,operator"
"""cXML → canonical invoice: the public samples, hardened parsing, clear refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formats.cxml import from_cxml
from formats.errors import ParseError
from tests.formats.cxml.conftest import corpus_file

OFFICELUV = "samples/officeluv-cxml/spec/fixtures/"
# the samples that are InvoiceDetailRequests: (file, invoiceID, purchase order, lines, currency)
INVOICES = [
    ("invoice_backed_and_unbacked_by_pos.xml", "INVOICENUMBER", "E14994", 2, "USD"),
    ("invoice_backed_by_multiple_pos.xml", "INV00001", "2252", 2, "USD"),
    ("invoice_taxes_at_line.xml", "3495", "123", 1, "USD"),
    ("invoice_taxes_at_total.xml", "3492", "123", 1, "USD"),
]
NOT_INVOICES = [
    (OFFICELUV + "response_status_200.xml", "Response"),
    (OFFICELUV + "response_status_400.xml", "Response"),
    (OFFICELUV + "envelope.xml", "CatalogUploadRequest"),
    (OFFICELUV + "envelope2.xml", "CopyRequest"),
    (OFFICELUV + "request_doc.xml", "ConfirmationRequest"),
    (
        "samples/FriendsOfCXML-cxml-php/tests/metadata/cxml/samples/StatusUpdateRequest.xml",
        "StatusUpdateRequest",
    ),
    (
        "samples/FriendsOfCXML-cxml-php/tests/metadata/cxml/samples/simple-profile-request.xml",
        "ProfileRequest",
    ),
    ("samples/DPassarelli-6-mils/test/samples/OrderResponse.xml", "Response"),
    ("samples/DPassarelli-6-mils/test/samples/OrderResponse-400.xml", "Response"),
]


@pytest.mark.conformance
@pytest.mark.parametrize(
    ("name", "number", "order", "lines", "currency"), INVOICES, ids=[i[0] for i in INVOICES]
)
def test_sample_invoices_convert(name: str, number: str, order: str, lines: int, currency: str) -> None:
    invoice, losses = from_cxml(corpus_file(OFFICELUV + name).read_bytes(), default_country="US")
    assert (invoice.number, invoice.type_code, invoice.currency_code) == (number, "380", currency)
    assert invoice.purchase_order_reference == order
    assert len(invoice.lines) == lines
    assert invoice.seller.address.country_code == "US"
    assert any("default_country" in loss.reason for loss in losses)  # the assumption is reported


@pytest.mark.conformance
def test_line_tax_sample_reads_the_rate_and_reports_the_sales_tax() -> None:
    invoice, losses = from_cxml(
        corpus_file(OFFICELUV + "invoice_taxes_at_line.xml").read_bytes(), default_country="US"
    )
    line = invoice.lines[0]
    assert (line.vat.category_code, line.vat.rate) == ("S", Decimal("8.25"))
    assert line.price.net_amount == Decimal(365)
    assert line.unit_code == "EA"
    assert invoice.due_date is not None
    assert (invoice.due_date - invoice.issue_date).days == 30
    assert {c.reason for c in invoice.charges} == {"Special handling", "Shipping"}
    assert any("is not a VAT" in loss.reason and loss.value == "CA" for loss in losses)


@pytest.mark.conformance
def test_template_sample_with_a_placeholder_date_is_refused_with_its_line() -> None:
    data = corpus_file(OFFICELUV + "invoice_taxes_at_line_multiple_taxes.xml").read_bytes()
    with pytest.raises(ParseError) as caught:
        from_cxml(data, default_country="CA")
    assert caught.value.path.endswith("InvoiceDetailRequestHeader/@invoiceDate")
    assert caught.value.line == 49
    assert "'invoice_date'" in str(caught.value)


@pytest.mark.conformance
@pytest.mark.parametrize(
    ("relative", "kind"), NOT_INVOICES, ids=[n[0].rsplit("/", 1)[-1] for n in NOT_INVOICES]
)
def test_other_cxml_documents_are_not_invoices(relative: str, kind: str) -> None:
    with pytest.raises(ParseError, match=f"not an InvoiceDetailRequest: the cXML carries a {kind}"):
        from_cxml(corpus_file(relative).read_bytes())


def test_seller_without_address_needs_a_default_country() -> None:
    data = _minimal()
    with pytest.raises(ParseError, match="BT-40"):
        from_cxml(data)
    invoice, _ = from_cxml(data, default_country="de")
    assert invoice.seller.name == "AN01"
    assert invoice.buyer.name == "AN02"
    assert invoice.seller.address.country_code == "DE"


def test_credit_memo_reads_as_a_credit_note_with_positive_amounts() -> None:
    data = _minimal(purpose="creditMemo", amount="-100.00", tax="-19.00", due="-119.00")
    invoice, _ = from_cxml(data, default_country="DE")
    assert invoice.type_code == "381"
    assert invoice.totals.amount_due == Decimal("119.00")
    assert invoice.lines[0].net_amount == Decimal("100.00")


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE cXML SYSTEM "http://evil.example/cXML.dtd">',
        b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/InvoiceDetail.dtd"'
        b' [<!ENTITY x "y">]>',
        b'<!DOCTYPE cXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["foreign-dtd", "internal-subset", "external-entity"],
)
def test_any_other_doctype_is_refused(prolog: bytes) -> None:
    data = _minimal().replace(
        b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/InvoiceDetail.dtd">', prolog
    )
    with pytest.raises(ParseError, match="DOCTYPE"):
        from_cxml(data, default_country="DE")


def test_unreadable_amount_and_delete_operation_are_refused() -> None:
    with pytest.raises(ParseError, match="'12,x' is not a number") as caught:
        from_cxml(_minimal(amount="12,x"), default_country="DE")
    assert caught.value.line is not None
    assert "SubtotalAmount" in (caught.value.path or "")
    with pytest.raises(ParseError, match="operation=delete"):
        from_cxml(_minimal().replace(b'operation="new"', b'operation="delete"'), default_country="DE")
    with pytest.raises(ParseError, match="not well-formed"):
        from_cxml(b"<cXML><Request>", default_country="DE")


def _minimal(
    purpose: str = "standard", amount: str = "100.00", tax: str = "19.00", due: str = "119.00"
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/InvoiceDetail.dtd">
<cXML payloadID="p1@test" timestamp="2026-01-02T10:00:00+00:00">
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN01</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>AN02</Identity></Credential></To>
    <Sender><Credential domain="NetworkID"><Identity>AN01</Identity>
      <SharedSecret>s</SharedSecret></Credential>
      <UserAgent>t</UserAgent></Sender>
  </Header>
  <Request deploymentMode="production">
    <InvoiceDetailRequest>
      <InvoiceDetailRequestHeader invoiceID="INV-9" purpose="{purpose}" operation="new"
          invoiceDate="2026-01-02T00:00:00+00:00">
        <InvoiceDetailHeaderIndicator isHeaderInvoice="yes"/>
        <InvoiceDetailLineIndicator/>
      </InvoiceDetailRequestHeader>
      <InvoiceDetailHeaderOrder>
        <InvoiceDetailOrderInfo><OrderIDInfo orderID="PO-1"/></InvoiceDetailOrderInfo>
        <InvoiceDetailOrderSummary invoiceLineNumber="1">
          <SubtotalAmount><Money currency="EUR">{amount}</Money></SubtotalAmount>
          <Tax><Money currency="EUR">{tax}</Money><Description xml:lang="en">VAT</Description>
            <TaxDetail category="vat" percentageRate="19">
              <TaxableAmount><Money currency="EUR">{amount}</Money></TaxableAmount>
              <TaxAmount><Money currency="EUR">{tax}</Money></TaxAmount>
            </TaxDetail></Tax>
        </InvoiceDetailOrderSummary>
      </InvoiceDetailHeaderOrder>
      <InvoiceDetailSummary>
        <SubtotalAmount><Money currency="EUR">{amount}</Money></SubtotalAmount>
        <Tax><Money currency="EUR">{tax}</Money><Description xml:lang="en">VAT</Description></Tax>
        <NetAmount><Money currency="EUR">{due}</Money></NetAmount>
        <DueAmount><Money currency="EUR">{due}</Money></DueAmount>
      </InvoiceDetailSummary>
    </InvoiceDetailRequest>
  </Request>
</cXML>
""".encode()
