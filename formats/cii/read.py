"""CII D16B ``rsm:CrossIndustryInvoice`` → canonical invoice, from any conformant sender.

The CEN CII examples, Factur-X / ZUGFeRD 2.x files of every profile (MINIMUM, BASIC WL,
BASIC, EN16931, EXTENDED) and XRechnung CII are all this one syntax, each profile a subset
(EXTENDED a superset) of the EN 16931 binding in ``terms.py``. ``from_xml(data)`` parses the
bytes with the hardened parser (``formats.xmlsafe``: no DTD, no entities, no network, size
limit), checks the root element and its namespace, then maps every business term from where
``terms.py`` says CII carries it. It returns the invoice and a list of ``Loss``: every
element or attribute with a value that was not read into the invoice (an EXTENDED term, a
test indicator, the project name CII requires…), with its path, line, value and the reason.
Reading never drops data silently.

Values are read as supplied: derived amounts (line nets, totals, the VAT breakdown) stay as
the sender wrote them, so ``compare_totals`` can report a sender's inconsistencies; numbers
become exact ``Decimal`` from their text. Only what CII itself forces is undone:

* dates are ``YYYYMMDD`` (format 102) and become dates; another format is refused;
* BT-8 is coded in UNTDID 2475 (5, 29, 72) in CII and becomes UNTDID 2005 (3, 35, 432);
* a contact department stands for the contact point (BT-41, BT-56) where no person is named;
* a price base quantity given only on the gross price is the base quantity (BT-149);
* several ``ram:SpecifiedTradeSettlementPaymentMeans`` are one BG-16 with several BG-17;
* a VATEX code (BT-121) is upper-cased, as BR-CL-22 compares it.

MINIMUM and BASIC WL files carry no lines: they are read as an invoice without lines,
with the totals as stated.

A document that cannot be read raises ``ParseError`` naming the element path and line: not
well-formed, a DOCTYPE, too large, not a CII invoice (a UBL document, another root, the
wrong namespace), ZUGFeRD 1.0 (its own pre-D16B syntax, not supported), a mandatory element
missing, a value that is not a number or date, or an invoice the canonical model refuses
(each problem with its BT).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from formats.cii.ns import NAMESPACES, RSM, ZUGFERD1_NS
from formats.cii.terms import paths
from formats.errors import ParseError
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice
from formats.invoice.problems import from_validation_error, json_path
from formats.xmlread import Children as _Children
from formats.xmlread import boolean as _boolean
from formats.xmlread import line_of as _line
from formats.xmlread import named as _named
from formats.xmlread import prune as _prune
from formats.xmlread import signature as _signature
from formats.xmlread import xs_decimal as _decimal
from formats.xmlsafe import MAX_XML_BYTES, parse

__all__ = ["VAT_DATE_CODES", "Loss", "from_tree", "from_xml"]

_T = TypeVar("_T")
Loc = tuple[str | int, ...]
Node = tuple[etree._Element, str | None]
"""An element (its text) or one of its attributes."""

ROOT = "CrossIndustryInvoice"
UBL_NAMESPACES = frozenset(
    {
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    }
)
DATE_FORMAT = "102"
"""UNTDID 2379 format 102, ``CCYYMMDD``: the only date format EN 16931 CII uses."""

VAT_DATE_CODES = {"5": "3", "29": "35", "72": "432"}
"""BT-8: CII codes it in UNTDID 2475, the model (and UBL) in UNTDID 2005."""

SUPPORTING_DOCUMENT = "916"
TENDER_OR_LOT = "50"
INVOICED_OBJECT = "130"

_UNMAPPED = "not an EN 16931 business term in this position; not read into the invoice"
_BEYOND = "a Factur-X/ZUGFeRD EXTENDED (or CII) term beyond EN 16931: "
_REASONS = {
    "schemaLocation": "a hint for XML tools where the XSD is; no business data",
    "TestIndicator": "the CII test indicator: EN 16931 has no such term",
    "InvoiceeTradeParty": _BEYOND + "the invoicee party",
    "SpecifiedLogisticsServiceCharge": _BEYOND + "a logistics service charge",
    "ApplicableTradePaymentDiscountTerms": _BEYOND + "payment discount terms (Skonto)",
    "IncludedReferencedProduct": _BEYOND + "a product included in the item",
    "PackageQuantity": _BEYOND + "the package quantity",
    "DeliveryNoteReferencedDocument": _BEYOND + "the delivery note reference",
    "LineTotalBasisAmount": _BEYOND + "the line total basis of a VAT category",
    "AllowanceChargeBasisAmount": _BEYOND + "the allowance/charge basis of a VAT category",
    "ParentLineID": _BEYOND + "a sub-line's parent line",
    "ContentCode": _BEYOND + "a note content code",
    "GermanBankleitzahlID": _BEYOND + "a German bank code",
    "PayerSpecifiedDebtorFinancialInstitution": _BEYOND + "the buyer's bank",
}
"""Why a value is not read, by the local name of the element or attribute (or an ancestor)."""


# ---------------------------------------------------------------------------- values


def _date(text: str) -> date:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a date in format 102 (YYYYMMDD)")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{text!r} is not a date in format 102 (YYYYMMDD)") from None


def _tag(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


# ---------------------------------------------------------------------------- reader


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.paths = paths()
        self.used: set[Node] = set()
        self.lost: dict[Node, str] = {}
        self.origins: dict[Loc, Node] = {}
        self.currency: str | None = None
        self.tax_currency: str | None = None
        self.children = _Children()
        self.tags: dict[str, str] = {}
        self.mandates: list[Node] = []

    # -------------------------------------------------------------- navigation

    def kids(self, parent: etree._Element | None, name: str) -> list[etree._Element]:
        if parent is None:
            return []
        tag = self.tags.get(name)
        if tag is None:
            tag = self.tags[name] = _tag(name)
        return list(self.children[parent].get(tag, ()))

    def kid(self, parent: etree._Element | None, name: str) -> etree._Element | None:
        """The first child of that name (more of them stay unread: each becomes a loss)."""
        found = self.kids(parent, name)
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
        if loc is not None:
            self.origins[loc] = node
        return result

    def text(self, parent: etree._Element | None, path: str, loc: Loc | None = None) -> str | None:
        element = self.find(parent, path)
        return None if element is None else self.value((element, None), loc, str)

    def attr(self, element: etree._Element | None, attribute: str, loc: Loc | None = None) -> str | None:
        if element is None or element.get(attribute) is None:
            return None
        return self.value((element, attribute), loc, str)

    def decimal(self, parent: etree._Element | None, path: str, loc: Loc | None = None) -> Decimal | None:
        element = self.find(parent, path)
        return None if element is None else self.value((element, None), loc, _decimal)

    def amount(
        self, parent: etree._Element | None, path: str, loc: Loc | None, currency: str | None = None
    ) -> Decimal | None:
        element = self.find(parent, path)
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

    def date_string(self, container: etree._Element | None) -> etree._Element | None:
        """The date inside a CII date container (``udt:DateTimeString``, ``udt:DateString``…)."""
        if container is None:
            return None
        for name in ("udt:DateTimeString", "qdt:DateTimeString", "udt:DateString", "qdt:DateString"):
            found = self.kid(container, name)
            if found is not None:
                return found
        return None

    def date_node(self, element: etree._Element, loc: Loc | None) -> date | None:
        self.date_format(element)
        return self.value((element, None), loc, _date)

    def date_format(self, element: etree._Element) -> None:
        """Format 102 is read (and is the default); any other date format is refused."""
        date_format = self.raw((element, "format"))
        if date_format is not None:
            if date_format != DATE_FORMAT:
                raise ParseError(
                    f"the date format {date_format!r} is not supported: EN 16931 dates are "
                    f"format {DATE_FORMAT} (YYYYMMDD)",
                    path=self.path(element, "format"),
                    line=_line(element),
                )
            self.consume((element, "format"))

    def date_of(self, parent: etree._Element | None, path: str, loc: Loc | None = None) -> date | None:
        element = self.date_string(self.find(parent, path))
        return None if element is None else self.date_node(element, loc)

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

    def need_date(self, parent: etree._Element, relative: str, term: str, loc: Loc) -> date:
        container = self.find(parent, relative)
        element = self.date_string(container)
        if element is None:
            raise self.missing(parent, f"{relative}/udt:DateTimeString", f"{_named(term)} is missing")
        result = self.date_node(element, loc)
        if result is None:
            raise ParseError(f"{_named(term)} is empty", path=self.path(element), line=_line(element))
        return result

    def tax_type(self, tax: etree._Element | None) -> None:
        """A tax's type code: EN 16931 knows VAT only."""
        code = self.kid(tax, "ram:TypeCode")
        if code is None:
            return
        if (self.raw((code, None)) or "").upper() == "VAT":
            self.consume((code, None))
        else:
            self.lose((code, None), "EN 16931 knows only VAT; the tax type code is written as VAT")

    def same_as_first(
        self, nodes: Sequence[Node], loc: Loc, convert: Callable[[str], _T], what: str, group: str
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
                self.lose(node, f"differs from the {what} {chosen!r} given first; EN 16931 has one {group}")
        return result

    def first_group(self, groups: list[etree._Element], what: str) -> etree._Element | None:
        """The first group; a later identical copy is read too, a different one is lost."""
        if not groups:
            return None
        first = groups[0]
        for other in groups[1:]:
            if _signature(other) == _signature(first):
                self.consume_all(other)
            else:
                self.lose_all(other, f"a second {what} that differs from the first; EN 16931 has one")
        return first

    # -------------------------------------------------------------- document

    def read(self) -> dict[str, Any]:
        root = self.root
        context = self.kid(root, "rsm:ExchangedDocumentContext")
        inv: dict[str, Any] = {
            "process_control": {
                "specification_identifier": self.text(
                    context,
                    "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
                    ("process_control", "specification_identifier"),
                ),
                "business_process": self.text(
                    context,
                    "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
                    ("process_control", "business_process"),
                ),
            }
        }
        inv["number"] = self.need(root, "rsm:ExchangedDocument/ram:ID", "BT-1", ("number",), str)
        inv["type_code"] = self.need(root, "rsm:ExchangedDocument/ram:TypeCode", "BT-3", ("type_code",), str)
        inv["issue_date"] = self.need_date(
            root, "rsm:ExchangedDocument/ram:IssueDateTime", "BT-2", ("issue_date",)
        )
        inv["notes"] = self.notes(self.kid(root, "rsm:ExchangedDocument"))
        transaction = self.kid(root, "rsm:SupplyChainTradeTransaction")
        if transaction is None:
            raise self.missing(root, "rsm:SupplyChainTradeTransaction", "the trade transaction is missing")
        agreement = self.kid(transaction, "ram:ApplicableHeaderTradeAgreement")
        delivery = self.kid(transaction, "ram:ApplicableHeaderTradeDelivery")
        settlement = self.kid(transaction, "ram:ApplicableHeaderTradeSettlement")
        if agreement is None:
            raise self.missing(
                transaction, "ram:ApplicableHeaderTradeAgreement", "BG-4 the seller is missing"
            )
        if settlement is None:
            raise self.missing(
                transaction, "ram:ApplicableHeaderTradeSettlement", f"{_named('BT-5')} is missing"
            )
        self.currency = self.need(settlement, "ram:InvoiceCurrencyCode", "BT-5", ("currency_code",), str)
        inv["currency_code"] = self.currency
        self.tax_currency = self.text(settlement, "ram:TaxCurrencyCode", ("tax_currency_code",))
        inv["tax_currency_code"] = self.tax_currency
        self.agreement(agreement, inv)
        self.delivery(delivery, inv)
        self.settlement(settlement, inv)
        inv["lines"] = [
            self.line(line, i)
            for i, line in enumerate(self.kids(transaction, "ram:IncludedSupplyChainTradeLineItem"))
        ]
        return inv

    def notes(self, document: etree._Element | None) -> list[dict[str, Any]]:
        notes: list[dict[str, Any]] = []
        for element in self.kids(document, "ram:IncludedNote"):
            loc: Loc = ("notes", len(notes))
            content = self.kid(element, "ram:Content")
            text = None if content is None else self.value((content, None), (*loc, "text"), str)
            if text is None:
                continue  # a subject code without a text stays unread: a loss
            self.at(loc, element)
            notes.append(
                {"subject_code": self.text(element, "ram:SubjectCode", (*loc, "subject_code")), "text": text}
            )
        return notes

    # -------------------------------------------------------------- agreement

    def agreement(self, agreement: etree._Element, inv: dict[str, Any]) -> None:
        inv["buyer_reference"] = self.text(agreement, "ram:BuyerReference", ("buyer_reference",))
        inv["seller"] = self.seller(agreement)
        inv["buyer"] = self.buyer(agreement)
        inv["tax_representative"] = self.tax_representative(agreement)
        inv["sales_order_reference"] = self.text(
            agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID", ("sales_order_reference",)
        )
        inv["purchase_order_reference"] = self.text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", ("purchase_order_reference",)
        )
        inv["contract_reference"] = self.text(
            agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID", ("contract_reference",)
        )
        project = self.kid(agreement, "ram:SpecifiedProcuringProject")
        if project is not None:
            inv["project_reference"] = self.text(project, "ram:ID", ("project_reference",))
            name = self.kid(project, "ram:Name")
            if name is not None:
                self.lose(
                    (name, None),
                    "the project name, which CII requires: EN 16931 has the project reference (BT-11) only",
                )
        self.additional_documents(agreement, inv)

    def additional_documents(self, agreement: etree._Element, inv: dict[str, Any]) -> None:
        documents: list[dict[str, Any]] = []
        for ref in self.kids(agreement, "ram:AdditionalReferencedDocument"):
            code_element = self.kid(ref, "ram:TypeCode")
            code = self.raw((code_element, None)) if code_element is not None else None
            if code_element is not None:
                self.consume((code_element, None))
            if code == INVOICED_OBJECT and "invoiced_object_identifier" not in inv:
                self.at(("invoiced_object_identifier",), ref)
                inv["invoiced_object_identifier"] = {
                    "value": self.text(ref, "ram:IssuerAssignedID", ("invoiced_object_identifier", "value")),
                    "scheme": self.text(
                        ref, "ram:ReferenceTypeCode", ("invoiced_object_identifier", "scheme")
                    ),
                }
                continue
            if code in (INVOICED_OBJECT, TENDER_OR_LOT):
                which = (
                    "invoiced object identifier (BT-18)"
                    if code == INVOICED_OBJECT
                    else "tender or lot (BT-17)"
                )
                if code == INVOICED_OBJECT or "tender_or_lot_reference" in inv:
                    self.lose_all(ref, f"a second {which} reference: EN 16931 has one")
                    continue
            if code == TENDER_OR_LOT:
                inv["tender_or_lot_reference"] = self.text(
                    ref, "ram:IssuerAssignedID", ("tender_or_lot_reference",)
                )
                continue
            if code != SUPPORTING_DOCUMENT and code_element is not None:
                self.lose(
                    (code_element, None),
                    f"document type code {code!r}: EN 16931 supporting documents (BG-24) are type "
                    f"{SUPPORTING_DOCUMENT}; the document is read as a supporting document",
                )
            loc: Loc = ("supporting_documents", len(documents))
            self.at(loc, ref)
            document: dict[str, Any] = {
                "reference": self.text(ref, "ram:IssuerAssignedID", (*loc, "reference")),
                "description": self.text(ref, "ram:Name", (*loc, "description")),
                "external_location": self.text(ref, "ram:URIID", (*loc, "external_location")),
            }
            binary = self.kid(ref, "ram:AttachmentBinaryObject")
            if binary is not None and self.raw((binary, None)) is None:
                self.consume((binary, None))
                for attribute in binary.attrib:
                    self.lose((binary, str(attribute)), "an attribute of an empty attached document (BT-125)")
            elif binary is not None:
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
            "line1": self.text(element, "ram:LineOne", (*loc, "line1")),
            "line2": self.text(element, "ram:LineTwo", (*loc, "line2")),
            "line3": self.text(element, "ram:LineThree", (*loc, "line3")),
            "city": self.text(element, "ram:CityName", (*loc, "city")),
            "post_code": self.text(element, "ram:PostcodeCode", (*loc, "post_code")),
            "country_subdivision": self.text(
                element, "ram:CountrySubDivisionName", (*loc, "country_subdivision")
            ),
            "country_code": self.text(element, "ram:CountryID", (*loc, "country_code")),
        }

    def contact(self, party: etree._Element, loc: Loc) -> dict[str, Any] | None:
        element = self.kid(party, "ram:DefinedTradeContact")
        if element is None:
            return None
        self.at(loc, element)
        name = self.text(element, "ram:PersonName", (*loc, "name"))
        department = self.kid(element, "ram:DepartmentName")
        if department is not None:
            if name is None:
                name = self.value((department, None), (*loc, "name"), str)
            else:
                self.lose(
                    (department, None),
                    "the contact department next to a contact person: EN 16931 has one contact point",
                )
        email = self.kid(element, "ram:EmailURIUniversalCommunication")
        address = self.kid(email, "ram:URIID")
        if address is not None and (self.raw((address, "schemeID")) or "").upper() == "SMTP":
            self.consume((address, "schemeID"))
        return {
            "name": name,
            "telephone": self.text(
                element, "ram:TelephoneUniversalCommunication/ram:CompleteNumber", (*loc, "telephone")
            ),
            "email": self.text(email, "ram:URIID", (*loc, "email")),
        }

    def identifier(
        self, element: etree._Element | None, loc: Loc, with_scheme: bool = True
    ) -> dict[str, Any] | None:
        if element is None:
            return None
        if self.raw((element, None)) is None:
            self.consume((element, None))
            if element.get("schemeID") is not None:
                self.lose(
                    (element, "schemeID"), "the scheme of an empty identifier: there is no identifier to read"
                )
            return None
        self.at(loc, element)
        scheme = self.attr(element, "schemeID", (*loc, "scheme")) if with_scheme else None
        if not with_scheme and element.get("schemeID") is not None:
            self.lose(
                (element, "schemeID"),
                "a scheme on ram:ID: EN 16931 CII gives an identifier's scheme with ram:GlobalID",
            )
        return {"value": self.value((element, None), (*loc, "value"), str), "scheme": scheme}

    def party_ids(self, party: etree._Element, loc: Loc) -> list[dict[str, Any]]:
        """The party's identifiers, ``ram:ID`` (no scheme) and ``ram:GlobalID``, in document order."""
        found: list[dict[str, Any]] = []
        elements = self.kids(party, "ram:ID") + self.kids(party, "ram:GlobalID")
        elements.sort(key=lambda e: party.index(e))
        for element in elements:
            plain = element.tag == _tag("ram:ID")
            identifier = self.identifier(element, (*loc, len(found)), with_scheme=not plain)
            if identifier is not None:
                found.append(identifier)
        return found

    def single_id(self, party: etree._Element, loc: Loc, what: str) -> dict[str, Any] | None:
        elements = self.kids(party, "ram:ID") + self.kids(party, "ram:GlobalID")
        elements.sort(key=lambda e: party.index(e))
        if not elements:
            return None
        # a GlobalID says its scheme: prefer it to a plain ID when both are given
        chosen = next((e for e in elements if e.tag == _tag("ram:GlobalID")), elements[0])
        for other in elements:
            if other is not chosen:
                self.lose_all(other, f"a second {what}: EN 16931 has one")
        return self.identifier(chosen, loc, with_scheme=chosen.tag == _tag("ram:GlobalID"))

    def tax_registrations(self, party: etree._Element) -> dict[str, list[etree._Element]]:
        """``ram:SpecifiedTaxRegistration/ram:ID`` by scheme (VA, FC, …)."""
        out: dict[str, list[etree._Element]] = {}
        for registration in self.kids(party, "ram:SpecifiedTaxRegistration"):
            for element in self.kids(registration, "ram:ID"):
                scheme = (self.raw((element, "schemeID")) or "").upper()
                out.setdefault(scheme, []).append(element)
        return out

    def registration(self, elements: list[etree._Element], loc: Loc, what: str) -> str | None:
        if not elements:
            return None
        self.consume((elements[0], "schemeID"))
        for other in elements[1:]:
            self.lose_all(other, f"a second {what}: EN 16931 has one")
        return self.value((elements[0], None), loc, str)

    def lose_registrations(
        self, registrations: dict[str, list[etree._Element]], keep: set[str], who: str
    ) -> None:
        for scheme, elements in registrations.items():
            if scheme in keep:
                continue
            for element in elements:
                self.lose_all(
                    element,
                    f"a {who} tax registration with scheme {scheme or 'none'!r}: EN 16931 knows "
                    + ("VA (BT-31) and FC (BT-32)" if who == "seller" else "only VA (the VAT identifier)"),
                )

    def seller(self, agreement: etree._Element) -> dict[str, Any]:
        loc: Loc = ("seller",)
        name = self.need(agreement, "ram:SellerTradeParty/ram:Name", "BT-27", (*loc, "name"), str)
        party = self.kid(agreement, "ram:SellerTradeParty")
        assert party is not None
        self.at(loc, party)
        legal = self.kid(party, "ram:SpecifiedLegalOrganization")
        registrations = self.tax_registrations(party)
        self.lose_registrations(registrations, {"VA", "FC"}, "seller")
        return {
            "name": name,
            "trading_name": self.text(legal, "ram:TradingBusinessName", (*loc, "trading_name")),
            "identifiers": self.party_ids(party, (*loc, "identifiers")),
            "legal_registration": self.identifier(self.kid(legal, "ram:ID"), (*loc, "legal_registration")),
            "vat_identifier": self.registration(
                registrations.get("VA", []), (*loc, "vat_identifier"), "seller VAT identifier"
            ),
            "tax_registration_identifier": self.registration(
                registrations.get("FC", []), (*loc, "tax_registration_identifier"), "seller tax registration"
            ),
            "additional_legal_information": self.text(
                party, "ram:Description", (*loc, "additional_legal_information")
            ),
            "electronic_address": self.identifier(
                self.find(party, "ram:URIUniversalCommunication/ram:URIID"), (*loc, "electronic_address")
            ),
            "address": self.address(self.kid(party, "ram:PostalTradeAddress"), (*loc, "address")),
            "contact": self.contact(party, (*loc, "contact")),
        }

    def buyer(self, agreement: etree._Element) -> dict[str, Any]:
        loc: Loc = ("buyer",)
        name = self.need(agreement, "ram:BuyerTradeParty/ram:Name", "BT-44", (*loc, "name"), str)
        party = self.kid(agreement, "ram:BuyerTradeParty")
        assert party is not None
        self.at(loc, party)
        legal = self.kid(party, "ram:SpecifiedLegalOrganization")
        registrations = self.tax_registrations(party)
        self.lose_registrations(registrations, {"VA"}, "buyer")
        return {
            "name": name,
            "trading_name": self.text(legal, "ram:TradingBusinessName", (*loc, "trading_name")),
            "identifier": self.single_id(party, (*loc, "identifier"), "buyer identifier (BT-46)"),
            "legal_registration": self.identifier(self.kid(legal, "ram:ID"), (*loc, "legal_registration")),
            "vat_identifier": self.registration(
                registrations.get("VA", []), (*loc, "vat_identifier"), "buyer VAT identifier"
            ),
            "electronic_address": self.identifier(
                self.find(party, "ram:URIUniversalCommunication/ram:URIID"), (*loc, "electronic_address")
            ),
            "address": self.address(self.kid(party, "ram:PostalTradeAddress"), (*loc, "address")),
            "contact": self.contact(party, (*loc, "contact")),
        }

    def payee(self, settlement: etree._Element) -> dict[str, Any] | None:
        party = self.kid(settlement, "ram:PayeeTradeParty")
        if party is None:
            return None
        loc: Loc = ("payee",)
        self.at(loc, party)
        return {
            "name": self.text(party, "ram:Name", (*loc, "name")),
            "identifier": self.single_id(party, (*loc, "identifier"), "payee identifier (BT-60)"),
            "legal_registration": self.identifier(
                self.find(party, "ram:SpecifiedLegalOrganization/ram:ID"), (*loc, "legal_registration")
            ),
        }

    def tax_representative(self, agreement: etree._Element) -> dict[str, Any] | None:
        party = self.kid(agreement, "ram:SellerTaxRepresentativeTradeParty")
        if party is None:
            return None
        loc: Loc = ("tax_representative",)
        self.at(loc, party)
        registrations = self.tax_registrations(party)
        self.lose_registrations(registrations, {"VA"}, "tax representative")
        return {
            "name": self.text(party, "ram:Name", (*loc, "name")),
            "vat_identifier": self.registration(
                registrations.get("VA", []), (*loc, "vat_identifier"), "tax representative VAT identifier"
            ),
            "address": self.address(self.kid(party, "ram:PostalTradeAddress"), (*loc, "address")),
        }

    # -------------------------------------------------------------- delivery

    def delivery(self, element: etree._Element | None, inv: dict[str, Any]) -> None:
        if element is None:
            return
        inv["despatch_advice_reference"] = self.text(
            element,
            "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID",
            ("despatch_advice_reference",),
        )
        inv["receiving_advice_reference"] = self.text(
            element,
            "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID",
            ("receiving_advice_reference",),
        )
        loc: Loc = ("delivery",)
        self.at(loc, element)
        ship_to = self.kid(element, "ram:ShipToTradeParty")
        delivery: dict[str, Any] = {
            "actual_delivery_date": self.date_of(
                element,
                "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime",
                (*loc, "actual_delivery_date"),
            )
        }
        if ship_to is not None:
            delivery["party_name"] = self.text(ship_to, "ram:Name", (*loc, "party_name"))
            delivery["location_identifier"] = self.single_id(
                ship_to, (*loc, "location_identifier"), "deliver to location identifier (BT-71)"
            )
            delivery["address"] = self.address(self.kid(ship_to, "ram:PostalTradeAddress"), (*loc, "address"))
        inv["delivery"] = delivery

    # -------------------------------------------------------------- settlement

    def settlement(self, settlement: etree._Element, inv: dict[str, Any]) -> None:
        inv["payee"] = self.payee(settlement)
        inv["buyer_accounting_reference"] = self.text(
            settlement,
            "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID",
            ("buyer_accounting_reference",),
        )
        period = self.kid(settlement, "ram:BillingSpecifiedPeriod")
        if period is not None:
            self.at(("invoicing_period",), period)
            start = self.date_of(period, "ram:StartDateTime", ("invoicing_period", "start_date"))
            end = self.date_of(period, "ram:EndDateTime", ("invoicing_period", "end_date"))
            if start is not None or end is not None:
                inv["invoicing_period"] = {"start_date": start, "end_date": end}
        preceding: list[dict[str, Any]] = []
        for ref in self.kids(settlement, "ram:InvoiceReferencedDocument"):
            loc: Loc = ("preceding_invoices", len(preceding))
            self.at(loc, ref)
            preceding.append(
                {
                    "reference": self.text(ref, "ram:IssuerAssignedID", (*loc, "reference")),
                    "issue_date": self.date_of(ref, "ram:FormattedIssueDateTime", (*loc, "issue_date")),
                }
            )
        inv["preceding_invoices"] = preceding
        self.payment_terms(settlement, inv)
        self.payment(settlement, inv)
        self.document_allowances_charges(settlement, inv)
        self.vat_breakdown(settlement, inv)
        inv["totals"] = self.monetary_total(settlement)

    def payment_terms(self, settlement: etree._Element, inv: dict[str, Any]) -> None:
        terms = self.kids(settlement, "ram:SpecifiedTradePaymentTerms")
        group = "payment terms text (BT-20), due date (BT-9) and mandate reference (BT-89)"
        inv["payment_terms"] = self.same_as_first(
            [(e, None) for t in terms for e in self.kids(t, "ram:Description")],
            ("payment_terms",),
            str,
            "payment terms (BT-20)",
            group,
        )
        due: list[Node] = []
        for term in terms:
            for container in self.kids(term, "ram:DueDateDateTime"):
                element = self.date_string(container)
                if element is not None:
                    due.append((element, None))
        for element, _ in due:
            self.date_format(element)
        inv["due_date"] = self.same_as_first(due, ("due_date",), _date, "payment due date (BT-9)", group)
        self.mandates = [(e, None) for t in terms for e in self.kids(t, "ram:DirectDebitMandateID")]

    def payment(self, settlement: etree._Element, inv: dict[str, Any]) -> None:
        means = self.kids(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        creditor = self.kid(settlement, "ram:CreditorReferenceID")
        reference = self.kids(settlement, "ram:PaymentReference")
        if not means:
            reason = "belongs to payment instructions (BG-16), and the document has no payment means"
            for node, term in (
                *[((e, None), "the remittance information (BT-83)") for e in reference],
                *[(n, "the mandate reference (BT-89)") for n in self.mandates],
                *(
                    [((creditor, None), "the bank assigned creditor identifier (BT-90)")]
                    if creditor is not None
                    else []
                ),
            ):
                if self.raw(node) is not None:
                    self.lose(node, f"{term} {reason}")
            return
        group = "set of payment instructions (BG-16)"
        loc: Loc = ("payment_instructions",)
        self.at(loc, means[0])
        payment: dict[str, Any] = {
            "means_code": self.same_as_first(
                [(e, None) for m in means for e in self.kids(m, "ram:TypeCode")],
                (*loc, "means_code"),
                str,
                "payment means code (BT-81)",
                group,
            ),
            "means_text": self.same_as_first(
                [(e, None) for m in means for e in self.kids(m, "ram:Information")],
                (*loc, "means_text"),
                str,
                "payment means text (BT-82)",
                group,
            ),
            "remittance_information": self.same_as_first(
                [(e, None) for e in reference],
                (*loc, "remittance_information"),
                str,
                "remittance information",
                group,
            ),
        }
        transfers: list[dict[str, Any]] = []
        for item in means:
            bank = self.kid(item, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            accounts = self.kids(item, "ram:PayeePartyCreditorFinancialAccount")
            if bank is not None and not accounts:
                self.lose_all(
                    bank,
                    "a payee bank without a payee account: EN 16931 has the BIC (BT-86) in a credit "
                    "transfer (BG-17) only",
                )
            for account in accounts:
                tloc: Loc = (*loc, "credit_transfers", len(transfers))
                self.at(tloc, account)
                iban = self.kid(account, "ram:IBANID")
                proprietary = self.kid(account, "ram:ProprietaryID")
                identifier = iban if iban is not None and self.raw((iban, None)) else proprietary
                if (
                    identifier is iban
                    and proprietary is not None
                    and self.raw((proprietary, None)) is not None
                ):
                    self.lose(
                        (proprietary, None),
                        "a proprietary account id next to an IBAN: EN 16931 has one payment "
                        "account identifier (BT-84)",
                    )
                transfers.append(
                    {
                        "account_identifier": None
                        if identifier is None
                        else self.value((identifier, None), (*tloc, "account_identifier"), str),
                        "account_name": self.text(account, "ram:AccountName", (*tloc, "account_name")),
                        "service_provider_identifier": self.text(
                            bank, "ram:BICID", (*tloc, "service_provider_identifier")
                        ),
                    }
                )
        payment["credit_transfers"] = transfers
        card = self.first_group(
            [c for m in means for c in self.kids(m, "ram:ApplicableTradeSettlementFinancialCard")],
            "card (BG-18)",
        )
        if card is not None:
            cloc: Loc = (*loc, "payment_card")
            self.at(cloc, card)
            payment["payment_card"] = {
                "primary_account_number": self.text(card, "ram:ID", (*cloc, "primary_account_number")),
                "holder_name": self.text(card, "ram:CardholderName", (*cloc, "holder_name")),
            }
        dloc: Loc = (*loc, "direct_debit")
        debited = self.first_group(
            [a for m in means for a in self.kids(m, "ram:PayerPartyDebtorFinancialAccount")],
            "debited account (BT-91)",
        )
        payment["direct_debit"] = {
            "mandate_reference": self.same_as_first(
                self.mandates,
                (*dloc, "mandate_reference"),
                str,
                "mandate reference (BT-89)",
                "direct debit (BG-19)",
            ),
            "creditor_identifier": self.text(
                settlement, "ram:CreditorReferenceID", (*dloc, "creditor_identifier")
            ),
            "debited_account_identifier": self.text(
                debited, "ram:IBANID", (*dloc, "debited_account_identifier")
            ),
        }
        inv["payment_instructions"] = payment

    def allowance_charge_fields(self, element: etree._Element, loc: Loc) -> dict[str, Any]:
        amount = self.amount(element, "ram:ActualAmount", (*loc, "amount"))
        percentage = self.decimal(element, "ram:CalculationPercent", (*loc, "percentage"))
        if percentage is not None and percentage < 0 and amount is not None:
            # EXTENDED correction invoices write "-2 %" of a negative base; EN 16931 has no
            # negative percentage, and the amount as given stays the one that counts
            percent = self.kid(element, "ram:CalculationPercent")
            assert percent is not None
            self.lose(
                (percent, None),
                "a negative percentage: EN 16931 percentages (BT-94, BT-101, BT-138, BT-143) are "
                "not negative; the amount and base amount are kept as given",
            )
            self.origins.pop((*loc, "percentage"), None)
            percentage = None
        return {
            "amount": amount,
            "base_amount": self.amount(element, "ram:BasisAmount", (*loc, "base_amount")),
            "percentage": percentage,
            "reason": self.text(element, "ram:Reason", (*loc, "reason")),
            "reason_code": self.text(element, "ram:ReasonCode", (*loc, "reason_code")),
        }

    def indicator(self, element: etree._Element) -> bool:
        indicator = self.find(element, "ram:ChargeIndicator/udt:Indicator")
        if indicator is None:
            raise self.missing(
                element,
                "ram:ChargeIndicator/udt:Indicator",
                "an allowance or charge needs its charge indicator",
            )
        value = self.value((indicator, None), None, _boolean)
        if value is None:
            raise ParseError(
                "the charge indicator is empty", path=self.path(indicator), line=_line(indicator)
            )
        return value

    def allowances_charges(
        self, parent: etree._Element, base: Loc
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        allowances: list[dict[str, Any]] = []
        charges: list[dict[str, Any]] = []
        for element in self.kids(parent, "ram:SpecifiedTradeAllowanceCharge"):
            is_charge = self.indicator(element)
            target = charges if is_charge else allowances
            loc: Loc = (*base, "charges" if is_charge else "allowances", len(target))
            self.at(loc, element)
            fields = self.allowance_charge_fields(element, loc)
            if not base:
                tax = self.kid(element, "ram:CategoryTradeTax")
                self.tax_type(tax)
                fields["vat_category_code"] = self.text(tax, "ram:CategoryCode", (*loc, "vat_category_code"))
                fields["vat_rate"] = self.decimal(tax, "ram:RateApplicablePercent", (*loc, "vat_rate"))
            target.append(fields)
        return allowances, charges

    def document_allowances_charges(self, settlement: etree._Element, inv: dict[str, Any]) -> None:
        inv["allowances"], inv["charges"] = self.allowances_charges(settlement, ())

    def vat_breakdown(self, settlement: etree._Element, inv: dict[str, Any]) -> None:
        breakdown: list[dict[str, Any]] = []
        taxes = self.kids(settlement, "ram:ApplicableTradeTax")
        group = "VAT point date (BT-7) and VAT point date code (BT-8) per invoice"
        tax_points: list[Node] = []
        for tax in taxes:
            element = self.date_string(self.kid(tax, "ram:TaxPointDate"))
            if element is not None:
                tax_points.append((element, None))
        for element, _ in tax_points:
            self.date_format(element)
        inv["tax_point_date"] = self.same_as_first(
            tax_points, ("tax_point_date",), _date, "VAT point date", group
        )
        inv["tax_point_date_code"] = self.same_as_first(
            [(e, None) for t in taxes for e in self.kids(t, "ram:DueDateTypeCode")],
            ("tax_point_date_code",),
            lambda code: VAT_DATE_CODES.get(code, code),
            "VAT point date code",
            group,
        )
        for tax in taxes:
            loc: Loc = ("vat_breakdown", len(breakdown))
            self.at(loc, tax)
            self.tax_type(tax)
            breakdown.append(
                {
                    "taxable_amount": self.amount(tax, "ram:BasisAmount", (*loc, "taxable_amount")),
                    "tax_amount": self.amount(tax, "ram:CalculatedAmount", (*loc, "tax_amount")),
                    "category_code": self.text(tax, "ram:CategoryCode", (*loc, "category_code")),
                    "rate": self.decimal(tax, "ram:RateApplicablePercent", (*loc, "rate")),
                    "exemption_reason": self.text(tax, "ram:ExemptionReason", (*loc, "exemption_reason")),
                    # BR-CL-22 compares VATEX codes in upper case
                    "exemption_reason_code": None
                    if (code := self.kid(tax, "ram:ExemptionReasonCode")) is None
                    else self.value((code, None), (*loc, "exemption_reason_code"), str.upper),
                }
            )
        inv["vat_breakdown"] = breakdown

    def monetary_total(self, settlement: etree._Element) -> dict[str, Any]:
        element = self.kid(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        loc: Loc = ("totals",)
        if element is None:
            raise self.missing(
                settlement,
                "ram:SpecifiedTradeSettlementHeaderMonetarySummation",
                "BG-22 the document totals are missing",
            )
        self.at(loc, element)
        vat_total: Decimal | None = None
        in_tax_currency: Decimal | None = None
        for tax_total in self.kids(element, "ram:TaxTotalAmount"):
            currency = self.raw((tax_total, "currencyID"))
            node: Node = (tax_total, None)
            if vat_total is None and currency in (None, self.currency):
                self.currency_of(tax_total, self.currency, "BT-5 invoice currency")
                vat_total = self.value(node, (*loc, "vat_total"), _decimal)
            elif in_tax_currency is None and self.tax_currency is not None and currency == self.tax_currency:
                self.consume((tax_total, "currencyID"))
                in_tax_currency = self.value(node, (*loc, "vat_total_in_tax_currency"), _decimal)
            else:
                self.lose_all(
                    tax_total,
                    "EN 16931 has one VAT total in the invoice currency (BT-110) and one in the VAT "
                    "accounting currency (BT-111); this ram:TaxTotalAmount is another",
                )
        return {
            "line_net_total": self.amount(element, "ram:LineTotalAmount", (*loc, "line_net_total")),
            "allowance_total": self.amount(element, "ram:AllowanceTotalAmount", (*loc, "allowance_total")),
            "charge_total": self.amount(element, "ram:ChargeTotalAmount", (*loc, "charge_total")),
            "tax_exclusive_amount": self.amount(
                element, "ram:TaxBasisTotalAmount", (*loc, "tax_exclusive_amount")
            ),
            "vat_total": vat_total,
            "vat_total_in_tax_currency": in_tax_currency,
            "tax_inclusive_amount": self.amount(
                element, "ram:GrandTotalAmount", (*loc, "tax_inclusive_amount")
            ),
            "paid_amount": self.amount(element, "ram:TotalPrepaidAmount", (*loc, "paid_amount")),
            "rounding_amount": self.amount(element, "ram:RoundingAmount", (*loc, "rounding_amount")),
            "amount_due": self.amount(element, "ram:DuePayableAmount", (*loc, "amount_due")),
        }

    # -------------------------------------------------------------- lines

    def line(self, element: etree._Element, index: int) -> dict[str, Any]:
        loc: Loc = ("lines", index)
        self.at(loc, element)
        document = "ram:AssociatedDocumentLineDocument"
        agreement_name = "ram:SpecifiedLineTradeAgreement"
        settlement_name = "ram:SpecifiedLineTradeSettlement"
        quantity = "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"
        line: dict[str, Any] = {
            "id": self.need(element, f"{document}/ram:LineID", "BT-126", (*loc, "id"), str),
            "quantity": self.need(element, quantity, "BT-129", (*loc, "quantity"), _decimal),
            "unit_code": self.need(element, quantity, "BT-130", (*loc, "unit_code"), str, "unitCode"),
        }
        total = f"{settlement_name}/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        line["net_amount"] = self.need(element, total, "BT-131", (*loc, "net_amount"), _decimal)
        net = self.find(element, total)
        assert net is not None
        self.currency_of(net, self.currency, "BT-5 invoice currency")
        self.need(
            element,
            f"{agreement_name}/ram:NetPriceProductTradePrice/ram:ChargeAmount",
            "BT-146",
            (*loc, "price", "net_amount"),
            _decimal,
        )
        self.need(element, "ram:SpecifiedTradeProduct/ram:Name", "BT-153", (*loc, "item", "name"), str)
        self.need(
            element,
            f"{settlement_name}/ram:ApplicableTradeTax/ram:CategoryCode",
            "BT-151",
            (*loc, "vat", "category_code"),
            str,
        )
        line_document = self.kid(element, document)
        line["note"] = self.text(line_document, "ram:IncludedNote/ram:Content", (*loc, "note"))
        agreement = self.kid(element, agreement_name)
        settlement = self.kid(element, settlement_name)
        assert agreement is not None
        assert settlement is not None
        line["order_line_reference"] = self.text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:LineID", (*loc, "order_line_reference")
        )
        line["buyer_accounting_reference"] = self.text(
            settlement,
            "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID",
            (*loc, "buyer_accounting_reference"),
        )
        period = self.kid(settlement, "ram:BillingSpecifiedPeriod")
        if period is not None:
            self.at((*loc, "period"), period)
            start = self.date_of(period, "ram:StartDateTime", (*loc, "period", "start_date"))
            end = self.date_of(period, "ram:EndDateTime", (*loc, "period", "end_date"))
            if start is not None or end is not None:
                line["period"] = {"start_date": start, "end_date": end}
        for reference in self.kids(settlement, "ram:AdditionalReferencedDocument"):
            code = self.kid(reference, "ram:TypeCode")
            if (
                code is not None
                and self.raw((code, None)) == INVOICED_OBJECT
                and "object_identifier" not in line
            ):
                self.consume((code, None))
                oloc: Loc = (*loc, "object_identifier")
                self.at(oloc, reference)
                line["object_identifier"] = {
                    "value": self.text(reference, "ram:IssuerAssignedID", (*oloc, "value")),
                    "scheme": self.text(reference, "ram:ReferenceTypeCode", (*oloc, "scheme")),
                }
            else:
                self.lose_all(
                    reference,
                    "EN 16931 defines a line document reference only as the invoiced object "
                    "identifier (BT-128, document type code 130)",
                )
        line["allowances"], line["charges"] = self.allowances_charges(settlement, loc)
        product = self.kid(element, "ram:SpecifiedTradeProduct")
        assert product is not None
        line["item"] = self.item(product, (*loc, "item"))
        tax = self.kid(settlement, "ram:ApplicableTradeTax")
        self.at((*loc, "vat"), tax)
        self.tax_type(tax)
        line["vat"] = {
            "category_code": self.text(tax, "ram:CategoryCode", (*loc, "vat", "category_code")),
            "rate": self.decimal(tax, "ram:RateApplicablePercent", (*loc, "vat", "rate")),
        }
        line["price"] = self.price(agreement, (*loc, "price"))
        return line

    def item(self, product: etree._Element, loc: Loc) -> dict[str, Any]:
        self.at(loc, product)
        classifications: list[dict[str, Any]] = []
        for classification in self.kids(product, "ram:DesignatedProductClassification"):
            code = self.kid(classification, "ram:ClassCode")
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
        for characteristic in self.kids(product, "ram:ApplicableProductCharacteristic"):
            aloc: Loc = (*loc, "attributes", len(attributes))
            self.at(aloc, characteristic)
            attributes.append(
                {
                    "name": self.text(characteristic, "ram:Description", (*aloc, "name")),
                    "value": self.text(characteristic, "ram:Value", (*aloc, "value")),
                }
            )
        return {
            "name": self.text(product, "ram:Name", (*loc, "name")),
            "description": self.text(product, "ram:Description", (*loc, "description")),
            "sellers_identifier": self.text(product, "ram:SellerAssignedID", (*loc, "sellers_identifier")),
            "buyers_identifier": self.text(product, "ram:BuyerAssignedID", (*loc, "buyers_identifier")),
            "standard_identifier": self.identifier(
                self.kid(product, "ram:GlobalID"), (*loc, "standard_identifier")
            ),
            "classifications": classifications,
            "origin_country": self.text(product, "ram:OriginTradeCountry/ram:ID", (*loc, "origin_country")),
            "attributes": attributes,
        }

    def price(self, agreement: etree._Element, loc: Loc) -> dict[str, Any]:
        net = self.kid(agreement, "ram:NetPriceProductTradePrice")
        gross = self.kid(agreement, "ram:GrossPriceProductTradePrice")
        assert net is not None
        self.at(loc, net)
        base = self.kid(net, "ram:BasisQuantity")
        gross_base = self.kid(gross, "ram:BasisQuantity")
        if base is None:
            base = gross_base
        elif gross_base is not None:
            if (self.raw((gross_base, None)), self.raw((gross_base, "unitCode"))) == (
                self.raw((base, None)),
                self.raw((base, "unitCode")),
            ) or _same_number(self.raw((gross_base, None)), self.raw((base, None))):
                self.consume_all(gross_base)
            else:
                self.lose_all(
                    gross_base,
                    "a gross price base quantity that differs from the net price's: EN 16931 has one "
                    "price base quantity (BT-149)",
                )
        out: dict[str, Any] = {
            "net_amount": self.amount(net, "ram:ChargeAmount", (*loc, "net_amount")),
            "base_quantity": None
            if base is None
            else self.value((base, None), (*loc, "base_quantity"), _decimal),
            "base_quantity_unit_code": self.attr(base, "unitCode", (*loc, "base_quantity_unit_code")),
        }
        if gross is None:
            return out
        out["gross_amount"] = self.amount(gross, "ram:ChargeAmount", (*loc, "gross_amount"))
        discounts: list[etree._Element] = []
        for applied in self.kids(gross, "ram:AppliedTradeAllowanceCharge"):
            indicator = self.find(applied, "ram:ChargeIndicator/udt:Indicator")
            if indicator is not None and self.raw((indicator, None)) in ("true", "1"):
                self.lose_all(
                    applied,
                    "EN 16931 knows a price discount (BT-147) but no price charge; the net price "
                    "(BT-146) is kept as given",
                )
                continue
            if indicator is not None:
                self.value((indicator, None), None, _boolean)
            discounts.append(applied)
        # EN 16931 has one item price discount (BT-147), gross price minus net price: where
        # EXTENDED gives several, it is their sum
        amounts = [self.amount(d, "ram:ActualAmount", (*loc, "discount")) for d in reversed(discounts)]
        given = [a for a in amounts if a is not None]
        gross_amount = out["gross_amount"]
        if given and gross_amount is not None and sum(given, Decimal(0)) > gross_amount:
            # the model derives the net price as gross price − discount (BR-26, BR-27): a
            # discount above the gross price cannot be held; the stated net price stands
            for applied in discounts:
                actual = self.kid(applied, "ram:ActualAmount")
                if actual is None:
                    continue
                self.lose(
                    (actual, None),
                    "a price discount (BT-147) larger than the gross price (BT-148): EN 16931's net "
                    "price (gross − discount) would be negative (BR-27); the net price (BT-146) is "
                    "kept as given",
                )
        elif len(given) == 1:
            out["discount"] = given[0]
        elif given:
            total = out["discount"] = sum(given, Decimal(0))
            for applied in discounts:
                actual = self.kid(applied, "ram:ActualAmount")
                if actual is not None and self.raw((actual, None)) is not None:
                    self.lose(
                        (actual, None),
                        f"one of {len(given)} price discounts: EN 16931 has one item price discount "
                        f"(BT-147), which holds their sum {_num_text(total)}",
                    )
        return out

    # -------------------------------------------------------------- losses

    def losses(self) -> list[Loss]:
        found: list[Loss] = []
        for element in self.root.iter(etree.Element):  # elements only: no comments
            attributes: list[str | None] = [None, *element.keys()]  # type: ignore[list-item]
            for attribute in attributes:
                node: Node = (element, attribute)
                reason = self.lost.get(node)
                if reason is None and node in self.used:
                    continue
                text = self.raw(node)
                if text is None:
                    continue
                found.append(
                    Loss(self.path(*node), _line(element), text, reason or _reason(element, attribute))
                )
        return found

    # -------------------------------------------------------------- model

    def validate(self, data: dict[str, Any]) -> Invoice:
        try:
            return Invoice.model_validate(_prune(data, keep=("lines",)))  # a summary has none
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


def _reason(element: etree._Element, attribute: str | None) -> str:
    if attribute is not None and etree.QName(attribute).localname in _REASONS:
        return _REASONS[etree.QName(attribute).localname]
    node: etree._Element | None = element
    while node is not None:
        reason = _REASONS.get(etree.QName(node).localname)
        if reason is not None:
            return reason
        node = node.getparent()
    return _UNMAPPED


def _num_text(value: Decimal) -> str:
    return format(value, "f")


def _same_number(a: str | None, b: str | None) -> bool:
    try:
        return a is not None and b is not None and _decimal(a) == _decimal(b)
    except ValueError:
        return False


def _check_root(root: etree._Element) -> None:
    qname = etree.QName(root)
    namespace, local = qname.namespace, qname.localname
    where: dict[str, Any] = {
        "path": f"/{root.prefix + ':' if root.prefix else ''}{local}",
        "line": _line(root),
    }
    if namespace == RSM and local == ROOT:
        return
    if namespace == ZUGFERD1_NS:
        raise ParseError(
            f"this is a ZUGFeRD 1.0 invoice (root {local} in {ZUGFERD1_NS!r}): ZUGFeRD 1.0 is a pre-D16B "
            "CII and is not supported; ask the sender for ZUGFeRD 2.x/Factur-X (CII D16B)",
            **where,
        )
    if namespace in UBL_NAMESPACES:
        raise ParseError(f"this is a UBL document ({local}), not CII (CrossIndustryInvoice)", **where)
    if local == ROOT:
        raise ParseError(
            f"the root element {ROOT} is in the namespace {namespace!r}; "
            f"a CII D16B invoice must be in {RSM!r}",
            **where,
        )
    raise ParseError(
        f"not a CII invoice: the root element is {{{namespace}}}{local} (expected {ROOT} in {RSM!r})", **where
    )


def from_tree(root: etree._Element | etree._ElementTree) -> tuple[Invoice, list[Loss]]:
    """Read an already parsed CII CrossIndustryInvoice: the invoice and what it could not hold."""
    element = root.getroot() if isinstance(root, etree._ElementTree) else root
    _check_root(element)
    reader = _Reader(element)
    data = reader.read()
    invoice = reader.validate(data)
    return invoice, reader.losses()


def from_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> tuple[Invoice, list[Loss]]:
    """Parse CII bytes safely and read them: the invoice and every value it does not hold."""
    return from_tree(parse(data, max_bytes=max_bytes))
