"""Where the CII writer puts each business term (CEN EN 16931 CII binding), for the profile tests.

Paths are element paths from the root without namespace prefixes, as the Factur-X XSDs
nest them; the tests check each profile's term set against its XSD with this table.
"""

from __future__ import annotations

_T = "/SupplyChainTradeTransaction"
_HA = f"{_T}/ApplicableHeaderTradeAgreement"
_HD = f"{_T}/ApplicableHeaderTradeDelivery"
_HS = f"{_T}/ApplicableHeaderTradeSettlement"
_L = f"{_T}/IncludedSupplyChainTradeLineItem"
_SUM = f"{_HS}/SpecifiedTradeSettlementHeaderMonetarySummation"
_PM = f"{_HS}/SpecifiedTradeSettlementPaymentMeans"


def _address(base: str, ids: tuple[str, ...], group: str) -> dict[str, str]:
    names = (
        "LineOne",
        "LineTwo",
        "LineThree",
        "CityName",
        "PostcodeCode",
        "CountrySubDivisionName",
        "CountryID",
    )
    table = {term: f"{base}/PostalTradeAddress/{name}" for term, name in zip(ids, names, strict=True)}
    table[group] = f"{base}/PostalTradeAddress"
    return table


def _contact(base: str, ids: tuple[str, str, str], group: str) -> dict[str, str]:
    name, phone, email = ids
    contact = f"{base}/DefinedTradeContact"
    return {
        group: contact,
        name: f"{contact}/PersonName",
        phone: f"{contact}/TelephoneUniversalCommunication/CompleteNumber",
        email: f"{contact}/EmailURIUniversalCommunication/URIID",
    }


_SELLER = f"{_HA}/SellerTradeParty"
_BUYER = f"{_HA}/BuyerTradeParty"
_PAYEE = f"{_HS}/PayeeTradeParty"
_REP = f"{_HA}/SellerTaxRepresentativeTradeParty"
_SHIP = f"{_HD}/ShipToTradeParty"
_DOC_AC = f"{_HS}/SpecifiedTradeAllowanceCharge"
_LINE_AC = f"{_L}/SpecifiedLineTradeSettlement/SpecifiedTradeAllowanceCharge"
_TAX = f"{_HS}/ApplicableTradeTax"
_PRODUCT = f"{_L}/SpecifiedTradeProduct"
_LS = f"{_L}/SpecifiedLineTradeSettlement"
_GROSS = f"{_L}/SpecifiedLineTradeAgreement/GrossPriceProductTradePrice"

PATHS: dict[str, str] = {
    "BT-1": "/ExchangedDocument/ID",
    "BT-2": "/ExchangedDocument/IssueDateTime",
    "BT-3": "/ExchangedDocument/TypeCode",
    "BT-5": f"{_HS}/InvoiceCurrencyCode",
    "BT-6": f"{_HS}/TaxCurrencyCode",
    "BT-7": f"{_TAX}/TaxPointDate",
    "BT-8": f"{_TAX}/DueDateTypeCode",
    "BT-9": f"{_HS}/SpecifiedTradePaymentTerms/DueDateDateTime",
    "BT-10": f"{_HA}/BuyerReference",
    "BT-11": f"{_HA}/SpecifiedProcuringProject/ID",
    "BT-12": f"{_HA}/ContractReferencedDocument/IssuerAssignedID",
    "BT-13": f"{_HA}/BuyerOrderReferencedDocument/IssuerAssignedID",
    "BT-14": f"{_HA}/SellerOrderReferencedDocument/IssuerAssignedID",
    "BT-15": f"{_HD}/ReceivingAdviceReferencedDocument/IssuerAssignedID",
    "BT-16": f"{_HD}/DespatchAdviceReferencedDocument/IssuerAssignedID",
    "BT-17": f"{_HA}/AdditionalReferencedDocument/IssuerAssignedID",
    "BT-18": f"{_HA}/AdditionalReferencedDocument/IssuerAssignedID",
    "BT-18-1": f"{_HA}/AdditionalReferencedDocument/ReferenceTypeCode",
    "BT-19": f"{_HS}/ReceivableSpecifiedTradeAccountingAccount/ID",
    "BT-20": f"{_HS}/SpecifiedTradePaymentTerms/Description",
    "BG-1": "/ExchangedDocument/IncludedNote",
    "BT-21": "/ExchangedDocument/IncludedNote/SubjectCode",
    "BT-22": "/ExchangedDocument/IncludedNote/Content",
    "BG-2": "/ExchangedDocumentContext",
    "BT-23": "/ExchangedDocumentContext/BusinessProcessSpecifiedDocumentContextParameter/ID",
    "BT-24": "/ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID",
    "BG-3": f"{_HS}/InvoiceReferencedDocument",
    "BT-25": f"{_HS}/InvoiceReferencedDocument/IssuerAssignedID",
    "BT-26": f"{_HS}/InvoiceReferencedDocument/FormattedIssueDateTime",
    "BG-4": _SELLER,
    "BT-27": f"{_SELLER}/Name",
    "BT-28": f"{_SELLER}/SpecifiedLegalOrganization/TradingBusinessName",
    "BT-29": f"{_SELLER}/ID",
    "BT-29-1": f"{_SELLER}/GlobalID",
    "BT-30": f"{_SELLER}/SpecifiedLegalOrganization/ID",
    "BT-30-1": f"{_SELLER}/SpecifiedLegalOrganization/ID",
    "BT-31": f"{_SELLER}/SpecifiedTaxRegistration/ID",
    "BT-32": f"{_SELLER}/SpecifiedTaxRegistration/ID",
    "BT-33": f"{_SELLER}/Description",
    "BT-34": f"{_SELLER}/URIUniversalCommunication/URIID",
    "BT-34-1": f"{_SELLER}/URIUniversalCommunication/URIID",
    **_address(_SELLER, ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40"), "BG-5"),
    **_contact(_SELLER, ("BT-41", "BT-42", "BT-43"), "BG-6"),
    "BG-7": _BUYER,
    "BT-44": f"{_BUYER}/Name",
    "BT-45": f"{_BUYER}/SpecifiedLegalOrganization/TradingBusinessName",
    "BT-46": f"{_BUYER}/ID",
    "BT-46-1": f"{_BUYER}/GlobalID",
    "BT-47": f"{_BUYER}/SpecifiedLegalOrganization/ID",
    "BT-47-1": f"{_BUYER}/SpecifiedLegalOrganization/ID",
    "BT-48": f"{_BUYER}/SpecifiedTaxRegistration/ID",
    "BT-49": f"{_BUYER}/URIUniversalCommunication/URIID",
    "BT-49-1": f"{_BUYER}/URIUniversalCommunication/URIID",
    **_address(_BUYER, ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55"), "BG-8"),
    **_contact(_BUYER, ("BT-56", "BT-57", "BT-58"), "BG-9"),
    "BG-10": _PAYEE,
    "BT-59": f"{_PAYEE}/Name",
    "BT-60": f"{_PAYEE}/ID",
    "BT-60-1": f"{_PAYEE}/GlobalID",
    "BT-61": f"{_PAYEE}/SpecifiedLegalOrganization/ID",
    "BT-61-1": f"{_PAYEE}/SpecifiedLegalOrganization/ID",
    "BG-11": _REP,
    "BT-62": f"{_REP}/Name",
    "BT-63": f"{_REP}/SpecifiedTaxRegistration/ID",
    **_address(_REP, ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69"), "BG-12"),
    "BG-13": _HD,
    "BT-70": f"{_SHIP}/Name",
    "BT-71": f"{_SHIP}/ID",
    "BT-71-1": f"{_SHIP}/GlobalID",
    "BT-72": f"{_HD}/ActualDeliverySupplyChainEvent/OccurrenceDateTime",
    "BG-14": f"{_HS}/BillingSpecifiedPeriod",
    "BT-73": f"{_HS}/BillingSpecifiedPeriod/StartDateTime",
    "BT-74": f"{_HS}/BillingSpecifiedPeriod/EndDateTime",
    **_address(_SHIP, ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80"), "BG-15"),
    "BG-16": _PM,
    "BT-81": f"{_PM}/TypeCode",
    "BT-82": f"{_PM}/Information",
    "BT-83": f"{_HS}/PaymentReference",
    "BG-17": f"{_PM}/PayeePartyCreditorFinancialAccount",
    "BT-84": f"{_PM}/PayeePartyCreditorFinancialAccount/IBANID",
    "BT-85": f"{_PM}/PayeePartyCreditorFinancialAccount/AccountName",
    "BT-86": f"{_PM}/PayeeSpecifiedCreditorFinancialInstitution/BICID",
    "BG-18": f"{_PM}/ApplicableTradeSettlementFinancialCard",
    "BT-87": f"{_PM}/ApplicableTradeSettlementFinancialCard/ID",
    "BT-88": f"{_PM}/ApplicableTradeSettlementFinancialCard/CardholderName",
    "BG-19": f"{_HS}/SpecifiedTradePaymentTerms/DirectDebitMandateID",
    "BT-89": f"{_HS}/SpecifiedTradePaymentTerms/DirectDebitMandateID",
    "BT-90": f"{_HS}/CreditorReferenceID",
    "BT-91": f"{_PM}/PayerPartyDebtorFinancialAccount/IBANID",
    **{
        term: f"{_DOC_AC}/{name}"
        for terms, name in (
            (("BG-20", "BG-21"), "ChargeIndicator"),
            (("BT-92", "BT-99"), "ActualAmount"),
            (("BT-93", "BT-100"), "BasisAmount"),
            (("BT-94", "BT-101"), "CalculationPercent"),
            (("BT-95", "BT-102"), "CategoryTradeTax/CategoryCode"),
            (("BT-96", "BT-103"), "CategoryTradeTax/RateApplicablePercent"),
            (("BT-97", "BT-104"), "Reason"),
            (("BT-98", "BT-105"), "ReasonCode"),
        )
        for term in terms
    },
    "BG-22": _SUM,
    "BT-106": f"{_SUM}/LineTotalAmount",
    "BT-107": f"{_SUM}/AllowanceTotalAmount",
    "BT-108": f"{_SUM}/ChargeTotalAmount",
    "BT-109": f"{_SUM}/TaxBasisTotalAmount",
    "BT-110": f"{_SUM}/TaxTotalAmount",
    "BT-111": f"{_SUM}/TaxTotalAmount",
    "BT-112": f"{_SUM}/GrandTotalAmount",
    "BT-113": f"{_SUM}/TotalPrepaidAmount",
    "BT-114": f"{_SUM}/RoundingAmount",
    "BT-115": f"{_SUM}/DuePayableAmount",
    "BG-23": _TAX,
    "BT-116": f"{_TAX}/BasisAmount",
    "BT-117": f"{_TAX}/CalculatedAmount",
    "BT-118": f"{_TAX}/CategoryCode",
    "BT-119": f"{_TAX}/RateApplicablePercent",
    "BT-120": f"{_TAX}/ExemptionReason",
    "BT-121": f"{_TAX}/ExemptionReasonCode",
    "BG-24": f"{_HA}/AdditionalReferencedDocument",
    "BT-122": f"{_HA}/AdditionalReferencedDocument/IssuerAssignedID",
    "BT-123": f"{_HA}/AdditionalReferencedDocument/Name",
    "BT-124": f"{_HA}/AdditionalReferencedDocument/URIID",
    "BT-125": f"{_HA}/AdditionalReferencedDocument/AttachmentBinaryObject",
    "BT-125-1": f"{_HA}/AdditionalReferencedDocument/AttachmentBinaryObject",
    "BT-125-2": f"{_HA}/AdditionalReferencedDocument/AttachmentBinaryObject",
    "BG-25": _L,
    "BT-126": f"{_L}/AssociatedDocumentLineDocument/LineID",
    "BT-127": f"{_L}/AssociatedDocumentLineDocument/IncludedNote/Content",
    "BT-128": f"{_LS}/AdditionalReferencedDocument/IssuerAssignedID",
    "BT-128-1": f"{_LS}/AdditionalReferencedDocument/ReferenceTypeCode",
    "BT-129": f"{_L}/SpecifiedLineTradeDelivery/BilledQuantity",
    "BT-130": f"{_L}/SpecifiedLineTradeDelivery/BilledQuantity",
    "BT-131": f"{_LS}/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
    "BT-132": f"{_L}/SpecifiedLineTradeAgreement/BuyerOrderReferencedDocument/LineID",
    "BT-133": f"{_LS}/ReceivableSpecifiedTradeAccountingAccount/ID",
    "BG-26": f"{_LS}/BillingSpecifiedPeriod",
    "BT-134": f"{_LS}/BillingSpecifiedPeriod/StartDateTime",
    "BT-135": f"{_LS}/BillingSpecifiedPeriod/EndDateTime",
    **{
        term: f"{_LINE_AC}/{name}"
        for terms, name in (
            (("BG-27", "BG-28"), "ChargeIndicator"),
            (("BT-136", "BT-141"), "ActualAmount"),
            (("BT-137", "BT-142"), "BasisAmount"),
            (("BT-138", "BT-143"), "CalculationPercent"),
            (("BT-139", "BT-144"), "Reason"),
            (("BT-140", "BT-145"), "ReasonCode"),
        )
        for term in terms
    },
    "BG-29": f"{_L}/SpecifiedLineTradeAgreement/NetPriceProductTradePrice",
    "BT-146": f"{_L}/SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
    "BT-147": f"{_GROSS}/AppliedTradeAllowanceCharge/ActualAmount",
    "BT-148": f"{_L}/SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/ChargeAmount",
    "BT-149": f"{_L}/SpecifiedLineTradeAgreement/NetPriceProductTradePrice/BasisQuantity",
    "BT-150": f"{_L}/SpecifiedLineTradeAgreement/NetPriceProductTradePrice/BasisQuantity",
    "BG-30": f"{_LS}/ApplicableTradeTax",
    "BT-151": f"{_LS}/ApplicableTradeTax/CategoryCode",
    "BT-152": f"{_LS}/ApplicableTradeTax/RateApplicablePercent",
    "BG-31": _PRODUCT,
    "BT-153": f"{_PRODUCT}/Name",
    "BT-154": f"{_PRODUCT}/Description",
    "BT-155": f"{_PRODUCT}/SellerAssignedID",
    "BT-156": f"{_PRODUCT}/BuyerAssignedID",
    "BT-157": f"{_PRODUCT}/GlobalID",
    "BT-157-1": f"{_PRODUCT}/GlobalID",
    "BT-158": f"{_PRODUCT}/DesignatedProductClassification/ClassCode",
    "BT-158-1": f"{_PRODUCT}/DesignatedProductClassification/ClassCode",
    "BT-158-2": f"{_PRODUCT}/DesignatedProductClassification/ClassCode",
    "BT-159": f"{_PRODUCT}/OriginTradeCountry/ID",
    "BG-32": f"{_PRODUCT}/ApplicableProductCharacteristic",
    "BT-160": f"{_PRODUCT}/ApplicableProductCharacteristic/Description",
    "BT-161": f"{_PRODUCT}/ApplicableProductCharacteristic/Value",
}
