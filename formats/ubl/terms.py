"""Where every EN 16931 business term lives in UBL 2.1: BT id → XPath, Invoice and CreditNote.

One row per business term, in the binding the CEN syntax mapping, ``write.py`` and
``read.py`` share, including the conventions:

* notes carry their subject code as ``#AAI#text`` (BT-21/BT-22 are read out of ``cbc:Note``);
* BT-18 / BT-128 are document references with ``cbc:DocumentTypeCode`` 130;
* BT-11 of a CreditNote (which has no ``cac:ProjectReference``) is an additional document
  reference with code 50, and BT-9 is ``cac:PaymentMeans/cbc:PaymentDueDate``;
* a seller ``cac:PartyTaxScheme`` whose scheme is not VAT carries BT-32;
* BT-90 is a ``cac:PartyIdentification/cbc:ID`` with ``schemeID`` SEPA (seller or payee);
* BT-147 / BT-148 are the amount and base amount of ``cac:Price/cac:AllowanceCharge``;
* BT-111 is a second ``cac:TaxTotal`` whose amount is in the VAT accounting currency (BT-6);
  the VAT breakdown (BG-23) is the one in the invoice currency;
* a purchase order reference of ``NA`` next to a sales order reference is UBL's filler for
  an absent BT-13 (``cac:OrderReference/cbc:ID`` is mandatory in UBL).

XPaths are relative to the root element, XPath 1.0 with the prefixes ``cac`` and ``cbc``.
``values(root)`` evaluates the table on a document (the round-trip tests compare them
before and after); ``locations(root)`` gives the element path of every value found, in the
form ``read.Loss.path`` uses, so a reader loss can be checked against the terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from formats.ubl.write import CAC, CBC, CREDITNOTE_NS
from formats.ubl.xmlparse import Paths

NAMESPACES = {"cac": CAC, "cbc": CBC}
PREFIXES = {CAC: "cac", CBC: "cbc", "http://www.w3.org/2001/XMLSchema-instance": "xsi"}

_NOTE = re.compile(r"^#([^#\s]+)#(.+)$", re.DOTALL)


def note_parts(text: str) -> tuple[str | None, str]:
    """``#AAI#Goods are…`` → (``AAI``, ``Goods are…``); a plain note has no subject code."""
    match = _NOTE.match(text)
    if match and match.group(2).strip():
        return match.group(1), match.group(2).strip()
    return None, text.strip()


def _subject(text: str) -> str | None:
    return note_parts(text)[0]


def _note(text: str) -> str | None:
    return note_parts(text)[1] or None


def _base64(text: str) -> str | None:
    return "".join(text.split()) or None


@dataclass(frozen=True)
class UblTerm:
    """One business term: its XPath in an Invoice and in a CreditNote."""

    id: str
    invoice: str
    credit_note: str
    convert: Callable[[str], str | None] | None = None

    def xpath(self, credit_note: bool) -> str:
        return self.credit_note if credit_note else self.invoice


_CREDIT_NAMES = (
    ("cac:InvoiceLine", "cac:CreditNoteLine"),
    ("cbc:InvoicedQuantity", "cbc:CreditedQuantity"),
    ("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode"),
)


def _credit(xpath: str) -> str:
    for invoice_name, credit_name in _CREDIT_NAMES:
        xpath = xpath.replace(invoice_name, credit_name)
    return xpath


def _t(
    term: str,
    invoice: str,
    credit_note: str | None = None,
    convert: Callable[[str], str | None] | None = None,
) -> UblTerm:
    return UblTerm(term, invoice, credit_note if credit_note is not None else _credit(invoice), convert)


_VAT = "cac:TaxScheme[normalize-space(translate(cbc:ID, 'vat', 'VAT')) = 'VAT']"
_SEPA = "[normalize-space(translate(@schemeID, 'sepa', 'SEPA')) = 'SEPA']"
_NOT_SEPA = "[not(normalize-space(translate(@schemeID, 'sepa', 'SEPA')) = 'SEPA')]"
_FALSE = "[normalize-space(cbc:ChargeIndicator) = 'false' or normalize-space(cbc:ChargeIndicator) = '0']"
_TRUE = "[normalize-space(cbc:ChargeIndicator) = 'true' or normalize-space(cbc:ChargeIndicator) = '1']"
_IN_CURRENCY = "[normalize-space(@currencyID) = normalize-space(/*/cbc:DocumentCurrencyCode)]"

_SELLER = "cac:AccountingSupplierParty/cac:Party"
_BUYER = "cac:AccountingCustomerParty/cac:Party"
_PAYEE = "cac:PayeeParty"
_TAX_REP = "cac:TaxRepresentativeParty"
_LINE = "cac:InvoiceLine"
_ITEM = f"{_LINE}/cac:Item"
_OBJECT = "cac:AdditionalDocumentReference[normalize-space(cbc:DocumentTypeCode) = '130']"
_PROJECT_CN = "cac:AdditionalDocumentReference[normalize-space(cbc:DocumentTypeCode) = '50']"
_SUPPORTING = "cac:AdditionalDocumentReference[not(normalize-space(cbc:DocumentTypeCode) = '130')]"
_SUPPORTING_CN = (
    "cac:AdditionalDocumentReference[not(normalize-space(cbc:DocumentTypeCode) = '130' "
    "or normalize-space(cbc:DocumentTypeCode) = '50')]"
)
_SUBTOTAL = f"cac:TaxTotal[cbc:TaxAmount{_IN_CURRENCY}]/cac:TaxSubtotal"
_MEANS = "cac:PaymentMeans"


def _address(base: str, ids: tuple[str, str, str, str, str, str, str]) -> list[UblTerm]:
    line1, line2, line3, city, post, sub, country = ids
    return [
        _t(line1, f"{base}/cbc:StreetName"),
        _t(line2, f"{base}/cbc:AdditionalStreetName"),
        _t(line3, f"{base}/cac:AddressLine/cbc:Line"),
        _t(city, f"{base}/cbc:CityName"),
        _t(post, f"{base}/cbc:PostalZone"),
        _t(sub, f"{base}/cbc:CountrySubentity"),
        _t(country, f"{base}/cac:Country/cbc:IdentificationCode"),
    ]


def _allowance_charge(base: str, ids: tuple[str, ...], document: bool) -> list[UblTerm]:
    """Amount, base, percentage, [VAT category, rate,] reason, reason code."""
    if document:
        amount, base_amount, percent, category, rate, reason, code = ids
        extra = [
            _t(category, f"{base}/cac:TaxCategory/cbc:ID"),
            _t(rate, f"{base}/cac:TaxCategory/cbc:Percent"),
        ]
    else:
        amount, base_amount, percent, reason, code = ids
        extra = []
    return [
        _t(amount, f"{base}/cbc:Amount"),
        _t(base_amount, f"{base}/cbc:BaseAmount"),
        _t(percent, f"{base}/cbc:MultiplierFactorNumeric"),
        *extra,
        _t(reason, f"{base}/cbc:AllowanceChargeReason"),
        _t(code, f"{base}/cbc:AllowanceChargeReasonCode"),
    ]


_TABLE: list[UblTerm] = [
    _t("BT-1", "cbc:ID"),
    _t("BT-2", "cbc:IssueDate"),
    _t("BT-3", "cbc:InvoiceTypeCode"),
    _t("BT-5", "cbc:DocumentCurrencyCode"),
    _t("BT-6", "cbc:TaxCurrencyCode"),
    _t("BT-7", "cbc:TaxPointDate"),
    _t("BT-8", "cac:InvoicePeriod/cbc:DescriptionCode"),
    _t("BT-9", "cbc:DueDate", f"{_MEANS}/cbc:PaymentDueDate"),
    _t("BT-10", "cbc:BuyerReference"),
    _t("BT-11", "cac:ProjectReference/cbc:ID", f"{_PROJECT_CN}/cbc:ID"),
    _t("BT-12", "cac:ContractDocumentReference/cbc:ID"),
    _t("BT-13", "cac:OrderReference/cbc:ID[not(normalize-space(.) = 'NA' and ../cbc:SalesOrderID)]"),
    _t("BT-14", "cac:OrderReference/cbc:SalesOrderID"),
    _t("BT-15", "cac:ReceiptDocumentReference/cbc:ID"),
    _t("BT-16", "cac:DespatchDocumentReference/cbc:ID"),
    _t("BT-17", "cac:OriginatorDocumentReference/cbc:ID"),
    _t("BT-18", f"{_OBJECT}/cbc:ID"),
    _t("BT-18-1", f"{_OBJECT}/cbc:ID/@schemeID"),
    _t("BT-19", "cbc:AccountingCost"),
    _t("BT-20", "cac:PaymentTerms/cbc:Note"),
    _t("BT-21", "cbc:Note", convert=_subject),
    _t("BT-22", "cbc:Note", convert=_note),
    _t("BT-23", "cbc:ProfileID"),
    _t("BT-24", "cbc:CustomizationID"),
    _t("BT-25", "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
    _t("BT-26", "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate"),
    # BG-4 seller
    _t("BT-27", f"{_SELLER}/cac:PartyLegalEntity/cbc:RegistrationName"),
    _t("BT-28", f"{_SELLER}/cac:PartyName/cbc:Name"),
    _t("BT-29", f"{_SELLER}/cac:PartyIdentification/cbc:ID{_NOT_SEPA}"),
    _t("BT-29-1", f"{_SELLER}/cac:PartyIdentification/cbc:ID{_NOT_SEPA}/@schemeID"),
    _t("BT-30", f"{_SELLER}/cac:PartyLegalEntity/cbc:CompanyID"),
    _t("BT-30-1", f"{_SELLER}/cac:PartyLegalEntity/cbc:CompanyID/@schemeID"),
    _t("BT-31", f"{_SELLER}/cac:PartyTaxScheme[{_VAT}]/cbc:CompanyID"),
    _t("BT-32", f"{_SELLER}/cac:PartyTaxScheme[not({_VAT})]/cbc:CompanyID"),
    _t("BT-33", f"{_SELLER}/cac:PartyLegalEntity/cbc:CompanyLegalForm"),
    _t("BT-34", f"{_SELLER}/cbc:EndpointID"),
    _t("BT-34-1", f"{_SELLER}/cbc:EndpointID/@schemeID"),
    *_address(
        f"{_SELLER}/cac:PostalAddress", ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40")
    ),
    _t("BT-41", f"{_SELLER}/cac:Contact/cbc:Name"),
    _t("BT-42", f"{_SELLER}/cac:Contact/cbc:Telephone"),
    _t("BT-43", f"{_SELLER}/cac:Contact/cbc:ElectronicMail"),
    # BG-7 buyer
    _t("BT-44", f"{_BUYER}/cac:PartyLegalEntity/cbc:RegistrationName"),
    _t("BT-45", f"{_BUYER}/cac:PartyName/cbc:Name"),
    _t("BT-46", f"{_BUYER}/cac:PartyIdentification/cbc:ID"),
    _t("BT-46-1", f"{_BUYER}/cac:PartyIdentification/cbc:ID/@schemeID"),
    _t("BT-47", f"{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID"),
    _t("BT-47-1", f"{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID/@schemeID"),
    _t("BT-48", f"{_BUYER}/cac:PartyTaxScheme[{_VAT}]/cbc:CompanyID"),
    _t("BT-49", f"{_BUYER}/cbc:EndpointID"),
    _t("BT-49-1", f"{_BUYER}/cbc:EndpointID/@schemeID"),
    *_address(
        f"{_BUYER}/cac:PostalAddress", ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55")
    ),
    _t("BT-56", f"{_BUYER}/cac:Contact/cbc:Name"),
    _t("BT-57", f"{_BUYER}/cac:Contact/cbc:Telephone"),
    _t("BT-58", f"{_BUYER}/cac:Contact/cbc:ElectronicMail"),
    # BG-10 payee, BG-11 tax representative
    _t("BT-59", f"{_PAYEE}/cac:PartyName/cbc:Name"),
    _t("BT-60", f"{_PAYEE}/cac:PartyIdentification/cbc:ID{_NOT_SEPA}"),
    _t("BT-60-1", f"{_PAYEE}/cac:PartyIdentification/cbc:ID{_NOT_SEPA}/@schemeID"),
    _t("BT-61", f"{_PAYEE}/cac:PartyLegalEntity/cbc:CompanyID"),
    _t("BT-61-1", f"{_PAYEE}/cac:PartyLegalEntity/cbc:CompanyID/@schemeID"),
    _t("BT-62", f"{_TAX_REP}/cac:PartyName/cbc:Name"),
    _t("BT-63", f"{_TAX_REP}/cac:PartyTaxScheme/cbc:CompanyID"),
    *_address(
        f"{_TAX_REP}/cac:PostalAddress", ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69")
    ),
    # BG-13 delivery, BG-14 invoicing period
    _t("BT-70", "cac:Delivery/cac:DeliveryParty/cac:PartyName/cbc:Name"),
    _t("BT-71", "cac:Delivery/cac:DeliveryLocation/cbc:ID"),
    _t("BT-71-1", "cac:Delivery/cac:DeliveryLocation/cbc:ID/@schemeID"),
    _t("BT-72", "cac:Delivery/cbc:ActualDeliveryDate"),
    _t("BT-73", "cac:InvoicePeriod/cbc:StartDate"),
    _t("BT-74", "cac:InvoicePeriod/cbc:EndDate"),
    *_address(
        "cac:Delivery/cac:DeliveryLocation/cac:Address",
        ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80"),
    ),
    # BG-16 payment
    _t("BT-81", f"{_MEANS}/cbc:PaymentMeansCode"),
    _t("BT-82", f"{_MEANS}/cbc:PaymentMeansCode/@name"),
    _t("BT-83", f"{_MEANS}/cbc:PaymentID"),
    _t("BT-84", f"{_MEANS}/cac:PayeeFinancialAccount/cbc:ID"),
    _t("BT-85", f"{_MEANS}/cac:PayeeFinancialAccount/cbc:Name"),
    _t("BT-86", f"{_MEANS}/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"),
    _t("BT-87", f"{_MEANS}/cac:CardAccount/cbc:PrimaryAccountNumberID"),
    _t("BT-88", f"{_MEANS}/cac:CardAccount/cbc:HolderName"),
    _t("BT-89", f"{_MEANS}/cac:PaymentMandate/cbc:ID"),
    _t(
        "BT-90",
        f"{_SELLER}/cac:PartyIdentification/cbc:ID{_SEPA} | {_PAYEE}/cac:PartyIdentification/cbc:ID{_SEPA}",
    ),
    _t("BT-91", f"{_MEANS}/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"),
    # BG-20, BG-21
    *_allowance_charge(
        f"cac:AllowanceCharge{_FALSE}", ("BT-92", "BT-93", "BT-94", "BT-95", "BT-96", "BT-97", "BT-98"), True
    ),
    *_allowance_charge(
        f"cac:AllowanceCharge{_TRUE}",
        ("BT-99", "BT-100", "BT-101", "BT-102", "BT-103", "BT-104", "BT-105"),
        True,
    ),
    # BG-22 totals
    _t("BT-106", "cac:LegalMonetaryTotal/cbc:LineExtensionAmount"),
    _t("BT-107", "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount"),
    _t("BT-108", "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount"),
    _t("BT-109", "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
    _t("BT-110", f"cac:TaxTotal/cbc:TaxAmount{_IN_CURRENCY}"),
    _t(
        "BT-111",
        "cac:TaxTotal/cbc:TaxAmount[normalize-space(@currencyID) = normalize-space(/*/cbc:TaxCurrencyCode)"
        " and not(normalize-space(@currencyID) = normalize-space(/*/cbc:DocumentCurrencyCode))]",
    ),
    _t("BT-112", "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
    _t("BT-113", "cac:LegalMonetaryTotal/cbc:PrepaidAmount"),
    _t("BT-114", "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount"),
    _t("BT-115", "cac:LegalMonetaryTotal/cbc:PayableAmount"),
    # BG-23 VAT breakdown
    _t("BT-116", f"{_SUBTOTAL}/cbc:TaxableAmount"),
    _t("BT-117", f"{_SUBTOTAL}/cbc:TaxAmount"),
    _t("BT-118", f"{_SUBTOTAL}/cac:TaxCategory/cbc:ID"),
    _t("BT-119", f"{_SUBTOTAL}/cac:TaxCategory/cbc:Percent"),
    _t("BT-120", f"{_SUBTOTAL}/cac:TaxCategory/cbc:TaxExemptionReason"),
    _t("BT-121", f"{_SUBTOTAL}/cac:TaxCategory/cbc:TaxExemptionReasonCode"),
    # BG-24 supporting documents
    _t("BT-122", f"{_SUPPORTING}/cbc:ID", f"{_SUPPORTING_CN}/cbc:ID"),
    _t("BT-123", f"{_SUPPORTING}/cbc:DocumentDescription", f"{_SUPPORTING_CN}/cbc:DocumentDescription"),
    _t(
        "BT-124",
        f"{_SUPPORTING}/cac:Attachment/cac:ExternalReference/cbc:URI",
        f"{_SUPPORTING_CN}/cac:Attachment/cac:ExternalReference/cbc:URI",
    ),
    _t(
        "BT-125",
        f"{_SUPPORTING}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject",
        f"{_SUPPORTING_CN}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject",
        convert=_base64,
    ),
    _t(
        "BT-125-1",
        f"{_SUPPORTING}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@mimeCode",
        f"{_SUPPORTING_CN}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@mimeCode",
    ),
    _t(
        "BT-125-2",
        f"{_SUPPORTING}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@filename",
        f"{_SUPPORTING_CN}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@filename",
    ),
    # BG-25 lines
    _t("BT-126", f"{_LINE}/cbc:ID"),
    _t("BT-127", f"{_LINE}/cbc:Note"),
    _t(
        "BT-128",
        f"{_LINE}/cac:DocumentReference[not(cbc:DocumentTypeCode) or "
        "normalize-space(cbc:DocumentTypeCode) = '130']/cbc:ID",
    ),
    _t(
        "BT-128-1",
        f"{_LINE}/cac:DocumentReference[not(cbc:DocumentTypeCode) or "
        "normalize-space(cbc:DocumentTypeCode) = '130']/cbc:ID/@schemeID",
    ),
    _t("BT-129", f"{_LINE}/cbc:InvoicedQuantity"),
    _t("BT-130", f"{_LINE}/cbc:InvoicedQuantity/@unitCode"),
    _t("BT-131", f"{_LINE}/cbc:LineExtensionAmount"),
    _t("BT-132", f"{_LINE}/cac:OrderLineReference/cbc:LineID"),
    _t("BT-133", f"{_LINE}/cbc:AccountingCost"),
    _t("BT-134", f"{_LINE}/cac:InvoicePeriod/cbc:StartDate"),
    _t("BT-135", f"{_LINE}/cac:InvoicePeriod/cbc:EndDate"),
    *_allowance_charge(
        f"{_LINE}/cac:AllowanceCharge{_FALSE}", ("BT-136", "BT-137", "BT-138", "BT-139", "BT-140"), False
    ),
    *_allowance_charge(
        f"{_LINE}/cac:AllowanceCharge{_TRUE}", ("BT-141", "BT-142", "BT-143", "BT-144", "BT-145"), False
    ),
    _t("BT-146", f"{_LINE}/cac:Price/cbc:PriceAmount"),
    _t("BT-147", f"{_LINE}/cac:Price/cac:AllowanceCharge/cbc:Amount"),
    _t("BT-148", f"{_LINE}/cac:Price/cac:AllowanceCharge/cbc:BaseAmount"),
    _t("BT-149", f"{_LINE}/cac:Price/cbc:BaseQuantity"),
    _t("BT-150", f"{_LINE}/cac:Price/cbc:BaseQuantity/@unitCode"),
    _t("BT-151", f"{_ITEM}/cac:ClassifiedTaxCategory/cbc:ID"),
    _t("BT-152", f"{_ITEM}/cac:ClassifiedTaxCategory/cbc:Percent"),
    _t("BT-153", f"{_ITEM}/cbc:Name"),
    _t("BT-154", f"{_ITEM}/cbc:Description"),
    _t("BT-155", f"{_ITEM}/cac:SellersItemIdentification/cbc:ID"),
    _t("BT-156", f"{_ITEM}/cac:BuyersItemIdentification/cbc:ID"),
    _t("BT-157", f"{_ITEM}/cac:StandardItemIdentification/cbc:ID"),
    _t("BT-157-1", f"{_ITEM}/cac:StandardItemIdentification/cbc:ID/@schemeID"),
    _t("BT-158", f"{_ITEM}/cac:CommodityClassification/cbc:ItemClassificationCode"),
    _t("BT-158-1", f"{_ITEM}/cac:CommodityClassification/cbc:ItemClassificationCode/@listID"),
    _t("BT-158-2", f"{_ITEM}/cac:CommodityClassification/cbc:ItemClassificationCode/@listVersionID"),
    _t("BT-159", f"{_ITEM}/cac:OriginCountry/cbc:IdentificationCode"),
    _t("BT-160", f"{_ITEM}/cac:AdditionalItemProperty/cbc:Name"),
    _t("BT-161", f"{_ITEM}/cac:AdditionalItemProperty/cbc:Value"),
]

UBL_TERMS: dict[str, UblTerm] = {term.id: term for term in _TABLE}
"""Every EN 16931 business term (BT) by id, with its UBL XPaths."""


def is_credit_note(root: etree._Element) -> bool:
    return etree.QName(root).namespace == CREDITNOTE_NS


_Found = etree._Element | str


def _select(root: etree._Element, term: UblTerm) -> list[_Found]:
    found = root.xpath(term.xpath(is_credit_note(root)), namespaces=NAMESPACES)
    assert isinstance(found, list)
    return [node for node in found if isinstance(node, etree._Element | str)]


def _text(node: _Found) -> str:
    return (node.text or "") if isinstance(node, etree._Element) else str(node)


def values(root: etree._Element) -> dict[str, list[str]]:
    """Every business term's values in a UBL document, in document order (text stripped).

    Empty elements carry no value and are left out, as the reader leaves them out.
    """
    out: dict[str, list[str]] = {}
    for term in _TABLE:
        found: list[str] = []
        for node in _select(root, term):
            text = _text(node).strip()
            value = term.convert(text) if term.convert is not None and text else text
            if value:
                found.append(value)
        out[term.id] = found
    return out


def locations(root: etree._Element) -> dict[str, list[str]]:
    """The element (or ``…/@attribute``) path of every value ``values`` finds, by term."""
    paths = Paths(PREFIXES, etree.QName(root).namespace)
    out: dict[str, list[str]] = {}
    for term in _TABLE:
        found: list[str] = []
        for node in _select(root, term):
            if isinstance(node, etree._Element):
                found.append(paths.path(node))
            else:
                parent = node.getparent()  # type: ignore[attr-defined]
                if parent is not None:
                    attribute = node.attrname if node.is_attribute else None  # type: ignore[attr-defined]
                    found.append(paths.path(parent, attribute))
        out[term.id] = found
    return out
