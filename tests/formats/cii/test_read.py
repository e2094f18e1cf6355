"""The CII reader on small hand-written documents: what it reads, what it reports as lost,
and how it refuses what it cannot read (with the element path and line).

``DOC`` is a complete EN 16931 CII invoice of two lines; each test changes one thing in it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from formats.cii.ns import ZUGFERD1_NS
from formats.cii.read import from_tree, from_xml
from formats.cii.terms import CII_TERMS, locations, values
from formats.errors import ParseError
from formats.invoice import TERMS

DOC = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
 xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>INV-1</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20240131</udt:DateTimeString></ram:IssueDateTime>
    <ram:IncludedNote><ram:Content>Thanks</ram:Content><ram:SubjectCode>AAI</ram:SubjectCode></ram:IncludedNote>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>Widget</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:GrossPriceProductTradePrice>
          <ram:ChargeAmount>10.00</ram:ChargeAmount>
          <ram:AppliedTradeAllowanceCharge><ram:ChargeIndicator><udt:Indicator>false</udt:Indicator></ram:ChargeIndicator><ram:ActualAmount>1.00</ram:ActualAmount></ram:AppliedTradeAllowanceCharge>
        </ram:GrossPriceProductTradePrice>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>9.00</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery>
        <ram:BilledQuantity unitCode="C62">10</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>20</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>90.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>2</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>Service</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>10.00</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery>
        <ram:BilledQuantity unitCode="HUR">1</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>20</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>10.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:BuyerReference>LEITWEG-1</ram:BuyerReference>
      <ram:SellerTradeParty>
        <ram:ID>S-42</ram:ID>
        <ram:GlobalID schemeID="0088">4000001000005</ram:GlobalID>
        <ram:Name>Seller SA</ram:Name>
        <ram:DefinedTradeContact><ram:DepartmentName>Billing</ram:DepartmentName></ram:DefinedTradeContact>
        <ram:PostalTradeAddress>
          <ram:PostcodeCode>75001</ram:PostcodeCode><ram:LineOne>1 rue A</ram:LineOne>
          <ram:CityName>Paris</ram:CityName><ram:CountryID>FR</ram:CountryID>
        </ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration>
          <ram:ID schemeID="VA">FR11999999998</ram:ID>
        </ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">123/456</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty>
        <ram:Name>Buyer GmbH</ram:Name>
        <ram:PostalTradeAddress><ram:CityName>Berlin</ram:CityName><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
      </ram:BuyerTradeParty>
      <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-7</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery>
      <ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>
        <udt:DateTimeString format="102">20240115</udt:DateTimeString>
      </ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>
    </ram:ApplicableHeaderTradeDelivery>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:PaymentReference>REF-1</ram:PaymentReference>
      <ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>FR7630006000011234567890189</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE89370400440532013000</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
        <ram:PayeeSpecifiedCreditorFinancialInstitution><ram:BICID>COBADEFFXXX</ram:BICID></ram:PayeeSpecifiedCreditorFinancialInstitution>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>20.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>100.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:DueDateTypeCode>29</ram:DueDateTypeCode>
        <ram:RateApplicablePercent>20</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms>
        <ram:Description>30 days</ram:Description>
        <ram:DueDateDateTime>
          <udt:DateTimeString format="102">20240301</udt:DateTimeString>
        </ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>100.00</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">20.00</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="USD">21.70</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>120.00</ram:GrandTotalAmount>
        <ram:DuePayableAmount>120.00</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""

ROOT = "/rsm:CrossIndustryInvoice"
SET = f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
LINE1 = f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem[1]"


def _doc(old: str = "", new: str = "", count: int = 1) -> bytes:
    if old:
        assert DOC.count(old) >= count, old
        return DOC.replace(old, new, count).encode()
    return DOC.encode()


def _line_of(needle: str, text: str = DOC) -> int:
    return text[: text.index(needle)].count("\n") + 1


# ---------------------------------------------------------------------------- reading


def test_the_hand_written_invoice_is_read() -> None:
    invoice, losses = from_xml(_doc())
    assert losses == []
    assert invoice.number == "INV-1"
    assert invoice.issue_date == date(2024, 1, 31)
    assert invoice.type_code == "380"
    assert (invoice.notes[0].subject_code, invoice.notes[0].text) == ("AAI", "Thanks")
    assert invoice.process_control.specification_identifier == "urn:cen.eu:en16931:2017"
    assert invoice.buyer_reference == "LEITWEG-1"
    assert invoice.purchase_order_reference == "PO-7"
    assert invoice.due_date == date(2024, 3, 1)
    assert invoice.payment_terms == "30 days"
    assert invoice.delivery is not None
    assert invoice.delivery.actual_delivery_date == date(2024, 1, 15)
    seller = invoice.seller
    assert [(i.value, i.scheme) for i in seller.identifiers] == [("S-42", None), ("4000001000005", "0088")]
    assert seller.vat_identifier == "FR11999999998"
    assert seller.tax_registration_identifier == "123/456"
    assert seller.contact is not None
    assert seller.contact.name == "Billing"  # the department stands for the contact point
    assert (seller.address.line1, seller.address.city, seller.address.country_code) == (
        "1 rue A",
        "Paris",
        "FR",
    )
    assert invoice.buyer.address is not None
    assert invoice.buyer.address.country_code == "DE"
    payment = invoice.payment_instructions
    assert payment is not None
    assert payment.means_code == "58"
    assert payment.remittance_information == "REF-1"
    assert [(t.account_identifier, t.service_provider_identifier) for t in payment.credit_transfers] == [
        ("FR7630006000011234567890189", None),
        ("DE89370400440532013000", "COBADEFFXXX"),
    ]
    assert invoice.tax_point_date_code == "35"  # UNTDID 2475 code 29 (delivery date) in CII
    assert invoice.totals.vat_total == Decimal("20.00")
    assert invoice.totals.vat_total_in_tax_currency == Decimal("21.70")
    assert invoice.totals.amount_due == Decimal("120.00")
    first, second = invoice.lines
    assert (first.id, first.quantity, first.unit_code, first.net_amount) == (
        "1",
        Decimal(10),
        "C62",
        Decimal("90.00"),
    )
    assert (first.price.gross_amount, first.price.discount, first.price.net_amount) == (
        Decimal("10.00"),
        Decimal("1.00"),
        Decimal("9.00"),
    )
    assert (first.vat.category_code, first.vat.rate) == ("S", Decimal(20))
    assert second.item.name == "Service"


def test_amounts_are_exact_decimals_as_supplied() -> None:
    invoice, _ = from_xml(_doc("<ram:GrandTotalAmount>120.00<", "<ram:GrandTotalAmount>120.10<"))
    assert invoice.totals.tax_inclusive_amount == Decimal("120.10")  # not recomputed
    assert str(invoice.totals.tax_inclusive_amount) == "120.10"


def test_from_tree_reads_a_parsed_document() -> None:
    root = etree.fromstring(_doc())
    assert from_tree(root)[0] == from_xml(_doc())[0]
    assert from_tree(root.getroottree())[0].number == "INV-1"


def test_an_invoice_without_lines_is_read_with_its_stated_totals() -> None:
    start = DOC.index("    <ram:IncludedSupplyChainTradeLineItem>")
    end = DOC.index("    <ram:ApplicableHeaderTradeAgreement>")
    invoice, losses = from_xml((DOC[:start] + DOC[end:]).encode())
    assert invoice.lines == []
    assert invoice.totals.line_net_total == Decimal("100.00")
    assert losses == []


# ---------------------------------------------------------------------------- losses


def test_an_unknown_element_is_a_loss_with_path_line_and_reason() -> None:
    text = DOC.replace("<ram:BuyerReference>", "<ram:Extra>hello</ram:Extra><ram:BuyerReference>")
    _, losses = from_xml(text.encode())
    assert len(losses) == 1
    loss = losses[0]
    assert loss.path == f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:Extra"
    assert (loss.line, loss.value) == (_line_of("<ram:Extra>", text), "hello")
    assert "not an EN 16931 business term" in loss.reason


@pytest.mark.parametrize(
    ("old", "new", "path", "value", "reason"),
    [
        pytest.param(
            "<rsm:ExchangedDocumentContext>",
            "<rsm:ExchangedDocumentContext><ram:TestIndicator><udt:Indicator>true</udt:Indicator></ram:TestIndicator>",
            f"{ROOT}/rsm:ExchangedDocumentContext/ram:TestIndicator/udt:Indicator",
            "true",
            "test indicator",
            id="test-indicator",
        ),
        pytest.param(
            "<ram:BuyerReference>",
            "<ram:SpecifiedProcuringProject><ram:ID>P1</ram:ID><ram:Name>Project</ram:Name>"
            "</ram:SpecifiedProcuringProject><ram:BuyerReference>",
            f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/"
            "ram:SpecifiedProcuringProject/ram:Name",
            "Project",
            "project name",
            id="project-name",
        ),
        pytest.param(
            '<ram:TaxTotalAmount currencyID="USD">',
            '<ram:TaxTotalAmount currencyID="GBP">',
            f"{SET}/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount[2]",
            "21.70",
            "this ram:TaxTotalAmount is another",
            id="tax-total-in-a-third-currency",
        ),
        pytest.param(
            '<ram:BilledQuantity unitCode="C62">10</ram:BilledQuantity>',
            '<ram:BilledQuantity unitCode="C62">10</ram:BilledQuantity>'
            '<ram:PackageQuantity unitCode="CT">2</ram:PackageQuantity>',
            f"{LINE1}/ram:SpecifiedLineTradeDelivery/ram:PackageQuantity",
            "2",
            "EXTENDED",
            id="extended-package-quantity",
        ),
        pytest.param(
            "<ram:TypeCode>58</ram:TypeCode>",
            "<ram:TypeCode>30</ram:TypeCode>",
            f"{SET}/ram:SpecifiedTradeSettlementPaymentMeans[2]/ram:TypeCode",
            "58",
            "differs from the payment means code (BT-81) '30'",
            id="second-payment-means-code",
        ),
        pytest.param(
            "<ram:CategoryCode>S</ram:CategoryCode>\n",
            '<ram:CategoryCode>S</ram:CategoryCode><ram:TaxPointDate><udt:DateString format="102">20240110'
            "</udt:DateString></ram:TaxPointDate>\n",
            None,
            None,
            None,
            id="tax-point-date-is-read",
        ),
    ],
)
def test_nothing_is_dropped_silently(
    old: str, new: str, path: str | None, value: str | None, reason: str | None
) -> None:
    invoice, losses = from_xml(_doc(old, new))
    if path is None:
        assert losses == []
        assert invoice.tax_point_date == date(2024, 1, 10)
        return
    assert [(loss.path, loss.value) for loss in losses][:1] == [(path, value)]
    assert all(loss.path.startswith(path) for loss in losses)  # and its attributes
    assert reason is not None
    assert reason in losses[0].reason


_DISCOUNT = "<ram:ActualAmount>1.00</ram:ActualAmount></ram:AppliedTradeAllowanceCharge>"


def test_several_price_discounts_are_summed_and_each_is_a_loss() -> None:
    """EXTENDED gives a discount per reason; the model has one BT-147: their sum, each amount reported."""
    second = (
        "<ram:AppliedTradeAllowanceCharge><ram:ActualAmount>0.25</ram:ActualAmount>"
        "</ram:AppliedTradeAllowanceCharge>"
    )
    invoice, losses = from_xml(_doc(_DISCOUNT, _DISCOUNT.replace("1.00", "0.75") + second))
    assert invoice.lines[0].price.discount == Decimal("1.00")
    assert [loss.value for loss in losses] == ["0.75", "0.25"]
    assert all("sum 1.00" in loss.reason and "BT-147" in loss.reason for loss in losses)
    assert losses[0].path.endswith("ram:AppliedTradeAllowanceCharge[1]/ram:ActualAmount")


def test_a_price_discount_without_indicator_is_read() -> None:
    """ZUGFeRD 2.0 senders leave the charge indicator out; the terms table finds it as BT-147 too."""
    indicator = "<ram:ChargeIndicator><udt:Indicator>false</udt:Indicator></ram:ChargeIndicator>"
    xml = _doc(indicator + "<ram:ActualAmount>1.00", "<ram:ActualAmount>1.00")
    invoice, losses = from_xml(xml)
    assert invoice.lines[0].price.discount == Decimal("1.00")
    assert losses == []
    assert values(etree.fromstring(xml))["BT-147"] == ["1.00"]


def test_a_price_discount_above_the_gross_price_is_a_loss() -> None:
    invoice, losses = from_xml(_doc(_DISCOUNT, _DISCOUNT.replace("1.00", "11.00")))
    price = invoice.lines[0].price
    assert (price.gross_amount, price.discount, price.net_amount) == (Decimal("10.00"), None, Decimal("9.00"))
    assert [loss.value for loss in losses] == ["11.00"]
    assert "BR-27" in losses[0].reason


def test_a_contact_department_next_to_a_person_is_a_loss() -> None:
    invoice, losses = from_xml(
        _doc(
            "<ram:DepartmentName>Billing</ram:DepartmentName>",
            "<ram:PersonName>Ann</ram:PersonName><ram:DepartmentName>Billing</ram:DepartmentName>",
        )
    )
    assert invoice.seller.contact is not None
    assert invoice.seller.contact.name == "Ann"
    assert [loss.value for loss in losses] == ["Billing"]


# ---------------------------------------------------------------------------- errors


def test_not_well_formed() -> None:
    with pytest.raises(ParseError, match="not well-formed") as caught:
        from_xml(_doc("</ram:BuyerReference>", "</ram:BuyerRef>"))
    assert caught.value.line is not None


def test_a_doctype_is_refused() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "x">]>\n' + _doc().split(b"\n", 1)[1]
    with pytest.raises(ParseError, match="DOCTYPE") as caught:
        from_xml(data)
    assert caught.value.line == 2


def test_an_oversized_document_is_refused() -> None:
    with pytest.raises(ParseError, match="limit"):
        from_xml(_doc(), max_bytes=100)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            "this is a UBL document",
            id="ubl",
        ),
        pytest.param(b'<Order xmlns="urn:example"/>', "not a CII invoice", id="unknown-root"),
        pytest.param(
            b'<CrossIndustryInvoice xmlns="urn:example"/>', "must be in 'urn:un:unece", id="wrong-namespace"
        ),
        pytest.param(
            f'<rsm:CrossIndustryDocument xmlns:rsm="{ZUGFERD1_NS}"/>'.encode(),
            r"ZUGFeRD 1\.0 .*not supported.*ask the sender for ZUGFeRD 2\.x/Factur-X",
            id="zugferd-1",
        ),
    ],
)
def test_only_cii_d16b_invoices_are_read(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        from_xml(data)
    assert caught.value.line == 1
    assert caught.value.path is not None


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        pytest.param(
            "<ram:ID>INV-1</ram:ID>",
            "",
            f"{ROOT}/rsm:ExchangedDocument/ram:ID",
            "BT-1 Invoice number is missing",
            id="BT-1",
        ),
        pytest.param(
            "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>",
            "",
            f"{SET}/ram:InvoiceCurrencyCode",
            "BT-5 Invoice currency code is missing",
            id="BT-5",
        ),
        pytest.param(
            "<ram:Name>Seller SA</ram:Name>",
            "",
            f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:Name",
            "BT-27 Seller name is missing",
            id="BT-27",
        ),
        pytest.param(
            '<ram:BilledQuantity unitCode="C62">',
            "<ram:BilledQuantity>",
            f"{LINE1}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",
            "BT-130",
            id="BT-130",
        ),
    ],
)
def test_a_missing_mandatory_element_is_named(old: str, new: str, path: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        from_xml(_doc(old, new))
    assert caught.value.path == path
    assert caught.value.line is not None


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        pytest.param(
            "<ram:GrandTotalAmount>120.00<",
            "<ram:GrandTotalAmount>12O.00<",
            f"{SET}/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
            "not a decimal number",
            id="amount",
        ),
        pytest.param(
            ">20240131<",
            ">2024-01-31<",
            f"{ROOT}/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
            "not a date",
            id="date",
        ),
        pytest.param(
            ">20240131<",
            ">20240231<",
            f"{ROOT}/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
            "not a date",
            id="impossible-date",
        ),
        pytest.param(
            'format="102">20240131',
            'format="610">20240131',
            f"{ROOT}/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString/@format",
            "date format '610' is not supported",
            id="date-format",
        ),
        pytest.param(
            "<udt:Indicator>false</udt:Indicator>",
            "<udt:Indicator>maybe</udt:Indicator>",
            f"{LINE1}/ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/"
            "ram:AppliedTradeAllowanceCharge/ram:ChargeIndicator/udt:Indicator",
            "not a boolean",
            id="indicator",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_named(old: str, new: str, path: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        from_xml(_doc(old, new))
    assert caught.value.path == path
    assert caught.value.line == _line_of(new, DOC.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "path", "term"),
    [
        pytest.param(
            "<ram:CountryID>FR</ram:CountryID>",
            "<ram:CountryID>XX</ram:CountryID>",
            f"{ROOT}/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/"
            "ram:PostalTradeAddress/ram:CountryID",
            "BT-40",
            id="country",
        ),
        pytest.param(
            '<ram:BilledQuantity unitCode="C62">',
            '<ram:BilledQuantity unitCode="PIECE">',
            f"{LINE1}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",
            "BT-130",
            id="unit",
        ),
        pytest.param(
            "<ram:TypeCode>380</ram:TypeCode>",
            "<ram:TypeCode>999</ram:TypeCode>",
            f"{ROOT}/rsm:ExchangedDocument/ram:TypeCode",
            "BT-3",
            id="type-code",
        ),
    ],
)
def test_a_value_the_model_refuses_is_named_with_its_business_term(
    old: str, new: str, path: str, term: str
) -> None:
    with pytest.raises(ParseError, match=term) as caught:
        from_xml(_doc(old, new))
    assert caught.value.path == path
    assert caught.value.line == _line_of(new, DOC.replace(old, new, 1))


# ---------------------------------------------------------------------------- terms


def test_the_table_has_every_business_term() -> None:
    wanted = {t for t in TERMS if t.startswith("BT-")}
    assert wanted - set(CII_TERMS) == set()


def test_values_and_locations_of_the_hand_written_invoice() -> None:
    root = etree.fromstring(_doc())
    found = values(root)
    assert found["BT-1"] == ["INV-1"]
    assert found["BT-2"] == ["20240131"]
    assert found["BT-29"] == ["S-42", "4000001000005"]
    assert found["BT-29-1"] == ["0088"]
    assert found["BT-31"] == ["FR11999999998"]
    assert found["BT-32"] == ["123/456"]
    assert found["BT-41"] == ["Billing"]
    assert found["BT-84"] == ["FR7630006000011234567890189", "DE89370400440532013000"]
    assert found["BT-110"] == ["20.00"]
    assert found["BT-111"] == ["21.70"]
    assert found["BT-126"] == ["1", "2"]
    assert found["BT-147"] == ["1.00"]
    assert found["BT-13"] == ["PO-7"]
    where = locations(root)
    assert where["BT-130"] == [
        f"{LINE1}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",
        f"{LINE1.replace('[1]', '[2]')}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",
    ]
    assert where["BT-1"] == [f"{ROOT}/rsm:ExchangedDocument/ram:ID"]
