"""Canonical invoice → UN/CEFACT Cross Industry Invoice D16B, in a Factur-X or XRechnung profile.

``to_xml(invoice, profile)`` first checks the invoice fits the profile (lines where the
profile needs them, no business term the profile cannot carry, the profile's national
requirements), then calculates it, then writes every business term the profile carries in
the element order of the CII D16B XSD (sequences: the order is part of validity), as the
CEN EN 16931 CII binding places them. The same invoice always gives byte-identical XML.

Credit notes keep the ``rsm:CrossIndustryInvoice`` root: the type code (381…) says what the
document is, and amounts are written with the signs the model holds (positive for a
credit note, as EN 16931 states them).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from formats.cii.ns import NAMESPACES
from formats.cii.profiles import EN16931, Profile, profile_for_guideline
from formats.errors import SerializeError
from formats.invoice.calculate import RoundingRule
from formats.invoice.model import (
    Address,
    AllowanceOrCharge,
    Contact,
    DocumentAllowance,
    DocumentCharge,
    Invoice,
    InvoiceLine,
    LegalRegistration,
    Period,
)
from formats.invoice.prepare import calculated
from formats.invoice.problems import Problem, json_path, problem_at
from formats.invoice.terms import TERMS, term_for_path

DATE_FORMAT = "102"  # UNTDID 2379: CCYYMMDD
SUPPORTING_DOCUMENT_CODE = "916"  # UNTDID 1001: related document (BG-24)
TENDER_CODE = "50"  # UNTDID 1001: price/sales catalogue, used for BT-17
OBJECT_IDENTIFIER_CODE = "130"  # UNTDID 1001: invoicing data sheet (BT-18, BT-128)
PROJECT_NAME = "Project reference"  # ram:Name is mandatory; EN 16931 has no term for it
# Profiles checked against the CEN's UN/CEFACT CII D16B XSD, where BG-3 is 0..1 (the
# Factur-X 1.09 XSDs allow several)
ONE_PRECEDING_INVOICE = frozenset({"en16931", "xrechnung"})

# BT-8: the model holds UNTDID 2005 (as UBL); CII binds it to UNTDID 2475
VAT_DATE_CODES_2475 = {"3": "5", "35": "29", "432": "72"}
# line 1, line 2, line 3, city, post code, subdivision, country: per role
_SELLER_ADDRESS = ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40")
_BUYER_ADDRESS = ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55")
_TAX_REP_ADDRESS = ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69")
_DELIVERY_ADDRESS = ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def _num(value: Decimal) -> str:
    return format(value, "f")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


class _Tags(dict[str, str]):
    """``TAGS["ram:Name"]`` → ``{urn:…:100}Name``, worked out once per name."""

    def __missing__(self, name: str) -> str:
        prefix, local = name.split(":")
        tag = self[name] = f"{{{NAMESPACES[prefix]}}}{local}"
        return tag


TAGS = _Tags()
_Node = etree._Element


class _Writer:
    def __init__(
        self, invoice: Invoice, profile: Profile, *, received: bool = False, stated: Invoice | None = None
    ) -> None:
        self.inv = invoice
        self.profile = profile
        # a document received from a third party: write what it states, invent nothing
        self.received = received
        # the invoice as given, before calculation: for a received document, an optional
        # derived term the sender left out (BT-110) stays out
        self.stated = stated if received else None
        self.currency = invoice.currency_code
        # (category, rate) → (exemption reason, code) of the VAT breakdown
        self.exemptions = {
            (b.category_code, b.rate): (b.exemption_reason, b.exemption_reason_code)
            for b in invoice.vat_breakdown
        }

    # -------------------------------------------------------------- helpers

    def on(self, term: str) -> bool:
        return self.profile.carries(term) or (self.received and term in self.profile.received_terms)

    def el(self, parent: _Node, tag: str, text: str | None = None, /, **attrs: str | None) -> _Node:
        node = etree.SubElement(parent, TAGS[tag])
        if text is not None:
            node.text = text
        for key, value in attrs.items():
            if value is not None:
                node.set(key, value)
        return node

    def opt(self, parent: _Node, term: str, tag: str, text: str | None, /, **attrs: str | None) -> None:
        if text is not None and self.on(term):
            self.el(parent, tag, text, **attrs)

    def amount(self, parent: _Node, term: str, tag: str, value: Decimal | None) -> None:
        if value is not None and self.on(term):
            self.el(parent, tag, _num(value))

    def date_time(self, parent: _Node, tag: str, value: date, kind: str = "udt") -> None:
        self.el(self.el(parent, tag), f"{kind}:DateTimeString", _day(value), format=DATE_FORMAT)

    def category(self, parent: _Node, tag: str, category: str, rate: Decimal | None) -> None:
        """A line's or allowance's VAT category (BG-30, BT-95/96, BT-102/103)."""
        tax = self.el(parent, tag)
        self.el(tax, "ram:TypeCode", "VAT")
        reason, code = self.exemptions.get((category, rate), (None, None))
        if not self.profile.item_exemption_reasons:
            reason = code = None
        if reason is not None:
            self.el(tax, "ram:ExemptionReason", reason)
        self.el(tax, "ram:CategoryCode", category)
        if code is not None:
            self.el(tax, "ram:ExemptionReasonCode", code)
        if rate is not None:
            self.el(tax, "ram:RateApplicablePercent", _num(rate))

    def identifier(self, parent: _Node, term: str, value: str, scheme: str | None) -> None:
        """BT-29/46/60/71: ``ram:ID`` without a scheme, ``ram:GlobalID`` with one."""
        if not self.on(term):
            return
        if scheme is None:
            self.el(parent, "ram:ID", value)
        elif self.on(f"{term}-1"):
            self.el(parent, "ram:GlobalID", value, schemeID=scheme)

    def identifiers(self, parent: _Node, term: str, items: Sequence[tuple[str, str | None]]) -> None:
        # the XSD sequence: every ram:ID, then every ram:GlobalID
        for value, scheme in items:
            if scheme is None:
                self.identifier(parent, term, value, None)
        for value, scheme in items:
            if scheme is not None:
                self.identifier(parent, term, value, scheme)

    # -------------------------------------------------------------- document

    def _guideline_id(self) -> str:
        """BT-24: the profile's id; a received document keeps its own where it means this profile.

        A ZUGFeRD 2.0 BASIC id stays a ZUGFeRD 2.0 BASIC id when written back as BASIC, and a
        plain EN 16931 document keeps whatever specification id it states (as the UBL writer
        does): converting must not rewrite what the sender declared.
        """
        stated = self.inv.process_control.specification_identifier
        if self.received and stated:
            meant = profile_for_guideline(stated)
            if meant is self.profile or (meant is None and self.profile is EN16931):
                return stated
        return self.profile.guideline_id

    def build(self) -> _Node:
        inv = self.inv
        root = etree.Element(TAGS["rsm:CrossIndustryInvoice"], nsmap=NAMESPACES)
        context = self.el(root, "rsm:ExchangedDocumentContext")
        # the profile's business process (BT-23) is for invoices issued here, not received ones
        process = inv.process_control.business_process or (
            None if self.received else self.profile.business_process
        )
        if process and self.on("BT-23"):
            self.el(
                self.el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", process
            )
        guideline = self.el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
        self.el(guideline, "ram:ID", self._guideline_id())

        document = self.el(root, "rsm:ExchangedDocument")
        self.el(document, "ram:ID", inv.number)
        self.el(document, "ram:TypeCode", inv.type_code)
        self.date_time(document, "ram:IssueDateTime", inv.issue_date)
        if self.on("BG-1"):
            for note in inv.notes:
                included = self.el(document, "ram:IncludedNote")
                self.el(included, "ram:Content", note.text)
                self.opt(included, "BT-21", "ram:SubjectCode", note.subject_code)

        transaction = self.el(root, "rsm:SupplyChainTradeTransaction")
        if self.profile.carries_lines:
            for line in inv.lines:
                self.line(transaction, line)
        self.agreement(self.el(transaction, "ram:ApplicableHeaderTradeAgreement"))
        self.delivery(self.el(transaction, "ram:ApplicableHeaderTradeDelivery"))
        self.settlement(self.el(transaction, "ram:ApplicableHeaderTradeSettlement"))
        return root

    # -------------------------------------------------------------- parties

    def address(self, parent: _Node, group: str, address: Address | None, ids: tuple[str, ...]) -> None:
        if address is None or not self.on(group):
            return
        line1, line2, line3, city, post, sub, _country = ids
        node = self.el(parent, "ram:PostalTradeAddress")
        self.opt(node, post, "ram:PostcodeCode", address.post_code)
        self.opt(node, line1, "ram:LineOne", address.line1)
        self.opt(node, line2, "ram:LineTwo", address.line2)
        self.opt(node, line3, "ram:LineThree", address.line3)
        self.opt(node, city, "ram:CityName", address.city)
        self.el(node, "ram:CountryID", address.country_code)
        self.opt(node, sub, "ram:CountrySubDivisionName", address.country_subdivision)

    def contact(self, parent: _Node, group: str, contact: Contact | None, ids: tuple[str, str, str]) -> None:
        if contact is None or not self.on(group):
            return
        name, phone, email = ids
        node = self.el(parent, "ram:DefinedTradeContact")
        self.opt(node, name, "ram:PersonName", contact.name)
        if contact.telephone and self.on(phone):
            self.el(
                self.el(node, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", contact.telephone
            )
        if contact.email and self.on(email):
            self.el(self.el(node, "ram:EmailURIUniversalCommunication"), "ram:URIID", contact.email)

    def legal_organization(
        self,
        party: _Node,
        term: str,
        registration: LegalRegistration | None,
        trading_term: str,
        trading: str | None,
    ) -> None:
        has_id = registration is not None and self.on(term)
        has_name = trading is not None and self.on(trading_term)
        if not (has_id or has_name):
            return
        node = self.el(party, "ram:SpecifiedLegalOrganization")
        if has_id and registration is not None:
            scheme = registration.scheme if self.on(f"{term}-1") else None
            self.el(node, "ram:ID", registration.value, schemeID=scheme)
        if has_name:
            self.el(node, "ram:TradingBusinessName", trading)

    def tax_registration(self, party: _Node, term: str, value: str | None, scheme: str) -> None:
        if value is not None and self.on(term):
            self.el(self.el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", value, schemeID=scheme)

    def electronic_address(self, party: _Node, term: str, value: str | None, scheme: str | None) -> None:
        if value is not None and self.on(term):
            self.el(self.el(party, "ram:URIUniversalCommunication"), "ram:URIID", value, schemeID=scheme)

    def seller(self, parent: _Node) -> None:
        seller = self.inv.seller
        party = self.el(parent, "ram:SellerTradeParty")
        self.identifiers(party, "BT-29", [(i.value, i.scheme) for i in seller.identifiers])
        self.el(party, "ram:Name", seller.name)
        self.opt(party, "BT-33", "ram:Description", seller.additional_legal_information)
        self.legal_organization(party, "BT-30", seller.legal_registration, "BT-28", seller.trading_name)
        self.contact(party, "BG-6", seller.contact, ("BT-41", "BT-42", "BT-43"))
        self.address(party, "BG-5", seller.address, _SELLER_ADDRESS)
        address = seller.electronic_address
        if address is not None:
            self.electronic_address(party, "BT-34", address.value, address.scheme)
        self.tax_registration(party, "BT-31", seller.vat_identifier, "VA")
        self.tax_registration(party, "BT-32", seller.tax_registration_identifier, "FC")

    def buyer(self, parent: _Node) -> None:
        buyer = self.inv.buyer
        party = self.el(parent, "ram:BuyerTradeParty")
        if buyer.identifier is not None:
            self.identifiers(party, "BT-46", [(buyer.identifier.value, buyer.identifier.scheme)])
        self.el(party, "ram:Name", buyer.name)
        self.legal_organization(party, "BT-47", buyer.legal_registration, "BT-45", buyer.trading_name)
        self.contact(party, "BG-9", buyer.contact, ("BT-56", "BT-57", "BT-58"))
        self.address(party, "BG-8", buyer.address, _BUYER_ADDRESS)
        address = buyer.electronic_address
        if address is not None:
            self.electronic_address(party, "BT-49", address.value, address.scheme)
        self.tax_registration(party, "BT-48", buyer.vat_identifier, "VA")

    def tax_representative(self, parent: _Node) -> None:
        rep = self.inv.tax_representative
        if rep is None or not self.on("BG-11"):
            return
        party = self.el(parent, "ram:SellerTaxRepresentativeTradeParty")
        self.el(party, "ram:Name", rep.name)
        self.address(party, "BG-12", rep.address, _TAX_REP_ADDRESS)
        self.tax_registration(party, "BT-63", rep.vat_identifier, "VA")

    def payee(self, parent: _Node) -> None:
        payee = self.inv.payee
        if payee is None or not self.on("BG-10"):
            return
        party = self.el(parent, "ram:PayeeTradeParty")
        if payee.identifier is not None:
            self.identifiers(party, "BT-60", [(payee.identifier.value, payee.identifier.scheme)])
        self.el(party, "ram:Name", payee.name)
        self.legal_organization(party, "BT-61", payee.legal_registration, "", None)

    # -------------------------------------------------------------- agreement, delivery

    def referenced(self, parent: _Node, term: str, tag: str, value: str | None) -> None:
        if value is not None and self.on(term):
            self.el(self.el(parent, tag), "ram:IssuerAssignedID", value)

    def agreement(self, node: _Node) -> None:
        inv = self.inv
        self.opt(node, "BT-10", "ram:BuyerReference", inv.buyer_reference)
        self.seller(node)
        self.buyer(node)
        self.tax_representative(node)
        self.referenced(node, "BT-14", "ram:SellerOrderReferencedDocument", inv.sales_order_reference)
        self.referenced(node, "BT-13", "ram:BuyerOrderReferencedDocument", inv.purchase_order_reference)
        self.referenced(node, "BT-12", "ram:ContractReferencedDocument", inv.contract_reference)
        self.additional_documents(node)
        if inv.project_reference is not None and self.on("BT-11"):
            project = self.el(node, "ram:SpecifiedProcuringProject")
            self.el(project, "ram:ID", inv.project_reference)
            self.el(project, "ram:Name", PROJECT_NAME)

    def additional_documents(self, node: _Node) -> None:
        """BG-24 (type code 916), BT-17 (50) and BT-18 (130), in the header agreement."""
        inv = self.inv
        if self.on("BG-24"):
            # Every supporting document is written whole. The CEN CII rules warn (CII-SR-475/476,
            # warnings, not errors) when more than one carries a description or an attachment;
            # EN 16931 allows 0..n of each, and leaving a buyer's document out would lose it.
            for doc in inv.supporting_documents:
                ref = self.el(node, "ram:AdditionalReferencedDocument")
                self.el(ref, "ram:IssuerAssignedID", doc.reference)
                self.opt(ref, "BT-124", "ram:URIID", doc.external_location)
                self.el(ref, "ram:TypeCode", SUPPORTING_DOCUMENT_CODE)
                self.opt(ref, "BT-123", "ram:Name", doc.description)
                if doc.attachment is not None and self.on("BT-125"):
                    self.el(
                        ref,
                        "ram:AttachmentBinaryObject",
                        base64.b64encode(doc.attachment.content).decode("ascii"),
                        mimeCode=doc.attachment.mime_code,
                        filename=doc.attachment.filename,
                    )
        if inv.tender_or_lot_reference is not None and self.on("BT-17"):
            ref = self.el(node, "ram:AdditionalReferencedDocument")
            self.el(ref, "ram:IssuerAssignedID", inv.tender_or_lot_reference)
            self.el(ref, "ram:TypeCode", TENDER_CODE)
        obj = inv.invoiced_object_identifier
        if obj is not None and self.on("BT-18"):
            ref = self.el(node, "ram:AdditionalReferencedDocument")
            self.el(ref, "ram:IssuerAssignedID", obj.value)
            self.el(ref, "ram:TypeCode", OBJECT_IDENTIFIER_CODE)
            self.opt(ref, "BT-18-1", "ram:ReferenceTypeCode", obj.scheme)

    def delivery(self, node: _Node) -> None:
        inv = self.inv
        delivery = inv.delivery
        if delivery is not None and self.on("BG-13"):
            location = delivery.location_identifier
            ship_to_terms = (
                (location is not None and self.on("BT-71"))
                or (delivery.party_name is not None and self.on("BT-70"))
                or (delivery.address is not None and self.on("BG-15"))
            )
            if ship_to_terms:
                party = self.el(node, "ram:ShipToTradeParty")
                if location is not None:
                    self.identifiers(party, "BT-71", [(location.value, location.scheme)])
                self.opt(party, "BT-70", "ram:Name", delivery.party_name)
                self.address(
                    party,
                    "BG-15",
                    delivery.address,
                    _DELIVERY_ADDRESS,
                )
            if delivery.actual_delivery_date is not None and self.on("BT-72"):
                event = self.el(node, "ram:ActualDeliverySupplyChainEvent")
                self.date_time(event, "ram:OccurrenceDateTime", delivery.actual_delivery_date)
        self.referenced(node, "BT-16", "ram:DespatchAdviceReferencedDocument", inv.despatch_advice_reference)
        self.referenced(
            node, "BT-15", "ram:ReceivingAdviceReferencedDocument", inv.receiving_advice_reference
        )
        fallback = self.profile.delivery_country_fallback and not self.received
        if len(node) == 0 and fallback and inv.buyer.address is not None:
            address = self.el(self.el(node, "ram:ShipToTradeParty"), "ram:PostalTradeAddress")
            self.el(address, "ram:CountryID", inv.buyer.address.country_code)

    # -------------------------------------------------------------- settlement

    def settlement(self, node: _Node) -> None:
        inv = self.inv
        pay = inv.payment_instructions
        debit = pay.direct_debit if pay is not None else None
        if debit is not None:
            self.opt(node, "BT-90", "ram:CreditorReferenceID", debit.creditor_identifier)
        if pay is not None:
            self.opt(node, "BT-83", "ram:PaymentReference", pay.remittance_information)
        if inv.tax_currency_code is not None and self.on("BT-6"):
            self.el(node, "ram:TaxCurrencyCode", inv.tax_currency_code)
        self.el(node, "ram:InvoiceCurrencyCode", inv.currency_code)
        self.payee(node)
        self.payment_means(node)
        self.vat_breakdown(node)
        if inv.invoicing_period is not None and self.on("BG-14"):
            self.period(node, inv.invoicing_period, "BT-73", "BT-74")
        if self.on("BG-20"):
            for allowance in inv.allowances:
                self.allowance_charge(node, allowance, charge=False)
        if self.on("BG-21"):
            for charge in inv.charges:
                self.allowance_charge(node, charge, charge=True)
        self.payment_terms(node)
        self.monetary_summation(node)
        if self.on("BG-3"):
            preceding_invoices = inv.preceding_invoices
            if self.profile.name in ONE_PRECEDING_INVOICE:
                preceding_invoices = preceding_invoices[:1]
            for preceding in preceding_invoices:
                ref = self.el(node, "ram:InvoiceReferencedDocument")
                self.el(ref, "ram:IssuerAssignedID", preceding.reference)
                if preceding.issue_date is not None and self.on("BT-26"):
                    self.date_time(ref, "ram:FormattedIssueDateTime", preceding.issue_date, "qdt")
        if inv.buyer_accounting_reference is not None and self.on("BT-19"):
            account = self.el(node, "ram:ReceivableSpecifiedTradeAccountingAccount")
            self.el(account, "ram:ID", inv.buyer_accounting_reference)

    def payment_means(self, node: _Node) -> None:
        pay = self.inv.payment_instructions
        if pay is None or not self.on("BG-16"):
            return
        accounts: list[Any] = list(pay.credit_transfers) if self.on("BG-17") else []
        for index, account in enumerate(accounts or [None]):
            # One payment means per account; the text, card and debited account go in the first.
            first = index == 0
            means = self.el(node, "ram:SpecifiedTradeSettlementPaymentMeans")
            self.el(means, "ram:TypeCode", pay.means_code)
            if first:
                self.opt(means, "BT-82", "ram:Information", pay.means_text)
            card = pay.payment_card
            if first and card is not None and self.on("BG-18"):
                financial_card = self.el(means, "ram:ApplicableTradeSettlementFinancialCard")
                self.el(financial_card, "ram:ID", card.primary_account_number)
                self.opt(financial_card, "BT-88", "ram:CardholderName", card.holder_name)
            debit = pay.direct_debit
            if first and debit is not None and debit.debited_account_identifier and self.on("BT-91"):
                payer = self.el(means, "ram:PayerPartyDebtorFinancialAccount")
                self.el(payer, "ram:IBANID", debit.debited_account_identifier)
            if account is not None:
                creditor = self.el(means, "ram:PayeePartyCreditorFinancialAccount")
                iban = _IBAN.match(account.account_identifier.replace(" ", "")) is not None
                if iban:
                    self.el(creditor, "ram:IBANID", account.account_identifier)
                self.opt(creditor, "BT-85", "ram:AccountName", account.account_name)
                if not iban:
                    self.el(creditor, "ram:ProprietaryID", account.account_identifier)
                if account.service_provider_identifier and self.on("BT-86"):
                    institution = self.el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
                    self.el(institution, "ram:BICID", account.service_provider_identifier)

    def vat_breakdown(self, node: _Node) -> None:
        inv = self.inv
        if not self.on("BG-23"):
            return
        due_code = VAT_DATE_CODES_2475.get(inv.tax_point_date_code or "")
        for index, entry in enumerate(inv.vat_breakdown):
            # BT-7 and BT-8 are one value per invoice that CII binds inside the VAT breakdown:
            # CII-SR-461 allows one ram:TaxPointDate in all, and CII-SR-462 repeated
            # ram:DueDateTypeCode only when equal, so both go in the first breakdown only
            first = index == 0
            tax = self.el(node, "ram:ApplicableTradeTax")
            self.amount(tax, "BT-117", "ram:CalculatedAmount", entry.tax_amount)
            self.el(tax, "ram:TypeCode", "VAT")
            self.opt(tax, "BT-120", "ram:ExemptionReason", entry.exemption_reason)
            self.amount(tax, "BT-116", "ram:BasisAmount", entry.taxable_amount)
            self.el(tax, "ram:CategoryCode", entry.category_code)
            self.opt(tax, "BT-121", "ram:ExemptionReasonCode", entry.exemption_reason_code)
            if first and inv.tax_point_date is not None and self.on("BT-7"):
                point = self.el(tax, "ram:TaxPointDate")
                self.el(point, "udt:DateString", _day(inv.tax_point_date), format=DATE_FORMAT)
            if first:
                self.opt(tax, "BT-8", "ram:DueDateTypeCode", due_code)
            if entry.rate is not None and self.on("BT-119"):
                self.el(tax, "ram:RateApplicablePercent", _num(entry.rate))

    def period(self, parent: _Node, period: Period, start: str, end: str) -> None:
        node = self.el(parent, "ram:BillingSpecifiedPeriod")
        if period.start_date is not None and self.on(start):
            self.date_time(node, "ram:StartDateTime", period.start_date)
        if period.end_date is not None and self.on(end):
            self.date_time(node, "ram:EndDateTime", period.end_date)

    def allowance_charge(self, parent: _Node, item: AllowanceOrCharge, *, charge: bool) -> None:
        """BG-20/21 (document level, with their VAT category) and BG-27/28 (line level)."""
        document = isinstance(item, DocumentAllowance | DocumentCharge)
        ids = _ALLOWANCE_TERMS[(document, charge)]
        node = self.el(parent, "ram:SpecifiedTradeAllowanceCharge")
        self.el(self.el(node, "ram:ChargeIndicator"), "udt:Indicator", "true" if charge else "false")
        if item.percentage is not None and self.on(ids["percentage"]):
            self.el(node, "ram:CalculationPercent", _num(item.percentage))
        self.amount(node, ids["base"], "ram:BasisAmount", item.base_amount)
        assert item.amount is not None  # calculate() derived it
        self.el(node, "ram:ActualAmount", _num(item.amount))
        self.opt(node, ids["reason_code"], "ram:ReasonCode", item.reason_code)
        self.opt(node, ids["reason"], "ram:Reason", item.reason)
        if isinstance(item, DocumentAllowance | DocumentCharge):
            self.category(node, "ram:CategoryTradeTax", item.vat_category_code, item.vat_rate)

    def payment_terms(self, node: _Node) -> None:
        inv = self.inv
        debit = inv.payment_instructions.direct_debit if inv.payment_instructions else None
        mandate = debit.mandate_reference if debit is not None and self.on("BT-89") else None
        description = inv.payment_terms if self.on("BT-20") else None
        due = inv.due_date if self.on("BT-9") else None
        if description is None and due is None and mandate is None:
            return
        terms = self.el(node, "ram:SpecifiedTradePaymentTerms")
        if description is not None:
            self.el(terms, "ram:Description", description)
        if due is not None:
            self.date_time(terms, "ram:DueDateDateTime", due)
        if mandate is not None:
            self.el(terms, "ram:DirectDebitMandateID", mandate)

    def monetary_summation(self, node: _Node) -> None:
        inv = self.inv
        t = inv.totals
        total = self.el(node, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        self.amount(total, "BT-106", "ram:LineTotalAmount", t.line_net_total)
        self.amount(total, "BT-108", "ram:ChargeTotalAmount", t.charge_total)
        self.amount(total, "BT-107", "ram:AllowanceTotalAmount", t.allowance_total)
        self.amount(total, "BT-109", "ram:TaxBasisTotalAmount", t.tax_exclusive_amount)
        left_out = self.stated is not None and self.stated.totals.vat_total is None
        if t.vat_total is not None and self.on("BT-110") and not left_out:
            self.el(total, "ram:TaxTotalAmount", _num(t.vat_total), currencyID=self.currency)
        if (
            inv.tax_currency_code is not None
            and t.vat_total_in_tax_currency is not None
            and self.on("BT-111")
            and self.on("BT-6")
        ):
            self.el(
                total,
                "ram:TaxTotalAmount",
                _num(t.vat_total_in_tax_currency),
                currencyID=inv.tax_currency_code,
            )
        self.amount(total, "BT-114", "ram:RoundingAmount", t.rounding_amount)
        self.amount(total, "BT-112", "ram:GrandTotalAmount", t.tax_inclusive_amount)
        self.amount(total, "BT-113", "ram:TotalPrepaidAmount", t.paid_amount)
        self.amount(total, "BT-115", "ram:DuePayableAmount", t.amount_due)

    # -------------------------------------------------------------- lines

    def line(self, parent: _Node, line: InvoiceLine) -> None:
        node = self.el(parent, "ram:IncludedSupplyChainTradeLineItem")
        document = self.el(node, "ram:AssociatedDocumentLineDocument")
        self.el(document, "ram:LineID", line.id)
        if line.note is not None and self.on("BT-127"):
            self.el(self.el(document, "ram:IncludedNote"), "ram:Content", line.note)
        self.product(node, line)
        self.line_agreement(node, line)
        delivery = self.el(node, "ram:SpecifiedLineTradeDelivery")
        self.el(delivery, "ram:BilledQuantity", _num(line.quantity), unitCode=line.unit_code)
        self.line_settlement(node, line)

    def product(self, parent: _Node, line: InvoiceLine) -> None:
        item = line.item
        node = self.el(parent, "ram:SpecifiedTradeProduct")
        standard = item.standard_identifier
        if standard is not None and self.on("BT-157"):
            self.el(node, "ram:GlobalID", standard.value, schemeID=standard.scheme)
        self.opt(node, "BT-155", "ram:SellerAssignedID", item.sellers_identifier)
        self.opt(node, "BT-156", "ram:BuyerAssignedID", item.buyers_identifier)
        self.el(node, "ram:Name", item.name)
        self.opt(node, "BT-154", "ram:Description", item.description)
        if self.on("BG-32"):
            for attribute in item.attributes:
                characteristic = self.el(node, "ram:ApplicableProductCharacteristic")
                self.el(characteristic, "ram:Description", attribute.name)
                self.el(characteristic, "ram:Value", attribute.value)
        if self.on("BT-158"):
            for classification in item.classifications:
                self.el(
                    self.el(node, "ram:DesignatedProductClassification"),
                    "ram:ClassCode",
                    classification.value,
                    listID=classification.scheme,
                    listVersionID=classification.scheme_version,
                )
        if item.origin_country is not None and self.on("BT-159"):
            self.el(self.el(node, "ram:OriginTradeCountry"), "ram:ID", item.origin_country)

    def line_agreement(self, parent: _Node, line: InvoiceLine) -> None:
        price = line.price
        node = self.el(parent, "ram:SpecifiedLineTradeAgreement")
        if line.order_line_reference is not None and self.on("BT-132"):
            self.el(
                self.el(node, "ram:BuyerOrderReferencedDocument"), "ram:LineID", line.order_line_reference
            )
        base_quantity: tuple[str, str | None] | None = None
        if price.base_quantity is not None and self.on("BT-149"):
            # BT-150 defaults to BT-130; a received document keeps it implied where it was
            unit = price.base_quantity_unit_code or (None if self.received else line.unit_code)
            base_quantity = (_num(price.base_quantity), unit)
        if price.gross_amount is not None and self.on("BT-148"):
            gross = self.el(node, "ram:GrossPriceProductTradePrice")
            self.el(gross, "ram:ChargeAmount", _num(price.gross_amount))
            if base_quantity is not None:
                self.el(gross, "ram:BasisQuantity", base_quantity[0], unitCode=base_quantity[1])
            if price.discount is not None and self.on("BT-147"):
                discount = self.el(gross, "ram:AppliedTradeAllowanceCharge")
                self.el(self.el(discount, "ram:ChargeIndicator"), "udt:Indicator", "false")
                self.el(discount, "ram:ActualAmount", _num(price.discount))
        assert price.net_amount is not None  # calculate() derived it
        net = self.el(node, "ram:NetPriceProductTradePrice")
        self.el(net, "ram:ChargeAmount", _num(price.net_amount))
        if base_quantity is not None:
            self.el(net, "ram:BasisQuantity", base_quantity[0], unitCode=base_quantity[1])

    def line_settlement(self, parent: _Node, line: InvoiceLine) -> None:
        node = self.el(parent, "ram:SpecifiedLineTradeSettlement")
        self.category(node, "ram:ApplicableTradeTax", line.vat.category_code, line.vat.rate)
        if line.period is not None and self.on("BG-26"):
            self.period(node, line.period, "BT-134", "BT-135")
        if self.on("BG-27"):
            for allowance in line.allowances:
                self.allowance_charge(node, allowance, charge=False)
        if self.on("BG-28"):
            for charge in line.charges:
                self.allowance_charge(node, charge, charge=True)
        summation = self.el(node, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        assert line.net_amount is not None  # calculate() derived it
        self.el(summation, "ram:LineTotalAmount", _num(line.net_amount))
        obj = line.object_identifier
        if obj is not None and self.on("BT-128"):
            ref = self.el(node, "ram:AdditionalReferencedDocument")
            self.el(ref, "ram:IssuerAssignedID", obj.value)
            self.el(ref, "ram:TypeCode", OBJECT_IDENTIFIER_CODE)
            self.opt(ref, "BT-128-1", "ram:ReferenceTypeCode", obj.scheme)
        if line.buyer_accounting_reference is not None and self.on("BT-133"):
            account = self.el(node, "ram:ReceivableSpecifiedTradeAccountingAccount")
            self.el(account, "ram:ID", line.buyer_accounting_reference)


# (document level, charge) → the terms of percentage, base amount, reason code, reason
_ALLOWANCE_TERMS = {
    (True, False): {"percentage": "BT-94", "base": "BT-93", "reason_code": "BT-98", "reason": "BT-97"},
    (True, True): {"percentage": "BT-101", "base": "BT-100", "reason_code": "BT-105", "reason": "BT-104"},
    (False, False): {"percentage": "BT-138", "base": "BT-137", "reason_code": "BT-140", "reason": "BT-139"},
    (False, True): {"percentage": "BT-143", "base": "BT-142", "reason_code": "BT-145", "reason": "BT-144"},
}


# ---------------------------------------------------------------------------- checks


def _leaves(value: object, path: str) -> Iterator[str]:
    """The JSON path of every value present in a dumped model, in document order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    elif value is not None:
        yield path


def unsupported(invoice: Invoice, profile: Profile, *, received: bool = False) -> list[Problem]:
    """Each business term present in ``invoice`` that ``profile`` cannot carry, once, in document order.

    A profile without lines (MINIMUM, BASIC WL) does not refuse an invoice's lines: it
    carries the document-level summary by definition and the PDF shows the lines. A
    ``received`` document may also state the terms the profile's XSD has but its Schematron
    marks "not used" (``Profile.received_terms``): they are written back as stated.
    """
    data = invoice.model_dump(mode="python", exclude_none=True)
    if not profile.carries_lines:
        data.pop("lines", None)
    seen: dict[str, str] = {}
    for path in _leaves(data, "$"):
        term = term_for_path(path)
        if term is None or term.id in seen or profile.carries(term.id):
            continue
        if not (received and term.id in profile.received_terms):
            seen[term.id] = path
    problems = [
        problem_at(
            path,
            f"{profile.scope_rule}: {profile.title} cannot carry {TERMS[term].name} ({term})",
            rule=profile.scope_rule,
            term=term,
        )
        for term, path in seen.items()
    ]
    if profile.name in ONE_PRECEDING_INVOICE:
        problems += [
            problem_at(
                f"$.preceding_invoices[{index}]",
                f"CII-D16B-XSD: {profile.title} is also checked against the UN/CEFACT CII D16B XSD, "
                "which has one ram:InvoiceReferencedDocument (BG-3); this is preceding invoice "
                f"{index + 1} (Factur-X BASIC WL, BASIC and EXTENDED carry several)",
                rule="CII-D16B-XSD",
                term="BG-3",
            )
            for index in range(1, len(invoice.preceding_invoices))
        ]
    return problems


def _structure(invoice: Invoice, profile: Profile) -> Iterable[Problem]:
    if invoice.buyer.address is None and profile.carries("BG-8"):
        yield problem_at(
            "$.buyer.address",
            f"BR-10: {profile.title} needs the buyer postal address (BG-8)",
            rule="BR-10",
            term="BG-8",
        )
    if profile.carries_lines and not invoice.lines:
        yield problem_at(
            json_path(["lines"]),
            f"BR-16: {profile.title} needs at least one invoice line (BG-25)",
            rule="BR-16",
            term="BG-25",
        )


def _requirements(invoice: Invoice, profile: Profile) -> Iterable[Problem]:
    for requirement in profile.requirements:
        if not requirement.met(invoice):
            yield problem_at(
                requirement.path,
                f"{requirement.rule}: {requirement.message}",
                rule=requirement.rule,
                term=requirement.term,
            )


def prepare(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
    omit_unsupported: bool = False,
) -> Invoice:
    """Check the invoice fits the profile and calculate it; raise ``SerializeError`` if not.

    ``keep_supplied``: keep the derived amounts a sender stated (a document received from a
    third party) instead of refusing those that disagree with the calculation; such a document
    is written as stated: no national requirement is enforced, no derived or default term the
    sender left out is added, and the terms the profile's XSD has but does not use are kept.
    ``omit_unsupported``: leave out the terms the profile cannot carry instead of refusing
    the invoice (the caller shows them in the PDF).
    """
    problems = list(_structure(invoice, profile))
    if not omit_unsupported:
        problems += unsupported(invoice, profile, received=keep_supplied)
    if problems:
        raise SerializeError(f"the invoice cannot be written as {profile.title}", problems)
    result = calculated(invoice, rounding, keep_supplied=keep_supplied)
    # a received document is written back as its sender stated it, national requirements
    # (XRechnung's BR-DE-*, PEPPOL-EN16931-R010/R020) met or not: the validation report says
    # what the sender left out, and the writer must not invent it
    problems = [] if keep_supplied else list(_requirements(result, profile))
    if problems:
        raise SerializeError(f"the invoice cannot be written as {profile.title}", problems)
    return result


def to_tree(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
    omit_unsupported: bool = False,
) -> etree._Element:
    ready = prepare(
        invoice, profile, rounding, keep_supplied=keep_supplied, omit_unsupported=omit_unsupported
    )
    return _Writer(ready, profile, received=keep_supplied, stated=invoice).build()


def to_xml(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
    omit_unsupported: bool = False,
) -> bytes:
    """The invoice as CII D16B bytes (UTF-8, with declaration); deterministic.

    See ``prepare`` for ``keep_supplied`` and ``omit_unsupported``.
    """
    root = to_tree(invoice, profile, rounding, keep_supplied=keep_supplied, omit_unsupported=omit_unsupported)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
