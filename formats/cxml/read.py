"""cXML ``InvoiceDetailRequest`` → canonical invoice, with what could not be carried over.

``from_cxml(data)`` returns ``(Invoice, [Loss])`` or raises ``ParseError`` naming the element
path and line. Parsing is the hardened one (``formats.xmlsafe``): the cXML DOCTYPE line with
its public SYSTEM id on ``xml.cxml.org`` is the only DOCTYPE tolerated, and it is blanked out
(same length, so line numbers hold), never loaded; any other DOCTYPE, an internal subset or
an entity is refused. A cXML document that is not an InvoiceDetailRequest (a Response, an
OrderRequest, a StatusUpdateRequest…) is a ``ParseError`` "not an InvoiceDetailRequest".

What is read, and how:

* ``purpose`` standard → 380, creditMemo / lineLevelCreditMemo → 381 (the negative cXML
  amounts become the positive amounts of a credit note), debitMemo → 383; ``operation="delete"``
  cancels an earlier invoice and is refused;
* partners by ``Contact@role``: ``from`` / ``issuerOfInvoice`` / ``invoiceFrom`` the seller,
  ``soldTo`` / ``billTo`` the buyer, ``remitTo`` the payee when it is not the seller (its
  ``ibanID`` / ``swiftID`` / ``accountName`` become a credit transfer). Without a seller or
  buyer contact, the ``Header/From`` / ``To`` identity names the party, and a seller without
  a postal address takes ``default_country`` (BT-40 is mandatory in EN 16931), or the read
  fails naming BT-40;
* order references: ``OrderIDInfo@orderID``, ``OrderReference@orderID`` or its
  ``DocumentReference@payloadID`` → BT-13; master agreements → BT-12; ``SupplierOrderInfo``
  → BT-14; a second, different reference of the same kind is a loss;
* lines from ``InvoiceDetailItem`` / ``InvoiceDetailServiceItem``; a header invoice
  (``InvoiceDetailHeaderOrder``) becomes one line per order summary (quantity 1, price = the
  subtotal, named after its order);
* taxes: ``taxRateType`` holding a UNTDID 5305 code (as the gateway writes it) gives the VAT
  category, else ``exemptDetail`` (zeroRated → Z, exempt → E), else S when a rate is given.
  A tax whose ``category`` is not a VAT (US sales tax, …) is read as VAT with a loss saying so;
* amounts are kept as stated (the official rules judge the arithmetic); empty ``Money``
  elements are treated as absent; special handling and shipping become document charges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from pydantic import ValidationError

from formats.cxml.terms import (
    BUYER_ROLES,
    CLASSIFICATION_SCHEMES,
    CREDIT_NOTE_TYPE,
    CREDIT_PURPOSES,
    DEBIT_NOTE_TYPE,
    DEBIT_PURPOSES,
    INVOICE_TYPE,
    PAYEE_ROLE,
    SELLER_ROLES,
    VAT_LIKE,
)
from formats.errors import ParseError
from formats.invoice.codes import CodeList, is_valid
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice
from formats.invoice.problems import from_validation_error
from formats.ubl.xmlparse import Paths
from formats.xmlsafe import DOCUMENT, MAX_XML_BYTES, parse

__all__ = ["CXML_DOCTYPE", "from_cxml", "parse_cxml"]

CXML_DOCTYPE = re.compile(
    rb'<!DOCTYPE\s+cXML\s+SYSTEM\s+"https?://(?i:xml\.cxml\.org)/schemas/cXML/[0-9.]+/[A-Za-z]+\.dtd"\s*>'
)
"""The one DOCTYPE a cXML document may carry: the public DTD, by SYSTEM id, no internal subset."""

_DATE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\s*")
_ZERO_RATED = frozenset({"Z", "E", "AE", "K", "G"})


def parse_cxml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse a cXML document with the hardened parser, tolerating only the cXML DOCTYPE."""
    root_at = data.find(b"<cXML")
    prolog = data[: root_at if root_at >= 0 else len(data)]
    found = CXML_DOCTYPE.search(prolog)
    if found is not None:
        # same length, so the parser's line numbers still match the sender's document
        data = data[: found.start()] + b" " * (found.end() - found.start()) + data[found.end() :]
    return parse(data, max_bytes=max_bytes)


def _all_text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext())


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    value = (element.text or "").strip()
    return value or None


class _Reader:
    def __init__(self, root: etree._Element, default_country: str | None) -> None:
        self.root = root
        self.paths = Paths({}, None)
        self.losses: list[Loss] = []
        self.sources: dict[tuple[str | int, ...], tuple[str, int | None]] = {}
        self.currency: str | None = None
        self.sign = Decimal(1)
        self.default_country = default_country

    # -------------------------------------------------------------- helpers

    def path(self, element: etree._Element, attribute: str | None = None) -> str:
        return self.paths.path(element, attribute)

    @staticmethod
    def line(element: etree._Element) -> int | None:
        where: object = element.sourceline
        return where if isinstance(where, int) else None

    def fail(self, element: etree._Element, message: str, attribute: str | None = None) -> ParseError:
        return ParseError(message, path=self.path(element, attribute), line=self.line(element))

    def at(self, loc: tuple[str | int, ...], element: etree._Element, attribute: str | None = None) -> None:
        self.sources[loc] = (self.path(element, attribute), self.line(element))

    def lose(
        self, element: etree._Element, reason: str, attribute: str | None = None, value: str | None = None
    ) -> None:
        shown = (
            value if value is not None else (element.get(attribute) if attribute else _text(element)) or ""
        )
        self.losses.append(Loss(self.path(element, attribute), self.line(element), shown[:200], reason))

    def attr(self, element: etree._Element, name: str) -> str | None:
        value = element.get(name)
        return value.strip() if value and value.strip() else None

    def require(self, element: etree._Element, name: str, term: str) -> str:
        value = self.attr(element, name)
        if value is None:
            raise self.fail(element, f"{term}: the attribute {name} is missing or empty", name)
        return value

    def decimal(self, element: etree._Element, value: str, attribute: str | None = None) -> Decimal:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise self.fail(element, f"{value!r} is not a number", attribute) from None
        if not number.is_finite():
            raise self.fail(element, f"{value!r} is not a number", attribute)
        return number

    def date(self, element: etree._Element, attribute: str, term: str) -> date:
        raw = self.require(element, attribute, term)
        found = _DATE.fullmatch(raw)
        try:
            if found is None:
                raise ValueError(raw)
            return date.fromisoformat(found.group(1))
        except ValueError:
            raise self.fail(
                element, f"{term}: {raw!r} is not a cXML date (YYYY-MM-DDThh:mm:ss±hh:mm)", attribute
            ) from None

    def money(self, holder: etree._Element | None, *, signed: bool = True) -> Decimal | None:
        """The amount of ``holder/Money`` (or of ``holder`` itself if it is a Money); None if empty."""
        if holder is None:
            return None
        money = holder if holder.tag == "Money" else holder.find("Money")
        if money is None:
            return None
        text = _text(money)
        if text is None:
            return None
        currency = self.attr(money, "currency")
        if currency is not None:
            if self.currency is None:
                self.currency = currency
            elif currency != self.currency:
                raise self.fail(
                    money,
                    f"the amount is in {currency} but the invoice is in {self.currency}: "
                    "an invoice has one currency (BT-5)",
                    "currency",
                )
        value = self.decimal(money, text)
        return value * self.sign if signed else value

    # -------------------------------------------------------------- document

    def read(self) -> tuple[Invoice, list[Loss]]:
        root = self.root
        if root.tag != "cXML":
            raise ParseError(
                f"not a cXML document: the root element is {etree.QName(root).localname}", path="/", line=1
            )
        request = root.find("Request")
        payload = request[0] if request is not None and len(request) else None
        while payload is not None and not isinstance(payload.tag, str):
            payload = payload.getnext()
        if payload is None or payload.tag != "InvoiceDetailRequest":
            kind = (
                payload.tag
                if payload is not None
                else next((c.tag for c in root if isinstance(c.tag, str) and c.tag != "Header"), "nothing")
            )
            where = payload if payload is not None else root
            raise self.fail(where, f"not an InvoiceDetailRequest: the cXML carries a {kind}")
        if request is not None and self.attr(request, "deploymentMode") == "test":
            self.lose(request, "a test document (deploymentMode=test)", "deploymentMode")
        header = payload.find("InvoiceDetailRequestHeader")
        if header is None:
            raise self.fail(payload, "the InvoiceDetailRequestHeader is missing")
        doc: dict[str, Any] = {}
        self.read_header(header, doc)
        self.read_parties(header, doc)
        lines: list[dict[str, Any]] = []
        refs: dict[str, str] = {}
        for order in payload:
            if order.tag == "InvoiceDetailOrder":
                info = order.find("InvoiceDetailOrderInfo")
                self.read_order_info(info, refs)
                for item in order:
                    if item.tag in ("InvoiceDetailItem", "InvoiceDetailServiceItem"):
                        lines.append(self.read_item(item, len(lines)))
            elif order.tag == "InvoiceDetailHeaderOrder":
                info = order.find("InvoiceDetailOrderInfo")
                reference = self.read_order_info(info, refs)
                summary = order.find("InvoiceDetailOrderSummary")
                if summary is not None:
                    lines.append(self.read_order_summary(summary, len(lines), reference))
        if not lines:
            raise self.fail(payload, "BR-16: the InvoiceDetailRequest has no invoice line")
        doc.update(
            {k: v for k, v in refs.items() if not (k == "sales_order_reference" and v == doc["number"])}
        )
        doc["lines"] = lines
        summary = payload.find("InvoiceDetailSummary")
        if summary is None:
            raise self.fail(payload, "the InvoiceDetailSummary is missing")
        self.read_summary(summary, doc)
        if self.currency is None:
            raise self.fail(summary, "BT-5: no amount names its currency (Money@currency)")
        doc["currency_code"] = self.currency
        self.at(("currency_code",), summary)
        return self.validate(doc), self.losses

    def validate(self, doc: dict[str, Any]) -> Invoice:
        try:
            return Invoice.model_validate(doc)
        except ValidationError as exc:
            problems = from_validation_error(exc)
            first = exc.errors()[0]
            loc = tuple(first["loc"])
            while loc and loc not in self.sources:
                loc = loc[:-1]
            path, line = self.sources.get(loc, (DOCUMENT, None))
            message = str(problems[0]) if problems else str(first["msg"])
            raise ParseError(
                f"the cXML cannot be read as an invoice: {message}", path=path, line=line
            ) from None

    def read_header(self, header: etree._Element, doc: dict[str, Any]) -> None:
        doc["number"] = self.require(header, "invoiceID", "BT-1")
        self.at(("number",), header, "invoiceID")
        doc["issue_date"] = self.date(header, "invoiceDate", "BT-2")
        raw_date = self.attr(header, "invoiceDate") or ""
        found = _DATE.fullmatch(raw_date)
        if found and raw_date.strip() != found.group(1) and "T00:00:00" not in raw_date:
            self.lose(header, "EN 16931 has an issue date, not a time", "invoiceDate")
        purpose = self.attr(header, "purpose") or "standard"
        if purpose in CREDIT_PURPOSES:
            doc["type_code"] = CREDIT_NOTE_TYPE
            self.sign = Decimal(-1)
        elif purpose in DEBIT_PURPOSES:
            doc["type_code"] = DEBIT_NOTE_TYPE
        elif purpose == "standard":
            doc["type_code"] = INVOICE_TYPE
        else:
            raise self.fail(header, f"purpose {purpose!r} is not a cXML invoice purpose", "purpose")
        if (self.attr(header, "operation") or "new") == "delete":
            raise self.fail(
                header,
                "the document cancels an earlier invoice (operation=delete); it is not an invoice",
                "operation",
            )
        if self.attr(header, "isInformationOnly") == "yes":
            self.lose(
                header, "an information-only invoice (no action expected of the buyer)", "isInformationOnly"
            )
        for child in header:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag == "InvoiceIDInfo":
                preceding: dict[str, Any] = {"reference": self.require(child, "invoiceID", "BT-25")}
                if self.attr(child, "invoiceDate"):
                    preceding["issue_date"] = self.date(child, "invoiceDate", "BT-26")
                doc.setdefault("preceding_invoices", []).append(preceding)
            elif tag == "PaymentTerm" and "due_date" not in doc:
                days = self.require(child, "payInNumberOfDays", "BT-9")
                if not days.isdigit():
                    raise self.fail(child, f"BT-9: {days!r} is not a number of days", "payInNumberOfDays")
                doc["due_date"] = doc["issue_date"] + timedelta(days=int(days))
                self.at(("due_date",), child, "payInNumberOfDays")
            elif tag == "Period":
                doc["invoicing_period"] = {
                    "start_date": self.date(child, "startDate", "BT-73"),
                    "end_date": self.date(child, "endDate", "BT-74"),
                }
                self.at(("invoicing_period",), child)
            elif tag == "Comments":
                text = _all_text(child).strip()
                if text:
                    doc["notes"] = [{"text": text}]
                    self.at(("notes",), child)
            elif tag == "Extrinsic" and child.get("name") == "buyerReference" and _text(child):
                doc["buyer_reference"] = _text(child)
            elif tag in ("InvoiceDetailHeaderIndicator", "InvoiceDetailLineIndicator", "InvoicePartner"):
                continue
            elif tag == "PaymentTerm":
                self.lose(child, "a second payment term", "payInNumberOfDays")
            else:
                self.lose(child, f"{tag} has no place in the canonical invoice", value=_all_text(child))

    # -------------------------------------------------------------- parties

    def read_parties(self, header: etree._Element, doc: dict[str, Any]) -> None:
        by_role: dict[str, etree._Element] = {}
        for partner in header.findall("InvoicePartner"):
            contact = partner.find("Contact")
            role = contact.get("role", "") if contact is not None else ""
            if role in by_role or role not in (*SELLER_ROLES, *BUYER_ROLES, PAYEE_ROLE):
                self.lose(
                    partner, f"the partner role {role or '(none)'!r} has no place in the canonical invoice"
                )
                continue
            by_role[role] = partner
        seller_el = next((by_role[r] for r in SELLER_ROLES if r in by_role), None)
        buyer_el = next((by_role[r] for r in BUYER_ROLES if r in by_role), None)
        for role in BUYER_ROLES:
            buyer_name = _text(buyer_el.find("Contact/Name") if buyer_el is not None else None)
            other = by_role.get(role)
            if (
                other is not None
                and other is not buyer_el
                and _text(other.find("Contact/Name")) != buyer_name
            ):
                self.lose(by_role[role], f"a {role} party other than the buyer")
        doc["seller"] = self.party(seller_el, "seller", "Header/From", seller=True)
        doc["buyer"] = self.party(buyer_el, "buyer", "Header/To", seller=False)
        remit = by_role.get(PAYEE_ROLE)
        if remit is not None:
            name = _text(remit.find("Contact/Name"))
            if name and name != doc["seller"]["name"]:
                doc["payee"] = {"name": name}
                self.at(("payee",), remit)
            transfer: dict[str, str] = {}
            for ref in remit.findall("IdReference"):
                domain, ident = ref.get("domain", ""), self.attr(ref, "identifier")
                key = {
                    "ibanID": "account_identifier",
                    "accountID": "account_identifier",
                    "swiftID": "service_provider_identifier",
                    "accountName": "account_name",
                }.get(domain)
                if key and ident and key not in transfer:
                    transfer[key] = ident
                elif ident:
                    self.lose(ref, f"remit-to reference {domain!r}", "identifier")
            if "account_identifier" in transfer:
                doc["payment_instructions"] = {"means_code": "30", "credit_transfers": [transfer]}
                self.at(("payment_instructions",), remit)

    def party(
        self, partner: etree._Element | None, key: str, fallback: str, *, seller: bool
    ) -> dict[str, Any]:
        if partner is None:
            cred = self.root.find(f"{fallback}/Credential")
            name = _text(cred.find("Identity")) if cred is not None else None
            if cred is None or name is None:
                raise ParseError(
                    f"no InvoicePartner names the {key} and {fallback} has no Credential/Identity",
                    path="/cXML/Request/InvoiceDetailRequest/InvoiceDetailRequestHeader",
                    line=None,
                )
            party: dict[str, Any] = {"name": name}
            self.at((key,), cred)
            if seller:
                party["address"] = self.fallback_address(cred, key)
            return party
        contact = partner.find("Contact")
        assert contact is not None
        name_el = contact.find("Name")
        name = _text(name_el)
        if name is None:
            raise self.fail(contact, f"{'BT-27' if seller else 'BT-44'}: the {key} contact has no Name")
        party = {"name": name}
        self.at((key,), contact)
        postal = contact.find("PostalAddress")
        if postal is not None:
            party["address"] = self.address(postal, (key, "address"))
        elif seller:
            party["address"] = self.fallback_address(contact, key)
        email = contact.find("Email")
        if _text(email):
            assert email is not None
            party["contact"] = {
                "email": _text(email),
                **({"name": email.get("name")} if email.get("name") else {}),
            }
        for ref in partner.findall("IdReference"):
            self.party_reference(ref, party, key, seller=seller)
        return party

    def fallback_address(self, element: etree._Element, key: str) -> dict[str, Any]:
        if self.default_country is None:
            raise self.fail(
                element,
                f"BT-40: the cXML gives no postal address for the {key}, and EN 16931 needs its "
                "country; pass default_country to assume one",
            )
        self.lose(
            element,
            f"no {key} postal address: country assumed from default_country",
            value=self.default_country,
        )
        return {"country_code": self.default_country}

    def address(self, postal: etree._Element, loc: tuple[str, ...]) -> dict[str, Any]:
        streets = [_text(s) for s in postal.findall("Street")]
        streets = [s for s in streets if s]
        address: dict[str, Any] = {}
        for field, value in zip(("line1", "line2", "line3"), streets, strict=False):
            address[field] = value
        for extra in streets[3:]:
            self.lose(postal, "a fourth street line", value=extra)
        for tag, field in (("City", "city"), ("State", "country_subdivision"), ("PostalCode", "post_code")):
            value = _text(postal.find(tag))
            if value:
                address[field] = value
        country = postal.find("Country")
        if country is None:
            raise self.fail(postal, "the PostalAddress has no Country")
        address["country_code"] = (country.get("isoCountryCode") or "").strip().upper()
        self.at(loc, postal)
        self.at((*loc, "country_code"), country, "isoCountryCode")
        for deliver_to in postal.findall("DeliverTo"):
            self.lose(deliver_to, "DeliverTo has no place in a party address")
        return address

    def party_reference(self, ref: etree._Element, party: dict[str, Any], key: str, *, seller: bool) -> None:
        domain = ref.get("domain", "")
        ident = self.attr(ref, "identifier")
        if ident is None:
            return
        base, _, scheme = domain.partition(".")
        if domain == "vatID" and "vat_identifier" not in party:
            party["vat_identifier"] = ident
        elif (
            seller
            and domain in ("supplierTaxID", "taxNumber", "taxID")
            and "tax_registration_identifier" not in party
        ):
            party["tax_registration_identifier"] = ident
        elif base == "partyID" and seller:
            party.setdefault("identifiers", []).append(
                {"value": ident, **({"scheme": scheme} if scheme else {})}
            )
        elif base == "partyID" and "identifier" not in party:
            party["identifier"] = {"value": ident, **({"scheme": scheme} if scheme else {})}
        elif base == "companyRegistration" and "legal_registration" not in party:
            party["legal_registration"] = {"value": ident, **({"scheme": scheme} if scheme else {})}
        elif base == "electronicAddress" and scheme and "electronic_address" not in party:
            party["electronic_address"] = {"value": ident, "scheme": scheme}
        else:
            self.lose(
                ref, f"the {key} reference {domain!r} has no place in the canonical invoice", "identifier"
            )
            return
        self.at((key,), ref)

    # -------------------------------------------------------------- orders and lines

    def read_order_info(self, info: etree._Element | None, refs: dict[str, str]) -> str | None:
        """Store the order's references (first of each kind wins); return the one naming it."""
        if info is None:
            return None
        found: list[tuple[str, str, etree._Element, str | None]] = []
        for child in info:
            if not isinstance(child.tag, str):
                continue
            if child.tag in ("OrderIDInfo", "OrderReference"):
                value = self.attr(child, "orderID")
                doc_ref = child.find("DocumentReference")
                if value is None and doc_ref is not None:
                    found.append(
                        (
                            "purchase_order_reference",
                            self.attr(doc_ref, "payloadID") or "",
                            doc_ref,
                            "payloadID",
                        )
                    )
                elif value is not None:
                    found.append(("purchase_order_reference", value, child, "orderID"))
            elif child.tag in ("MasterAgreementIDInfo", "MasterAgreementReference"):
                value = self.attr(child, "agreementID")
                doc_ref = child.find("DocumentReference")
                if value is None and doc_ref is not None:
                    found.append(
                        ("contract_reference", self.attr(doc_ref, "payloadID") or "", doc_ref, "payloadID")
                    )
                elif value is not None:
                    found.append(("contract_reference", value, child, "agreementID"))
            elif child.tag == "SupplierOrderInfo":
                found.append(("sales_order_reference", self.attr(child, "orderID") or "", child, "orderID"))
        naming: str | None = None
        for field, value, element, attribute in found:
            if not value:
                continue
            naming = naming or value
            if field not in refs:
                refs[field] = value
                self.at((field,), element, attribute)
            elif refs[field] != value:
                self.lose(element, f"a further order reference ({field}); the invoice holds one", attribute)
        return naming

    def tax_of(self, tax: etree._Element | None) -> tuple[str, Decimal | None] | None:
        if tax is None:
            return None
        details = tax.findall("TaxDetail")
        if not details:
            return None
        for extra in details[1:]:
            self.lose(extra, "a further tax on the same line; the line carries one VAT category", "category")
        return self.vat(details[0])

    def vat(self, detail: etree._Element) -> tuple[str, Decimal | None]:
        category_attr = self.attr(detail, "category") or ""
        rate_raw = self.attr(detail, "percentageRate")
        rate = self.decimal(detail, rate_raw, "percentageRate") if rate_raw else None
        rate_type = self.attr(detail, "taxRateType")
        exempt = self.attr(detail, "exemptDetail")
        tax_amount = self.money(detail.find("TaxAmount"), signed=False)
        if rate_type and is_valid(CodeList.VAT_CATEGORY, rate_type):
            category = rate_type
        elif exempt == "zeroRated":
            category = "Z"
        elif exempt == "exempt":
            category = "E"
        elif (rate is not None and rate > 0) or (tax_amount is not None and tax_amount != 0):
            category = "S"
        else:
            category = "Z"
        if category in _ZERO_RATED and rate is None:
            rate = Decimal(0)
        if category_attr.lower() not in VAT_LIKE:
            self.lose(
                detail,
                f"the tax category {category_attr!r} is not a VAT; read as VAT category {category}",
                "category",
            )
        return category, rate

    def read_item(self, item: etree._Element, index: int) -> dict[str, Any]:
        loc: tuple[str | int, ...] = ("lines", index)
        self.at(loc, item)
        number = self.require(item, "invoiceLineNumber", "BT-126")
        service = item.tag == "InvoiceDetailServiceItem"
        raw_qty = self.attr(item, "quantity")
        if raw_qty is None and not service:
            raise self.fail(item, "BT-129: the attribute quantity is missing", "quantity")
        quantity = self.decimal(item, raw_qty, "quantity") if raw_qty else Decimal(1)
        self.at((*loc, "quantity"), item, "quantity")
        unit_el = item.find("UnitOfMeasure")
        unit = _text(unit_el) or "C62"
        if unit_el is not None:
            self.at((*loc, "unit_code"), unit_el)
        price_el = item.find("UnitPrice")
        subtotal = self.money(item.find("SubtotalAmount"))
        price = self.money(price_el)
        if price is None:
            if subtotal is None:
                raise self.fail(item, "BT-146: the line has neither a UnitPrice nor a SubtotalAmount")
            price = subtotal / quantity if quantity else subtotal
        line: dict[str, Any] = {"id": number, "quantity": str(quantity), "unit_code": unit}
        if quantity < 0 and price < 0:  # a credit line stated twice negative: the amount is a credit
            quantity, price = -quantity, -price
            line["quantity"] = str(quantity)
        if price < 0:
            quantity, price = -quantity, -price
            line["quantity"] = str(quantity)
        line["price"] = {"net_amount": str(price)}
        self.at((*loc, "price"), price_el if price_el is not None else item)
        basis = item.find("PriceBasisQuantity")
        if basis is not None:
            line["price"]["base_quantity"] = self.require(basis, "quantity", "BT-149")
            base_unit = _text(basis.find("UnitOfMeasure"))
            if base_unit:
                line["price"]["base_quantity_unit_code"] = base_unit
            if (self.attr(basis, "conversionFactor") or "1") not in ("1", "1.0"):
                self.lose(basis, "a price basis conversion factor", "conversionFactor")
        ref = item.find("InvoiceDetailServiceItemReference" if service else "InvoiceDetailItemReference")
        item_doc = self.read_item_reference(ref, item, loc)
        line["item"] = item_doc
        if ref is not None and not service and self.attr(ref, "lineNumber"):
            line["order_line_reference"] = self.attr(ref, "lineNumber")
        net = self.money(item.find("TotalAmountWithoutTax"))
        if net is None and item.find("InvoiceItemModifications") is None:
            net = subtotal
        if net is not None:
            line["net_amount"] = str(net)
        allowances, charges = self.modifications(item.find("InvoiceItemModifications"), document=False)
        if allowances:
            line["allowances"] = allowances
        if charges:
            line["charges"] = charges
        tax = item.find("Tax")
        line["vat"] = self.vat_dict(self.tax_of(tax))
        self.at((*loc, "vat"), tax if tax is not None else item)
        comments = item.find("Comments")
        if comments is not None and _all_text(comments).strip():
            line["note"] = _all_text(comments).strip()
        period = item.find("Period")
        if period is not None:
            line["period"] = {
                "start_date": self.date(period, "startDate", "BT-134"),
                "end_date": self.date(period, "endDate", "BT-135"),
            }
        for extrinsic in item.findall("Extrinsic"):
            if extrinsic.get("name") == "buyerAccountingReference" and _text(extrinsic):
                line["buyer_accounting_reference"] = _text(extrinsic)
            else:
                self.lose(
                    extrinsic,
                    f"line extrinsic {extrinsic.get('name')!r}",
                    value=_all_text(extrinsic),
                )
        for tag in (
            "InvoiceDetailLineShipping",
            "InvoiceDetailLineSpecialHandling",
            "InvoiceDetailDiscount",
            "Distribution",
        ):
            for element in item.findall(tag):
                self.lose(
                    element,
                    f"{tag} on a line has no place in the canonical invoice",
                    value=_all_text(element).strip(),
                )
        return line

    def vat_dict(self, vat: tuple[str, Decimal | None] | None) -> dict[str, Any]:
        if vat is None:
            vat = self.summary_vat or ("Z", Decimal(0))
        category, rate = vat
        return {"category_code": category, **({"rate": str(rate)} if rate is not None else {})}

    summary_vat: tuple[str, Decimal | None] | None = None

    def read_item_reference(
        self, ref: etree._Element | None, item: etree._Element, loc: tuple[str | int, ...]
    ) -> dict[str, Any]:
        desc = ref.find("Description") if ref is not None else None
        short = desc.find("ShortName") if desc is not None else None
        body = (desc.text or "").strip() if desc is not None else ""
        name = _text(short) or body
        if not name:
            raise self.fail(
                ref if ref is not None else item, "BT-153: the line has no Description (item name)"
            )
        doc: dict[str, Any] = {"name": name}
        if short is not None and body:
            doc["description"] = body
        self.at((*loc, "item"), desc if desc is not None else item)
        if ref is None:
            return doc
        item_id = ref.find("ItemID")
        if item_id is not None:
            if _text(item_id.find("SupplierPartID")):
                doc["sellers_identifier"] = _text(item_id.find("SupplierPartID"))
            if _text(item_id.find("BuyerPartID")):
                doc["buyers_identifier"] = _text(item_id.find("BuyerPartID"))
            for idref in item_id.findall("IdReference"):
                base, _, scheme = idref.get("domain", "").partition(".")
                if base == "standard" and scheme and self.attr(idref, "identifier"):
                    doc["standard_identifier"] = {"value": self.attr(idref, "identifier"), "scheme": scheme}
                else:
                    self.lose(idref, "an item reference with no place in the canonical invoice", "identifier")
        for cls in ref.findall("Classification"):
            domain = cls.get("domain", "")
            classification_scheme: str | None = domain
            if not is_valid(CodeList.ITEM_CLASSIFICATION_SCHEME, domain):
                classification_scheme = CLASSIFICATION_SCHEMES.get(domain.upper())
            value = _text(cls) or self.attr(cls, "code")
            if classification_scheme and value:
                entry = {"value": value, "scheme": classification_scheme}
                doc.setdefault("classifications", []).append(entry)
            else:
                self.lose(cls, f"classification domain {domain!r} is not a UNTDID 7143 scheme", value=value)
        country = ref.find("Country")
        if country is not None and country.get("isoCountryCode"):
            doc["origin_country"] = country.get("isoCountryCode", "").upper()
            self.at((*loc, "item", "origin_country"), country, "isoCountryCode")
        for tag in ("ManufacturerPartID", "ManufacturerName", "SerialNumber", "SupplierBatchID"):
            for element in ref.findall(tag):
                self.lose(element, f"{tag} has no place in the canonical invoice")
        return doc

    def read_order_summary(
        self, summary: etree._Element, index: int, reference: str | None
    ) -> dict[str, Any]:
        loc: tuple[str | int, ...] = ("lines", index)
        self.at(loc, summary)
        number = self.require(summary, "invoiceLineNumber", "BT-126")
        subtotal = self.money(summary.find("SubtotalAmount"))
        if subtotal is None:
            raise self.fail(summary, "BT-131: the order summary has no SubtotalAmount")
        quantity = Decimal(1)
        if subtotal < 0:
            quantity, subtotal = Decimal(-1), -subtotal
        name = f"Invoiced order {reference}" if reference else f"Invoice line {number}"
        tax = summary.find("Tax")
        vat = self.tax_of(tax)
        line: dict[str, Any] = {
            "id": number,
            "quantity": str(quantity),
            "unit_code": "C62",
            "net_amount": str(subtotal * quantity),
            "price": {"net_amount": str(subtotal)},
            "vat": self.vat_dict(vat),
            "item": {"name": name},
        }
        comments = summary.find("Comments")
        if comments is not None and _all_text(comments).strip():
            line["note"] = _all_text(comments).strip()
        return line

    # -------------------------------------------------------------- summary

    def modifications(
        self, holder: etree._Element | None, *, document: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        allowances: list[dict[str, Any]] = []
        charges: list[dict[str, Any]] = []
        if holder is None:
            return allowances, charges
        for mod in holder.findall("Modification"):
            deduction = mod.find("AdditionalDeduction")
            cost = mod.find("AdditionalCost")
            entry: dict[str, Any] = {}
            if deduction is not None:
                amount = self.money(deduction.find("DeductionAmount"))
                percent = deduction.find("DeductionPercent")
                if amount is not None:
                    entry["amount"] = str(-amount if amount < 0 else amount)
                elif percent is not None:
                    entry["percentage"] = self.require(percent, "percent", "BT-94")
                else:
                    self.lose(deduction, "a deducted price has no place in the canonical invoice")
                    continue
            elif cost is not None:
                amount = self.money(cost)
                percent = cost.find("Percentage")
                if amount is not None:
                    entry["amount"] = str(amount)
                elif percent is not None:
                    entry["percentage"] = self.require(percent, "percent", "BT-101")
                else:
                    continue
            else:
                continue
            detail = mod.find("ModificationDetail")
            code_list = CodeList.ALLOWANCE_REASON if deduction is not None else CodeList.CHARGE_REASON
            if detail is not None:
                code = self.attr(detail, "code")
                if code and is_valid(code_list, code):
                    entry["reason_code"] = code
                elif code:
                    self.lose(detail, "the reason code is not a UNTDID 5189/7161 code", "code")
                reason = _text(detail.find("Description")) or self.attr(detail, "name")
                if reason:
                    entry["reason"] = reason
            if document:
                vat = self.tax_of(mod.find("Tax")) or self.summary_vat or ("Z", Decimal(0))
                entry["vat_category_code"] = vat[0]
                if vat[1] is not None:
                    entry["vat_rate"] = str(vat[1])
            (allowances if deduction is not None else charges).append(entry)
        return allowances, charges

    def read_summary(self, summary: etree._Element, doc: dict[str, Any]) -> None:
        tax = summary.find("Tax")
        breakdown: list[dict[str, Any]] = []
        if tax is not None:
            for detail in tax.findall("TaxDetail"):
                category, rate = self.vat(detail)
                entry: dict[str, Any] = {"category_code": category}
                if rate is not None:
                    entry["rate"] = str(rate)
                taxable = self.money(detail.find("TaxableAmount"))
                amount = self.money(detail.find("TaxAmount"))
                if taxable is not None and amount is not None:
                    entry["taxable_amount"] = str(taxable)
                    entry["tax_amount"] = str(amount)
                    breakdown.append(entry)
                exemption = detail.find("TaxExemption")
                if exemption is not None:
                    code = self.attr(exemption, "exemptCode")
                    if code and is_valid(CodeList.VAT_EXEMPTION_REASON, code):
                        entry["exemption_reason_code"] = code
                    reason = _text(exemption.find("ExemptReason"))
                    if reason:
                        entry["exemption_reason"] = reason
        if breakdown and all("taxable_amount" in e for e in breakdown):
            doc["vat_breakdown"] = breakdown
            self.at(("vat_breakdown",), tax if tax is not None else summary)
        totals: dict[str, str] = {}
        vat_total = self.money(tax)
        if vat_total is not None:
            totals["vat_total"] = str(vat_total)
        has_line_mods = any("allowances" in ln or "charges" in ln for ln in doc["lines"])
        subtotal = self.money(summary.find("SubtotalAmount"))
        if subtotal is not None and not has_line_mods:
            totals["line_net_total"] = str(subtotal)
        without_tax = self.money(summary.find("TotalAmountWithoutTax"))
        if without_tax is not None:
            totals["tax_exclusive_amount"] = str(without_tax)
        net = self.money(summary.find("NetAmount"))
        gross = self.money(summary.find("GrossAmount"))
        inclusive = net if net is not None else gross
        if inclusive is not None:
            totals["tax_inclusive_amount"] = str(inclusive)
        deposit = self.money(summary.find("DepositAmount"))
        if deposit:
            totals["paid_amount"] = str(deposit)
        due = self.money(summary.find("DueAmount"))
        if due is not None:
            totals["amount_due"] = str(due)
        if totals:
            doc["totals"] = totals
            self.at(("totals",), summary)
        allowances, charges = self.modifications(summary.find("InvoiceHeaderModifications"), document=True)
        for tag, reason in (("SpecialHandlingAmount", "Special handling"), ("ShippingAmount", "Shipping")):
            amount = self.money(summary.find(tag))
            if amount:
                vat = self.summary_vat or self.vat_from_lines(doc)
                charge: dict[str, Any] = {
                    "amount": str(amount),
                    "reason": reason,
                    "vat_category_code": vat[0],
                }
                if vat[1] is not None:
                    charge["vat_rate"] = str(vat[1])
                charges.append(charge)
        discount = self.money(summary.find("InvoiceDetailDiscount"))
        if discount:
            vat = self.summary_vat or self.vat_from_lines(doc)
            allowances.append(
                {
                    "amount": str(abs(discount)),
                    "reason": "Discount",
                    "vat_category_code": vat[0],
                    **({"vat_rate": str(vat[1])} if vat[1] is not None else {}),
                }
            )
        if allowances:
            doc["allowances"] = allowances
            self.at(("allowances",), summary)
        if charges:
            doc["charges"] = charges
            self.at(("charges",), summary)

    @staticmethod
    def vat_from_lines(doc: dict[str, Any]) -> tuple[str, Decimal | None]:
        first = doc["lines"][0]["vat"]
        rate = first.get("rate")
        return first["category_code"], Decimal(rate) if rate is not None else None


def _summary_vat(reader: _Reader, root: etree._Element) -> None:
    """The one VAT of the summary, if there is exactly one: lines without a Tax take it."""
    details = root.findall("Request/InvoiceDetailRequest/InvoiceDetailSummary/Tax/TaxDetail")
    if len(details) == 1:
        saved = reader.losses[:]
        reader.summary_vat = reader.vat(details[0])
        reader.losses[:] = saved  # reported once, when the summary is read


def from_cxml(data: bytes, *, default_country: str | None = None) -> tuple[Invoice, list[Loss]]:
    """Read a cXML InvoiceDetailRequest into the canonical invoice; see the module docstring.

    ``default_country`` (ISO 3166-1 alpha-2): the seller's country when the cXML gives no
    seller postal address (Coupa-style documents identify parties only by credential).
    """
    root = parse_cxml(data)
    reader = _Reader(root, default_country.upper() if default_country else None)
    if root.tag == "cXML":
        _summary_vat(reader, root)
    invoice, losses = reader.read()
    return invoice, _unique(losses)


def _unique(losses: Iterable[Loss]) -> list[Loss]:
    seen: set[Loss] = set()
    out: list[Loss] = []
    for loss in losses:
        if loss not in seen:
            seen.add(loss)
            out.append(loss)
    return out
