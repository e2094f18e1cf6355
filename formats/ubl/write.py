"""Canonical invoice → UBL 2.1 ``Invoice`` or ``CreditNote``.

``to_xml(invoice, profile)`` first calculates the invoice (refusing ERP totals that
disagree), checks the profile's extra requirements, then writes every business term UBL
can carry, in the element order the UBL 2.1 XSD prescribes. The same invoice always gives
byte-identical XML. Where each BT goes is listed in ``formats/ubl/terms.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from lxml import etree

from formats.errors import SerializeError
from formats.invoice.calculate import RoundingRule
from formats.invoice.model import (
    Address,
    AllowanceOrCharge,
    Buyer,
    Contact,
    CreditTransfer,
    DocumentAllowance,
    DocumentCharge,
    Invoice,
    InvoiceLine,
    Period,
    Seller,
)
from formats.invoice.prepare import calculated as prepare_amounts
from formats.invoice.problems import Problem, problem_at
from formats.ubl.profiles import EN16931, Profile

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

OBJECT_IDENTIFIER_CODE = "130"  # UNTDID 1001: invoiced object identifier (BT-18, BT-128)
PROJECT_REFERENCE_CODE = "50"  # BT-11 in a CreditNote, which has no ProjectReference


class _Identified(Protocol):
    """Anything with a value and an optional scheme: BT-29, BT-30, BT-34, BT-46, BT-71…"""

    @property
    def value(self) -> str: ...

    @property
    def scheme(self) -> str | None: ...


@dataclass(frozen=True)
class _SchemeValue:
    value: str
    scheme: str | None


def _num(value: Decimal) -> str:
    return format(value, "f")


class _Tags(dict[str, str]):
    """``TAGS["cac:Party"]`` → ``{urn:…:CommonAggregateComponents-2}Party``, built once per name.

    The writer and the reader name elements the way the UBL schema does (``cac:…``,
    ``cbc:…``); lxml wants the namespace in the tag. Each name is worked out once.
    """

    def __missing__(self, name: str) -> str:
        prefix, local = name.split(":")
        tag = self[name] = f"{{{CAC if prefix == 'cac' else CBC}}}{local}"
        return tag


TAGS = _Tags()


class _Writer:
    def __init__(self, invoice: Invoice, profile: Profile) -> None:
        self.inv = invoice
        self.profile = profile
        self.credit = invoice.is_credit_note
        self.currency = invoice.currency_code

    # -------------------------------------------------------------- helpers

    def el(
        self, parent: etree._Element, tag: str, text: str | None = None, /, **attrs: str | None
    ) -> etree._Element:
        node = etree.SubElement(parent, TAGS[tag])
        if text is not None:
            node.text = text
        for key, value in attrs.items():
            if value is not None:
                node.set(key, value)
        return node

    def opt(self, parent: etree._Element, tag: str, text: str | None, /, **attrs: str | None) -> None:
        if text is not None:
            self.el(parent, tag, text, **attrs)

    def amount(
        self, parent: etree._Element, name: str, value: Decimal | None, currency: str | None = None
    ) -> None:
        if value is not None:
            self.el(parent, name, _num(value), currencyID=currency or self.currency)

    def tax_scheme(self, parent: etree._Element, scheme: str = "VAT") -> None:
        self.el(self.el(parent, "cac:TaxScheme"), "cbc:ID", scheme)

    # -------------------------------------------------------------- document

    def build(self) -> etree._Element:
        inv = self.inv
        root_name = "CreditNote" if self.credit else "Invoice"
        ns = CREDITNOTE_NS if self.credit else INVOICE_NS
        nsmap: dict[str | None, str] = {None: ns, "cac": CAC, "cbc": CBC}
        root = etree.Element(f"{{{ns}}}{root_name}", nsmap=nsmap)  # type: ignore[arg-type]
        # The chosen profile decides BT-24; plain EN 16931 keeps a CIUS id the invoice carries.
        spec = self.profile.customization_id
        if self.profile.name == "en16931" and inv.process_control.specification_identifier:
            spec = inv.process_control.specification_identifier
        self.el(root, "cbc:CustomizationID", spec)
        self.opt(root, "cbc:ProfileID", inv.process_control.business_process or self.profile.profile_id)
        self.el(root, "cbc:ID", inv.number)
        self.el(root, "cbc:IssueDate", inv.issue_date.isoformat())
        if self.credit:
            self.opt(root, "cbc:TaxPointDate", _date(inv.tax_point_date))
            self.el(root, "cbc:CreditNoteTypeCode", inv.type_code)
        else:
            self.opt(root, "cbc:DueDate", _date(inv.due_date))
            self.el(root, "cbc:InvoiceTypeCode", inv.type_code)
        for note in inv.notes:
            text = f"#{note.subject_code}#{note.text}" if note.subject_code else note.text
            self.el(root, "cbc:Note", text)
        if not self.credit:
            self.opt(root, "cbc:TaxPointDate", _date(inv.tax_point_date))
        self.el(root, "cbc:DocumentCurrencyCode", inv.currency_code)
        self.opt(root, "cbc:TaxCurrencyCode", inv.tax_currency_code)
        self.opt(root, "cbc:AccountingCost", inv.buyer_accounting_reference)
        self.opt(root, "cbc:BuyerReference", inv.buyer_reference)
        if inv.invoicing_period is not None or inv.tax_point_date_code is not None:
            self.period(root, inv.invoicing_period, inv.tax_point_date_code)
        if inv.purchase_order_reference or inv.sales_order_reference:
            order = self.el(root, "cac:OrderReference")
            self.el(order, "cbc:ID", inv.purchase_order_reference or "NA")
            self.opt(order, "cbc:SalesOrderID", inv.sales_order_reference)
        for preceding in inv.preceding_invoices:
            ref = self.el(self.el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
            self.el(ref, "cbc:ID", preceding.reference)
            self.opt(ref, "cbc:IssueDate", _date(preceding.issue_date))
        self.reference(root, "cac:DespatchDocumentReference", inv.despatch_advice_reference)
        self.reference(root, "cac:ReceiptDocumentReference", inv.receiving_advice_reference)
        if not self.credit:
            self.reference(root, "cac:OriginatorDocumentReference", inv.tender_or_lot_reference)
        self.reference(root, "cac:ContractDocumentReference", inv.contract_reference)
        self.additional_documents(root)
        if self.credit:
            self.reference(root, "cac:OriginatorDocumentReference", inv.tender_or_lot_reference)
        elif inv.project_reference:
            self.el(self.el(root, "cac:ProjectReference"), "cbc:ID", inv.project_reference)
        self.seller(root)
        self.buyer(root)
        self.payee(root)
        self.tax_representative(root)
        self.delivery(root)
        self.payment_means(root)
        if inv.payment_terms:
            self.el(self.el(root, "cac:PaymentTerms"), "cbc:Note", inv.payment_terms)
        for allowance in inv.allowances:
            self.allowance_charge(root, allowance, charge=False)
        for charge in inv.charges:
            self.allowance_charge(root, charge, charge=True)
        self.tax_totals(root)
        self.monetary_total(root)
        for line in inv.lines:
            self.line(root, line)
        return root

    def reference(self, parent: etree._Element, name: str, value: str | None) -> None:
        if value:
            self.el(self.el(parent, name), "cbc:ID", value)

    def period(
        self, parent: etree._Element, period: Period | None, description_code: str | None = None
    ) -> None:
        node = self.el(parent, "cac:InvoicePeriod")
        if period is not None:
            self.opt(node, "cbc:StartDate", _date(period.start_date))
            self.opt(node, "cbc:EndDate", _date(period.end_date))
        self.opt(node, "cbc:DescriptionCode", description_code)

    def additional_documents(self, root: etree._Element) -> None:
        inv = self.inv
        if inv.invoiced_object_identifier is not None:
            ref = self.el(root, "cac:AdditionalDocumentReference")
            self.identified(ref, "cbc:ID", inv.invoiced_object_identifier)
            self.el(ref, "cbc:DocumentTypeCode", OBJECT_IDENTIFIER_CODE)
        if self.credit and inv.project_reference:
            ref = self.el(root, "cac:AdditionalDocumentReference")
            self.el(ref, "cbc:ID", inv.project_reference)
            self.el(ref, "cbc:DocumentTypeCode", PROJECT_REFERENCE_CODE)
        for doc in inv.supporting_documents:
            ref = self.el(root, "cac:AdditionalDocumentReference")
            self.el(ref, "cbc:ID", doc.reference)
            self.opt(ref, "cbc:DocumentDescription", doc.description)
            if doc.attachment is not None or doc.external_location is not None:
                attachment = self.el(ref, "cac:Attachment")
                if doc.attachment is not None:
                    self.el(
                        attachment,
                        "cbc:EmbeddedDocumentBinaryObject",
                        base64.b64encode(doc.attachment.content).decode("ascii"),
                        mimeCode=doc.attachment.mime_code,
                        filename=doc.attachment.filename,
                    )
                if doc.external_location is not None:
                    self.el(self.el(attachment, "cac:ExternalReference"), "cbc:URI", doc.external_location)

    # -------------------------------------------------------------- parties

    def address(self, parent: etree._Element, name: str, address: Address) -> None:
        node = self.el(parent, name)
        self.opt(node, "cbc:StreetName", address.line1)
        self.opt(node, "cbc:AdditionalStreetName", address.line2)
        self.opt(node, "cbc:CityName", address.city)
        self.opt(node, "cbc:PostalZone", address.post_code)
        self.opt(node, "cbc:CountrySubentity", address.country_subdivision)
        if address.line3:
            self.el(self.el(node, "cac:AddressLine"), "cbc:Line", address.line3)
        self.el(self.el(node, "cac:Country"), "cbc:IdentificationCode", address.country_code)

    def contact(self, parent: etree._Element, contact: Contact | None) -> None:
        if contact is None:
            return
        node = self.el(parent, "cac:Contact")
        self.opt(node, "cbc:Name", contact.name)
        self.opt(node, "cbc:Telephone", contact.telephone)
        self.opt(node, "cbc:ElectronicMail", contact.email)

    def party_tax(self, party: etree._Element, company_id: str | None, scheme: str = "VAT") -> None:
        if company_id:
            node = self.el(party, "cac:PartyTaxScheme")
            self.el(node, "cbc:CompanyID", company_id)
            self.tax_scheme(node, scheme)

    def identified(self, parent: etree._Element, tag: str, identifier: _Identified | None) -> None:
        """An identifier element with its scheme (``schemeID``), if there is one."""
        if identifier is not None:
            self.el(parent, tag, identifier.value, schemeID=identifier.scheme)

    def party_identification(self, party: etree._Element, identifier: _Identified) -> None:
        self.identified(self.el(party, "cac:PartyIdentification"), "cbc:ID", identifier)

    def creditor_identifier(self) -> _Identified | None:
        """BT-90 as UBL carries it: a party identifier with scheme SEPA."""
        debit = self.inv.payment_instructions.direct_debit if self.inv.payment_instructions else None
        if debit is None or not debit.creditor_identifier:
            return None
        return _SchemeValue(debit.creditor_identifier, "SEPA")

    def party(
        self,
        container: etree._Element,
        party: Seller | Buyer,
        identifiers: Sequence[_Identified],
        tax_schemes: Sequence[tuple[str | None, str]],
    ) -> None:
        """BG-4 / BG-7: the parts seller and buyer share, in the UBL ``cac:Party`` order."""
        node = self.el(container, "cac:Party")
        self.identified(node, "cbc:EndpointID", party.electronic_address)
        for identifier in identifiers:
            self.party_identification(node, identifier)
        if party.trading_name:
            self.el(self.el(node, "cac:PartyName"), "cbc:Name", party.trading_name)
        if party.address is not None:  # a buyer without one (BR-10) is refused in prepare()
            self.address(node, "cac:PostalAddress", party.address)
        for company_id, scheme in tax_schemes:
            self.party_tax(node, company_id, scheme)
        legal = self.el(node, "cac:PartyLegalEntity")
        self.el(legal, "cbc:RegistrationName", party.name)
        self.identified(legal, "cbc:CompanyID", party.legal_registration)
        if isinstance(party, Seller):
            self.opt(legal, "cbc:CompanyLegalForm", party.additional_legal_information)
        self.contact(node, party.contact)

    def seller(self, root: etree._Element) -> None:
        seller = self.inv.seller
        identifiers: list[_Identified] = list(seller.identifiers)
        creditor = self.creditor_identifier()
        if creditor is not None and self.inv.payee is None:  # else BT-90 goes with the payee
            identifiers.append(creditor)
        taxes = [
            (seller.vat_identifier, "VAT"),
            (seller.tax_registration_identifier, self.profile.tax_registration_scheme),
        ]
        self.party(self.el(root, "cac:AccountingSupplierParty"), seller, identifiers, taxes)

    def buyer(self, root: etree._Element) -> None:
        buyer = self.inv.buyer
        identifiers = [buyer.identifier] if buyer.identifier is not None else []
        self.party(
            self.el(root, "cac:AccountingCustomerParty"), buyer, identifiers, [(buyer.vat_identifier, "VAT")]
        )

    def payee(self, root: etree._Element) -> None:
        payee = self.inv.payee
        if payee is None:
            return
        party = self.el(root, "cac:PayeeParty")
        for identifier in (payee.identifier, self.creditor_identifier()):
            if identifier is not None:
                self.party_identification(party, identifier)
        self.el(self.el(party, "cac:PartyName"), "cbc:Name", payee.name)
        if payee.legal_registration is not None:
            self.identified(self.el(party, "cac:PartyLegalEntity"), "cbc:CompanyID", payee.legal_registration)

    def tax_representative(self, root: etree._Element) -> None:
        rep = self.inv.tax_representative
        if rep is None:
            return
        party = self.el(root, "cac:TaxRepresentativeParty")
        self.el(self.el(party, "cac:PartyName"), "cbc:Name", rep.name)
        self.address(party, "cac:PostalAddress", rep.address)
        self.party_tax(party, rep.vat_identifier)

    def delivery(self, root: etree._Element) -> None:
        delivery = self.inv.delivery
        if delivery is None:
            return
        node = self.el(root, "cac:Delivery")
        self.opt(node, "cbc:ActualDeliveryDate", _date(delivery.actual_delivery_date))
        if delivery.location_identifier is not None or delivery.address is not None:
            location = self.el(node, "cac:DeliveryLocation")
            self.identified(location, "cbc:ID", delivery.location_identifier)
            if delivery.address is not None:
                self.address(location, "cac:Address", delivery.address)
        if delivery.party_name:
            self.el(
                self.el(self.el(node, "cac:DeliveryParty"), "cac:PartyName"), "cbc:Name", delivery.party_name
            )

    # -------------------------------------------------------------- payment

    def payment_means(self, root: etree._Element) -> None:
        pay = self.inv.payment_instructions
        if pay is None:
            if self.credit and self.inv.due_date:
                raise SerializeError(
                    "cannot write BT-9",
                    [
                        problem_at(
                            "$.payment_instructions",
                            "a UBL CreditNote carries the payment due date "
                            "(BT-9) in its payment means: give payment instructions (BG-16)",
                        )
                    ],
                )
            return
        accounts: list[object] = list(pay.credit_transfers) or [None]
        for index, account in enumerate(accounts):
            # One PaymentMeans per account; BT-82, BT-9, the card and the mandate
            # appear once (UBL-SR-45/46/54/55), in the first.
            first = index == 0
            node = self.el(root, "cac:PaymentMeans")
            self.el(node, "cbc:PaymentMeansCode", pay.means_code, name=pay.means_text if first else None)
            if self.credit and first:
                self.opt(node, "cbc:PaymentDueDate", _date(self.inv.due_date))
            self.opt(node, "cbc:PaymentID", pay.remittance_information)
            if pay.payment_card is not None and first:
                card = self.el(node, "cac:CardAccount")
                self.el(card, "cbc:PrimaryAccountNumberID", pay.payment_card.primary_account_number)
                self.el(card, "cbc:NetworkID", "NA")
                self.opt(card, "cbc:HolderName", pay.payment_card.holder_name)
            if account is not None:
                assert isinstance(account, CreditTransfer)
                financial = self.el(node, "cac:PayeeFinancialAccount")
                self.el(financial, "cbc:ID", account.account_identifier)
                self.opt(financial, "cbc:Name", account.account_name)
                if account.service_provider_identifier:
                    self.el(
                        self.el(financial, "cac:FinancialInstitutionBranch"),
                        "cbc:ID",
                        account.service_provider_identifier,
                    )
            debit = pay.direct_debit
            if first and debit is not None and (debit.mandate_reference or debit.debited_account_identifier):
                mandate = self.el(node, "cac:PaymentMandate")
                self.opt(mandate, "cbc:ID", debit.mandate_reference)
                if debit.debited_account_identifier:
                    self.el(
                        self.el(mandate, "cac:PayerFinancialAccount"),
                        "cbc:ID",
                        debit.debited_account_identifier,
                    )

    # -------------------------------------------------------------- amounts

    def tax_category(
        self, parent: etree._Element, name: str, category: str, rate: Decimal | None
    ) -> etree._Element:
        node = self.el(parent, name)
        self.el(node, "cbc:ID", category)
        if rate is not None:
            self.el(node, "cbc:Percent", _num(rate))
        return node

    def allowance_charge(self, parent: etree._Element, item: AllowanceOrCharge, *, charge: bool) -> None:
        """BG-20/21 (document level, with their VAT category) and BG-27/28 (line level)."""
        node = self.el(parent, "cac:AllowanceCharge")
        self.el(node, "cbc:ChargeIndicator", "true" if charge else "false")
        self.opt(node, "cbc:AllowanceChargeReasonCode", item.reason_code)
        self.opt(node, "cbc:AllowanceChargeReason", item.reason)
        if item.percentage is not None:
            self.el(node, "cbc:MultiplierFactorNumeric", _num(item.percentage))
        self.amount(node, "cbc:Amount", item.amount)
        self.amount(node, "cbc:BaseAmount", item.base_amount)
        if isinstance(item, DocumentAllowance | DocumentCharge):
            category = self.tax_category(node, "cac:TaxCategory", item.vat_category_code, item.vat_rate)
            self.tax_scheme(category)

    def tax_totals(self, root: etree._Element) -> None:
        inv = self.inv
        total = self.el(root, "cac:TaxTotal")
        self.amount(total, "cbc:TaxAmount", inv.totals.vat_total)
        for entry in inv.vat_breakdown:
            sub = self.el(total, "cac:TaxSubtotal")
            self.amount(sub, "cbc:TaxableAmount", entry.taxable_amount)
            self.amount(sub, "cbc:TaxAmount", entry.tax_amount)
            category = self.tax_category(sub, "cac:TaxCategory", entry.category_code, entry.rate)
            self.opt(category, "cbc:TaxExemptionReasonCode", entry.exemption_reason_code)
            self.opt(category, "cbc:TaxExemptionReason", entry.exemption_reason)
            self.tax_scheme(category)
        if inv.tax_currency_code and inv.totals.vat_total_in_tax_currency is not None:
            other = self.el(root, "cac:TaxTotal")
            self.amount(other, "cbc:TaxAmount", inv.totals.vat_total_in_tax_currency, inv.tax_currency_code)

    def monetary_total(self, root: etree._Element) -> None:
        t = self.inv.totals
        node = self.el(root, "cac:LegalMonetaryTotal")
        self.amount(node, "cbc:LineExtensionAmount", t.line_net_total)
        self.amount(node, "cbc:TaxExclusiveAmount", t.tax_exclusive_amount)
        self.amount(node, "cbc:TaxInclusiveAmount", t.tax_inclusive_amount)
        self.amount(node, "cbc:AllowanceTotalAmount", t.allowance_total)
        self.amount(node, "cbc:ChargeTotalAmount", t.charge_total)
        self.amount(node, "cbc:PrepaidAmount", t.paid_amount)
        self.amount(node, "cbc:PayableRoundingAmount", t.rounding_amount)
        self.amount(node, "cbc:PayableAmount", t.amount_due)

    # -------------------------------------------------------------- lines

    def line(self, root: etree._Element, line: InvoiceLine) -> None:
        node = self.el(root, "cac:CreditNoteLine" if self.credit else "cac:InvoiceLine")
        self.el(node, "cbc:ID", line.id)
        self.opt(node, "cbc:Note", line.note)
        self.el(
            node,
            "cbc:CreditedQuantity" if self.credit else "cbc:InvoicedQuantity",
            _num(line.quantity),
            unitCode=line.unit_code,
        )
        self.amount(node, "cbc:LineExtensionAmount", line.net_amount)
        self.opt(node, "cbc:AccountingCost", line.buyer_accounting_reference)
        if line.period is not None:
            self.period(node, line.period)
        if line.order_line_reference:
            self.el(self.el(node, "cac:OrderLineReference"), "cbc:LineID", line.order_line_reference)
        if line.object_identifier is not None:
            ref = self.el(node, "cac:DocumentReference")
            self.identified(ref, "cbc:ID", line.object_identifier)
            self.el(ref, "cbc:DocumentTypeCode", OBJECT_IDENTIFIER_CODE)
        for allowance in line.allowances:
            self.allowance_charge(node, allowance, charge=False)
        for line_charge in line.charges:
            self.allowance_charge(node, line_charge, charge=True)
        self.item(node, line)
        self.price(node, line)

    def item(self, parent: etree._Element, line: InvoiceLine) -> None:
        item = line.item
        node = self.el(parent, "cac:Item")
        self.opt(node, "cbc:Description", item.description)
        self.el(node, "cbc:Name", item.name)
        if item.buyers_identifier:
            self.el(self.el(node, "cac:BuyersItemIdentification"), "cbc:ID", item.buyers_identifier)
        if item.sellers_identifier:
            self.el(self.el(node, "cac:SellersItemIdentification"), "cbc:ID", item.sellers_identifier)
        if item.standard_identifier is not None:
            self.identified(
                self.el(node, "cac:StandardItemIdentification"), "cbc:ID", item.standard_identifier
            )
        if item.origin_country:
            self.el(self.el(node, "cac:OriginCountry"), "cbc:IdentificationCode", item.origin_country)
        for classification in item.classifications:
            self.el(
                self.el(node, "cac:CommodityClassification"),
                "cbc:ItemClassificationCode",
                classification.value,
                listID=classification.scheme,
                listVersionID=classification.scheme_version,
            )
        category = self.tax_category(node, "cac:ClassifiedTaxCategory", line.vat.category_code, line.vat.rate)
        self.tax_scheme(category)
        for attribute in item.attributes:
            prop = self.el(node, "cac:AdditionalItemProperty")
            self.el(prop, "cbc:Name", attribute.name)
            self.el(prop, "cbc:Value", attribute.value)

    def price(self, parent: etree._Element, line: InvoiceLine) -> None:
        price = line.price
        node = self.el(parent, "cac:Price")
        assert price.net_amount is not None  # calculate() derived it
        self.el(node, "cbc:PriceAmount", _num(price.net_amount), currencyID=self.currency)
        if price.base_quantity is not None:
            self.el(
                node,
                "cbc:BaseQuantity",
                _num(price.base_quantity),
                unitCode=price.base_quantity_unit_code or line.unit_code,
            )
        if price.gross_amount is not None:
            ac = self.el(node, "cac:AllowanceCharge")
            self.el(ac, "cbc:ChargeIndicator", "false")
            self.el(ac, "cbc:Amount", _num(price.discount or Decimal(0)), currencyID=self.currency)
            self.el(ac, "cbc:BaseAmount", _num(price.gross_amount), currencyID=self.currency)


def _date(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def _requirements(invoice: Invoice, profile: Profile) -> Iterable[Problem]:
    for requirement in profile.requirements:
        if not requirement.met(invoice):
            yield problem_at(
                requirement.path,
                f"{requirement.rule}: {requirement.message}",
                rule=requirement.rule,
                term=requirement.term,
            )
    if profile.eas_excluded:
        for path, address in (
            ("$.seller.electronic_address.scheme", invoice.seller.electronic_address),
            ("$.buyer.electronic_address.scheme", invoice.buyer.electronic_address),
        ):
            if address is not None and address.scheme in profile.eas_excluded:
                yield problem_at(
                    path,
                    f"PEPPOL-EN16931-CL008: the scheme {address.scheme!r} is not on the Peppol EAS list",
                    rule="PEPPOL-EN16931-CL008",
                )


def prepare(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
) -> Invoice:
    """Calculate the invoice and check it fits the profile; raise ``SerializeError`` if not.

    By default (an ERP's invoice) every supplied derived amount must agree with the
    calculation. With ``keep_supplied`` (a document received from a third party, converted
    or written back) the amounts it states are kept as stated, and only missing ones are
    calculated: a conversion must not change what the sender invoiced, and the official
    rules judge whether its arithmetic holds.
    """
    if invoice.buyer.address is None:
        raise SerializeError(
            f"the invoice cannot be written as {profile.title}",
            [
                problem_at(
                    "$.buyer.address",
                    f"BR-10: {profile.title} needs the buyer postal address (BG-8); this is a "
                    "Factur-X MINIMUM summary, which does not carry it",
                    rule="BR-10",
                    term="BG-8",
                )
            ],
        )
    if not invoice.lines:
        raise SerializeError(
            f"the invoice cannot be written as {profile.title}",
            [
                problem_at(
                    "$.lines",
                    f"BR-16: {profile.title} needs at least one invoice line (BG-25); this is a "
                    "line-less summary (Factur-X MINIMUM / BASIC WL), whose lines are only in its PDF",
                    rule="BR-16",
                    term="BG-25",
                )
            ],
        )
    calculated = prepare_amounts(invoice, rounding, keep_supplied=keep_supplied)
    problems = list(_requirements(calculated, profile))
    if problems:
        raise SerializeError(f"the invoice cannot be written as {profile.title}", problems)
    return calculated


def to_tree(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
) -> etree._Element:
    return _Writer(prepare(invoice, profile, rounding, keep_supplied=keep_supplied), profile).build()


def to_xml(
    invoice: Invoice,
    profile: Profile = EN16931,
    rounding: RoundingRule = RoundingRule.TOTALS,
    *,
    keep_supplied: bool = False,
) -> bytes:
    """The invoice as UBL 2.1 bytes (UTF-8, with declaration); deterministic.

    ``keep_supplied``: see ``prepare``; use it for documents received from a third party.
    """
    root = to_tree(invoice, profile, rounding, keep_supplied=keep_supplied)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
