"""Every EN 16931 business term and group, and where it lives in the canonical JSON.

One table answers "where is BT-115?" for the model; each format adapter keeps its own
table from the same ids to its XPaths. Paths use ``[*]`` for any list index.
``term_for_path()`` turns a concrete path such as ``lines[3].price.net_amount`` back
into its term, so every problem the gateway reports can name the BT it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    path: str


def _address(prefix: str, ids: tuple[str, str, str, str, str, str, str], group: str) -> list[Term]:
    line1, line2, line3, city, post, sub, country = ids
    return [
        Term(group, f"{prefix} postal address", ""),
        Term(line1, f"{prefix} address line 1", "line1"),
        Term(line2, f"{prefix} address line 2", "line2"),
        Term(line3, f"{prefix} address line 3", "line3"),
        Term(city, f"{prefix} city", "city"),
        Term(post, f"{prefix} post code", "post_code"),
        Term(sub, f"{prefix} country subdivision", "country_subdivision"),
        Term(country, f"{prefix} country code", "country_code"),
    ]


def _under(base: str, terms: list[Term]) -> list[Term]:
    return [Term(t.id, t.name, f"{base}.{t.path}" if t.path else base) for t in terms]


_TERMS: list[Term] = [
    Term("BT-1", "Invoice number", "number"),
    Term("BT-2", "Invoice issue date", "issue_date"),
    Term("BT-3", "Invoice type code", "type_code"),
    Term("BT-5", "Invoice currency code", "currency_code"),
    Term("BT-6", "VAT accounting currency code", "tax_currency_code"),
    Term("BT-7", "Value added tax point date", "tax_point_date"),
    Term("BT-8", "Value added tax point date code", "tax_point_date_code"),
    Term("BT-9", "Payment due date", "due_date"),
    Term("BT-10", "Buyer reference", "buyer_reference"),
    Term("BT-11", "Project reference", "project_reference"),
    Term("BT-12", "Contract reference", "contract_reference"),
    Term("BT-13", "Purchase order reference", "purchase_order_reference"),
    Term("BT-14", "Sales order reference", "sales_order_reference"),
    Term("BT-15", "Receiving advice reference", "receiving_advice_reference"),
    Term("BT-16", "Despatch advice reference", "despatch_advice_reference"),
    Term("BT-17", "Tender or lot reference", "tender_or_lot_reference"),
    Term("BT-18", "Invoiced object identifier", "invoiced_object_identifier.value"),
    Term("BT-18-1", "Invoiced object identifier scheme", "invoiced_object_identifier.scheme"),
    Term("BT-19", "Buyer accounting reference", "buyer_accounting_reference"),
    Term("BT-20", "Payment terms", "payment_terms"),
    Term("BG-1", "INVOICE NOTE", "notes[*]"),
    Term("BT-21", "Invoice note subject code", "notes[*].subject_code"),
    Term("BT-22", "Invoice note", "notes[*].text"),
    Term("BG-2", "PROCESS CONTROL", "process_control"),
    Term("BT-23", "Business process type", "process_control.business_process"),
    Term("BT-24", "Specification identifier", "process_control.specification_identifier"),
    Term("BG-3", "PRECEDING INVOICE REFERENCE", "preceding_invoices[*]"),
    Term("BT-25", "Preceding Invoice reference", "preceding_invoices[*].reference"),
    Term("BT-26", "Preceding Invoice issue date", "preceding_invoices[*].issue_date"),
    # BG-4 seller
    Term("BG-4", "SELLER", "seller"),
    Term("BT-27", "Seller name", "seller.name"),
    Term("BT-28", "Seller trading name", "seller.trading_name"),
    Term("BT-29", "Seller identifier", "seller.identifiers[*].value"),
    Term("BT-29-1", "Seller identifier scheme", "seller.identifiers[*].scheme"),
    Term("BT-30", "Seller legal registration identifier", "seller.legal_registration.value"),
    Term("BT-30-1", "Seller legal registration scheme", "seller.legal_registration.scheme"),
    Term("BT-31", "Seller VAT identifier", "seller.vat_identifier"),
    Term("BT-32", "Seller tax registration identifier", "seller.tax_registration_identifier"),
    Term("BT-33", "Seller additional legal information", "seller.additional_legal_information"),
    Term("BT-34", "Seller electronic address", "seller.electronic_address.value"),
    Term("BT-34-1", "Seller electronic address scheme", "seller.electronic_address.scheme"),
    *_under(
        "seller.address",
        _address("Seller", ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40"), "BG-5"),
    ),
    Term("BG-6", "SELLER CONTACT", "seller.contact"),
    Term("BT-41", "Seller contact point", "seller.contact.name"),
    Term("BT-42", "Seller contact telephone number", "seller.contact.telephone"),
    Term("BT-43", "Seller contact email address", "seller.contact.email"),
    # BG-7 buyer
    Term("BG-7", "BUYER", "buyer"),
    Term("BT-44", "Buyer name", "buyer.name"),
    Term("BT-45", "Buyer trading name", "buyer.trading_name"),
    Term("BT-46", "Buyer identifier", "buyer.identifier.value"),
    Term("BT-46-1", "Buyer identifier scheme", "buyer.identifier.scheme"),
    Term("BT-47", "Buyer legal registration identifier", "buyer.legal_registration.value"),
    Term("BT-47-1", "Buyer legal registration scheme", "buyer.legal_registration.scheme"),
    Term("BT-48", "Buyer VAT identifier", "buyer.vat_identifier"),
    Term("BT-49", "Buyer electronic address", "buyer.electronic_address.value"),
    Term("BT-49-1", "Buyer electronic address scheme", "buyer.electronic_address.scheme"),
    *_under(
        "buyer.address",
        _address("Buyer", ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55"), "BG-8"),
    ),
    Term("BG-9", "BUYER CONTACT", "buyer.contact"),
    Term("BT-56", "Buyer contact point", "buyer.contact.name"),
    Term("BT-57", "Buyer contact telephone number", "buyer.contact.telephone"),
    Term("BT-58", "Buyer contact email address", "buyer.contact.email"),
    # BG-10 payee, BG-11 tax representative
    Term("BG-10", "PAYEE", "payee"),
    Term("BT-59", "Payee name", "payee.name"),
    Term("BT-60", "Payee identifier", "payee.identifier.value"),
    Term("BT-60-1", "Payee identifier scheme", "payee.identifier.scheme"),
    Term("BT-61", "Payee legal registration identifier", "payee.legal_registration.value"),
    Term("BT-61-1", "Payee legal registration scheme", "payee.legal_registration.scheme"),
    Term("BG-11", "SELLER TAX REPRESENTATIVE PARTY", "tax_representative"),
    Term("BT-62", "Seller tax representative name", "tax_representative.name"),
    Term("BT-63", "Seller tax representative VAT identifier", "tax_representative.vat_identifier"),
    *_under(
        "tax_representative.address",
        _address(
            "Tax representative", ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69"), "BG-12"
        ),
    ),
    # BG-13 delivery, BG-14 invoicing period
    Term("BG-13", "DELIVERY INFORMATION", "delivery"),
    Term("BT-70", "Deliver to party name", "delivery.party_name"),
    Term("BT-71", "Deliver to location identifier", "delivery.location_identifier.value"),
    Term("BT-71-1", "Deliver to location identifier scheme", "delivery.location_identifier.scheme"),
    Term("BT-72", "Actual delivery date", "delivery.actual_delivery_date"),
    Term("BG-14", "INVOICING PERIOD", "invoicing_period"),
    Term("BT-73", "Invoicing period start date", "invoicing_period.start_date"),
    Term("BT-74", "Invoicing period end date", "invoicing_period.end_date"),
    *_under(
        "delivery.address",
        _address("Deliver to", ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80"), "BG-15"),
    ),
    # BG-16 payment
    Term("BG-16", "PAYMENT INSTRUCTIONS", "payment_instructions"),
    Term("BT-81", "Payment means type code", "payment_instructions.means_code"),
    Term("BT-82", "Payment means text", "payment_instructions.means_text"),
    Term("BT-83", "Remittance information", "payment_instructions.remittance_information"),
    Term("BG-17", "CREDIT TRANSFER", "payment_instructions.credit_transfers[*]"),
    Term(
        "BT-84", "Payment account identifier", "payment_instructions.credit_transfers[*].account_identifier"
    ),
    Term("BT-85", "Payment account name", "payment_instructions.credit_transfers[*].account_name"),
    Term(
        "BT-86",
        "Payment service provider identifier",
        "payment_instructions.credit_transfers[*].service_provider_identifier",
    ),
    Term("BG-18", "PAYMENT CARD INFORMATION", "payment_instructions.payment_card"),
    Term(
        "BT-87",
        "Payment card primary account number",
        "payment_instructions.payment_card.primary_account_number",
    ),
    Term("BT-88", "Payment card holder name", "payment_instructions.payment_card.holder_name"),
    Term("BG-19", "DIRECT DEBIT", "payment_instructions.direct_debit"),
    Term("BT-89", "Mandate reference identifier", "payment_instructions.direct_debit.mandate_reference"),
    Term(
        "BT-90", "Bank assigned creditor identifier", "payment_instructions.direct_debit.creditor_identifier"
    ),
    Term(
        "BT-91", "Debited account identifier", "payment_instructions.direct_debit.debited_account_identifier"
    ),
    # BG-20, BG-21 document allowances and charges
    Term("BG-20", "DOCUMENT LEVEL ALLOWANCES", "allowances[*]"),
    Term("BT-92", "Document level allowance amount", "allowances[*].amount"),
    Term("BT-93", "Document level allowance base amount", "allowances[*].base_amount"),
    Term("BT-94", "Document level allowance percentage", "allowances[*].percentage"),
    Term("BT-95", "Document level allowance VAT category code", "allowances[*].vat_category_code"),
    Term("BT-96", "Document level allowance VAT rate", "allowances[*].vat_rate"),
    Term("BT-97", "Document level allowance reason", "allowances[*].reason"),
    Term("BT-98", "Document level allowance reason code", "allowances[*].reason_code"),
    Term("BG-21", "DOCUMENT LEVEL CHARGES", "charges[*]"),
    Term("BT-99", "Document level charge amount", "charges[*].amount"),
    Term("BT-100", "Document level charge base amount", "charges[*].base_amount"),
    Term("BT-101", "Document level charge percentage", "charges[*].percentage"),
    Term("BT-102", "Document level charge VAT category code", "charges[*].vat_category_code"),
    Term("BT-103", "Document level charge VAT rate", "charges[*].vat_rate"),
    Term("BT-104", "Document level charge reason", "charges[*].reason"),
    Term("BT-105", "Document level charge reason code", "charges[*].reason_code"),
    # BG-22 totals
    Term("BG-22", "DOCUMENT TOTALS", "totals"),
    Term("BT-106", "Sum of Invoice line net amount", "totals.line_net_total"),
    Term("BT-107", "Sum of allowances on document level", "totals.allowance_total"),
    Term("BT-108", "Sum of charges on document level", "totals.charge_total"),
    Term("BT-109", "Invoice total amount without VAT", "totals.tax_exclusive_amount"),
    Term("BT-110", "Invoice total VAT amount", "totals.vat_total"),
    Term("BT-111", "Invoice total VAT amount in accounting currency", "totals.vat_total_in_tax_currency"),
    Term("BT-112", "Invoice total amount with VAT", "totals.tax_inclusive_amount"),
    Term("BT-113", "Paid amount", "totals.paid_amount"),
    Term("BT-114", "Rounding amount", "totals.rounding_amount"),
    Term("BT-115", "Amount due for payment", "totals.amount_due"),
    # BG-23 VAT breakdown
    Term("BG-23", "VAT BREAKDOWN", "vat_breakdown[*]"),
    Term("BT-116", "VAT category taxable amount", "vat_breakdown[*].taxable_amount"),
    Term("BT-117", "VAT category tax amount", "vat_breakdown[*].tax_amount"),
    Term("BT-118", "VAT category code", "vat_breakdown[*].category_code"),
    Term("BT-119", "VAT category rate", "vat_breakdown[*].rate"),
    Term("BT-120", "VAT exemption reason text", "vat_breakdown[*].exemption_reason"),
    Term("BT-121", "VAT exemption reason code", "vat_breakdown[*].exemption_reason_code"),
    # BG-24 supporting documents
    Term("BG-24", "ADDITIONAL SUPPORTING DOCUMENTS", "supporting_documents[*]"),
    Term("BT-122", "Supporting document reference", "supporting_documents[*].reference"),
    Term("BT-123", "Supporting document description", "supporting_documents[*].description"),
    Term("BT-124", "External document location", "supporting_documents[*].external_location"),
    Term("BT-125", "Attached document", "supporting_documents[*].attachment.content"),
    Term("BT-125-1", "Attached document Mime code", "supporting_documents[*].attachment.mime_code"),
    Term("BT-125-2", "Attached document Filename", "supporting_documents[*].attachment.filename"),
    # BG-25 lines
    Term("BG-25", "INVOICE LINE", "lines[*]"),
    Term("BT-126", "Invoice line identifier", "lines[*].id"),
    Term("BT-127", "Invoice line note", "lines[*].note"),
    Term("BT-128", "Invoice line object identifier", "lines[*].object_identifier.value"),
    Term("BT-128-1", "Invoice line object identifier scheme", "lines[*].object_identifier.scheme"),
    Term("BT-129", "Invoiced quantity", "lines[*].quantity"),
    Term("BT-130", "Invoiced quantity unit of measure code", "lines[*].unit_code"),
    Term("BT-131", "Invoice line net amount", "lines[*].net_amount"),
    Term("BT-132", "Referenced purchase order line reference", "lines[*].order_line_reference"),
    Term("BT-133", "Invoice line Buyer accounting reference", "lines[*].buyer_accounting_reference"),
    Term("BG-26", "INVOICE LINE PERIOD", "lines[*].period"),
    Term("BT-134", "Invoice line period start date", "lines[*].period.start_date"),
    Term("BT-135", "Invoice line period end date", "lines[*].period.end_date"),
    Term("BG-27", "INVOICE LINE ALLOWANCES", "lines[*].allowances[*]"),
    Term("BT-136", "Invoice line allowance amount", "lines[*].allowances[*].amount"),
    Term("BT-137", "Invoice line allowance base amount", "lines[*].allowances[*].base_amount"),
    Term("BT-138", "Invoice line allowance percentage", "lines[*].allowances[*].percentage"),
    Term("BT-139", "Invoice line allowance reason", "lines[*].allowances[*].reason"),
    Term("BT-140", "Invoice line allowance reason code", "lines[*].allowances[*].reason_code"),
    Term("BG-28", "INVOICE LINE CHARGES", "lines[*].charges[*]"),
    Term("BT-141", "Invoice line charge amount", "lines[*].charges[*].amount"),
    Term("BT-142", "Invoice line charge base amount", "lines[*].charges[*].base_amount"),
    Term("BT-143", "Invoice line charge percentage", "lines[*].charges[*].percentage"),
    Term("BT-144", "Invoice line charge reason", "lines[*].charges[*].reason"),
    Term("BT-145", "Invoice line charge reason code", "lines[*].charges[*].reason_code"),
    Term("BG-29", "PRICE DETAILS", "lines[*].price"),
    Term("BT-146", "Item net price", "lines[*].price.net_amount"),
    Term("BT-147", "Item price discount", "lines[*].price.discount"),
    Term("BT-148", "Item gross price", "lines[*].price.gross_amount"),
    Term("BT-149", "Item price base quantity", "lines[*].price.base_quantity"),
    Term("BT-150", "Item price base quantity unit of measure code", "lines[*].price.base_quantity_unit_code"),
    Term("BG-30", "LINE VAT INFORMATION", "lines[*].vat"),
    Term("BT-151", "Invoiced item VAT category code", "lines[*].vat.category_code"),
    Term("BT-152", "Invoiced item VAT rate", "lines[*].vat.rate"),
    Term("BG-31", "ITEM INFORMATION", "lines[*].item"),
    Term("BT-153", "Item name", "lines[*].item.name"),
    Term("BT-154", "Item description", "lines[*].item.description"),
    Term("BT-155", "Item Seller's identifier", "lines[*].item.sellers_identifier"),
    Term("BT-156", "Item Buyer's identifier", "lines[*].item.buyers_identifier"),
    Term("BT-157", "Item standard identifier", "lines[*].item.standard_identifier.value"),
    Term("BT-157-1", "Item standard identifier scheme", "lines[*].item.standard_identifier.scheme"),
    Term("BT-158", "Item classification identifier", "lines[*].item.classifications[*].value"),
    Term("BT-158-1", "Item classification scheme", "lines[*].item.classifications[*].scheme"),
    Term("BT-158-2", "Item classification scheme version", "lines[*].item.classifications[*].scheme_version"),
    Term("BT-159", "Item country of origin", "lines[*].item.origin_country"),
    Term("BG-32", "ITEM ATTRIBUTES", "lines[*].item.attributes[*]"),
    Term("BT-160", "Item attribute name", "lines[*].item.attributes[*].name"),
    Term("BT-161", "Item attribute value", "lines[*].item.attributes[*].value"),
]

TERMS: dict[str, Term] = {t.id: t for t in _TERMS}
"""Every BT and BG of EN 16931, by id."""

_INDEX = re.compile(r"\[\d+\]")


@cache
def _by_path() -> dict[str, Term]:
    table: dict[str, Term] = {}
    for term in _TERMS:
        table.setdefault(term.path, term)
        # an identifier object stands for its value term: seller.identifiers[*] -> BT-29
        if term.path.endswith(".value"):
            table.setdefault(term.path.removesuffix(".value"), term)
        # the list itself stands for its group: lines -> BG-25
        if term.path.endswith("[*]"):
            table.setdefault(term.path.removesuffix("[*]"), term)
    return table


def normalize(path: str) -> str:
    """``lines[3].price.net_amount`` → ``lines[*].price.net_amount``."""
    return _INDEX.sub("[*]", path)


def term_for_path(path: str) -> Term | None:
    """The most specific term a model path is about (walking up to the nearest group)."""
    table = _by_path()
    candidate = normalize(path.removeprefix("$.").removeprefix("$"))
    while candidate:
        if candidate in table:
            return table[candidate]
        cut = max(candidate.rfind("."), candidate.rfind("["))
        candidate = candidate[:cut] if cut > 0 else ""
    return None
