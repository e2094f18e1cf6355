# mypy: disable-error-code="union-attr,arg-type,operator"
"""Canonical invoice → cXML InvoiceDetailRequest: DTD-valid, Ariba's envelope, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from formats.cxml import Credentials, Identity, from_cxml, payload_id, system_id, to_cxml
from formats.cxml.read import parse_cxml
from formats.errors import SerializeError
from formats.invoice.model import Invoice
from formats.invoice.prepare import calculated
from tests.formats.cxml.conftest import CREDENTIALS, dtd_errors

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.json"))
WHEN = datetime(2026, 11, 10, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def load(name: str) -> Invoice:
    return Invoice.model_validate_json((EXAMPLES[0].parent / name).read_text(encoding="utf-8"))


def render(invoice: Invoice, delivery: str = "dlv_1", **kwargs: object) -> bytes:
    return to_cxml(invoice, payload_id=payload_id(delivery), timestamp=WHEN, sender=CREDENTIALS, **kwargs)


def tree(document: bytes) -> etree._Element:
    return parse_cxml(document)


@pytest.mark.conformance
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_validates_against_the_1_2_069_invoice_dtd(path: Path, invoice_dtd: etree.DTD) -> None:
    invoice = Invoice.model_validate_json(path.read_text(encoding="utf-8"))
    for mode in ("production", "test"):
        document = render(invoice, deployment_mode=mode)
        assert dtd_errors(invoice_dtd, document) == [], path.name


@pytest.mark.conformance
def test_a_document_the_dtd_refuses_is_reported(invoice_dtd: etree.DTD) -> None:
    """The validation the tests rely on can fail: a header without its indicators is invalid."""
    document = render(load("de-domestic-b2b.json")).replace(b"<InvoiceDetailHeaderIndicator/>", b"")
    assert any("InvoiceDetailRequestHeader" in e for e in dtd_errors(invoice_dtd, document))


def test_envelope_carries_the_credentials_payload_id_and_mode() -> None:
    root = tree(render(load("de-domestic-b2b.json"), "dlv_42", deployment_mode="test"))
    assert root.get("payloadID") == "dlv_42@einvoice-gateway"
    assert root.get("timestamp") == "2026-11-10T09:30:00+01:00"
    assert root.get("version") == "1.2.069"
    assert root.findtext("Header/From/Credential/Identity") == "AN01000000001"
    assert root.find("Header/From/Credential").get("domain") == "NetworkID"
    assert root.findtext("Header/To/Credential/Identity") == "AN01000000999"
    assert root.findtext("Header/Sender/Credential/SharedSecret") == "abracadabra"
    assert root.find("Header/From/Credential/SharedSecret") is None  # the secret only in Sender
    assert root.findtext("Header/Sender/UserAgent")
    assert root.find("Request").get("deploymentMode") == "test"


def test_doctype_names_the_public_dtd_and_nothing_else() -> None:
    document = render(load("de-domestic-b2b.json"))
    assert document.splitlines()[1] == f'<!DOCTYPE cXML SYSTEM "{system_id()}">'.encode()
    assert b"[" not in document.split(b"<cXML", 1)[0]  # no internal subset


def test_same_inputs_same_bytes_and_payload_id_stable_per_delivery() -> None:
    invoice = load("mixed-rates-allowance-charge.json")
    assert render(invoice, "dlv_7") == render(invoice, "dlv_7")
    assert payload_id("dlv_7") == payload_id("dlv_7") != payload_id("dlv_8")
    assert tree(render(invoice, "dlv_8")).get("payloadID") == "dlv_8@einvoice-gateway"
    odd = payload_id("tenant/1 dlv:ü")  # characters outside the safe set: a stable hash
    assert odd == payload_id("tenant/1 dlv:ü")
    assert odd.endswith("@einvoice-gateway")
    assert "/" not in odd


def test_invoice_with_purchase_order_is_a_detail_invoice() -> None:
    invoice = load("de-domestic-b2b.json")
    root = tree(render(invoice))
    head = root.find("Request/InvoiceDetailRequest/InvoiceDetailRequestHeader")
    assert head.get("invoiceID") == invoice.number
    assert head.get("invoiceDate") == f"{invoice.issue_date.isoformat()}T00:00:00+00:00"
    assert (head.get("purpose"), head.get("operation")) == ("standard", "new")
    order = root.find("Request/InvoiceDetailRequest/InvoiceDetailOrder")
    assert order.find("InvoiceDetailOrderInfo/OrderIDInfo").get("orderID") == invoice.purchase_order_reference
    items = order.findall("InvoiceDetailItem")
    assert len(items) == len(invoice.lines)
    first, line = items[0], invoice.lines[0]
    assert Decimal(first.get("quantity")) == line.quantity
    assert first.findtext("UnitOfMeasure") == line.unit_code
    assert first.find("UnitPrice/Money").get("currency") == invoice.currency_code
    detail = first.find("Tax/TaxDetail")
    assert (detail.get("category"), detail.get("taxRateType")) == ("vat", line.vat.category_code)
    assert Decimal(detail.get("percentageRate")) == line.vat.rate
    roles = [c.get("role") for c in head.findall("InvoicePartner/Contact")]
    assert roles == ["from", "soldTo", "billTo", "remitTo"]


def test_summary_amounts_match_the_calculation() -> None:
    invoice = load("mixed-rates-allowance-charge.json")
    totals = calculated(invoice).totals
    summary = tree(render(invoice)).find("Request/InvoiceDetailRequest/InvoiceDetailSummary")

    def amount(tag: str) -> Decimal:
        return Decimal(summary.findtext(f"{tag}/Money"))

    assert amount("Tax") == totals.vat_total
    assert amount("NetAmount") == amount("GrossAmount") == totals.tax_inclusive_amount
    assert amount("TotalAmountWithoutTax") == totals.tax_exclusive_amount
    assert amount("DepositAmount") == totals.paid_amount
    assert amount("DueAmount") == totals.amount_due
    assert (
        amount("SubtotalAmount") - amount("TotalAllowances") + amount("TotalCharges")
        == totals.tax_exclusive_amount
    )
    assert len(summary.findall("Tax/TaxDetail")) == 2  # 19 % and 7 %
    assert len(summary.findall("InvoiceHeaderModifications/Modification")) == 2


def test_credit_note_is_a_credit_memo_with_negative_amounts() -> None:
    invoice = load("be-credit-note.json")
    assert invoice.is_credit_note
    root = tree(render(invoice))
    request = root.find("Request/InvoiceDetailRequest")
    head = request.find("InvoiceDetailRequestHeader")
    assert head.get("purpose") == "creditMemo"
    assert head.find("InvoiceDetailHeaderIndicator").get("isHeaderInvoice") == "yes"
    assert request.find("InvoiceDetailOrder") is None
    assert request.find("InvoiceDetailHeaderOrder") is not None
    due = Decimal(request.findtext("InvoiceDetailSummary/DueAmount/Money"))
    assert due == -calculated(invoice).totals.amount_due
    assert due < 0
    if invoice.preceding_invoices:
        assert head.find("InvoiceIDInfo").get("invoiceID") == invoice.preceding_invoices[0].reference


def test_invoice_without_purchase_order_is_a_header_invoice() -> None:
    invoice = load("large-500-lines.json")
    assert invoice.purchase_order_reference is None
    request = tree(render(invoice)).find("Request/InvoiceDetailRequest")
    order = request.find("InvoiceDetailHeaderOrder")
    assert (
        order.find("InvoiceDetailOrderInfo/MasterAgreementIDInfo").get("agreementID")
        == invoice.contract_reference
    )
    assert len(order.findtext("InvoiceDetailOrderSummary/Comments").splitlines()) == len(invoice.lines)


def test_round_trip_keeps_the_amounts() -> None:
    for path in EXAMPLES:
        invoice = Invoice.model_validate_json(path.read_text(encoding="utf-8"))
        back, _losses = from_cxml(render(invoice))
        expected = calculated(invoice)
        assert back.number == invoice.number, path.name
        assert back.type_code == invoice.type_code, path.name
        assert back.totals.amount_due == expected.totals.amount_due, path.name
        assert back.totals.vat_total == expected.totals.vat_total, path.name
        assert back.seller.vat_identifier == invoice.seller.vat_identifier, path.name


def test_refusals_name_what_is_wrong() -> None:
    invoice = load("de-domestic-b2b.json")
    with pytest.raises(SerializeError, match="time zone"):
        to_cxml(invoice, payload_id="p", timestamp=datetime(2026, 1, 1), sender=CREDENTIALS)
    with pytest.raises(SerializeError, match="shared_secret"):
        to_cxml(invoice, payload_id="p", timestamp=WHEN, sender={**CREDENTIALS, "shared_secret": ""})
    with pytest.raises(SerializeError, match="'to' needs a domain"):
        to_cxml(invoice, payload_id="p", timestamp=WHEN, sender={**CREDENTIALS, "to": {"domain": "DUNS"}})
    with pytest.raises(SerializeError, match="not supported"):
        render(invoice, version="1.2.020")
    with pytest.raises(SerializeError, match="deploymentMode"):
        render(invoice, deployment_mode="staging")
    broken = invoice.model_copy(
        update={"totals": invoice.totals.model_copy(update={"amount_due": Decimal("1.00")})}
    )
    with pytest.raises(SerializeError, match="disagree"):
        render(broken)


def test_credentials_object_is_accepted() -> None:
    creds = Credentials(
        Identity("DUNS", "123456789"), Identity("NetworkID", "AN2"), Identity("DUNS", "123456789"), "s3"
    )
    root = tree(
        to_cxml(
            load("de-domestic-b2b.json"),
            payload_id="x@y",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            sender=creds,
        )
    )
    assert root.find("Header/From/Credential").get("domain") == "DUNS"
    assert root.findtext("Header/Sender/Credential/SharedSecret") == "s3"
