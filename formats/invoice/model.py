"""The canonical invoice: the whole EN 16931 semantic model as pydantic v2 classes.

Every adapter (UBL, CII, Factur-X, PDF, cXML) converts to and from this model. Field
names are the norm's English terms in snake_case; each field's description names its
business term (BT) or group (BG). Classes shared by several roles (an address, a
contact) name the BT for each role. ``terms.py`` maps every BT/BG to its JSON path.

Fields marked *derived* may be left out: ``calculate()`` fills them from the others.
Where an ERP supplies them anyway, ``compare_totals()`` reports any disagreement
instead of silently replacing what was sent.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator
from pydantic_core import PydanticCustomError

from formats.invoice.codes import CREDIT_NOTE_TYPE_CODES
from formats.invoice.types import (
    AllowanceReasonCode,
    Amount,
    BaseQuantity,
    ChargeReasonCode,
    CountryCode,
    CurrencyCode,
    ElectronicAddressScheme,
    InvoiceTypeCode,
    ItemClassificationScheme,
    ItemStandardScheme,
    LocationScheme,
    MimeCode,
    ObjectScheme,
    PartyIdScheme,
    PaymentMeansCode,
    Percent,
    Quantity,
    RegistrationScheme,
    UnitCode,
    UnitPrice,
    VatCategoryCode,
    VatDateCode,
    VatExemptionCode,
    VatRate,
)

Text = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        validate_assignment=True,
        use_attribute_docstrings=False,
    )


# ---------------------------------------------------------------------------- parties


class Identifier(_Model):
    """An identifier with an optional scheme (ISO 6523 ICD or UNTDID 1153, per field)."""

    value: Text = Field(description="Identifier: BT-29 seller, BT-46 buyer, BT-60 payee.")
    scheme: PartyIdScheme | None = Field(
        default=None,
        description="Identifier scheme (ISO 6523 ICD): BT-29-1 seller, BT-46-1 buyer, BT-60-1 payee.",
    )


class LegalRegistration(_Model):
    """Legal registration identifier: BT-30 seller, BT-47 buyer, BT-61 payee."""

    value: Text = Field(description="BT-30 / BT-47 / BT-61 legal registration identifier.")
    scheme: RegistrationScheme | None = Field(
        default=None, description="BT-30-1 / BT-47-1 / BT-61-1 scheme identifier (ISO 6523 ICD)."
    )


class ElectronicAddress(_Model):
    """Electronic address: BT-34 seller, BT-49 buyer; the scheme is mandatory (BR-62, BR-63)."""

    value: Text = Field(description="BT-34 / BT-49 electronic address.")
    scheme: ElectronicAddressScheme = Field(
        description="BT-34-1 / BT-49-1 electronic address scheme (CEF EAS), e.g. 0088 or 9930."
    )


class Address(_Model):
    """A postal address: BG-5 seller, BG-8 buyer, BG-12 tax representative, BG-15 deliver-to."""

    line1: Text | None = Field(
        default=None,
        description="Address line 1: BT-35 seller, BT-50 buyer, BT-64 tax representative, BT-75 deliver-to.",
    )
    line2: Text | None = Field(default=None, description="Address line 2: BT-36, BT-51, BT-65, BT-76.")
    line3: Text | None = Field(default=None, description="Address line 3: BT-162, BT-163, BT-164, BT-165.")
    city: Text | None = Field(default=None, description="City: BT-37, BT-52, BT-66, BT-77.")
    post_code: Text | None = Field(default=None, description="Post code: BT-38, BT-53, BT-67, BT-78.")
    country_subdivision: Text | None = Field(
        default=None, description="Country subdivision: BT-39, BT-54, BT-68, BT-79."
    )
    country_code: CountryCode = Field(
        description="Country code (ISO 3166-1 alpha-2): BT-40, BT-55, BT-69, BT-80."
    )


class Contact(_Model):
    """Contact: BG-6 seller, BG-9 buyer."""

    name: Text | None = Field(default=None, description="Contact point: BT-41 seller, BT-56 buyer.")
    telephone: Text | None = Field(default=None, description="Contact telephone number: BT-42, BT-57.")
    email: Text | None = Field(default=None, description="Contact email address: BT-43, BT-58.")


class Seller(_Model):
    """BG-4 SELLER."""

    name: Text = Field(description="BT-27 Seller name.")
    trading_name: Text | None = Field(default=None, description="BT-28 Seller trading name.")
    identifiers: list[Identifier] = Field(
        default_factory=list, description="BT-29 Seller identifier(s), with scheme BT-29-1."
    )
    legal_registration: LegalRegistration | None = Field(
        default=None, description="BT-30 Seller legal registration identifier (scheme BT-30-1)."
    )
    vat_identifier: Text | None = Field(
        default=None, description="BT-31 Seller VAT identifier, with its ISO 3166 country prefix."
    )
    tax_registration_identifier: Text | None = Field(
        default=None, description="BT-32 Seller tax registration identifier (local, not VAT)."
    )
    additional_legal_information: Text | None = Field(
        default=None, description="BT-33 Seller additional legal information (share capital…)."
    )
    electronic_address: ElectronicAddress | None = Field(
        default=None, description="BT-34 Seller electronic address (scheme BT-34-1)."
    )
    address: Address = Field(description="BG-5 SELLER POSTAL ADDRESS.")
    contact: Contact | None = Field(default=None, description="BG-6 SELLER CONTACT.")


class Buyer(_Model):
    """BG-7 BUYER."""

    name: Text = Field(description="BT-44 Buyer name.")
    trading_name: Text | None = Field(default=None, description="BT-45 Buyer trading name.")
    identifier: Identifier | None = Field(
        default=None, description="BT-46 Buyer identifier (scheme BT-46-1)."
    )
    legal_registration: LegalRegistration | None = Field(
        default=None, description="BT-47 Buyer legal registration identifier (scheme BT-47-1)."
    )
    vat_identifier: Text | None = Field(default=None, description="BT-48 Buyer VAT identifier.")
    electronic_address: ElectronicAddress | None = Field(
        default=None, description="BT-49 Buyer electronic address (scheme BT-49-1)."
    )
    address: Address | None = Field(
        default=None,
        description="BG-8 BUYER POSTAL ADDRESS: required by EN 16931 (BR-10, checked with the "
        "business rules); absent only in a summary read from a Factur-X MINIMUM document.",
    )
    contact: Contact | None = Field(default=None, description="BG-9 BUYER CONTACT.")


class Payee(_Model):
    """BG-10 PAYEE: the party paid, when it is not the seller."""

    name: Text = Field(description="BT-59 Payee name.")
    identifier: Identifier | None = Field(
        default=None, description="BT-60 Payee identifier (scheme BT-60-1)."
    )
    legal_registration: LegalRegistration | None = Field(
        default=None, description="BT-61 Payee legal registration identifier (scheme BT-61-1)."
    )


class TaxRepresentative(_Model):
    """BG-11 SELLER TAX REPRESENTATIVE PARTY."""

    name: Text = Field(description="BT-62 Seller tax representative name.")
    vat_identifier: Text = Field(description="BT-63 Seller tax representative VAT identifier.")
    address: Address = Field(description="BG-12 SELLER TAX REPRESENTATIVE POSTAL ADDRESS.")


# ---------------------------------------------------------------------------- delivery


class Period(_Model):
    """A period: BG-14 invoicing period, BG-26 invoice line period."""

    start_date: date | None = Field(
        default=None, description="Start date: BT-73 invoicing period, BT-134 line period."
    )
    end_date: date | None = Field(
        default=None, description="End date: BT-74 invoicing period, BT-135 line period."
    )

    # (rule for an empty period, rule for end before start), per kind of period
    _rules: ClassVar[tuple[str, str]] = ("BR-CO-19", "BR-29")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        empty_rule, order_rule = self._rules
        if self.start_date is None and self.end_date is None:
            raise PydanticCustomError(
                "empty_period",
                "{rule}: a period needs a start date, an end date or both",
                {"rule": empty_rule},
            )
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise PydanticCustomError(
                "period_order",
                "{rule}: the end date {end} is before the start date {start}",
                {"rule": order_rule, "end": self.end_date.isoformat(), "start": self.start_date.isoformat()},
            )
        return self


class InvoicingPeriod(Period):
    """BG-14 INVOICING PERIOD."""

    _rules: ClassVar[tuple[str, str]] = ("BR-CO-19", "BR-29")


class LinePeriod(Period):
    """BG-26 INVOICE LINE PERIOD."""

    _rules: ClassVar[tuple[str, str]] = ("BR-CO-20", "BR-30")


class LocationIdentifier(_Model):
    """BT-71 Deliver to location identifier, with scheme BT-71-1."""

    value: Text = Field(description="BT-71 Deliver to location identifier.")
    scheme: LocationScheme | None = Field(default=None, description="BT-71-1 scheme (ISO 6523).")


class Delivery(_Model):
    """BG-13 DELIVERY INFORMATION."""

    party_name: Text | None = Field(default=None, description="BT-70 Deliver to party name.")
    location_identifier: LocationIdentifier | None = Field(
        default=None, description="BT-71 Deliver to location identifier (scheme BT-71-1)."
    )
    actual_delivery_date: date | None = Field(default=None, description="BT-72 Actual delivery date.")
    address: Address | None = Field(default=None, description="BG-15 DELIVER TO ADDRESS.")


# ---------------------------------------------------------------------------- payment


class CreditTransfer(_Model):
    """BG-17 CREDIT TRANSFER."""

    account_identifier: Text = Field(
        description="BT-84 Payment account identifier (an IBAN for SEPA payments)."
    )
    account_name: Text | None = Field(default=None, description="BT-85 Payment account name.")
    service_provider_identifier: Text | None = Field(
        default=None, description="BT-86 Payment service provider identifier (BIC)."
    )


class PaymentCard(_Model):
    """BG-18 PAYMENT CARD INFORMATION."""

    primary_account_number: Text = Field(
        description="BT-87 Payment card primary account number: only the last 4 to 6 digits."
    )
    holder_name: Text | None = Field(default=None, description="BT-88 Payment card holder name.")

    @model_validator(mode="after")
    def _masked(self) -> PaymentCard:
        digits = [c for c in self.primary_account_number if c.isdigit()]
        if len(digits) > 6:
            raise PydanticCustomError(
                "card_number_unmasked",
                "BT-87: give only the last 4 to 6 digits of a card number (PCI DSS), never the full number",
            )
        return self


class DirectDebit(_Model):
    """BG-19 DIRECT DEBIT."""

    mandate_reference: Text | None = Field(default=None, description="BT-89 Mandate reference identifier.")
    creditor_identifier: Text | None = Field(
        default=None, description="BT-90 Bank assigned creditor identifier (SEPA creditor id)."
    )
    debited_account_identifier: Text | None = Field(
        default=None, description="BT-91 Debited account identifier (IBAN)."
    )


class PaymentInstructions(_Model):
    """BG-16 PAYMENT INSTRUCTIONS."""

    means_code: PaymentMeansCode = Field(
        description="BT-81 Payment means type code (UNTDID 4461): 30 credit transfer, "
        "58 SEPA credit transfer, 59 SEPA direct debit, 48 bank card…"
    )
    means_text: Text | None = Field(default=None, description="BT-82 Payment means text.")
    remittance_information: Text | None = Field(
        default=None, description="BT-83 Remittance information (the payment reference)."
    )
    credit_transfers: list[CreditTransfer] = Field(
        default_factory=list, description="BG-17 CREDIT TRANSFER (one per account)."
    )
    payment_card: PaymentCard | None = Field(default=None, description="BG-18 PAYMENT CARD INFORMATION.")
    direct_debit: DirectDebit | None = Field(default=None, description="BG-19 DIRECT DEBIT.")


# ---------------------------------------------------------------------------- allowances


class _AllowanceChargeBase(_Model):
    amount: Amount | None = Field(
        default=None,
        description="Amount without VAT: BT-92 / BT-99 (document), BT-136 / BT-141 (line). "
        "Derived from base amount × percentage when left out.",
    )
    base_amount: Amount | None = Field(
        default=None, description="Base amount: BT-93 / BT-100 (document), BT-137 / BT-142 (line)."
    )
    percentage: Percent | None = Field(
        default=None, description="Percentage: BT-94 / BT-101 (document), BT-138 / BT-143 (line)."
    )
    reason: Text | None = Field(
        default=None, description="Reason: BT-97 / BT-104 (document), BT-139 / BT-144 (line)."
    )


class _DocumentAllowanceChargeBase(_AllowanceChargeBase):
    vat_category_code: VatCategoryCode = Field(
        description="VAT category code: BT-95 (allowance) / BT-102 (charge)."
    )
    vat_rate: VatRate | None = Field(
        default=None, description="VAT rate in percent: BT-96 (allowance) / BT-103 (charge)."
    )


class DocumentAllowance(_DocumentAllowanceChargeBase):
    """BG-20 DOCUMENT LEVEL ALLOWANCES."""

    reason_code: AllowanceReasonCode | None = Field(
        default=None, description="BT-98 Document level allowance reason code (UNTDID 5189)."
    )


class DocumentCharge(_DocumentAllowanceChargeBase):
    """BG-21 DOCUMENT LEVEL CHARGES."""

    reason_code: ChargeReasonCode | None = Field(
        default=None, description="BT-105 Document level charge reason code (UNTDID 7161)."
    )


class LineAllowance(_AllowanceChargeBase):
    """BG-27 INVOICE LINE ALLOWANCES."""

    reason_code: AllowanceReasonCode | None = Field(
        default=None, description="BT-140 Invoice line allowance reason code (UNTDID 5189)."
    )


class LineCharge(_AllowanceChargeBase):
    """BG-28 INVOICE LINE CHARGES."""

    reason_code: ChargeReasonCode | None = Field(
        default=None, description="BT-145 Invoice line charge reason code (UNTDID 7161)."
    )


AllowanceOrCharge = DocumentAllowance | DocumentCharge | LineAllowance | LineCharge


# ---------------------------------------------------------------------------- totals, VAT


class DocumentTotals(_Model):
    """BG-22 DOCUMENT TOTALS. All derived, except BT-111, BT-113 and BT-114, which are given."""

    line_net_total: Amount | None = Field(
        default=None, description="BT-106 Sum of Invoice line net amount (derived)."
    )
    allowance_total: Amount | None = Field(
        default=None, description="BT-107 Sum of allowances on document level (derived)."
    )
    charge_total: Amount | None = Field(
        default=None, description="BT-108 Sum of charges on document level (derived)."
    )
    tax_exclusive_amount: Amount | None = Field(
        default=None, description="BT-109 Invoice total amount without VAT (derived)."
    )
    vat_total: Amount | None = Field(default=None, description="BT-110 Invoice total VAT amount (derived).")
    vat_total_in_tax_currency: Amount | None = Field(
        default=None,
        description="BT-111 Invoice total VAT amount in accounting currency (BT-6); given.",
    )
    tax_inclusive_amount: Amount | None = Field(
        default=None, description="BT-112 Invoice total amount with VAT (derived)."
    )
    paid_amount: Amount | None = Field(default=None, description="BT-113 Paid amount; given.")
    rounding_amount: Amount | None = Field(default=None, description="BT-114 Rounding amount; given.")
    amount_due: Amount | None = Field(default=None, description="BT-115 Amount due for payment (derived).")


class VatBreakdown(_Model):
    """BG-23 VAT BREAKDOWN: one per VAT category and rate."""

    taxable_amount: Amount | None = Field(
        default=None, description="BT-116 VAT category taxable amount (derived)."
    )
    tax_amount: Amount | None = Field(default=None, description="BT-117 VAT category tax amount (derived).")
    category_code: VatCategoryCode = Field(
        description="BT-118 VAT category code (UNTDID 5305): S, Z, E, AE, K, G, O, L, M."
    )
    rate: VatRate | None = Field(
        default=None, description="BT-119 VAT category rate in percent (absent for O)."
    )
    exemption_reason: Text | None = Field(default=None, description="BT-120 VAT exemption reason text.")
    exemption_reason_code: VatExemptionCode | None = Field(
        default=None, description="BT-121 VAT exemption reason code (CEF VATEX)."
    )


# ---------------------------------------------------------------------------- references


def _decode_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError(
                "base64", "BT-125: the attachment content is not valid base64"
            ) from None
    return value


Base64Content = Annotated[
    bytes,
    BeforeValidator(_decode_base64),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
    Field(json_schema_extra={"contentEncoding": "base64"}),
]


class Attachment(_Model):
    """BT-125 Attached document, with BT-125-1 MIME code and BT-125-2 file name."""

    content: Base64Content = Field(description="BT-125 Attached document (base64 in JSON).")
    mime_code: MimeCode = Field(description="BT-125-1 Attached document MIME code.")
    filename: Text = Field(description="BT-125-2 Attached document filename.")


class SupportingDocument(_Model):
    """BG-24 ADDITIONAL SUPPORTING DOCUMENTS."""

    reference: Text = Field(description="BT-122 Supporting document reference.")
    description: Text | None = Field(default=None, description="BT-123 Supporting document description.")
    external_location: Text | None = Field(
        default=None, description="BT-124 External document location (a URL)."
    )
    attachment: Attachment | None = Field(default=None, description="BT-125 Attached document (embedded).")


class ObjectIdentifier(_Model):
    """An invoiced object identifier: BT-18 (document), BT-128 (line)."""

    value: Text = Field(description="BT-18 / BT-128 Invoiced object identifier.")
    scheme: ObjectScheme | None = Field(
        default=None, description="BT-18-1 / BT-128-1 scheme identifier (UNTDID 1153)."
    )


class PrecedingInvoice(_Model):
    """BG-3 PRECEDING INVOICE REFERENCE."""

    reference: Text = Field(description="BT-25 Preceding Invoice reference.")
    issue_date: date | None = Field(default=None, description="BT-26 Preceding Invoice issue date.")


class Note(_Model):
    """BG-1 INVOICE NOTE."""

    subject_code: Text | None = Field(
        default=None, description="BT-21 Invoice note subject code (UNTDID 4451)."
    )
    text: Text = Field(description="BT-22 Invoice note.")


class ProcessControl(_Model):
    """BG-2 PROCESS CONTROL."""

    business_process: Text | None = Field(
        default=None, description="BT-23 Business process type (e.g. the Peppol ProfileID)."
    )
    specification_identifier: Text | None = Field(
        default=None,
        description="BT-24 Specification identifier (CustomizationID). Set by the output "
        "profile when left out, e.g. urn:cen.eu:en16931:2017.",
    )


# ---------------------------------------------------------------------------- lines


class PriceDetails(_Model):
    """BG-29 PRICE DETAILS."""

    net_amount: UnitPrice | None = Field(
        default=None,
        description="BT-146 Item net price; derived as gross price minus discount when left out.",
    )
    discount: UnitPrice | None = Field(
        default=None, description="BT-147 Item price discount (per unit, not a percentage)."
    )
    gross_amount: UnitPrice | None = Field(default=None, description="BT-148 Item gross price.")
    base_quantity: BaseQuantity | None = Field(
        default=None, description="BT-149 Item price base quantity (1 when left out)."
    )
    base_quantity_unit_code: UnitCode | None = Field(
        default=None, description="BT-150 Item price base quantity unit of measure code."
    )

    @model_validator(mode="after")
    def _priced(self) -> PriceDetails:
        if self.net_amount is None and self.gross_amount is None:
            raise PydanticCustomError(
                "missing_price", "BT-146: give the item net price, or the gross price (BT-148)"
            )
        if self.discount is not None and self.gross_amount is None:
            raise PydanticCustomError(
                "discount_without_gross",
                "BT-147: a price discount needs the item gross price (BT-148)",
            )
        return self


class LineVat(_Model):
    """BG-30 LINE VAT INFORMATION."""

    category_code: VatCategoryCode = Field(description="BT-151 Invoiced item VAT category code.")
    rate: VatRate | None = Field(
        default=None, description="BT-152 Invoiced item VAT rate (absent for category O)."
    )


class ItemClassification(_Model):
    """BT-158 Item classification identifier with BT-158-1 scheme and BT-158-2 version."""

    value: Text = Field(description="BT-158 Item classification identifier.")
    scheme: ItemClassificationScheme = Field(
        description="BT-158-1 Scheme identifier (UNTDID 7143), e.g. STI for CPV, TSP for UNSPSC."
    )
    scheme_version: Text | None = Field(default=None, description="BT-158-2 Scheme version.")


class StandardIdentifier(_Model):
    """BT-157 Item standard identifier (e.g. a GTIN), scheme BT-157-1 mandatory (BR-64)."""

    value: Text = Field(description="BT-157 Item standard identifier.")
    scheme: ItemStandardScheme = Field(description="BT-157-1 scheme (ISO 6523), 0160 for GTIN.")


class ItemAttribute(_Model):
    """BG-32 ITEM ATTRIBUTES."""

    name: Text = Field(description="BT-160 Item attribute name.")
    value: Text = Field(description="BT-161 Item attribute value.")


class Item(_Model):
    """BG-31 ITEM INFORMATION."""

    name: Text = Field(description="BT-153 Item name.")
    description: Text | None = Field(default=None, description="BT-154 Item description.")
    sellers_identifier: Text | None = Field(default=None, description="BT-155 Item Seller's identifier.")
    buyers_identifier: Text | None = Field(default=None, description="BT-156 Item Buyer's identifier.")
    standard_identifier: StandardIdentifier | None = Field(
        default=None, description="BT-157 Item standard identifier (scheme BT-157-1)."
    )
    classifications: list[ItemClassification] = Field(
        default_factory=list, description="BT-158 Item classification identifier(s)."
    )
    origin_country: CountryCode | None = Field(
        default=None, description="BT-159 Item country of origin (ISO 3166-1 alpha-2)."
    )
    attributes: list[ItemAttribute] = Field(default_factory=list, description="BG-32 ITEM ATTRIBUTES.")


class InvoiceLine(_Model):
    """BG-25 INVOICE LINE."""

    id: Text = Field(description="BT-126 Invoice line identifier, unique in the invoice.")
    note: Text | None = Field(default=None, description="BT-127 Invoice line note.")
    object_identifier: ObjectIdentifier | None = Field(
        default=None, description="BT-128 Invoice line object identifier (scheme BT-128-1)."
    )
    quantity: Quantity = Field(description="BT-129 Invoiced quantity.")
    unit_code: UnitCode = Field(
        description="BT-130 Invoiced quantity unit of measure code (UN/ECE Rec 20/21), "
        "e.g. C62 piece, HUR hour, KGM kilogram."
    )
    net_amount: Amount | None = Field(default=None, description="BT-131 Invoice line net amount (derived).")
    order_line_reference: Text | None = Field(
        default=None, description="BT-132 Referenced purchase order line reference."
    )
    buyer_accounting_reference: Text | None = Field(
        default=None, description="BT-133 Invoice line Buyer accounting reference."
    )
    period: LinePeriod | None = Field(default=None, description="BG-26 INVOICE LINE PERIOD.")
    allowances: list[LineAllowance] = Field(
        default_factory=list, description="BG-27 INVOICE LINE ALLOWANCES."
    )
    charges: list[LineCharge] = Field(default_factory=list, description="BG-28 INVOICE LINE CHARGES.")
    price: PriceDetails = Field(description="BG-29 PRICE DETAILS.")
    vat: LineVat = Field(description="BG-30 LINE VAT INFORMATION.")
    item: Item = Field(description="BG-31 ITEM INFORMATION.")


# ---------------------------------------------------------------------------- invoice


class Invoice(_Model):
    """The invoice (or credit note): EN 16931, every business group and term."""

    number: Text = Field(description="BT-1 Invoice number.")
    issue_date: date = Field(description="BT-2 Invoice issue date.")
    type_code: InvoiceTypeCode = Field(
        description="BT-3 Invoice type code (UNTDID 1001): 380 commercial invoice, 381 credit "
        "note, 384 corrected invoice, 389 self-billed invoice, 751 invoice information for "
        "accounting purposes, 326 partial invoice…"
    )
    currency_code: CurrencyCode = Field(description="BT-5 Invoice currency code (ISO 4217).")
    tax_currency_code: CurrencyCode | None = Field(
        default=None, description="BT-6 VAT accounting currency code (ISO 4217)."
    )
    tax_point_date: date | None = Field(default=None, description="BT-7 Value added tax point date.")
    tax_point_date_code: VatDateCode | None = Field(
        default=None,
        description="BT-8 Value added tax point date code (UNTDID 2005: 3 issue date, "
        "35 delivery date, 432 paid-to date).",
    )
    due_date: date | None = Field(default=None, description="BT-9 Payment due date.")
    buyer_reference: Text | None = Field(
        default=None, description="BT-10 Buyer reference (the Leitweg-ID for XRechnung)."
    )
    project_reference: Text | None = Field(default=None, description="BT-11 Project reference.")
    contract_reference: Text | None = Field(default=None, description="BT-12 Contract reference.")
    purchase_order_reference: Text | None = Field(default=None, description="BT-13 Purchase order reference.")
    sales_order_reference: Text | None = Field(default=None, description="BT-14 Sales order reference.")
    receiving_advice_reference: Text | None = Field(
        default=None, description="BT-15 Receiving advice reference."
    )
    despatch_advice_reference: Text | None = Field(
        default=None, description="BT-16 Despatch advice reference."
    )
    tender_or_lot_reference: Text | None = Field(default=None, description="BT-17 Tender or lot reference.")
    invoiced_object_identifier: ObjectIdentifier | None = Field(
        default=None, description="BT-18 Invoiced object identifier (scheme BT-18-1)."
    )
    buyer_accounting_reference: Text | None = Field(
        default=None, description="BT-19 Buyer accounting reference."
    )
    payment_terms: Text | None = Field(default=None, description="BT-20 Payment terms.")
    notes: list[Note] = Field(default_factory=list, description="BG-1 INVOICE NOTE.")
    process_control: ProcessControl = Field(
        default_factory=ProcessControl, description="BG-2 PROCESS CONTROL."
    )
    preceding_invoices: list[PrecedingInvoice] = Field(
        default_factory=list, description="BG-3 PRECEDING INVOICE REFERENCE."
    )
    seller: Seller = Field(description="BG-4 SELLER.")
    buyer: Buyer = Field(description="BG-7 BUYER.")
    payee: Payee | None = Field(default=None, description="BG-10 PAYEE.")
    tax_representative: TaxRepresentative | None = Field(
        default=None, description="BG-11 SELLER TAX REPRESENTATIVE PARTY."
    )
    delivery: Delivery | None = Field(default=None, description="BG-13 DELIVERY INFORMATION.")
    invoicing_period: InvoicingPeriod | None = Field(
        default=None, description="BG-14 INVOICING PERIOD (part of BG-13 in the semantic model)."
    )
    payment_instructions: PaymentInstructions | None = Field(
        default=None, description="BG-16 PAYMENT INSTRUCTIONS."
    )
    allowances: list[DocumentAllowance] = Field(
        default_factory=list, description="BG-20 DOCUMENT LEVEL ALLOWANCES."
    )
    charges: list[DocumentCharge] = Field(default_factory=list, description="BG-21 DOCUMENT LEVEL CHARGES.")
    totals: DocumentTotals = Field(default_factory=DocumentTotals, description="BG-22 DOCUMENT TOTALS.")
    vat_breakdown: list[VatBreakdown] = Field(
        default_factory=list,
        description="BG-23 VAT BREAKDOWN (derived; give entries only to carry exemption "
        "reasons BT-120/BT-121, which cannot be derived).",
    )
    supporting_documents: list[SupportingDocument] = Field(
        default_factory=list, description="BG-24 ADDITIONAL SUPPORTING DOCUMENTS."
    )
    lines: list[InvoiceLine] = Field(
        description="BG-25 INVOICE LINE: 1..n in EN 16931 (BR-16, checked with the other "
        "business rules); empty only in a summary read from a Factur-X MINIMUM or BASIC WL "
        "document, whose lines are in its PDF."
    )

    @property
    def is_summary(self) -> bool:
        """No lines: a Factur-X MINIMUM / BASIC WL summary, whose totals are as stated."""
        return not self.lines

    @property
    def is_credit_note(self) -> bool:
        """True for the UNTDID 1001 codes that EN 16931 syntaxes carry as a credit note."""
        return self.type_code in CREDIT_NOTE_TYPE_CODES
