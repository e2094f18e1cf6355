"""UBL 2.1 ``Invoice`` or ``CreditNote`` → canonical invoice, from any conformant sender.

``from_xml(data)`` parses the bytes with the hardened parser (``xmlparse.py``: no DTD, no
entities, no network, size limit), checks the root element and its namespace, then maps
every EN 16931 business term from where ``terms.py`` says UBL carries it. It returns the
invoice and a list of ``Loss``: every element or attribute with a value that was not read
into the invoice (a UBL extension, a second payment means code that differs from the
first, an ``IssueTime``…), with its path, line, value and the reason. Reading never drops
data silently.

Values are read as supplied: derived amounts (line nets, totals, the VAT breakdown) stay
as the sender wrote them, so ``compare_totals`` can report a sender's inconsistencies;
numbers become exact ``Decimal`` from their text. Only what UBL itself forces is undone:

* a ``cbc:Note`` written ``#AAI#text`` is BT-21 ``AAI`` and BT-22 ``text``;
* ``cac:OrderReference/cbc:ID`` ``NA`` next to a sales order reference is no BT-13 (UBL
  needs an order id; ``NA`` is the agreed filler), and ``cac:CardAccount/cbc:NetworkID``
  ``NA`` is the writer's filler for UBL's mandatory card network;
* a price discount (BT-147) given without the gross price gets BT-148 = BT-146 + BT-147
  (EN 16931: net price = gross price − discount), which the canonical model needs;
* several ``cac:PaymentMeans`` (one per account) are one BG-16 with several BG-17;
* a VATEX code (BT-121) is upper-cased, as BR-CL-22 compares it.

Lines, most of an invoice, go through the table-driven fast path of ``readtable.py`` (one
pass, no loss bookkeeping) when they are plain; any line it cannot read exactly as this
reader would is read here instead, and an invoice the model refuses is read again the
general way so that each problem names its element and line.

A document that cannot be read raises ``ParseError`` naming the element path and line:
not well-formed, a DOCTYPE, too large, not a UBL Invoice/CreditNote (a CII document, an
``Invoice`` in the CreditNote namespace…), a mandatory element missing, a value that is
not a number or date, or an invoice the canonical model refuses (each problem with its BT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from formats.errors import ParseError
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice
from formats.invoice.problems import from_validation_error, json_path
from formats.ubl.readtable import date_part as _date_part
from formats.ubl.readtable import iso_date as _date
from formats.ubl.readtable import read_line
from formats.ubl.terms import PREFIXES, note_parts
from formats.ubl.write import (
    CREDITNOTE_NS,
    INVOICE_NS,
    OBJECT_IDENTIFIER_CODE,
    PROJECT_REFERENCE_CODE,
    TAGS,
)
from formats.ubl.xmlparse import Paths
from formats.xmlread import Children as _Children
from formats.xmlread import boolean as _boolean
from formats.xmlread import line_of as _line
from formats.xmlread import named as _named
from formats.xmlread import prune as _prune
from formats.xmlread import signature as _signature
from formats.xmlread import xs_decimal as _decimal
from formats.xmlsafe import MAX_XML_BYTES, parse

# BT-32 is a PartyTaxScheme whose scheme is not VAT; these are the conventional scheme ids
TAX_REGISTRATION_SCHEMES = frozenset({"TAX", "FC"})

__all__ = ["Loss", "from_tree", "from_xml"]

_T = TypeVar("_T")
Loc = tuple[str | int, ...]
Node = tuple[etree._Element, str | None]
"""An element (its text) or one of its attributes."""

CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_ROOTS = {INVOICE_NS: "Invoice", CREDITNOTE_NS: "CreditNote"}
FILLER = "NA"
"""UBL needs some elements EN 16931 may leave out; ``NA`` is the agreed filler."""

_UNMAPPED = "not an EN 16931 business term in this position; not read into the invoice"
_EXTENSION = "UBL extension content: EN 16931 does not define it; not read into the invoice"


# ---------------------------------------------------------------------------- values


def _is_vat(scheme: str | None) -> bool:
    return scheme is not None and scheme.strip().upper() == "VAT"


def _is_sepa(scheme: str | None) -> bool:
    return scheme is not None and scheme.strip().upper() == "SEPA"


class _Reader:
    def __init__(self, root: etree._Element, *, fast: bool = True) -> None:
        self.root = root
        self.fast = fast
        self.fast_lines: set[etree._Element] = set()
        self.credit = etree.QName(root).namespace == CREDITNOTE_NS
        self.paths = Paths(PREFIXES, etree.QName(root).namespace)
        self.used: set[Node] = set()
        self.lost: dict[Node, str] = {}
        self.origins: dict[Loc, Node] = {}
        self.currency: str | None = None
        self.tax_currency: str | None = None
        self.seller_sepa: list[etree._Element] = []
        self.payee_sepa: list[etree._Element] = []
        self.vat_totals: tuple[Decimal | None, Decimal | None] = (None, None)
        self.children = _Children()

    # -------------------------------------------------------------- navigation

    def kids(self, parent: etree._Element | None, name: str) -> list[etree._Element]:
        if parent is None:
            return []
        return list(self.children[parent].get(TAGS[name], ()))

    def kid(self, parent: etree._Element | None, name: str) -> etree._Element | None:
        """The first child of that name (more of them stay unread: each becomes a loss)."""
        if parent is None:
            return None
        found = self.children[parent].get(TAGS[name])
        return found[0] if found else None

    def find(self, parent: etree._Element | None, path: str) -> etree._Element | None:
        node = parent
        for step in path.split("/"):
            node = self.kid(node, step)
        return node

    def path(self, element: etree._Element, attribute: str | None = None) -> str:
        return self.paths.path(element, attribute)

    def at(self, loc: Loc, element: etree._Element | None) -> None:
        """Remember which element a group of the invoice came from (for error messages)."""
        if element is not None:
            self.origins.setdefault(loc, (element, None))

    # -------------------------------------------------------------- values

    @staticmethod
    def raw(node: Node) -> str | None:
        element, attribute = node
        if attribute is not None:
            text = element.get(attribute) or ""
        elif len(element):  # the element's own text, also where a comment or a child splits it
            text = (element.text or "") + "".join([child.tail or "" for child in element])
        else:
            text = element.text or ""
        text = text.strip()
        return text or None

    def consume(self, node: Node) -> None:
        self.used.add(node)

    def consume_all(self, element: etree._Element) -> None:
        for node in element.iter():
            if isinstance(node.tag, str):
                self.used.add((node, None))
                for attribute in node.attrib:
                    self.used.add((node, str(attribute)))

    def lose(self, node: Node, reason: str) -> None:
        self.lost[node] = reason

    def lose_all(self, element: etree._Element, reason: str) -> None:
        for node in element.iter():
            if isinstance(node.tag, str):
                if self.raw((node, None)) is not None:
                    self.lost[(node, None)] = reason
                for attribute in node.attrib:
                    self.lost[(node, str(attribute))] = reason

    def value(self, node: Node, loc: Loc | None, convert: Callable[[str], _T]) -> _T | None:
        self.used.add(node)
        text = self.raw(node)
        if text is None:
            return None
        try:
            result = convert(text)
        except ValueError as exc:
            raise ParseError(str(exc), path=self.path(*node), line=_line(node[0])) from None
        if convert is _date and _date_part(text) != text:
            self.lose(node, "the time zone of a date is not kept: EN 16931 dates have none")
        if loc is not None:
            self.origins[loc] = node
        return result

    def text(self, parent: etree._Element | None, name: str, loc: Loc | None = None) -> str | None:
        element = self.kid(parent, name)
        return None if element is None else self.value((element, None), loc, str)

    def attr(self, element: etree._Element | None, attribute: str, loc: Loc | None = None) -> str | None:
        if element is None or element.get(attribute) is None:
            return None
        return self.value((element, attribute), loc, str)

    def value_of(
        self, parent: etree._Element | None, name: str, loc: Loc | None, convert: Callable[[str], _T]
    ) -> _T | None:
        element = self.kid(parent, name)
        return None if element is None else self.value((element, None), loc, convert)

    def decimal(self, parent: etree._Element | None, name: str, loc: Loc | None = None) -> Decimal | None:
        element = self.kid(parent, name)
        return None if element is None else self.value((element, None), loc, _decimal)

    def date(self, parent: etree._Element | None, name: str, loc: Loc | None = None) -> date | None:
        element = self.kid(parent, name)
        return None if element is None else self.value((element, None), loc, _date)

    def amount(
        self, parent: etree._Element | None, name: str, loc: Loc | None, currency: str | None = None
    ) -> Decimal | None:
        element = self.kid(parent, name)
        if element is None:
            return None
        self.currency_of(element, currency or self.currency, "BT-5 invoice currency")
        return self.value((element, None), loc, _decimal)

    def currency_of(self, element: etree._Element, expected: str | None, what: str) -> None:
        given = self.raw((element, "currencyID"))
        if given is None:
            return
        if given == expected:
            self.consume((element, "currencyID"))
        else:
            self.lose(
                (element, "currencyID"),
                f"the amount is given in {given}, not in the {what} {expected}; "
                "the canonical invoice keeps the amount only",
            )

    def missing(self, parent: etree._Element, relative: str, message: str) -> ParseError:
        """The error for a missing element: its full path, at the line of its nearest ancestor."""
        anchor = parent
        steps = relative.split("/")
        for i, step in enumerate(steps):
            child = self.kid(anchor, step)
            if child is None:
                return ParseError(message, path="/".join([self.path(anchor), *steps[i:]]), line=_line(anchor))
            anchor = child
        return ParseError(message, path=self.path(anchor), line=_line(anchor))

    def need(
        self,
        parent: etree._Element,
        relative: str,
        term: str,
        loc: Loc,
        convert: Callable[[str], _T],
        attribute: str | None = None,
    ) -> _T:
        element = self.find(parent, relative)
        if element is None:
            raise self.missing(parent, relative, f"{_named(term)} is missing")
        if attribute is not None:
            if self.raw((element, attribute)) is None:
                raise ParseError(
                    f"{_named(term)} is missing",
                    path=self.path(element) + f"/@{attribute}",
                    line=_line(element),
                )
            result = self.value((element, attribute), loc, convert)
        else:
            result = self.value((element, None), loc, convert)
        if result is None:
            raise ParseError(f"{_named(term)} is empty", path=self.path(element), line=_line(element))
        return result

    def tax_scheme(self, category: etree._Element | None) -> None:
        """A tax category's scheme: EN 16931 knows VAT only."""
        scheme = self.find(category, "cac:TaxScheme/cbc:ID")
        if scheme is None:
            return
        if _is_vat(self.raw((scheme, None))):
            self.consume((scheme, None))
        else:
            self.lose((scheme, None), "EN 16931 knows only VAT categories; the tax scheme is written as VAT")

    def same_as_first(
        self, nodes: Sequence[Node], loc: Loc, convert: Callable[[str], _T], what: str
    ) -> _T | None:
        """The first value given; later equal values are read too, different ones are losses."""
        chosen: str | None = None
        result: _T | None = None
        for node in nodes:
            text = self.raw(node)
            if text is None:
                self.consume(node)
            elif chosen is None:
                chosen = text
                result = self.value(node, loc, convert)
            elif text == chosen:
                self.consume(node)
            else:
                self.lose(
                    node,
                    f"differs from the {what} {chosen!r} of the first payment means; "
                    "the canonical invoice has one set of payment instructions (BG-16)",
                )
        return result

    # -------------------------------------------------------------- document

    def read(self) -> dict[str, Any]:
        root = self.root
        inv: dict[str, Any] = {}
        inv["process_control"] = {
            "specification_identifier": self.text(
                root, "cbc:CustomizationID", ("process_control", "specification_identifier")
            ),
            "business_process": self.text(root, "cbc:ProfileID", ("process_control", "business_process")),
        }
        inv["number"] = self.need(root, "cbc:ID", "BT-1", ("number",), str)
        inv["issue_date"] = self.need(root, "cbc:IssueDate", "BT-2", ("issue_date",), _date)
        type_name = "cbc:CreditNoteTypeCode" if self.credit else "cbc:InvoiceTypeCode"
        inv["type_code"] = self.need(root, type_name, "BT-3", ("type_code",), str)
        self.currency = self.need(root, "cbc:DocumentCurrencyCode", "BT-5", ("currency_code",), str)
        inv["currency_code"] = self.currency
        self.tax_currency = self.text(root, "cbc:TaxCurrencyCode", ("tax_currency_code",))
        inv["tax_currency_code"] = self.tax_currency
        inv["tax_point_date"] = self.date(root, "cbc:TaxPointDate", ("tax_point_date",))
        if not self.credit:
            inv["due_date"] = self.date(root, "cbc:DueDate", ("due_date",))
        inv["buyer_accounting_reference"] = self.text(
            root, "cbc:AccountingCost", ("buyer_accounting_reference",)
        )
        inv["buyer_reference"] = self.text(root, "cbc:BuyerReference", ("buyer_reference",))
        inv["notes"] = self.notes()
        self.invoicing_period(inv)
        self.references(inv)
        self.additional_documents(inv)
        inv["seller"] = self.seller()
        inv["buyer"] = self.buyer()
        inv["payee"] = self.payee()
        inv["tax_representative"] = self.tax_representative()
        inv["delivery"] = self.delivery()
        self.payment(inv)
        terms = self.kid(root, "cac:PaymentTerms")
        inv["payment_terms"] = self.text(terms, "cbc:Note", ("payment_terms",))
        self.document_allowances_charges(inv)
        self.tax_totals(inv)
        inv["totals"] = self.monetary_total()
        line_name = "cac:CreditNoteLine" if self.credit else "cac:InvoiceLine"
        lines = self.kids(root, line_name)
        if not lines:
            raise self.missing(root, line_name, "BG-25 an invoice needs at least one invoice line")
        data: dict[str, Any] = _prune(inv)
        data["lines"] = [self.read_line(line, i) for i, line in enumerate(lines)]
        return data

    def read_line(self, element: etree._Element, index: int) -> dict[str, Any]:
        """A line through the table-driven fast path where it can take it, else the general way."""
        if self.fast:
            assert self.currency is not None
            line = read_line(element, self.credit, self.currency)
            if line is not None:
                self.fast_lines.add(element)
                return line
        pruned: dict[str, Any] = _prune(self.line(element, index))
        return pruned

    def notes(self) -> list[dict[str, Any]]:
        notes: list[dict[str, Any]] = []
        for element in self.kids(self.root, "cbc:Note"):
            text = self.value((element, None), None, str)
            if text is None:
                continue
            i = len(notes)
            subject, body = note_parts(text)
            self.origins[("notes", i)] = (element, None)
            notes.append({"subject_code": subject, "text": body})
        return notes

    def invoicing_period(self, inv: dict[str, Any]) -> None:
        period = self.kid(self.root, "cac:InvoicePeriod")
        if period is None:
            return
        self.at(("invoicing_period",), period)
        start = self.date(period, "cbc:StartDate", ("invoicing_period", "start_date"))
        end = self.date(period, "cbc:EndDate", ("invoicing_period", "end_date"))
        if start is not None or end is not None:
            inv["invoicing_period"] = {"start_date": start, "end_date": end}
        inv["tax_point_date_code"] = self.text(period, "cbc:DescriptionCode", ("tax_point_date_code",))

    def references(self, inv: dict[str, Any]) -> None:
        root = self.root
        order = self.kid(root, "cac:OrderReference")
        if order is not None:
            inv["sales_order_reference"] = self.text(order, "cbc:SalesOrderID", ("sales_order_reference",))
            order_id = self.kid(order, "cbc:ID")
            if (
                order_id is not None
                and self.raw((order_id, None)) == FILLER
                and inv["sales_order_reference"] is not None
            ):
                self.consume((order_id, None))
            else:
                inv["purchase_order_reference"] = self.text(order, "cbc:ID", ("purchase_order_reference",))
        preceding: list[dict[str, Any]] = []
        for billing in self.kids(root, "cac:BillingReference"):
            ref = self.kid(billing, "cac:InvoiceDocumentReference")
            if ref is None:
                continue
            loc: Loc = ("preceding_invoices", len(preceding))
            self.at(loc, ref)
            preceding.append(
                {
                    "reference": self.text(ref, "cbc:ID", (*loc, "reference")),
                    "issue_date": self.date(ref, "cbc:IssueDate", (*loc, "issue_date")),
                }
            )
        inv["preceding_invoices"] = preceding
        for name, key in (
            ("cac:DespatchDocumentReference", "despatch_advice_reference"),
            ("cac:ReceiptDocumentReference", "receiving_advice_reference"),
            ("cac:OriginatorDocumentReference", "tender_or_lot_reference"),
            ("cac:ContractDocumentReference", "contract_reference"),
        ):
            inv[key] = self.text(self.kid(root, name), "cbc:ID", (key,))
        if not self.credit:
            inv["project_reference"] = self.text(
                self.kid(root, "cac:ProjectReference"), "cbc:ID", ("project_reference",)
            )

    def additional_documents(self, inv: dict[str, Any]) -> None:
        documents: list[dict[str, Any]] = []
        for ref in self.kids(self.root, "cac:AdditionalDocumentReference"):
            code_element = self.kid(ref, "cbc:DocumentTypeCode")
            code = self.raw((code_element, None)) if code_element is not None else None
            if code == OBJECT_IDENTIFIER_CODE and "invoiced_object_identifier" not in inv:
                self.consume((code_element, None))  # type: ignore[arg-type]
                identifier = self.kid(ref, "cbc:ID")
                self.at(("invoiced_object_identifier",), ref)
                inv["invoiced_object_identifier"] = {
                    "value": self.text(ref, "cbc:ID", ("invoiced_object_identifier", "value")),
                    "scheme": self.attr(identifier, "schemeID", ("invoiced_object_identifier", "scheme")),
                }
                continue
            if self.credit and code == PROJECT_REFERENCE_CODE and "project_reference" not in inv:
                self.consume((code_element, None))  # type: ignore[arg-type]
                inv["project_reference"] = self.text(ref, "cbc:ID", ("project_reference",))
                continue
            if code is not None:
                self.lose(
                    (code_element, None),  # type: ignore[arg-type]
                    "a supporting document (BG-24) has no document type code in EN 16931",
                )
            loc: Loc = ("supporting_documents", len(documents))
            self.at(loc, ref)
            attachment = self.kid(ref, "cac:Attachment")
            binary = self.kid(attachment, "cbc:EmbeddedDocumentBinaryObject")
            document: dict[str, Any] = {
                "reference": self.text(ref, "cbc:ID", (*loc, "reference")),
                "description": self.text(ref, "cbc:DocumentDescription", (*loc, "description")),
                "external_location": self.text(
                    self.kid(attachment, "cac:ExternalReference"), "cbc:URI", (*loc, "external_location")
                ),
            }
            if binary is not None:
                self.at((*loc, "attachment"), binary)
                content = self.value((binary, None), (*loc, "attachment", "content"), str)
                document["attachment"] = {
                    "content": "".join(content.split()) if content else None,
                    "mime_code": self.attr(binary, "mimeCode", (*loc, "attachment", "mime_code")),
                    "filename": self.attr(binary, "filename", (*loc, "attachment", "filename")),
                }
            documents.append(document)
        inv["supporting_documents"] = documents

    # -------------------------------------------------------------- parties

    def address(self, element: etree._Element | None, loc: Loc) -> dict[str, Any] | None:
        if element is None:
            return None
        self.at(loc, element)
        return {
            "line1": self.text(element, "cbc:StreetName", (*loc, "line1")),
            "line2": self.text(element, "cbc:AdditionalStreetName", (*loc, "line2")),
            "line3": self.text(self.kid(element, "cac:AddressLine"), "cbc:Line", (*loc, "line3")),
            "city": self.text(element, "cbc:CityName", (*loc, "city")),
            "post_code": self.text(element, "cbc:PostalZone", (*loc, "post_code")),
            "country_subdivision": self.text(element, "cbc:CountrySubentity", (*loc, "country_subdivision")),
            "country_code": self.text(
                self.kid(element, "cac:Country"), "cbc:IdentificationCode", (*loc, "country_code")
            ),
        }

    def contact(self, party: etree._Element, loc: Loc) -> dict[str, Any] | None:
        element = self.kid(party, "cac:Contact")
        if element is None:
            return None
        self.at(loc, element)
        return {
            "name": self.text(element, "cbc:Name", (*loc, "name")),
            "telephone": self.text(element, "cbc:Telephone", (*loc, "telephone")),
            "email": self.text(element, "cbc:ElectronicMail", (*loc, "email")),
        }

    def identifier(self, element: etree._Element | None, loc: Loc) -> dict[str, Any] | None:
        if element is None:
            return None
        self.at(loc, element)
        return {
            "value": self.value((element, None), (*loc, "value"), str),
            "scheme": self.attr(element, "schemeID", (*loc, "scheme")),
        }

    def endpoint(self, party: etree._Element, loc: Loc) -> dict[str, Any] | None:
        return self.identifier(self.kid(party, "cbc:EndpointID"), loc)

    def party_ids(self, party: etree._Element | None) -> tuple[list[etree._Element], list[etree._Element]]:
        """The party's identifiers: (others, SEPA creditor identifiers)."""
        plain: list[etree._Element] = []
        sepa: list[etree._Element] = []
        for identification in self.kids(party, "cac:PartyIdentification"):
            element = self.kid(identification, "cbc:ID")
            if element is not None:
                (sepa if _is_sepa(element.get("schemeID")) else plain).append(element)
        return plain, sepa

    def seller(self) -> dict[str, Any]:
        root = self.root
        party = self.find(root, "cac:AccountingSupplierParty/cac:Party")
        loc: Loc = ("seller",)
        base = "cac:AccountingSupplierParty/cac:Party"
        name = self.need(
            root, f"{base}/cac:PartyLegalEntity/cbc:RegistrationName", "BT-27", (*loc, "name"), str
        )
        country = f"{base}/cac:PostalAddress/cac:Country/cbc:IdentificationCode"
        self.need(root, country, "BT-40", (*loc, "address", "country_code"), str)
        assert party is not None
        self.at(loc, party)
        plain, self.seller_sepa = self.party_ids(party)
        legal = self.kid(party, "cac:PartyLegalEntity")
        vat: str | None = None
        tax_registration: str | None = None
        for scheme in self.kids(party, "cac:PartyTaxScheme"):
            company = self.kid(scheme, "cbc:CompanyID")
            scheme_id = self.find(scheme, "cac:TaxScheme/cbc:ID")
            scheme_text = self.raw((scheme_id, None)) if scheme_id is not None else None
            if _is_vat(scheme_text) and vat is None and company is not None:
                vat = self.value((company, None), (*loc, "vat_identifier"), str)
                self.consume((scheme_id, None))  # type: ignore[arg-type]
            elif not _is_vat(scheme_text) and tax_registration is None and company is not None:
                tax_registration = self.value((company, None), (*loc, "tax_registration_identifier"), str)
                if scheme_id is not None:
                    if scheme_text in TAX_REGISTRATION_SCHEMES:
                        self.consume((scheme_id, None))
                    else:
                        self.lose(
                            (scheme_id, None),
                            "the scheme of the seller tax registration identifier (BT-32) is not an "
                            "EN 16931 term; it is written as TAX (Peppol) or FC (XRechnung)",
                        )
        legal_id = self.kid(legal, "cbc:CompanyID")
        return {
            "name": name,
            "trading_name": self.text(self.kid(party, "cac:PartyName"), "cbc:Name", (*loc, "trading_name")),
            "identifiers": [self.identifier(e, (*loc, "identifiers", i)) for i, e in enumerate(plain)],
            "legal_registration": self.identifier(legal_id, (*loc, "legal_registration")),
            "vat_identifier": vat,
            "tax_registration_identifier": tax_registration,
            "additional_legal_information": self.text(
                legal, "cbc:CompanyLegalForm", (*loc, "additional_legal_information")
            ),
            "electronic_address": self.endpoint(party, (*loc, "electronic_address")),
            "address": self.address(self.kid(party, "cac:PostalAddress"), (*loc, "address")),
            "contact": self.contact(party, (*loc, "contact")),
        }

    def buyer(self) -> dict[str, Any]:
        root = self.root
        party = self.find(root, "cac:AccountingCustomerParty/cac:Party")
        loc: Loc = ("buyer",)
        base = "cac:AccountingCustomerParty/cac:Party"
        name = self.need(
            root, f"{base}/cac:PartyLegalEntity/cbc:RegistrationName", "BT-44", (*loc, "name"), str
        )
        country = f"{base}/cac:PostalAddress/cac:Country/cbc:IdentificationCode"
        self.need(root, country, "BT-55", (*loc, "address", "country_code"), str)
        assert party is not None
        self.at(loc, party)
        vat: str | None = None
        for scheme in self.kids(party, "cac:PartyTaxScheme"):
            company = self.kid(scheme, "cbc:CompanyID")
            scheme_id = self.find(scheme, "cac:TaxScheme/cbc:ID")
            if scheme_id is not None and _is_vat(self.raw((scheme_id, None))):
                if vat is None and company is not None:
                    vat = self.value((company, None), (*loc, "vat_identifier"), str)
                    self.consume((scheme_id, None))
            else:
                self.lose_all(
                    scheme, "EN 16931 defines only the VAT identifier (BT-48) among the buyer's tax schemes"
                )
        plain, sepa = self.party_ids(party)
        for element in sepa:
            self.lose((element, None), "a SEPA creditor identifier (BT-90) belongs to the seller or payee")
        legal = self.kid(party, "cac:PartyLegalEntity")
        return {
            "name": name,
            "trading_name": self.text(self.kid(party, "cac:PartyName"), "cbc:Name", (*loc, "trading_name")),
            "identifier": self.identifier(plain[0] if plain else None, (*loc, "identifier")),
            "legal_registration": self.identifier(
                self.kid(legal, "cbc:CompanyID"), (*loc, "legal_registration")
            ),
            "vat_identifier": vat,
            "electronic_address": self.endpoint(party, (*loc, "electronic_address")),
            "address": self.address(self.kid(party, "cac:PostalAddress"), (*loc, "address")),
            "contact": self.contact(party, (*loc, "contact")),
        }

    def payee(self) -> dict[str, Any] | None:
        party = self.kid(self.root, "cac:PayeeParty")
        if party is None:
            return None
        loc: Loc = ("payee",)
        self.at(loc, party)
        plain, self.payee_sepa = self.party_ids(party)
        return {
            "name": self.text(self.kid(party, "cac:PartyName"), "cbc:Name", (*loc, "name")),
            "identifier": self.identifier(plain[0] if plain else None, (*loc, "identifier")),
            "legal_registration": self.identifier(
                self.find(party, "cac:PartyLegalEntity/cbc:CompanyID"), (*loc, "legal_registration")
            ),
        }

    def tax_representative(self) -> dict[str, Any] | None:
        party = self.kid(self.root, "cac:TaxRepresentativeParty")
        if party is None:
            return None
        loc: Loc = ("tax_representative",)
        self.at(loc, party)
        scheme = self.kid(party, "cac:PartyTaxScheme")
        self.tax_scheme(scheme)
        return {
            "name": self.text(self.kid(party, "cac:PartyName"), "cbc:Name", (*loc, "name")),
            "vat_identifier": self.text(scheme, "cbc:CompanyID", (*loc, "vat_identifier")),
            "address": self.address(self.kid(party, "cac:PostalAddress"), (*loc, "address")),
        }

    def delivery(self) -> dict[str, Any] | None:
        element = self.kid(self.root, "cac:Delivery")
        if element is None:
            return None
        loc: Loc = ("delivery",)
        self.at(loc, element)
        location = self.kid(element, "cac:DeliveryLocation")
        return {
            "party_name": self.text(
                self.find(element, "cac:DeliveryParty/cac:PartyName"), "cbc:Name", (*loc, "party_name")
            ),
            "location_identifier": self.identifier(
                self.kid(location, "cbc:ID"), (*loc, "location_identifier")
            ),
            "actual_delivery_date": self.date(
                element, "cbc:ActualDeliveryDate", (*loc, "actual_delivery_date")
            ),
            "address": self.address(self.kid(location, "cac:Address"), (*loc, "address")),
        }

    # -------------------------------------------------------------- payment

    def payment(self, inv: dict[str, Any]) -> None:
        means = self.kids(self.root, "cac:PaymentMeans")
        sepa = self.seller_sepa + self.payee_sepa
        if not means:
            for element in sepa:
                self.lose(
                    (element, None),
                    "the bank assigned creditor identifier (BT-90) belongs to payment instructions "
                    "(BG-16), and the document has no cac:PaymentMeans",
                )
            return
        loc: Loc = ("payment_instructions",)
        self.at(loc, means[0])
        codes = [self.kid(m, "cbc:PaymentMeansCode") for m in means]
        code_nodes: list[Node] = [(c, None) for c in codes if c is not None]
        name_nodes: list[Node] = [(c, "name") for c in codes if c is not None and c.get("name") is not None]
        payment: dict[str, Any] = {
            "means_code": self.same_as_first(
                code_nodes, (*loc, "means_code"), str, "payment means code (BT-81)"
            ),
            "means_text": self.same_as_first(
                name_nodes, (*loc, "means_text"), str, "payment means text (BT-82)"
            ),
            "remittance_information": self.same_as_first(
                [(e, None) for m in means for e in self.kids(m, "cbc:PaymentID")],
                (*loc, "remittance_information"),
                str,
                "remittance information (BT-83)",
            ),
        }
        due_dates: list[Node] = [(e, None) for m in means for e in self.kids(m, "cbc:PaymentDueDate")]
        if self.credit:
            inv["due_date"] = self.same_as_first(due_dates, ("due_date",), _date, "payment due date (BT-9)")
        transfers: list[dict[str, Any]] = []
        for account in (a for m in means for a in self.kids(m, "cac:PayeeFinancialAccount")):
            tloc: Loc = (*loc, "credit_transfers", len(transfers))
            self.at(tloc, account)
            transfers.append(
                {
                    "account_identifier": self.text(account, "cbc:ID", (*tloc, "account_identifier")),
                    "account_name": self.text(account, "cbc:Name", (*tloc, "account_name")),
                    "service_provider_identifier": self.text(
                        self.kid(account, "cac:FinancialInstitutionBranch"),
                        "cbc:ID",
                        (*tloc, "service_provider_identifier"),
                    ),
                }
            )
        payment["credit_transfers"] = transfers
        card = self.first_group([c for m in means for c in self.kids(m, "cac:CardAccount")], "card (BG-18)")
        if card is not None:
            cloc: Loc = (*loc, "payment_card")
            self.at(cloc, card)
            network = self.kid(card, "cbc:NetworkID")
            if network is not None and self.raw((network, None)) == FILLER:
                self.consume((network, None))
            payment["payment_card"] = {
                "primary_account_number": self.text(
                    card, "cbc:PrimaryAccountNumberID", (*cloc, "primary_account_number")
                ),
                "holder_name": self.text(card, "cbc:HolderName", (*cloc, "holder_name")),
            }
        mandate = self.first_group(
            [p for m in means for p in self.kids(m, "cac:PaymentMandate")], "direct debit mandate (BG-19)"
        )
        dloc: Loc = (*loc, "direct_debit")
        debit: dict[str, Any] = {}
        if mandate is not None:
            self.at(dloc, mandate)
            debit["mandate_reference"] = self.text(mandate, "cbc:ID", (*dloc, "mandate_reference"))
            debit["debited_account_identifier"] = self.text(
                self.kid(mandate, "cac:PayerFinancialAccount"),
                "cbc:ID",
                (*dloc, "debited_account_identifier"),
            )
        if sepa:
            debit["creditor_identifier"] = self.value((sepa[0], None), (*dloc, "creditor_identifier"), str)
            self.consume((sepa[0], "schemeID"))
            for extra in sepa[1:]:
                if self.raw((extra, None)) == debit["creditor_identifier"]:
                    self.consume((extra, None))
                    self.consume((extra, "schemeID"))
                else:
                    self.lose((extra, None), "EN 16931 has one bank assigned creditor identifier (BT-90)")
        payment["direct_debit"] = debit
        inv["payment_instructions"] = payment

    def first_group(self, groups: list[etree._Element], what: str) -> etree._Element | None:
        """The first group; a later identical copy is read too, a different one is lost."""
        if not groups:
            return None
        first = groups[0]
        for other in groups[1:]:
            if _signature(other) == _signature(first):
                self.consume_all(other)
            else:
                self.lose_all(
                    other,
                    f"a second {what} that differs from the first; EN 16931 has one per invoice",
                )
        return first

    # -------------------------------------------------------------- allowances, totals

    def allowance_charge_fields(self, element: etree._Element, loc: Loc) -> dict[str, Any]:
        return {
            "amount": self.amount(element, "cbc:Amount", (*loc, "amount")),
            "base_amount": self.amount(element, "cbc:BaseAmount", (*loc, "base_amount")),
            "percentage": self.decimal(element, "cbc:MultiplierFactorNumeric", (*loc, "percentage")),
            "reason": self.text(element, "cbc:AllowanceChargeReason", (*loc, "reason")),
            "reason_code": self.text(element, "cbc:AllowanceChargeReasonCode", (*loc, "reason_code")),
        }

    def _indicator(self, element: etree._Element) -> bool:
        indicator = self.kid(element, "cbc:ChargeIndicator")
        if indicator is None:
            raise self.missing(
                element, "cbc:ChargeIndicator", "an allowance or charge needs its charge indicator"
            )
        value = self.value((indicator, None), None, _boolean)
        if value is None:
            raise ParseError(
                "the charge indicator is empty", path=self.path(indicator), line=_line(indicator)
            )
        return value

    def document_allowances_charges(self, inv: dict[str, Any]) -> None:
        allowances: list[dict[str, Any]] = []
        charges: list[dict[str, Any]] = []
        for element in self.kids(self.root, "cac:AllowanceCharge"):
            is_charge = self._indicator(element)
            target = charges if is_charge else allowances
            loc: Loc = ("charges" if is_charge else "allowances", len(target))
            self.at(loc, element)
            fields = self.allowance_charge_fields(element, loc)
            category = self.kid(element, "cac:TaxCategory")
            fields["vat_category_code"] = self.text(category, "cbc:ID", (*loc, "vat_category_code"))
            fields["vat_rate"] = self.decimal(category, "cbc:Percent", (*loc, "vat_rate"))
            self.tax_scheme(category)
            target.append(fields)
        inv["allowances"] = allowances
        inv["charges"] = charges

    def tax_totals(self, inv: dict[str, Any]) -> None:
        vat_total: Decimal | None = None
        in_tax_currency: Decimal | None = None
        main_seen = other_seen = False
        breakdown: list[dict[str, Any]] = []
        for total in self.kids(self.root, "cac:TaxTotal"):
            amount = self.kid(total, "cbc:TaxAmount")
            currency = self.raw((amount, "currencyID")) if amount is not None else None
            if not main_seen and currency in (None, self.currency):
                main_seen = True
                vat_total = self.amount(total, "cbc:TaxAmount", ("totals", "vat_total"))
                for sub in self.kids(total, "cac:TaxSubtotal"):
                    breakdown.append(self.subtotal(sub, ("vat_breakdown", len(breakdown))))
            elif not other_seen and self.tax_currency is not None and currency == self.tax_currency:
                other_seen = True
                in_tax_currency = self.amount(
                    total, "cbc:TaxAmount", ("totals", "vat_total_in_tax_currency"), self.tax_currency
                )
                for sub in self.kids(total, "cac:TaxSubtotal"):
                    self.lose_all(
                        sub,
                        "EN 16931 has the VAT breakdown (BG-23) in the invoice currency only; "
                        "this one is in the VAT accounting currency",
                    )
            else:
                self.lose_all(
                    total,
                    "EN 16931 has one VAT total in the invoice currency (BT-110, with the "
                    "breakdown BG-23) and one in the VAT accounting currency (BT-111); this "
                    "cac:TaxTotal is another",
                )
        inv["vat_breakdown"] = breakdown
        self.vat_totals = (vat_total, in_tax_currency)

    def subtotal(self, element: etree._Element, loc: Loc) -> dict[str, Any]:
        self.at(loc, element)
        category = self.kid(element, "cac:TaxCategory")
        self.tax_scheme(category)
        return {
            "taxable_amount": self.amount(element, "cbc:TaxableAmount", (*loc, "taxable_amount")),
            "tax_amount": self.amount(element, "cbc:TaxAmount", (*loc, "tax_amount")),
            "category_code": self.text(category, "cbc:ID", (*loc, "category_code")),
            "rate": self.decimal(category, "cbc:Percent", (*loc, "rate")),
            "exemption_reason": self.text(category, "cbc:TaxExemptionReason", (*loc, "exemption_reason")),
            # BR-CL-22 compares VATEX codes in upper case: ``vatex-eu-132-1g`` is valid
            "exemption_reason_code": self.value_of(
                category, "cbc:TaxExemptionReasonCode", (*loc, "exemption_reason_code"), str.upper
            ),
        }

    def monetary_total(self) -> dict[str, Any]:
        element = self.kid(self.root, "cac:LegalMonetaryTotal")
        loc: Loc = ("totals",)
        self.at(loc, element)
        vat_total, in_tax_currency = self.vat_totals
        return {
            "line_net_total": self.amount(element, "cbc:LineExtensionAmount", (*loc, "line_net_total")),
            "allowance_total": self.amount(element, "cbc:AllowanceTotalAmount", (*loc, "allowance_total")),
            "charge_total": self.amount(element, "cbc:ChargeTotalAmount", (*loc, "charge_total")),
            "tax_exclusive_amount": self.amount(
                element, "cbc:TaxExclusiveAmount", (*loc, "tax_exclusive_amount")
            ),
            "vat_total": vat_total,
            "vat_total_in_tax_currency": in_tax_currency,
            "tax_inclusive_amount": self.amount(
                element, "cbc:TaxInclusiveAmount", (*loc, "tax_inclusive_amount")
            ),
            "paid_amount": self.amount(element, "cbc:PrepaidAmount", (*loc, "paid_amount")),
            "rounding_amount": self.amount(element, "cbc:PayableRoundingAmount", (*loc, "rounding_amount")),
            "amount_due": self.amount(element, "cbc:PayableAmount", (*loc, "amount_due")),
        }

    # -------------------------------------------------------------- lines

    def line(self, element: etree._Element, index: int) -> dict[str, Any]:
        loc: Loc = ("lines", index)
        self.at(loc, element)
        quantity_name = "cbc:CreditedQuantity" if self.credit else "cbc:InvoicedQuantity"
        line: dict[str, Any] = {
            "id": self.need(element, "cbc:ID", "BT-126", (*loc, "id"), str),
            "quantity": self.need(element, quantity_name, "BT-129", (*loc, "quantity"), _decimal),
            "unit_code": self.need(element, quantity_name, "BT-130", (*loc, "unit_code"), str, "unitCode"),
        }
        line["net_amount"] = self.need(
            element, "cbc:LineExtensionAmount", "BT-131", (*loc, "net_amount"), _decimal
        )
        net = self.kid(element, "cbc:LineExtensionAmount")
        assert net is not None
        self.currency_of(net, self.currency, "BT-5 invoice currency")
        self.need(element, "cac:Price/cbc:PriceAmount", "BT-146", (*loc, "price", "net_amount"), _decimal)
        self.need(element, "cac:Item/cbc:Name", "BT-153", (*loc, "item", "name"), str)
        self.need(
            element,
            "cac:Item/cac:ClassifiedTaxCategory/cbc:ID",
            "BT-151",
            (*loc, "vat", "category_code"),
            str,
        )
        line["note"] = self.text(element, "cbc:Note", (*loc, "note"))
        line["buyer_accounting_reference"] = self.text(
            element, "cbc:AccountingCost", (*loc, "buyer_accounting_reference")
        )
        period = self.kid(element, "cac:InvoicePeriod")
        if period is not None:
            self.at((*loc, "period"), period)
            start = self.date(period, "cbc:StartDate", (*loc, "period", "start_date"))
            end = self.date(period, "cbc:EndDate", (*loc, "period", "end_date"))
            if start is not None or end is not None:
                line["period"] = {"start_date": start, "end_date": end}
        line["order_line_reference"] = self.text(
            self.kid(element, "cac:OrderLineReference"), "cbc:LineID", (*loc, "order_line_reference")
        )
        reference = self.kid(element, "cac:DocumentReference")
        if reference is not None:
            code = self.kid(reference, "cbc:DocumentTypeCode")
            code_text = self.raw((code, None)) if code is not None else None
            if code_text in (None, OBJECT_IDENTIFIER_CODE):
                if code is not None:
                    self.consume((code, None))
                line["object_identifier"] = self.identifier(
                    self.kid(reference, "cbc:ID"), (*loc, "object_identifier")
                )
            else:
                self.lose_all(
                    reference,
                    "EN 16931 defines a line document reference only as the invoiced object "
                    "identifier (BT-128, document type code 130)",
                )
        allowances: list[dict[str, Any]] = []
        charges: list[dict[str, Any]] = []
        for charge_element in self.kids(element, "cac:AllowanceCharge"):
            is_charge = self._indicator(charge_element)
            target = charges if is_charge else allowances
            cloc: Loc = (*loc, "charges" if is_charge else "allowances", len(target))
            self.at(cloc, charge_element)
            target.append(self.allowance_charge_fields(charge_element, cloc))
        line["allowances"] = allowances
        line["charges"] = charges
        item = self.kid(element, "cac:Item")
        assert item is not None
        line["item"] = self.item(item, (*loc, "item"))
        category = self.kid(item, "cac:ClassifiedTaxCategory")
        self.at((*loc, "vat"), category)
        self.tax_scheme(category)
        line["vat"] = {
            "category_code": self.text(category, "cbc:ID", (*loc, "vat", "category_code")),
            "rate": self.decimal(category, "cbc:Percent", (*loc, "vat", "rate")),
        }
        price = self.kid(element, "cac:Price")
        assert price is not None
        line["price"] = self.price(price, (*loc, "price"), line["unit_code"])
        return line

    def item(self, item: etree._Element, loc: Loc) -> dict[str, Any]:
        self.at(loc, item)
        standard = self.find(item, "cac:StandardItemIdentification/cbc:ID")
        classifications: list[dict[str, Any]] = []
        for commodity in self.kids(item, "cac:CommodityClassification"):
            code = self.kid(commodity, "cbc:ItemClassificationCode")
            if code is None:
                continue
            cloc: Loc = (*loc, "classifications", len(classifications))
            self.at(cloc, code)
            classifications.append(
                {
                    "value": self.value((code, None), (*cloc, "value"), str),
                    "scheme": self.attr(code, "listID", (*cloc, "scheme")),
                    "scheme_version": self.attr(code, "listVersionID", (*cloc, "scheme_version")),
                }
            )
        attributes: list[dict[str, Any]] = []
        for prop in self.kids(item, "cac:AdditionalItemProperty"):
            aloc: Loc = (*loc, "attributes", len(attributes))
            self.at(aloc, prop)
            attributes.append(
                {
                    "name": self.text(prop, "cbc:Name", (*aloc, "name")),
                    "value": self.text(prop, "cbc:Value", (*aloc, "value")),
                }
            )
        return {
            "name": self.text(item, "cbc:Name", (*loc, "name")),
            "description": self.text(item, "cbc:Description", (*loc, "description")),
            "sellers_identifier": self.text(
                self.kid(item, "cac:SellersItemIdentification"), "cbc:ID", (*loc, "sellers_identifier")
            ),
            "buyers_identifier": self.text(
                self.kid(item, "cac:BuyersItemIdentification"), "cbc:ID", (*loc, "buyers_identifier")
            ),
            "standard_identifier": self.identifier(standard, (*loc, "standard_identifier")),
            "classifications": classifications,
            "origin_country": self.text(
                self.kid(item, "cac:OriginCountry"), "cbc:IdentificationCode", (*loc, "origin_country")
            ),
            "attributes": attributes,
        }

    def price(self, price: etree._Element, loc: Loc, unit_code: str) -> dict[str, Any]:
        self.at(loc, price)
        base = self.kid(price, "cbc:BaseQuantity")
        out: dict[str, Any] = {
            "net_amount": self.amount(price, "cbc:PriceAmount", (*loc, "net_amount")),
            "base_quantity": self.decimal(price, "cbc:BaseQuantity", (*loc, "base_quantity")),
            "base_quantity_unit_code": self.attr(base, "unitCode", (*loc, "base_quantity_unit_code")),
        }
        discount = self.kid(price, "cac:AllowanceCharge")
        if discount is None:
            return out
        indicator = self.kid(discount, "cbc:ChargeIndicator")
        if indicator is not None and self.raw((indicator, None)) in ("true", "1"):
            self.lose_all(
                discount,
                "EN 16931 knows a price discount (BT-147) but no price charge; the net price "
                "(BT-146) is kept as given",
            )
            return out
        if indicator is not None:
            self.value((indicator, None), None, _boolean)
        out["discount"] = self.amount(discount, "cbc:Amount", (*loc, "discount"))
        out["gross_amount"] = self.amount(discount, "cbc:BaseAmount", (*loc, "gross_amount"))
        if out["gross_amount"] is None and out["discount"] is not None and out["net_amount"] is not None:
            # EN 16931: net price = gross price − discount; the model needs the gross price
            out["gross_amount"] = out["net_amount"] + out["discount"]
            self.origins[(*loc, "gross_amount")] = self.origins[(*loc, "discount")]
        return out

    # -------------------------------------------------------------- losses

    def losses(self) -> list[Loss]:
        found: list[Loss] = []
        for element in self._unchecked():
            # the element's own text (None), then each attribute; lxml names attributes with str
            attributes: list[str | None] = [None, *element.keys()]  # type: ignore[list-item]
            for attribute in attributes:
                node: Node = (element, attribute)
                reason = self.lost.get(node)
                if reason is None and node in self.used:
                    continue
                text = self.raw(node)
                if text is None:
                    continue
                if reason is None:
                    reason = _EXTENSION if "CommonExtensionComponents" in str(element.tag) else _UNMAPPED
                found.append(Loss(self.path(*node), _line(element), text, reason))
        return found

    def _unchecked(self) -> Iterator[etree._Element]:
        """Every element in document order, but those of the lines the fast path read (no loss)."""
        root, skip = self.root, self.fast_lines
        yield root
        for child in root:
            if child not in skip:
                yield from child.iter(etree.Element)  # elements only: no comments

    # -------------------------------------------------------------- model

    def validate(self, data: dict[str, Any]) -> Invoice:
        try:
            return Invoice.model_validate(data)
        except ValidationError as exc:
            problems = from_validation_error(exc)
            located: list[tuple[str, int | None, str]] = []
            for error, problem in zip(exc.errors(include_url=False), problems, strict=True):
                loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
                node = self.origin(loc)
                where = self.path(*node) if node else json_path(loc)
                line = _line(node[0]) if node else None
                about = (
                    f"{problem.term}: "
                    if problem.term and not problem.message.startswith(problem.term)
                    else ""
                )
                located.append(
                    (where, line, f"{where}{f' (line {line})' if line else ''}: {about}{problem.message}")
                )
            first_path, first_line, _ = located[0]
            details = "; ".join(text for _, _, text in located)
            raise ParseError(
                f"the document is not a valid EN 16931 invoice: {details}", path=first_path, line=first_line
            ) from None

    def origin(self, loc: tuple[Any, ...]) -> Node | None:
        while loc:
            if loc in self.origins:
                return self.origins[loc]
            loc = loc[:-1]
        return None


def _check_root(root: etree._Element) -> None:
    qname = etree.QName(root)
    namespace, local = qname.namespace, qname.localname
    where = {"path": f"/{local}", "line": _line(root)}
    if namespace in _ROOTS and _ROOTS[namespace] == local:
        return
    if namespace == CII_NS:
        raise ParseError("this is a CII document (CrossIndustryInvoice), not UBL", **where)  # type: ignore[arg-type]
    if local in _ROOTS.values():
        expected = INVOICE_NS if local == "Invoice" else CREDITNOTE_NS
        raise ParseError(
            f"the root element {local} is in the namespace {namespace!r}; "
            f"a UBL {local} must be in {expected!r}",
            **where,  # type: ignore[arg-type]
        )
    raise ParseError(
        f"not a UBL invoice: the root element is {{{namespace}}}{local} "
        f"(expected Invoice in {INVOICE_NS!r} or CreditNote in {CREDITNOTE_NS!r})",
        **where,  # type: ignore[arg-type]
    )


def from_tree(root: etree._Element | etree._ElementTree) -> tuple[Invoice, list[Loss]]:
    """Read an already parsed UBL Invoice or CreditNote: the invoice and what it could not hold."""
    return _read(root, fast=True)


def _read(root: etree._Element | etree._ElementTree, *, fast: bool) -> tuple[Invoice, list[Loss]]:
    """``fast=False`` reads every line the general way: the reference the fast path must equal."""
    element = root.getroot() if isinstance(root, etree._ElementTree) else root
    _check_root(element)
    reader = _Reader(element, fast=fast)
    data = reader.read()
    try:
        invoice = Invoice.model_validate(data)
    except ValidationError:
        # the fast path keeps no origins; the general reader does, and names each problem's element
        reader = _Reader(element, fast=False)
        invoice = reader.validate(reader.read())
    return invoice, reader.losses()


def from_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> tuple[Invoice, list[Loss]]:
    """Parse UBL bytes safely and read them: the invoice and every value it does not hold."""
    return from_tree(parse(data, max_bytes=max_bytes))
