"""Canonical invoice → cXML ``InvoiceDetailRequest`` (SAP Ariba), inside its cXML envelope.

``to_cxml(invoice, payload_id=…, timestamp=…, sender=…)`` calculates the invoice like the
UBL and CII writers (supplied totals must agree), then writes, in the element order of the
cXML 1.2.069 ``InvoiceDetail.dtd``:

* the envelope: ``cXML@payloadID`` (stable per delivery: ``payload_id(delivery_id)``),
  ``@timestamp``, ``Header`` with ``From`` / ``To`` / ``Sender`` credentials (the shared
  secret only in ``Sender``, as Ariba expects) and ``UserAgent``, ``Request@deploymentMode``;
* ``InvoiceDetailRequestHeader``: ``invoiceID`` BT-1, ``invoiceDate`` BT-2, ``purpose``
  ``standard`` or ``creditMemo`` (credit notes), ``operation="new"``; ``InvoicePartner``
  contacts ``from`` (seller, BG-4), ``soldTo`` and ``billTo`` (buyer, BG-7), ``remitTo``
  (payee BG-10, else the seller, with the bank account of BG-17); ``InvoiceIDInfo`` for the
  preceding invoice BG-3; ``PaymentTerm`` (days to BT-9); ``Period`` BG-14; ``Comments``
  (BG-1 notes and BT-20 terms); ``Extrinsic`` ``buyerReference`` BT-10;
* the lines. With a purchase order reference (BT-13) a *detail invoice*:
  ``InvoiceDetailOrder`` with ``InvoiceDetailOrderInfo/OrderIDInfo@orderID`` = BT-13 and one
  ``InvoiceDetailItem`` per line (quantity, UN/ECE rec 20 ``UnitOfMeasure``, ``UnitPrice``,
  item references, ``SubtotalAmount``, ``Tax`` with its ``TaxDetail``, line allowances and
  charges as ``InvoiceItemModifications``). Without BT-13, and for every credit note (the DTD
  requires ``isHeaderInvoice`` for ``creditMemo``), a *header invoice*: one
  ``InvoiceDetailHeaderOrder`` whose ``InvoiceDetailOrderSummary`` carries the subtotal and
  the tax per rate, the lines summarised in its ``Comments``; its order info is the contract
  (BT-12, ``MasterAgreementIDInfo``), else the sales order (BT-14, ``SupplierOrderInfo``),
  else the invoice number as the supplier's own order reference;
* ``InvoiceDetailSummary``: ``SubtotalAmount`` (Σ line amounts before line allowances and
  charges), ``Tax`` (BT-110 with one ``TaxDetail`` per BG-23 entry), ``GrossAmount`` and
  ``NetAmount`` (BT-112), ``InvoiceHeaderModifications`` (BG-20/BG-21), ``TotalCharges``,
  ``TotalAllowances``, ``TotalAmountWithoutTax`` (BT-109), ``DepositAmount`` (BT-113) and
  ``DueAmount`` (BT-115).

Taxes are ``TaxDetail@category="vat"`` with ``percentageRate``; the EN 16931 category code
(BT-118) is kept in ``taxRateType`` so nothing is lost, ``exemptDetail`` says ``zeroRated``
(Z) or ``exempt`` (E, AE, K, G, O), and ``TaxExemption`` carries BT-121/BT-120. A credit memo
states every amount negative ("credit given back to the buyer", DTD comment).

The DOCTYPE names the public DTD (``http://xml.cxml.org/schemas/cXML/1.2.069/InvoiceDetail.dtd``)
and is never resolved here; tests validate against the copy in the corpus. Same inputs,
same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from formats.cxml.terms import EXEMPT_DETAIL, TAX_CATEGORY
from formats.errors import SerializeError
from formats.invoice.calculate import ZERO_VAT_CATEGORIES, RoundingRule
from formats.invoice.codes import currency_decimals
from formats.invoice.model import (
    Address,
    Buyer,
    Contact,
    Invoice,
    InvoiceLine,
    LineAllowance,
    Seller,
    VatBreakdown,
)
from formats.invoice.prepare import calculated as prepare_amounts
from formats.invoice.problems import Problem, problem_at

__all__ = [
    "CXML_VERSION",
    "SUPPORTED_VERSIONS",
    "USER_AGENT",
    "Credentials",
    "Identity",
    "doctype",
    "payload_id",
    "prepare",
    "system_id",
    "to_cxml",
]

CXML_VERSION = "1.2.069"
SUPPORTED_VERSIONS = ("1.2.069",)
"""Versions whose InvoiceDetail.dtd this writer follows (TotalCharges … need 1.2.069)."""
USER_AGENT = "einvoice-gateway cXML channel 1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANG = "en"
PAYLOAD_DOMAIN = "einvoice-gateway"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def system_id(version: str = CXML_VERSION) -> str:
    """The public SYSTEM id of the InvoiceDetail DTD of ``version`` (never fetched by us)."""
    return f"http://xml.cxml.org/schemas/cXML/{version}/InvoiceDetail.dtd"


def doctype(version: str = CXML_VERSION) -> str:
    return f'<!DOCTYPE cXML SYSTEM "{system_id(version)}">'


def payload_id(delivery_id: str, domain: str = PAYLOAD_DOMAIN) -> str:
    """The cXML payloadID of a delivery: the same for every attempt of that delivery.

    Ariba recognises a repeated payloadID as the same document, so a retry after a crash is
    not a second invoice. The ``<id>@<host>`` form is the cXML convention; an id with other
    characters than ``[A-Za-z0-9._-]`` is replaced by its SHA-256 (still stable).
    """
    if not delivery_id:
        raise ValueError("a payloadID needs a delivery id")
    local = (
        delivery_id if _SAFE_ID.fullmatch(delivery_id) else hashlib.sha256(delivery_id.encode()).hexdigest()
    )
    return f"{local}@{domain}"


@dataclass(frozen=True)
class Identity:
    """One cXML credential: ``domain`` (NetworkID, DUNS, …) and the identity in it."""

    domain: str
    identity: str


@dataclass(frozen=True)
class Credentials:
    """The envelope's parties: supplier (``from``), buyer (``to``), transmitter (``sender``)."""

    from_: Identity
    to: Identity
    sender: Identity
    shared_secret: str
    user_agent: str = USER_AGENT

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Credentials:
        """From ``{"from": {domain, identity}, "to": …, "sender": …, "shared_secret": …}``.

        That is the Ariba channel's settings (``AribaSettings`` by alias) plus its secret.
        """
        problems: list[str] = []

        def identity(key: str) -> Identity:
            raw = data.get(key) if key != "from" else data.get("from", data.get("from_"))
            if isinstance(raw, Identity):
                return raw
            if isinstance(raw, Mapping):
                domain, ident = raw.get("domain"), raw.get("identity")
                if isinstance(domain, str) and domain.strip() and isinstance(ident, str) and ident.strip():
                    return Identity(domain.strip(), ident.strip())
            problems.append(f"'{key}' needs a domain and an identity")
            return Identity("", "")

        result = {k: identity(k) for k in ("from", "to", "sender")}
        secret = data.get("shared_secret")
        if not isinstance(secret, str) or not secret:
            problems.append("'shared_secret' is missing")
        if problems:
            raise SerializeError("the cXML credentials are incomplete: " + "; ".join(problems))
        agent = data.get("user_agent")
        return cls(
            from_=result["from"],
            to=result["to"],
            sender=result["sender"],
            shared_secret=str(secret),
            user_agent=agent if isinstance(agent, str) and agent else USER_AGENT,
        )


def _num(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text.lstrip("-").strip("0.") == "" else text


def _datetime(value: date) -> str:
    """cXML dates are ``datetime.tz``; an invoice date has no time, so midnight UTC."""
    return f"{value.isoformat()}T00:00:00+00:00"


class _Writer:
    def __init__(
        self, inv: Invoice, creds: Credentials, payload: str, timestamp: str, mode: str, version: str
    ) -> None:
        self.inv = inv
        self.creds = creds
        self.payload = payload
        self.timestamp = timestamp
        self.mode = mode
        self.version = version
        self.currency = inv.currency_code
        self.sign = Decimal(-1) if inv.is_credit_note else Decimal(1)
        self.quantum = Decimal(1).scaleb(-currency_decimals(inv.currency_code))
        self.header_invoice = inv.is_credit_note or not inv.purchase_order_reference

    # -------------------------------------------------------------- helpers

    @staticmethod
    def el(
        parent: etree._Element, tag: str, text: str | None = None, /, **attrs: str | None
    ) -> etree._Element:
        node = etree.SubElement(parent, tag)
        if text is not None:
            node.text = text
        for key, value in attrs.items():
            if value is not None:
                node.set(XML_LANG if key == "lang" else key, value)
        return node

    def money(self, parent: etree._Element, tag: str | None, value: Decimal, *, signed: bool = True) -> None:
        """``<tag><Money currency=…>`` (or a bare ``Money`` when ``tag`` is None)."""
        holder = parent if tag is None else self.el(parent, tag)
        amount = value * self.sign if signed else value
        self.el(holder, "Money", _num(amount), currency=self.currency)

    def credential(self, parent: etree._Element, who: Identity, secret: str | None = None) -> None:
        cred = self.el(parent, "Credential", domain=who.domain)
        self.el(cred, "Identity", who.identity)
        if secret is not None:
            self.el(cred, "SharedSecret", secret)

    # -------------------------------------------------------------- document

    def build(self) -> etree._Element:
        root = etree.Element("cXML")
        root.set("payloadID", self.payload)
        root.set("timestamp", self.timestamp)
        root.set("version", self.version)
        root.set(XML_LANG, LANG)
        header = self.el(root, "Header")
        self.credential(self.el(header, "From"), self.creds.from_)
        self.credential(self.el(header, "To"), self.creds.to)
        sender = self.el(header, "Sender")
        self.credential(sender, self.creds.sender, self.creds.shared_secret)
        self.el(sender, "UserAgent", self.creds.user_agent)
        request = self.el(self.el(root, "Request", deploymentMode=self.mode), "InvoiceDetailRequest")
        self.request_header(request)
        if self.header_invoice:
            self.header_order(request)
        else:
            self.detail_order(request)
        self.summary(request)
        return root

    def request_header(self, parent: etree._Element) -> None:
        inv = self.inv
        head = self.el(
            parent,
            "InvoiceDetailRequestHeader",
            invoiceID=inv.number,
            purpose="creditMemo" if inv.is_credit_note else "standard",
            operation="new",
            invoiceDate=_datetime(inv.issue_date),
        )
        self.el(head, "InvoiceDetailHeaderIndicator", isHeaderInvoice="yes" if self.header_invoice else None)
        self.el(head, "InvoiceDetailLineIndicator", isTaxInLine=None if self.header_invoice else "yes")
        self.partner(head, "from", inv.seller, seller=True)
        self.partner(head, "soldTo", inv.buyer)
        self.partner(head, "billTo", inv.buyer)
        self.remit_to(head)
        if inv.preceding_invoices:
            first = inv.preceding_invoices[0]
            self.el(
                head,
                "InvoiceIDInfo",
                invoiceID=first.reference,
                invoiceDate=_datetime(first.issue_date) if first.issue_date else None,
            )
        if inv.due_date is not None and inv.due_date >= inv.issue_date:
            self.el(head, "PaymentTerm", payInNumberOfDays=str((inv.due_date - inv.issue_date).days))
        period = inv.invoicing_period
        if period is not None and period.start_date and period.end_date:
            self.el(
                head, "Period", startDate=_datetime(period.start_date), endDate=_datetime(period.end_date)
            )
        comments = [f"{n.subject_code}: {n.text}" if n.subject_code else n.text for n in inv.notes]
        if inv.payment_terms:
            comments.append(inv.payment_terms)
        if comments:
            self.el(head, "Comments", "\n".join(comments), lang=LANG)
        if inv.buyer_reference:
            self.el(head, "Extrinsic", inv.buyer_reference, name="buyerReference")

    def contact(
        self, parent: etree._Element, role: str, name: str, address: Address | None, contact: Contact | None
    ) -> etree._Element:
        node = self.el(parent, "Contact", role=role)
        self.el(node, "Name", name, lang=LANG)
        if address is not None and address.line1 and address.city:
            postal = self.el(node, "PostalAddress")
            for line in (address.line1, address.line2, address.line3):
                if line:
                    self.el(postal, "Street", line)
            self.el(postal, "City", address.city)
            if address.country_subdivision:
                self.el(postal, "State", address.country_subdivision)
            if address.post_code:
                self.el(postal, "PostalCode", address.post_code)
            self.el(postal, "Country", address.country_code, isoCountryCode=address.country_code)
        if contact is not None and contact.email:
            self.el(node, "Email", contact.email, name=contact.name)
        return node

    def partner(
        self, parent: etree._Element, role: str, party: Seller | Buyer, *, seller: bool = False
    ) -> None:
        partner = self.el(parent, "InvoicePartner")
        self.contact(partner, role, party.name, party.address, party.contact)
        refs: list[tuple[str, str]] = []
        if party.vat_identifier:
            refs.append(("vatID", party.vat_identifier))
        if isinstance(party, Seller):
            if party.tax_registration_identifier:
                refs.append(("supplierTaxID", party.tax_registration_identifier))
            refs += [(f"partyID.{i.scheme}" if i.scheme else "partyID", i.value) for i in party.identifiers]
        elif party.identifier is not None:
            ident = party.identifier
            refs.append((f"partyID.{ident.scheme}" if ident.scheme else "partyID", ident.value))
        if party.legal_registration is not None:
            reg = party.legal_registration
            refs.append(
                (f"companyRegistration.{reg.scheme}" if reg.scheme else "companyRegistration", reg.value)
            )
        if party.electronic_address is not None:
            refs.append(
                (f"electronicAddress.{party.electronic_address.scheme}", party.electronic_address.value)
            )
        for domain, identifier in refs:
            self.el(partner, "IdReference", identifier=identifier, domain=domain)

    def remit_to(self, parent: etree._Element) -> None:
        """Whom to pay and where: the payee (BG-10) or else the seller, with BG-17's account."""
        inv = self.inv
        partner = self.el(parent, "InvoicePartner")
        if inv.payee is not None:
            self.contact(partner, "remitTo", inv.payee.name, None, None)
        else:
            self.contact(partner, "remitTo", inv.seller.name, inv.seller.address, None)
        instructions = inv.payment_instructions
        for transfer in instructions.credit_transfers if instructions else []:
            self.el(partner, "IdReference", identifier=transfer.account_identifier, domain="ibanID")
            if transfer.service_provider_identifier:
                self.el(
                    partner, "IdReference", identifier=transfer.service_provider_identifier, domain="swiftID"
                )
            if transfer.account_name:
                self.el(partner, "IdReference", identifier=transfer.account_name, domain="accountName")

    # -------------------------------------------------------------- order references

    def order_info(self, parent: etree._Element) -> None:
        inv = self.inv
        info = self.el(parent, "InvoiceDetailOrderInfo")
        if inv.purchase_order_reference:
            self.el(info, "OrderIDInfo", orderID=inv.purchase_order_reference)
        elif inv.contract_reference:
            self.el(info, "MasterAgreementIDInfo", agreementID=inv.contract_reference)
        if inv.sales_order_reference:
            self.el(info, "SupplierOrderInfo", orderID=inv.sales_order_reference)
        elif not (inv.purchase_order_reference or inv.contract_reference):
            # the content model needs one reference; the supplier's own is the invoice itself
            self.el(info, "SupplierOrderInfo", orderID=inv.number)

    # -------------------------------------------------------------- lines

    def line_subtotal(self, line: InvoiceLine) -> Decimal:
        """Quantity × price before the line's allowances and charges (DTD: SubtotalAmount)."""
        net = line.net_amount or Decimal(0)
        return (
            net
            + sum((a.amount or Decimal(0) for a in line.allowances), Decimal(0))
            - sum((c.amount or Decimal(0) for c in line.charges), Decimal(0))
        )

    def tax_detail(
        self,
        parent: etree._Element,
        category: str,
        rate: Decimal | None,
        taxable: Decimal,
        tax: Decimal,
        reason: str | None = None,
        reason_code: str | None = None,
    ) -> None:
        detail = self.el(
            parent,
            "TaxDetail",
            purpose="tax",
            category=TAX_CATEGORY,
            percentageRate=_num(rate) if rate is not None else None,
            taxPointDate=_datetime(self.inv.tax_point_date) if self.inv.tax_point_date else None,
            exemptDetail=EXEMPT_DETAIL.get(category),
            taxRateType=category,
        )
        self.money(detail, "TaxableAmount", taxable)
        self.money(detail, "TaxAmount", tax)
        label = f"VAT {category}" + (f" {_num(rate)}%" if rate is not None else "")
        self.el(detail, "Description", label, lang=LANG)
        if reason_code or reason:
            exemption = self.el(detail, "TaxExemption", exemptCode=reason_code or category)
            if reason:
                self.el(exemption, "ExemptReason", reason, lang=LANG)

    def line_tax(self, line: InvoiceLine) -> Decimal:
        rate = line.vat.rate
        if rate is None or line.vat.category_code in ZERO_VAT_CATEGORIES:
            return Decimal(0)
        net = line.net_amount or Decimal(0)
        value = net * rate / Decimal(100)
        return (value.quantize(self.quantum, rounding="ROUND_HALF_UP")) + 0

    def modifications(self, parent: etree._Element, tag: str, items: list[Any]) -> None:
        if not items:
            return
        mods = self.el(parent, tag)
        for item in items:
            mod = self.el(mods, "Modification")
            amount = item.amount or Decimal(0)
            is_allowance = isinstance(item, LineAllowance) or type(item).__name__ == "DocumentAllowance"
            if is_allowance:
                self.money(self.el(self.el(mod, "AdditionalDeduction"), "DeductionAmount"), None, amount)
            else:
                self.money(self.el(mod, "AdditionalCost"), None, amount)
            category = getattr(item, "vat_category_code", None)
            if category is not None:
                rate = item.vat_rate
                tax_value = Decimal(0)
                if rate is not None and category not in ZERO_VAT_CATEGORIES:
                    tax_value = (amount * rate / Decimal(100)).quantize(
                        self.quantum, rounding="ROUND_HALF_UP"
                    ) + 0
                tax = self.el(mod, "Tax")
                self.money(tax, None, tax_value)
                self.el(tax, "Description", "VAT", lang=LANG)
                self.tax_detail(tax, category, rate, amount, tax_value)
            detail = self.el(
                mod,
                "ModificationDetail",
                name="Allowance" if is_allowance else "Charge",
                code=item.reason_code,
            )
            if item.reason:
                self.el(detail, "Description", item.reason, lang=LANG)

    def detail_order(self, parent: etree._Element) -> None:
        order = self.el(parent, "InvoiceDetailOrder")
        self.order_info(order)
        for index, line in enumerate(self.inv.lines, start=1):
            self.item(order, line, index)

    def item(self, parent: etree._Element, line: InvoiceLine, index: int) -> None:
        number = line.id if line.id.isdigit() else str(index)
        node = self.el(parent, "InvoiceDetailItem", invoiceLineNumber=number, quantity=_num(line.quantity))
        self.el(node, "UnitOfMeasure", line.unit_code)
        price = line.price.net_amount or Decimal(0)
        self.money(self.el(node, "UnitPrice"), None, price)
        if line.price.base_quantity is not None and line.price.base_quantity != 1:
            basis = self.el(
                node, "PriceBasisQuantity", quantity=_num(line.price.base_quantity), conversionFactor="1"
            )
            self.el(basis, "UnitOfMeasure", line.price.base_quantity_unit_code or line.unit_code)
        order_line = line.order_line_reference
        ref = self.el(
            node,
            "InvoiceDetailItemReference",
            lineNumber=order_line if order_line and order_line.isdigit() else number,
        )
        item = line.item
        if item.sellers_identifier:
            item_id = self.el(ref, "ItemID")
            self.el(item_id, "SupplierPartID", item.sellers_identifier)
            if item.buyers_identifier:
                self.el(item_id, "BuyerPartID", item.buyers_identifier)
            if item.standard_identifier is not None:
                std = item.standard_identifier
                self.el(item_id, "IdReference", identifier=std.value, domain=f"standard.{std.scheme}")
        description = self.el(ref, "Description", item.description or item.name, lang=LANG)
        if item.description:
            self.el(description, "ShortName", item.name)
        for cls in item.classifications:
            self.el(ref, "Classification", cls.value, domain=cls.scheme)
        if item.origin_country:
            self.el(ref, "Country", item.origin_country, isoCountryCode=item.origin_country)
        self.money(node, "SubtotalAmount", self.line_subtotal(line))
        tax_value = self.line_tax(line)
        tax = self.el(node, "Tax")
        self.money(tax, None, tax_value)
        self.el(tax, "Description", "VAT", lang=LANG)
        self.tax_detail(tax, line.vat.category_code, line.vat.rate, line.net_amount or Decimal(0), tax_value)
        self.modifications(node, "InvoiceItemModifications", [*line.allowances, *line.charges])
        if line.charges:
            self.money(node, "TotalCharges", sum((c.amount or Decimal(0) for c in line.charges), Decimal(0)))
        if line.allowances:
            self.money(
                node, "TotalAllowances", sum((a.amount or Decimal(0) for a in line.allowances), Decimal(0))
            )
        if line.charges or line.allowances:
            self.money(node, "TotalAmountWithoutTax", line.net_amount or Decimal(0))
        if line.note:
            self.el(node, "Comments", line.note, lang=LANG)
        if line.buyer_accounting_reference:
            self.el(node, "Extrinsic", line.buyer_accounting_reference, name="buyerAccountingReference")
        if line.period is not None and (line.period.start_date or line.period.end_date):
            span = " – ".join(d.isoformat() for d in (line.period.start_date, line.period.end_date) if d)
            self.el(node, "Extrinsic", span, name="period")

    def header_order(self, parent: etree._Element) -> None:
        order = self.el(parent, "InvoiceDetailHeaderOrder")
        self.order_info(order)
        summary = self.el(order, "InvoiceDetailOrderSummary", invoiceLineNumber="1")
        self.money(summary, "SubtotalAmount", self.inv.totals.line_net_total or Decimal(0))
        self.tax(summary)
        lines = []
        for line in self.inv.lines:
            price = _num(line.price.net_amount or Decimal(0))
            rate = f" {_num(line.vat.rate)}%" if line.vat.rate is not None else ""
            lines.append(
                f"{line.id}: {_num(line.quantity)} {line.unit_code} {line.item.name} × {price} "
                f"= {_num(line.net_amount or Decimal(0))} {self.currency} "
                f"(VAT {line.vat.category_code}{rate})"
            )
        if lines:
            self.el(summary, "Comments", "\n".join(lines), lang=LANG)

    # -------------------------------------------------------------- summary

    def tax(self, parent: etree._Element) -> None:
        tax = self.el(parent, "Tax")
        self.money(tax, None, self.inv.totals.vat_total or Decimal(0))
        self.el(tax, "Description", "VAT", lang=LANG)
        for entry in self.inv.vat_breakdown:
            self.breakdown(tax, entry)

    def breakdown(self, parent: etree._Element, entry: VatBreakdown) -> None:
        self.tax_detail(
            parent,
            entry.category_code,
            entry.rate,
            entry.taxable_amount or Decimal(0),
            entry.tax_amount or Decimal(0),
            entry.exemption_reason,
            entry.exemption_reason_code,
        )

    def summary(self, parent: etree._Element) -> None:
        inv = self.inv
        totals = inv.totals
        summary = self.el(parent, "InvoiceDetailSummary")
        if self.header_invoice:
            subtotal = totals.line_net_total or Decimal(0)
            line_allowances = line_charges = Decimal(0)
        else:
            subtotal = sum((self.line_subtotal(line) for line in inv.lines), Decimal(0))
            line_allowances = sum(
                (a.amount or Decimal(0) for ln in inv.lines for a in ln.allowances), Decimal(0)
            )
            line_charges = sum((c.amount or Decimal(0) for ln in inv.lines for c in ln.charges), Decimal(0))
        self.money(summary, "SubtotalAmount", subtotal)
        self.tax(summary)
        gross = totals.tax_inclusive_amount or Decimal(0)
        self.money(summary, "GrossAmount", gross)
        self.modifications(summary, "InvoiceHeaderModifications", [*inv.allowances, *inv.charges])
        allowances = line_allowances + (totals.allowance_total or Decimal(0))
        charges = line_charges + (totals.charge_total or Decimal(0))
        if charges:
            self.money(summary, "TotalCharges", charges)
        if allowances:
            self.money(summary, "TotalAllowances", allowances)
        self.money(summary, "TotalAmountWithoutTax", totals.tax_exclusive_amount or Decimal(0))
        self.money(summary, "NetAmount", gross)
        if totals.paid_amount:
            self.money(summary, "DepositAmount", totals.paid_amount)
        self.money(summary, "DueAmount", totals.amount_due if totals.amount_due is not None else gross)


def _requirements(inv: Invoice) -> list[Problem]:
    problems: list[Problem] = []
    if inv.tax_currency_code and inv.tax_currency_code != inv.currency_code:
        problems.append(
            problem_at(
                "$.tax_currency_code",
                "BT-6: cXML has no VAT accounting currency; the VAT total in it (BT-111) would be lost",
                term="BT-6",
            )
        )
    return problems


def prepare(
    invoice: Invoice, rounding: RoundingRule = RoundingRule.TOTALS, *, keep_supplied: bool = False
) -> Invoice:
    """Calculate the invoice and check cXML can carry it; ``SerializeError`` if not."""
    if not invoice.lines:
        raise SerializeError(
            "the invoice cannot be written as cXML",
            [
                problem_at(
                    "$.lines",
                    "BR-16: cXML needs the invoice lines (BG-25); this is a line-less summary "
                    "(Factur-X MINIMUM / BASIC WL), whose lines are only in its PDF",
                    rule="BR-16",
                    term="BG-25",
                )
            ],
        )
    calculated = prepare_amounts(invoice, rounding, keep_supplied=keep_supplied)
    problems = _requirements(calculated)
    if problems:
        raise SerializeError("the invoice cannot be written as cXML", problems)
    return calculated


def to_cxml(
    invoice: Invoice,
    *,
    payload_id: str,
    timestamp: datetime,
    sender: Credentials | Mapping[str, Any],
    deployment_mode: str = "production",
    version: str = CXML_VERSION,
    rounding: RoundingRule = RoundingRule.TOTALS,
    keep_supplied: bool = False,
) -> bytes:
    """The invoice as a cXML InvoiceDetailRequest document (UTF-8, DOCTYPE, declaration).

    ``payload_id``: use ``payload_id(delivery_id)`` so every attempt of a delivery sends the
    same one; ``timestamp``: an aware datetime (the time of the delivery, kept per delivery
    for the same reason); ``sender``: ``Credentials`` or the channel's settings mapping with
    ``shared_secret``. Deterministic: the same arguments give the same bytes.
    """
    if version not in SUPPORTED_VERSIONS:
        raise SerializeError(
            f"cXML version {version!r} is not supported; use one of {', '.join(SUPPORTED_VERSIONS)}"
        )
    if deployment_mode not in ("production", "test"):
        raise SerializeError(f"deploymentMode must be 'production' or 'test', not {deployment_mode!r}")
    if not payload_id or not payload_id.strip():
        raise SerializeError("the cXML payloadID must not be empty")
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise SerializeError("the cXML timestamp needs a time zone (an aware datetime)")
    creds = sender if isinstance(sender, Credentials) else Credentials.from_mapping(sender)
    prepared = prepare(invoice, rounding, keep_supplied=keep_supplied)
    stamp = timestamp.isoformat(timespec="seconds")
    root = _Writer(prepared, creds, payload_id, stamp, deployment_mode, version).build()
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True, doctype=doctype(version)
    )
