"""Benchmark: canonical invoice → UBL 2.1 bytes, and UBL → canonical invoice.

Invoices of 10 and 100 lines, cut from ``examples/large-500-lines.json``. Every figure is
invoices/s, measured in this run next to its anchor:

writing, anchor: the practical limit, a hand-written lxml builder that writes the very same
  document (checked: canonical XML identical) from the already-calculated invoice, with
  no checks. Ours is measured twice: ``to_xml`` as callers use it (calculate, compare the
  supplied totals, check the profile, write) and the writer alone on the calculated
  invoice. Target: writer ≥ 0.5× the limit.
writing, peer: drafthorse (the Python ZUGFeRD/Factur-X library) serializing a CII invoice
  with the same parties, lines and totals, as its users call it: ``Document.serialize``,
  which validates against the Factur-X EN 16931 XSD. Target: ours ≥ 5× drafthorse.
reading (only once ``formats.ubl.read`` exists): ``from_xml`` on the 100-line UBL against
  lxml parsing the same bytes plus a walk over every element collecting its text.
  Target: ≥ 0.5× that. For scale, also ``Invoice.model_validate`` of the same invoice as
  plain data: what building the canonical model costs any reader, before any XML.

    .venv/bin/python -m bench.ubl [--seconds S] [--repeat N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import importlib.util
import io
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lxml import etree

from formats.invoice import Invoice, load_json, parse_invoice
from formats.ubl import EN16931, prepare, to_xml
from formats.ubl.write import _Writer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "large-500-lines.json"
SIZES = (10, 100)
TARGETS = {"writer/limit": 0.5, "ours/drafthorse": 5.0, "reader/limit": 0.5}

# ---------------------------------------------------------------- timing


def _rates(candidates: dict[str, Callable[[], object]], seconds: float, repeat: int) -> dict[str, float]:
    """Calls per second of each candidate: the median of ``repeat`` passes of >= ``seconds``.

    The passes are interleaved (one pass of each candidate, then the next round), so a
    neighbour's load on a shared machine falls on all of them alike and the ratios hold.
    """
    calls = {}
    for name, fn in candidates.items():
        fn()  # warm-up: code lists, schema caches, pydantic
        start = time.perf_counter()
        fn()
        calls[name] = max(1, int(seconds / max(time.perf_counter() - start, 1e-6)))
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            rates[name].append(calls[name] / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- the invoices


def _invoice(data: dict[str, Any], lines: int) -> Invoice:
    return parse_invoice({**data, "lines": data["lines"][:lines]})


# ---------------------------------------------------------------- the practical limit

_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NSMAP = {None: _INV, "cac": _CAC, "cbc": _CBC}


class _Tags(dict[str, str]):
    """``A["Party"]`` → ``{cac namespace}Party``, built once per name."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.namespace = namespace

    def __missing__(self, local: str) -> str:
        tag = self[local] = f"{{{self.namespace}}}{local}"
        return tag


A, B = _Tags(_CAC), _Tags(_CBC)


def lxml_limit(inv: Invoice) -> bytes:
    """The same UBL document as ``to_xml`` for these invoices, from the calculated invoice.

    Straight-line lxml, no checks, no helpers beyond one for text elements: what a
    hand-written serializer for exactly this data costs.
    """
    sub = etree.SubElement
    cur = inv.currency_code

    def t(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
        node = sub(parent, tag, attrs)
        node.text = text
        return node

    def address(parent: etree._Element, tag: str, a: Any) -> None:
        node = sub(parent, A[tag])
        if a.line1:
            t(node, B["StreetName"], a.line1)
        if a.city:
            t(node, B["CityName"], a.city)
        if a.post_code:
            t(node, B["PostalZone"], a.post_code)
        t(sub(node, A["Country"]), B["IdentificationCode"], a.country_code)

    def vat_scheme(parent: etree._Element) -> None:
        t(sub(parent, A["TaxScheme"]), B["ID"], "VAT")

    def contact(parent: etree._Element, c: Any) -> None:
        node = sub(parent, A["Contact"])
        if c.name:
            t(node, B["Name"], c.name)
        if c.telephone:
            t(node, B["Telephone"], c.telephone)
        if c.email:
            t(node, B["ElectronicMail"], c.email)

    root = etree.Element(f"{{{_INV}}}Invoice", nsmap=_NSMAP)  # type: ignore[arg-type]
    t(root, B["CustomizationID"], EN16931.customization_id)
    t(root, B["ID"], inv.number)
    t(root, B["IssueDate"], inv.issue_date.isoformat())
    if inv.due_date:
        t(root, B["DueDate"], inv.due_date.isoformat())
    t(root, B["InvoiceTypeCode"], inv.type_code)
    for note in inv.notes:
        t(root, B["Note"], f"#{note.subject_code}#{note.text}" if note.subject_code else note.text)
    t(root, B["DocumentCurrencyCode"], cur)
    if inv.buyer_reference:
        t(root, B["BuyerReference"], inv.buyer_reference)
    if inv.invoicing_period:
        period = sub(root, A["InvoicePeriod"])
        t(period, B["StartDate"], str(inv.invoicing_period.start_date))
        t(period, B["EndDate"], str(inv.invoicing_period.end_date))
    if inv.contract_reference:
        t(sub(root, A["ContractDocumentReference"]), B["ID"], inv.contract_reference)

    s = inv.seller
    party = sub(sub(root, A["AccountingSupplierParty"]), A["Party"])
    if s.electronic_address:
        t(party, B["EndpointID"], s.electronic_address.value, schemeID=s.electronic_address.scheme)
    for ident in s.identifiers:
        attrs = {"schemeID": ident.scheme} if ident.scheme else {}
        t(sub(party, A["PartyIdentification"]), B["ID"], ident.value, **attrs)
    address(party, "PostalAddress", s.address)
    if s.vat_identifier:
        tax = sub(party, A["PartyTaxScheme"])
        t(tax, B["CompanyID"], s.vat_identifier)
        vat_scheme(tax)
    legal = sub(party, A["PartyLegalEntity"])
    t(legal, B["RegistrationName"], s.name)
    if s.legal_registration:
        t(legal, B["CompanyID"], s.legal_registration.value)
    if s.contact:
        contact(party, s.contact)

    b = inv.buyer
    party = sub(sub(root, A["AccountingCustomerParty"]), A["Party"])
    if b.electronic_address:
        t(party, B["EndpointID"], b.electronic_address.value, schemeID=b.electronic_address.scheme)
    address(party, "PostalAddress", b.address)
    legal = sub(party, A["PartyLegalEntity"])
    t(legal, B["RegistrationName"], b.name)
    if b.contact:
        contact(party, b.contact)

    d = inv.delivery
    if d:
        node = sub(root, A["Delivery"])
        if d.address:
            address(sub(node, A["DeliveryLocation"]), "Address", d.address)
        if d.party_name:
            t(sub(sub(node, A["DeliveryParty"]), A["PartyName"]), B["Name"], d.party_name)

    pay = inv.payment_instructions
    if pay:
        for account in pay.credit_transfers:
            node = sub(root, A["PaymentMeans"])
            t(node, B["PaymentMeansCode"], pay.means_code)
            if pay.remittance_information:
                t(node, B["PaymentID"], pay.remittance_information)
            fin = sub(node, A["PayeeFinancialAccount"])
            t(fin, B["ID"], account.account_identifier)
            if account.account_name:
                t(fin, B["Name"], account.account_name)
            if account.service_provider_identifier:
                t(sub(fin, A["FinancialInstitutionBranch"]), B["ID"], account.service_provider_identifier)
    if inv.payment_terms:
        t(sub(root, A["PaymentTerms"]), B["Note"], inv.payment_terms)

    totals = inv.totals
    tax_total = sub(root, A["TaxTotal"])
    t(tax_total, B["TaxAmount"], format(totals.vat_total, "f"), currencyID=cur)
    for entry in inv.vat_breakdown:
        subtotal = sub(tax_total, A["TaxSubtotal"])
        t(subtotal, B["TaxableAmount"], format(entry.taxable_amount, "f"), currencyID=cur)
        t(subtotal, B["TaxAmount"], format(entry.tax_amount, "f"), currencyID=cur)
        category = sub(subtotal, A["TaxCategory"])
        t(category, B["ID"], entry.category_code)
        t(category, B["Percent"], format(entry.rate, "f"))
        vat_scheme(category)
    money = sub(root, A["LegalMonetaryTotal"])
    t(money, B["LineExtensionAmount"], format(totals.line_net_total, "f"), currencyID=cur)
    t(money, B["TaxExclusiveAmount"], format(totals.tax_exclusive_amount, "f"), currencyID=cur)
    t(money, B["TaxInclusiveAmount"], format(totals.tax_inclusive_amount, "f"), currencyID=cur)
    t(money, B["PayableAmount"], format(totals.amount_due, "f"), currencyID=cur)

    for line in inv.lines:
        node = sub(root, A["InvoiceLine"])
        t(node, B["ID"], line.id)
        if line.note:
            t(node, B["Note"], line.note)
        t(node, B["InvoicedQuantity"], format(line.quantity, "f"), unitCode=line.unit_code)
        t(node, B["LineExtensionAmount"], format(line.net_amount, "f"), currencyID=cur)
        item = sub(node, A["Item"])
        t(item, B["Name"], line.item.name)
        if line.item.sellers_identifier:
            t(sub(item, A["SellersItemIdentification"]), B["ID"], line.item.sellers_identifier)
        category = sub(item, A["ClassifiedTaxCategory"])
        t(category, B["ID"], line.vat.category_code)
        t(category, B["Percent"], format(line.vat.rate, "f"))
        vat_scheme(category)
        price = sub(node, A["Price"])
        t(price, B["PriceAmount"], format(line.price.net_amount, "f"), currencyID=cur)
        if line.price.base_quantity is not None:
            unit = line.price.base_quantity_unit_code or line.unit_code
            t(price, B["BaseQuantity"], format(line.price.base_quantity, "f"), unitCode=unit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------- drafthorse


def drafthorse_document(inv: Invoice) -> Any:
    """A Factur-X EN 16931 (CII) document with the same parties, lines and totals."""
    models = "drafthorse.models."  # untyped, and optional: imported by name
    ApplicableTradeTax = importlib.import_module(models + "accounting").ApplicableTradeTax  # noqa: N806
    Document = importlib.import_module(models + "document").Document  # noqa: N806
    IncludedNote = importlib.import_module(models + "note").IncludedNote  # noqa: N806
    TaxRegistration = importlib.import_module(models + "party").TaxRegistration  # noqa: N806
    payment = importlib.import_module(models + "payment")
    LineItem = importlib.import_module(models + "tradelines").LineItem  # noqa: N806

    doc = Document()
    doc.context.guideline_parameter.id = "urn:cen.eu:en16931:2017"
    doc.header.id = inv.number
    doc.header.type_code = inv.type_code
    doc.header.issue_date_time = inv.issue_date
    for n in inv.notes:
        note = IncludedNote()
        note.content = n.text
        if n.subject_code:
            note.subject_code = n.subject_code
        doc.header.notes.add(note)

    agreement = doc.trade.agreement
    if inv.buyer_reference:
        agreement.buyer_reference = inv.buyer_reference
    for target, party in ((agreement.seller, inv.seller), (agreement.buyer, inv.buyer)):
        target.name = party.name
        address = party.address
        assert address is not None  # the examples state both parties' addresses
        target.address.line_one = address.line1
        target.address.city_name = address.city
        target.address.postcode = address.post_code
        target.address.country_id = address.country_code
        if party.electronic_address:
            target.electronic_address.uri_ID = (
                party.electronic_address.scheme,
                party.electronic_address.value,
            )
        if party.vat_identifier:
            target.tax_registrations.add(TaxRegistration(id=("VA", party.vat_identifier)))
    seller = inv.seller
    for ident in seller.identifiers:
        agreement.seller.global_id.add((ident.scheme, ident.value))
    if seller.legal_registration:
        agreement.seller.legal_organization.id = (
            seller.legal_registration.scheme or "",
            seller.legal_registration.value,
        )
    if seller.contact:
        agreement.seller.contact.person_name = seller.contact.name
        agreement.seller.contact.telephone.number = seller.contact.telephone
        agreement.seller.contact.email.address = seller.contact.email
    if inv.contract_reference:
        agreement.contract.issuer_assigned_id = inv.contract_reference

    if inv.delivery is not None and inv.delivery.address is not None:
        ship_to = doc.trade.delivery.ship_to
        ship_to.name = inv.delivery.party_name
        ship_to.address.line_one = inv.delivery.address.line1
        ship_to.address.city_name = inv.delivery.address.city
        ship_to.address.postcode = inv.delivery.address.post_code
        ship_to.address.country_id = inv.delivery.address.country_code

    settlement = doc.trade.settlement
    settlement.currency_code = inv.currency_code
    pay = inv.payment_instructions
    if pay is not None:
        if pay.remittance_information:
            settlement.payment_reference = pay.remittance_information
        for account in pay.credit_transfers:
            means = payment.PaymentMeans()
            means.type_code = pay.means_code
            means.payee_account.iban = account.account_identifier
            if account.account_name:
                means.payee_account.account_name = account.account_name
            if account.service_provider_identifier:
                means.payee_institution.bic = account.service_provider_identifier
            settlement.payment_means.add(means)
    for entry in inv.vat_breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = entry.tax_amount
        tax.basis_amount = entry.taxable_amount
        tax.type_code = "VAT"
        tax.category_code = entry.category_code
        tax.rate_applicable_percent = entry.rate
        settlement.trade_tax.add(tax)
    if inv.invoicing_period is not None:
        settlement.period.start = inv.invoicing_period.start_date
        settlement.period.end = inv.invoicing_period.end_date
    terms = payment.PaymentTerms()
    if inv.payment_terms:
        terms.description = inv.payment_terms
    if inv.due_date:
        terms.due = inv.due_date
    settlement.terms.add(terms)
    totals = inv.totals
    summation = settlement.monetary_summation
    summation.line_total = totals.line_net_total
    summation.tax_basis_total = totals.tax_exclusive_amount
    summation.tax_total = (totals.vat_total, inv.currency_code)
    summation.grand_total = totals.tax_inclusive_amount
    summation.due_amount = totals.amount_due

    for line in inv.lines:
        item = LineItem()
        item.document.line_id = line.id
        if line.note:
            note = IncludedNote()
            note.content = line.note
            item.document.notes.add(note)
        if line.item.sellers_identifier:
            item.product.seller_assigned_id = line.item.sellers_identifier
        item.product.name = line.item.name
        item.agreement.net.amount = line.price.net_amount
        if line.price.base_quantity is not None:
            unit = line.price.base_quantity_unit_code or line.unit_code
            item.agreement.net.basis_quantity = (line.price.base_quantity, unit)
        item.delivery.billed_quantity = (line.quantity, line.unit_code)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.vat.category_code
        item.settlement.trade_tax.rate_applicable_percent = line.vat.rate
        item.settlement.monetary_summation.total_amount = line.net_amount
        doc.trade.items.add(item)
    return doc


DRAFTHORSE_SCHEMA = "FACTUR-X_EN16931"


# ---------------------------------------------------------------- reading


def lxml_walk(data: bytes) -> int:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    texts = [(node.tag, node.text) for node in root.iter()]
    return len(texts)


# ---------------------------------------------------------------- the run


def _print(title: str, size: int, rates: dict[str, float]) -> None:
    anchor = next(iter(rates.values()))
    print(f"\n{title}")
    for name, rate in rates.items():
        print(f"  {name:58s} {rate:9.1f} inv/s  {rate * size:10.0f} lines/s  {rate / anchor:6.2f}x")


def _profile(label: str, fn: Callable[[], object], calls: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    print(f"\ncProfile, {label}, {calls} calls, by own time:")
    body = out.getvalue()
    print(body[body.find("   ncalls") :].rstrip())


LIMIT = "anchor: hand-written lxml builder (calculated invoice)"
FULL = "to_xml (calculate + totals/profile checks + write)"
WRITER = "our writer alone (_Writer.build + tostring)"
PREPARE = "  its prepare() alone (calculate + checks)"
DRAFTHORSE = f"drafthorse serialize(schema={DRAFTHORSE_SCHEMA!r}) (XSD)"
DRAFTHORSE_BUILD = "drafthorse build Document + serialize (XSD)"
DRAFTHORSE_BARE = "drafthorse serialize(schema=None) (no XSD; info)"
WALK = "anchor: lxml parse + walk (every element's text)"
READ = "from_xml (UBL → canonical invoice + losses)"
MODEL = "  floor of any reader: Invoice.model_validate alone (info)"


def _writer_only(calculated: Invoice) -> bytes:
    root = _Writer(calculated, EN16931).build()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _writing(size: int, data: dict[str, Any], has_drafthorse: bool, args: argparse.Namespace) -> list[str]:
    invoice = _invoice(data, size)
    calculated = prepare(invoice, EN16931)
    ours = to_xml(invoice, EN16931)
    if etree.tostring(etree.fromstring(ours), method="c14n") != etree.tostring(
        etree.fromstring(lxml_limit(calculated)), method="c14n"
    ):
        raise SystemExit("the hand-written builder does not write the same document as to_xml")
    candidates: dict[str, Callable[[], object]] = {
        LIMIT: lambda: lxml_limit(calculated),
        FULL: lambda: to_xml(invoice, EN16931),
        WRITER: lambda: _writer_only(calculated),
        PREPARE: lambda: prepare(invoice, EN16931),
    }
    if has_drafthorse:
        doc = drafthorse_document(calculated)
        doc.serialize(schema=DRAFTHORSE_SCHEMA)  # raises here if it is not valid Factur-X
        candidates[DRAFTHORSE] = lambda: doc.serialize(schema=DRAFTHORSE_SCHEMA)
        candidates[DRAFTHORSE_BUILD] = lambda: drafthorse_document(calculated).serialize(
            schema=DRAFTHORSE_SCHEMA
        )
        candidates[DRAFTHORSE_BARE] = lambda: doc.serialize(schema=None)
    rates = _rates(candidates, args.seconds, args.repeat)
    _print(f"writing, {size} lines ({len(ours) / 1024:.1f} KiB of UBL)", size, rates)
    limit, full, writer = rates[LIMIT], rates[FULL], rates[WRITER]
    target = TARGETS["writer/limit"]
    marks = [
        f"{size:3d} lines: writer alone / lxml limit {writer / limit:5.2f} (target >= {target}) "
        f"[{_mark(writer / limit >= target)}]; to_xml incl. calculate / limit {full / limit:5.2f} "
        f"[{_mark(full / limit >= target)}]"
    ]
    if has_drafthorse:
        peer, target = rates[DRAFTHORSE], TARGETS["ours/drafthorse"]
        marks.append(
            f"{size:3d} lines: vs drafthorse (XSD-validated serialize): writer alone {writer / peer:5.2f} "
            f"[{_mark(writer / peer >= target)}], to_xml incl. calculate {full / peer:5.2f} "
            f"[{_mark(full / peer >= target)}] (target >= {target})"
        )
    else:
        marks.append(f"{size:3d} lines: drafthorse is not installed (pip install drafthorse): not compared")
    return marks


def _reading(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    from formats.ubl.read import from_xml

    xml = to_xml(_invoice(data, 100), EN16931)
    plain = {**data, "lines": data["lines"][:100]}
    candidates: dict[str, Callable[[], object]] = {
        WALK: lambda: lxml_walk(xml),
        READ: lambda: from_xml(xml),
        MODEL: lambda: Invoice.model_validate(plain),
    }
    rates = _rates(candidates, args.seconds, args.repeat)
    _print(f"reading, 100 lines ({len(xml) / 1024:.1f} KiB of UBL)", 100, rates)
    ratio, target = rates[READ] / rates[WALK], TARGETS["reader/limit"]
    return [
        f"100 lines: from_xml / lxml parse+walk {ratio:5.2f} (target >= {target}) [{_mark(ratio >= target)}]"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.3, help="minimum length of one measured pass")
    parser.add_argument("--repeat", type=int, default=7, help="measured passes per figure (median)")
    parser.add_argument("--profile", action="store_true", help="also cProfile our paths on 100 lines")
    args = parser.parse_args()

    try:
        drafthorse_version: str | None = version("drafthorse")
    except PackageNotFoundError:
        drafthorse_version = None
    has_reader = importlib.util.find_spec("formats.ubl.read") is not None
    print(
        f"python {platform.python_version()}, lxml {version('lxml')}, "
        f"drafthorse {drafthorse_version or 'not installed'}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}; median of {args.repeat} interleaved passes of >= {args.seconds} s; "
        f"invoices: the first N lines of {EXAMPLE.name}"
    )
    data = load_json(EXAMPLE.read_bytes())
    marks: list[str] = []
    for size in SIZES:
        marks += _writing(size, data, drafthorse_version is not None, args)
    if has_reader:
        marks += _reading(data, args)
    else:
        marks.append("reading: formats.ubl.read does not exist yet: not measured")

    print("\nsummary")
    for line in marks:
        print(f"  {line}")

    if args.profile:
        invoice = _invoice(data, 100)
        _profile("to_xml on 100 lines", lambda: to_xml(invoice, EN16931), 50)
        if has_reader:
            from formats.ubl.read import from_xml

            xml = to_xml(invoice, EN16931)
            _profile("from_xml on 100 lines", lambda: from_xml(xml), 50)


if __name__ == "__main__":
    main()
