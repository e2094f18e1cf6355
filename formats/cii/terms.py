"""Where every EN 16931 business term lives in CII D16B: BT id → XPath (the CEN syntax binding).

One row per business term, as EN 16931-3-3 binds it to ``rsm:CrossIndustryInvoice`` and as
``read.py`` reads it, including the conventions a reader has to know:

* dates are ``udt:DateTimeString`` / ``udt:DateString`` / ``qdt:DateTimeString`` with
  ``@format`` 102 (``YYYYMMDD``); the table gives the text as written;
* BT-8 is ``ram:ApplicableTradeTax/ram:DueDateTypeCode`` in UNTDID 2475 (5, 29, 72), which
  the reader turns into the UNTDID 2005 codes of the model (3, 35, 432);
* BT-17 and BT-18 are header ``ram:AdditionalReferencedDocument`` with ``ram:TypeCode`` 50
  and 130; every other one (type code 916) is a supporting document (BG-24);
* a seller, buyer or payee identifier is ``ram:ID`` (no scheme) or ``ram:GlobalID`` (with
  ``@schemeID``); the VAT identifier is ``ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']``
  and the seller's tax registration (BT-32) the one with ``@schemeID`` FC;
* a contact point (BT-41, BT-56) is ``ram:PersonName``, or ``ram:DepartmentName`` where no
  person is named (Factur-X BT-41-0 / BT-56-0);
* the item price discount (BT-147) is a gross price ``ram:AppliedTradeAllowanceCharge`` that
  is not a charge: its indicator ``false`` or, as ZUGFeRD 2.0 senders write it, left out;
* the price base quantity (BT-149) is the net price's ``ram:BasisQuantity``, or the gross
  price's where the net price has none;
* BT-110 is ``ram:TaxTotalAmount`` in the invoice currency (or without a currency), BT-111
  the one in the VAT accounting currency (BT-6).

XPaths are relative to the root element, XPath 1.0 with the prefixes of ``ns.NAMESPACES``.
``values(root)`` evaluates the table on a document (the round-trip tests compare them
before and after); ``locations(root)`` gives the element path of every value found, in the
form ``read.Loss.path`` uses, so a reader loss can be checked against the terms.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from formats.cii.ns import NAMESPACES, PREFIXES
from formats.ubl.xmlparse import Paths

__all__ = ["CII_TERMS", "NAMESPACES", "PATH_PREFIXES", "CiiTerm", "locations", "paths", "values"]

XSI = "http://www.w3.org/2001/XMLSchema-instance"
PATH_PREFIXES = {**PREFIXES, XSI: "xsi"}
"""The prefixes element paths are written with (``Loss.path``, error messages)."""


@dataclass(frozen=True)
class CiiTerm:
    """One business term and its XPath in a ``rsm:CrossIndustryInvoice``."""

    id: str
    xpath: str


def paths() -> Paths:
    """Element paths in the reader's form: every step prefixed, the root included."""
    return Paths(PATH_PREFIXES, None)


_CTX = "rsm:ExchangedDocumentContext"
_DOC = "rsm:ExchangedDocument"
_TX = "rsm:SupplyChainTradeTransaction"
_AGR = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_DEL = f"{_TX}/ram:ApplicableHeaderTradeDelivery"
_SET = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_LINE = f"{_TX}/ram:IncludedSupplyChainTradeLineItem"
_SUM = f"{_SET}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_MEANS = f"{_SET}/ram:SpecifiedTradeSettlementPaymentMeans"
_TERMS_ = f"{_SET}/ram:SpecifiedTradePaymentTerms"
_SELLER = f"{_AGR}/ram:SellerTradeParty"
_BUYER = f"{_AGR}/ram:BuyerTradeParty"
_PAYEE = f"{_SET}/ram:PayeeTradeParty"
_TAX_REP = f"{_AGR}/ram:SellerTaxRepresentativeTradeParty"
_SHIP_TO = f"{_DEL}/ram:ShipToTradeParty"

_FALSE = "[normalize-space(ram:ChargeIndicator/udt:Indicator) = 'false']"
_TRUE = "[normalize-space(ram:ChargeIndicator/udt:Indicator) = 'true']"
_NOT_TRUE = "[not(normalize-space(ram:ChargeIndicator/udt:Indicator) = 'true')]"
_VA = "[normalize-space(@schemeID) = 'VA']"
_FC = "[normalize-space(@schemeID) = 'FC']"
_TENDER = f"{_AGR}/ram:AdditionalReferencedDocument[normalize-space(ram:TypeCode) = '50']"
_OBJECT = f"{_AGR}/ram:AdditionalReferencedDocument[normalize-space(ram:TypeCode) = '130']"
_SUPPORTING = (
    f"{_AGR}/ram:AdditionalReferencedDocument"
    "[not(normalize-space(ram:TypeCode) = '50' or normalize-space(ram:TypeCode) = '130')]"
)
_LINE_OBJECT = (
    f"{_LINE}/ram:SpecifiedLineTradeSettlement/ram:AdditionalReferencedDocument"
    "[normalize-space(ram:TypeCode) = '130']"
)
_BREAKDOWN = f"{_SET}/ram:ApplicableTradeTax"
_IN_CURRENCY = (
    "[not(@currencyID) or normalize-space(@currencyID) = normalize-space(/*/"
    + _SET
    + "/ram:InvoiceCurrencyCode)]"
)
_IN_TAX_CURRENCY = (
    "[normalize-space(@currencyID) = normalize-space(/*/" + _SET + "/ram:TaxCurrencyCode)"
    " and not(normalize-space(@currencyID) = normalize-space(/*/" + _SET + "/ram:InvoiceCurrencyCode))]"
)
_PRICE = f"{_LINE}/ram:SpecifiedLineTradeAgreement"
_PRODUCT = f"{_LINE}/ram:SpecifiedTradeProduct"
_LINE_SET = f"{_LINE}/ram:SpecifiedLineTradeSettlement"


def _t(term: str, xpath: str) -> CiiTerm:
    return CiiTerm(term, xpath)


def _id_with_scheme(base: str, term: str) -> list[CiiTerm]:
    """A party identifier: ``ram:ID`` (no scheme) or ``ram:GlobalID`` with ``@schemeID``."""
    return [
        _t(term, f"{base}/ram:ID | {base}/ram:GlobalID"),
        _t(f"{term}-1", f"{base}/ram:GlobalID[normalize-space()]/@schemeID"),
    ]


def _address(base: str, ids: tuple[str, str, str, str, str, str, str]) -> list[CiiTerm]:
    line1, line2, line3, city, post, sub, country = ids
    return [
        _t(line1, f"{base}/ram:LineOne"),
        _t(line2, f"{base}/ram:LineTwo"),
        _t(line3, f"{base}/ram:LineThree"),
        _t(city, f"{base}/ram:CityName"),
        _t(post, f"{base}/ram:PostcodeCode"),
        _t(sub, f"{base}/ram:CountrySubDivisionName"),
        _t(country, f"{base}/ram:CountryID"),
    ]


def _contact(base: str, ids: tuple[str, str, str]) -> list[CiiTerm]:
    name, telephone, email = ids
    return [
        _t(name, f"{base}/ram:PersonName | {base}/ram:DepartmentName[not(../ram:PersonName)]"),
        _t(telephone, f"{base}/ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
        _t(email, f"{base}/ram:EmailURIUniversalCommunication/ram:URIID"),
    ]


def _allowance_charge(base: str, ids: tuple[str, ...], document: bool) -> list[CiiTerm]:
    """Amount, base, percentage, [VAT category, rate,] reason, reason code."""
    if document:
        amount, base_amount, percent, category, rate, reason, code = ids
        extra = [
            _t(category, f"{base}/ram:CategoryTradeTax/ram:CategoryCode"),
            _t(rate, f"{base}/ram:CategoryTradeTax/ram:RateApplicablePercent"),
        ]
    else:
        amount, base_amount, percent, reason, code = ids
        extra = []
    return [
        _t(amount, f"{base}/ram:ActualAmount"),
        _t(base_amount, f"{base}/ram:BasisAmount"),
        _t(percent, f"{base}/ram:CalculationPercent"),
        *extra,
        _t(reason, f"{base}/ram:Reason"),
        _t(code, f"{base}/ram:ReasonCode"),
    ]


_TABLE: list[CiiTerm] = [
    _t("BT-1", f"{_DOC}/ram:ID"),
    _t("BT-2", f"{_DOC}/ram:IssueDateTime/udt:DateTimeString"),
    _t("BT-3", f"{_DOC}/ram:TypeCode"),
    _t("BT-5", f"{_SET}/ram:InvoiceCurrencyCode"),
    _t("BT-6", f"{_SET}/ram:TaxCurrencyCode"),
    _t("BT-7", f"{_BREAKDOWN}/ram:TaxPointDate/udt:DateString"),
    _t("BT-8", f"{_BREAKDOWN}/ram:DueDateTypeCode"),
    _t("BT-9", f"{_TERMS_}/ram:DueDateDateTime/udt:DateTimeString"),
    _t("BT-10", f"{_AGR}/ram:BuyerReference"),
    _t("BT-11", f"{_AGR}/ram:SpecifiedProcuringProject/ram:ID"),
    _t("BT-12", f"{_AGR}/ram:ContractReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-13", f"{_AGR}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-14", f"{_AGR}/ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-15", f"{_DEL}/ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-16", f"{_DEL}/ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-17", f"{_TENDER}/ram:IssuerAssignedID"),
    _t("BT-18", f"{_OBJECT}/ram:IssuerAssignedID"),
    _t("BT-18-1", f"{_OBJECT}/ram:ReferenceTypeCode"),
    _t("BT-19", f"{_SET}/ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"),
    _t("BT-20", f"{_TERMS_}/ram:Description"),
    _t("BT-21", f"{_DOC}/ram:IncludedNote/ram:SubjectCode"),
    _t("BT-22", f"{_DOC}/ram:IncludedNote/ram:Content"),
    _t("BT-23", f"{_CTX}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"),
    _t("BT-24", f"{_CTX}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"),
    _t("BT-25", f"{_SET}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
    _t("BT-26", f"{_SET}/ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString"),
    # BG-4 seller
    _t("BT-27", f"{_SELLER}/ram:Name"),
    _t("BT-28", f"{_SELLER}/ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
    *_id_with_scheme(_SELLER, "BT-29"),
    _t("BT-30", f"{_SELLER}/ram:SpecifiedLegalOrganization/ram:ID"),
    _t("BT-30-1", f"{_SELLER}/ram:SpecifiedLegalOrganization/ram:ID[normalize-space()]/@schemeID"),
    _t("BT-31", f"{_SELLER}/ram:SpecifiedTaxRegistration/ram:ID{_VA}"),
    _t("BT-32", f"{_SELLER}/ram:SpecifiedTaxRegistration/ram:ID{_FC}"),
    _t("BT-33", f"{_SELLER}/ram:Description"),
    _t("BT-34", f"{_SELLER}/ram:URIUniversalCommunication/ram:URIID"),
    _t("BT-34-1", f"{_SELLER}/ram:URIUniversalCommunication/ram:URIID[normalize-space()]/@schemeID"),
    *_address(
        f"{_SELLER}/ram:PostalTradeAddress", ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40")
    ),
    *_contact(f"{_SELLER}/ram:DefinedTradeContact", ("BT-41", "BT-42", "BT-43")),
    # BG-7 buyer
    _t("BT-44", f"{_BUYER}/ram:Name"),
    _t("BT-45", f"{_BUYER}/ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
    *_id_with_scheme(_BUYER, "BT-46"),
    _t("BT-47", f"{_BUYER}/ram:SpecifiedLegalOrganization/ram:ID"),
    _t("BT-47-1", f"{_BUYER}/ram:SpecifiedLegalOrganization/ram:ID[normalize-space()]/@schemeID"),
    _t("BT-48", f"{_BUYER}/ram:SpecifiedTaxRegistration/ram:ID{_VA}"),
    _t("BT-49", f"{_BUYER}/ram:URIUniversalCommunication/ram:URIID"),
    _t("BT-49-1", f"{_BUYER}/ram:URIUniversalCommunication/ram:URIID[normalize-space()]/@schemeID"),
    *_address(
        f"{_BUYER}/ram:PostalTradeAddress", ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55")
    ),
    *_contact(f"{_BUYER}/ram:DefinedTradeContact", ("BT-56", "BT-57", "BT-58")),
    # BG-10 payee, BG-11 tax representative
    _t("BT-59", f"{_PAYEE}/ram:Name"),
    *_id_with_scheme(_PAYEE, "BT-60"),
    _t("BT-61", f"{_PAYEE}/ram:SpecifiedLegalOrganization/ram:ID"),
    _t("BT-61-1", f"{_PAYEE}/ram:SpecifiedLegalOrganization/ram:ID[normalize-space()]/@schemeID"),
    _t("BT-62", f"{_TAX_REP}/ram:Name"),
    _t("BT-63", f"{_TAX_REP}/ram:SpecifiedTaxRegistration/ram:ID{_VA}"),
    *_address(
        f"{_TAX_REP}/ram:PostalTradeAddress", ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69")
    ),
    # BG-13 delivery, BG-14 invoicing period
    _t("BT-70", f"{_SHIP_TO}/ram:Name"),
    *_id_with_scheme(_SHIP_TO, "BT-71"),
    _t("BT-72", f"{_DEL}/ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"),
    _t("BT-73", f"{_SET}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString"),
    _t("BT-74", f"{_SET}/ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString"),
    *_address(
        f"{_SHIP_TO}/ram:PostalTradeAddress", ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80")
    ),
    # BG-16 payment
    _t("BT-81", f"{_MEANS}/ram:TypeCode"),
    _t("BT-82", f"{_MEANS}/ram:Information"),
    _t("BT-83", f"{_SET}/ram:PaymentReference"),
    _t(
        "BT-84",
        f"{_MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
        f" | {_MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID",
    ),
    _t("BT-85", f"{_MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:AccountName"),
    _t(
        "BT-86",
        f"{_MEANS}[ram:PayeePartyCreditorFinancialAccount]/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID",
    ),
    _t("BT-87", f"{_MEANS}/ram:ApplicableTradeSettlementFinancialCard/ram:ID"),
    _t("BT-88", f"{_MEANS}/ram:ApplicableTradeSettlementFinancialCard/ram:CardholderName"),
    _t("BT-89", f"{_TERMS_}/ram:DirectDebitMandateID"),
    _t("BT-90", f"{_SET}/ram:CreditorReferenceID"),
    _t("BT-91", f"{_MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID"),
    # BG-20, BG-21
    *_allowance_charge(
        f"{_SET}/ram:SpecifiedTradeAllowanceCharge{_FALSE}",
        ("BT-92", "BT-93", "BT-94", "BT-95", "BT-96", "BT-97", "BT-98"),
        True,
    ),
    *_allowance_charge(
        f"{_SET}/ram:SpecifiedTradeAllowanceCharge{_TRUE}",
        ("BT-99", "BT-100", "BT-101", "BT-102", "BT-103", "BT-104", "BT-105"),
        True,
    ),
    # BG-22 totals
    _t("BT-106", f"{_SUM}/ram:LineTotalAmount"),
    _t("BT-107", f"{_SUM}/ram:AllowanceTotalAmount"),
    _t("BT-108", f"{_SUM}/ram:ChargeTotalAmount"),
    _t("BT-109", f"{_SUM}/ram:TaxBasisTotalAmount"),
    _t("BT-110", f"{_SUM}/ram:TaxTotalAmount{_IN_CURRENCY}"),
    _t("BT-111", f"{_SUM}/ram:TaxTotalAmount{_IN_TAX_CURRENCY}"),
    _t("BT-112", f"{_SUM}/ram:GrandTotalAmount"),
    _t("BT-113", f"{_SUM}/ram:TotalPrepaidAmount"),
    _t("BT-114", f"{_SUM}/ram:RoundingAmount"),
    _t("BT-115", f"{_SUM}/ram:DuePayableAmount"),
    # BG-23 VAT breakdown
    _t("BT-116", f"{_BREAKDOWN}/ram:BasisAmount"),
    _t("BT-117", f"{_BREAKDOWN}/ram:CalculatedAmount"),
    _t("BT-118", f"{_BREAKDOWN}/ram:CategoryCode"),
    _t("BT-119", f"{_BREAKDOWN}/ram:RateApplicablePercent"),
    _t("BT-120", f"{_BREAKDOWN}/ram:ExemptionReason"),
    _t("BT-121", f"{_BREAKDOWN}/ram:ExemptionReasonCode"),
    # BG-24 supporting documents
    _t("BT-122", f"{_SUPPORTING}/ram:IssuerAssignedID"),
    _t("BT-123", f"{_SUPPORTING}/ram:Name"),
    _t("BT-124", f"{_SUPPORTING}/ram:URIID"),
    _t("BT-125", f"{_SUPPORTING}/ram:AttachmentBinaryObject"),
    _t("BT-125-1", f"{_SUPPORTING}/ram:AttachmentBinaryObject[normalize-space()]/@mimeCode"),
    _t("BT-125-2", f"{_SUPPORTING}/ram:AttachmentBinaryObject[normalize-space()]/@filename"),
    # BG-25 lines
    _t("BT-126", f"{_LINE}/ram:AssociatedDocumentLineDocument/ram:LineID"),
    _t("BT-127", f"{_LINE}/ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"),
    _t("BT-128", f"{_LINE_OBJECT}/ram:IssuerAssignedID"),
    _t("BT-128-1", f"{_LINE_OBJECT}/ram:ReferenceTypeCode"),
    _t("BT-129", f"{_LINE}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
    _t("BT-130", f"{_LINE}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode"),
    _t("BT-131", f"{_LINE_SET}/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"),
    _t("BT-132", f"{_PRICE}/ram:BuyerOrderReferencedDocument/ram:LineID"),
    _t("BT-133", f"{_LINE_SET}/ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"),
    _t("BT-134", f"{_LINE_SET}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString"),
    _t("BT-135", f"{_LINE_SET}/ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString"),
    *_allowance_charge(
        f"{_LINE_SET}/ram:SpecifiedTradeAllowanceCharge{_FALSE}",
        ("BT-136", "BT-137", "BT-138", "BT-139", "BT-140"),
        False,
    ),
    *_allowance_charge(
        f"{_LINE_SET}/ram:SpecifiedTradeAllowanceCharge{_TRUE}",
        ("BT-141", "BT-142", "BT-143", "BT-144", "BT-145"),
        False,
    ),
    _t("BT-146", f"{_PRICE}/ram:NetPriceProductTradePrice/ram:ChargeAmount"),
    # a price allowance that is not a charge: ZUGFeRD 2.0 senders leave the indicator out
    _t(
        "BT-147",
        f"{_PRICE}/ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge{_NOT_TRUE}/ram:ActualAmount",
    ),
    _t("BT-148", f"{_PRICE}/ram:GrossPriceProductTradePrice/ram:ChargeAmount"),
    _t(
        "BT-149",
        f"{_PRICE}/ram:NetPriceProductTradePrice/ram:BasisQuantity"
        f" | {_PRICE}/ram:GrossPriceProductTradePrice"
        "[not(../ram:NetPriceProductTradePrice/ram:BasisQuantity)]/ram:BasisQuantity",
    ),
    _t(
        "BT-150",
        f"{_PRICE}/ram:NetPriceProductTradePrice/ram:BasisQuantity/@unitCode"
        f" | {_PRICE}/ram:GrossPriceProductTradePrice"
        "[not(../ram:NetPriceProductTradePrice/ram:BasisQuantity)]/ram:BasisQuantity/@unitCode",
    ),
    _t("BT-151", f"{_LINE_SET}/ram:ApplicableTradeTax/ram:CategoryCode"),
    _t("BT-152", f"{_LINE_SET}/ram:ApplicableTradeTax/ram:RateApplicablePercent"),
    _t("BT-153", f"{_PRODUCT}/ram:Name"),
    _t("BT-154", f"{_PRODUCT}/ram:Description"),
    _t("BT-155", f"{_PRODUCT}/ram:SellerAssignedID"),
    _t("BT-156", f"{_PRODUCT}/ram:BuyerAssignedID"),
    _t("BT-157", f"{_PRODUCT}/ram:GlobalID"),
    _t("BT-157-1", f"{_PRODUCT}/ram:GlobalID[normalize-space()]/@schemeID"),
    _t("BT-158", f"{_PRODUCT}/ram:DesignatedProductClassification/ram:ClassCode"),
    _t("BT-158-1", f"{_PRODUCT}/ram:DesignatedProductClassification/ram:ClassCode/@listID"),
    _t("BT-158-2", f"{_PRODUCT}/ram:DesignatedProductClassification/ram:ClassCode/@listVersionID"),
    _t("BT-159", f"{_PRODUCT}/ram:OriginTradeCountry/ram:ID"),
    _t("BT-160", f"{_PRODUCT}/ram:ApplicableProductCharacteristic/ram:Description"),
    _t("BT-161", f"{_PRODUCT}/ram:ApplicableProductCharacteristic/ram:Value"),
]

CII_TERMS: dict[str, CiiTerm] = {term.id: term for term in _TABLE}
"""Every EN 16931 business term (BT) by id, with its CII XPath."""


_Found = etree._Element | str


def _select(root: etree._Element, term: CiiTerm) -> list[_Found]:
    found = root.xpath(term.xpath, namespaces=NAMESPACES)
    assert isinstance(found, list)
    return [node for node in found if isinstance(node, etree._Element | str)]


def _text(node: _Found) -> str:
    return (node.text or "") if isinstance(node, etree._Element) else str(node)


def values(root: etree._Element) -> dict[str, list[str]]:
    """Every business term's values in a CII document, in document order (text stripped).

    Empty elements carry no value and are left out, as the reader leaves them out.
    """
    out: dict[str, list[str]] = {}
    for term in _TABLE:
        out[term.id] = [text for node in _select(root, term) if (text := _text(node).strip())]
    return out


def locations(root: etree._Element) -> dict[str, list[str]]:
    """The element (or ``…/@attribute``) path of every value ``values`` finds, by term."""
    where = paths()
    out: dict[str, list[str]] = {}
    for term in _TABLE:
        found: list[str] = []
        for node in _select(root, term):
            if isinstance(node, etree._Element):
                found.append(where.path(node))
            else:
                parent = node.getparent()  # type: ignore[attr-defined]
                if parent is not None:
                    attribute = node.attrname if node.is_attribute else None  # type: ignore[attr-defined]
                    found.append(where.path(parent, attribute))
        out[term.id] = found
    return out
