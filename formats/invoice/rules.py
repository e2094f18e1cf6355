"""EN 16931 business rules that span several fields, checked on the canonical model.

Single-field rules (mandatory terms, code lists, decimals, date order) are enforced by the
model itself. Here are the rules that relate terms to each other: VAT category rules
(BR-S/Z/E/AE/K/G/O/IC-*), conditional presence (BR-CO-*), payment means. They run on
a *calculated* invoice and return problems naming the rule, the path and the BT, so an
ERP integrator learns what to fix before a document is ever rendered. The official
Schematron (``schemas/``) remains the authority on rendered documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal

from stdnum import bic, iban

from formats.invoice.codes import COUNTRY_PREFIX_EXCEPTIONS, CodeList, category_rule_prefix, is_valid
from formats.invoice.model import AllowanceOrCharge, Invoice, PaymentInstructions
from formats.invoice.problems import Problem, Severity, problem_at

_CREDIT_TRANSFER = {"30", "58"}
_DIRECT_DEBIT = {"49", "59"}
# BR-S/Z/E/AE/IG/IP-02 accept the seller tax registration identifier (BT-32) too
_TAX_REGISTRATION_WILL_DO = {"S", "Z", "E", "AE", "L", "M"}
_NEEDS_EXEMPTION_REASON = {"E", "AE", "K", "G", "O"}
_NO_EXEMPTION_REASON = {"S", "Z", "L", "M"}
_CATEGORY_NAMES = {
    "S": "Standard rated",
    "Z": "Zero rated",
    "E": "Exempt from VAT",
    "AE": "Reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Not subject to VAT",
    "L": "IGIC (Canary Islands)",
    "M": "IPSI (Ceuta and Melilla)",
}


def _rule(rule: str, path: str, message: str, severity: Severity = Severity.ERROR) -> Problem:
    return problem_at(path, f"{rule}: {message}", rule=rule, severity=severity)


def check_rules(invoice: Invoice) -> list[Problem]:
    """Every cross-field EN 16931 rule the invoice breaks (run after ``calculate``)."""
    return list(_all(invoice))


def _categories(invoice: Invoice) -> dict[str, str]:
    """VAT categories used, each with the first path that uses it."""
    used: dict[str, str] = {}
    for i, line in enumerate(invoice.lines):
        used.setdefault(line.vat.category_code, f"$.lines[{i}].vat.category_code")
    for i, a in enumerate(invoice.allowances):
        used.setdefault(a.vat_category_code, f"$.allowances[{i}].vat_category_code")
    for i, c in enumerate(invoice.charges):
        used.setdefault(c.vat_category_code, f"$.charges[{i}].vat_category_code")
    return used


def _all(invoice: Invoice) -> Iterator[Problem]:
    yield from _identity(invoice)
    yield from _vat_categories(invoice)
    yield from _payment(invoice)
    yield from _allowance_reasons(invoice)
    yield from _references(invoice)


def _identity(invoice: Invoice) -> Iterator[Problem]:
    if not invoice.lines:
        yield problem_at(
            "$.lines",
            "BR-16: an invoice shall have at least one invoice line (BG-25); a line-less "
            "summary (Factur-X MINIMUM / BASIC WL) is not an EN 16931 invoice",
            rule="BR-16",
            term="BG-25",
        )
    if invoice.buyer.address is None:
        yield problem_at(
            "$.buyer.address",
            "BR-10: an invoice shall contain the buyer postal address (BG-8) with at least its "
            "country code (BT-55)",
            rule="BR-10",
            term="BG-8",
        )
    seller = invoice.seller
    if not (seller.identifiers or seller.legal_registration or seller.vat_identifier):
        yield _rule(
            "BR-CO-26",
            "$.seller",
            "give the seller identifier (BT-29), legal registration identifier (BT-30) "
            "or VAT identifier (BT-31) so the buyer can identify the seller",
        )
    for path, vat_id in (
        ("$.seller.vat_identifier", seller.vat_identifier),
        ("$.buyer.vat_identifier", invoice.buyer.vat_identifier),
        (
            "$.tax_representative.vat_identifier",
            invoice.tax_representative.vat_identifier if invoice.tax_representative else None,
        ),
    ):
        if vat_id is None:
            continue
        prefix = vat_id[:2]
        if not (prefix in COUNTRY_PREFIX_EXCEPTIONS or is_valid(CodeList.COUNTRY, prefix)):
            yield _rule(
                "BR-CO-09",
                path,
                f"a VAT identifier starts with its ISO 3166-1 country prefix "
                f"(EL for Greece); {vat_id!r} does not",
            )
    seen: dict[str, int] = {}
    for i, line in enumerate(invoice.lines):
        if line.id in seen:
            yield problem_at(
                f"$.lines[{i}].id", f"line id {line.id!r} is used again; lines[{seen[line.id]}] has it"
            )
        seen.setdefault(line.id, i)


def _vat_ids(invoice: Invoice) -> tuple[bool, bool]:
    seller = bool(invoice.seller.vat_identifier) or bool(
        invoice.tax_representative and invoice.tax_representative.vat_identifier
    )
    return seller, bool(invoice.buyer.vat_identifier)


def _vat_categories(invoice: Invoice) -> Iterator[Problem]:
    used = _categories(invoice)
    seller_vat, buyer_vat = _vat_ids(invoice)
    for category, path in used.items():
        name = _CATEGORY_NAMES.get(category, category)
        if (
            category in {"S", "Z", "E", "AE", "K", "G", "L", "M"}
            and not seller_vat
            and not (category in _TAX_REGISTRATION_WILL_DO and invoice.seller.tax_registration_identifier)
        ):
            yield _rule(
                f"BR-{category_rule_prefix(category)}-02",
                path,
                f"an invoice with VAT category {category} ({name}) needs the seller "
                "VAT identifier (BT-31) or the tax representative's (BT-63)",
            )
        if category == "AE" and not (buyer_vat or invoice.buyer.legal_registration):
            yield _rule(
                "BR-AE-02",
                "$.buyer.vat_identifier",
                "reverse charge (AE) needs the buyer VAT identifier (BT-48) or legal "
                "registration identifier (BT-47)",
            )
        if category == "K" and not buyer_vat:
            yield _rule(
                "BR-IC-02",
                "$.buyer.vat_identifier",
                "an intra-community supply (K) needs the buyer VAT identifier (BT-48)",
            )
        if category == "K":
            delivery = invoice.delivery
            if not ((delivery and delivery.actual_delivery_date) or invoice.invoicing_period):
                yield _rule(
                    "BR-IC-11",
                    "$.delivery.actual_delivery_date",
                    "an intra-community supply (K) needs the actual delivery date "
                    "(BT-72) or the invoicing period (BG-14)",
                )
            if not (delivery and delivery.address):
                yield _rule(
                    "BR-IC-12",
                    "$.delivery.address.country_code",
                    "an intra-community supply (K) needs the deliver-to country (BT-80)",
                )
        if category == "O":
            if seller_vat or buyer_vat:
                yield _rule(
                    "BR-O-02",
                    path,
                    "an invoice with category O (not subject to VAT) may not carry the "
                    "seller, tax representative or buyer VAT identifier",
                )
            if len(used) > 1:
                yield _rule(
                    "BR-O-11",
                    path,
                    "category O (not subject to VAT) cannot be mixed with other VAT "
                    f"categories ({', '.join(sorted(set(used) - {'O'}))})",
                )
        yield from _positive_rates(invoice, category)
    for i, entry in enumerate(invoice.vat_breakdown):
        path = f"$.vat_breakdown[{i}]"
        has_reason = entry.exemption_reason or entry.exemption_reason_code
        if entry.category_code in _NEEDS_EXEMPTION_REASON and not has_reason:
            yield _rule(
                f"BR-{category_rule_prefix(entry.category_code)}-10",
                f"{path}.exemption_reason",
                f"VAT category {entry.category_code} "
                f"({_CATEGORY_NAMES[entry.category_code]}) needs an exemption reason "
                "text (BT-120) or code (BT-121): give a vat_breakdown entry with it",
            )
        if entry.category_code in _NO_EXEMPTION_REASON and has_reason:
            yield _rule(
                f"BR-{category_rule_prefix(entry.category_code)}-10",
                f"{path}.exemption_reason",
                f"VAT category {entry.category_code} may not carry an exemption reason",
            )


def _positive_rates(invoice: Invoice, category: str) -> Iterator[Problem]:
    """BR-S-05/06/07: a standard-rated line, allowance or charge has a rate above zero."""
    if category != "S":
        return
    for i, line in enumerate(invoice.lines):
        if line.vat.category_code == "S" and (line.vat.rate or 0) <= 0:
            yield _rule(
                "BR-S-05",
                f"$.lines[{i}].vat.rate",
                "a standard-rated (S) line needs a VAT rate greater than zero",
            )
    for rule, kind, items in (
        ("BR-S-06", "allowances", invoice.allowances),
        ("BR-S-07", "charges", invoice.charges),
    ):
        for i, item in enumerate(items):
            if item.vat_category_code == "S" and (item.vat_rate or 0) <= 0:
                yield _rule(
                    rule,
                    f"$.{kind}[{i}].vat_rate",
                    f"a standard-rated (S) document {kind[:-1]} needs a VAT rate greater than zero",
                )


def _payment(invoice: Invoice) -> Iterator[Problem]:
    amount_due = invoice.totals.amount_due or Decimal(0)
    if amount_due > 0 and not (invoice.due_date or invoice.payment_terms):
        yield _rule(
            "BR-CO-25",
            "$.due_date",
            f"the amount due is {amount_due} {invoice.currency_code}: give the payment "
            "due date (BT-9) or the payment terms (BT-20)",
        )
    if invoice.due_date and invoice.due_date < invoice.issue_date:
        yield problem_at(
            "$.due_date",
            f"the due date {invoice.due_date} is before the issue date {invoice.issue_date}",
            severity=Severity.WARNING,
        )
    pay = invoice.payment_instructions
    if pay is None:
        return
    yield from _accounts(pay)
    if pay.means_code in _CREDIT_TRANSFER and not pay.credit_transfers:
        yield _rule(
            "BR-61",
            "$.payment_instructions.credit_transfers",
            f"payment means {pay.means_code} is a credit transfer: give the payment "
            "account identifier (BT-84)",
        )
    if pay.means_code in _DIRECT_DEBIT and not (pay.direct_debit and pay.direct_debit.mandate_reference):
        yield problem_at(
            "$.payment_instructions.direct_debit.mandate_reference",
            f"payment means {pay.means_code} is a direct debit: give the mandate reference (BT-89)",
        )
    if pay.direct_debit and not pay.direct_debit.creditor_identifier:
        yield problem_at(
            "$.payment_instructions.direct_debit.creditor_identifier",
            "a direct debit needs the bank assigned creditor identifier (BT-90)",
        )


_SEPA_CREDIT_TRANSFER = "58"
_SEPA_DIRECT_DEBIT = "59"
_LOOKS_LIKE_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{10,36}$")


def _accounts(pay: PaymentInstructions) -> Iterator[Problem]:
    """GW-IBAN, GW-BIC: account numbers a bank would refuse (ISO 13616 / ISO 9362 checks).

    Not EN 16931 rules: the norm leaves account formats open. A SEPA payment (58, 59) with
    a wrong IBAN cannot be paid, so that is an error; elsewhere a failed check is a warning.
    """
    for i, transfer in enumerate(pay.credit_transfers):
        path = f"$.payment_instructions.credit_transfers[{i}]"
        account = transfer.account_identifier
        sepa = pay.means_code == _SEPA_CREDIT_TRANSFER
        if (sepa or _LOOKS_LIKE_IBAN.match(account.upper())) and not iban.is_valid(account):
            yield _rule(
                "GW-IBAN",
                f"{path}.account_identifier",
                f"{account!r} is not a valid IBAN (ISO 13616 check digits or length)",
                Severity.ERROR if sepa else Severity.WARNING,
            )
        bic_code = transfer.service_provider_identifier
        if bic_code and not bic.is_valid(bic_code):
            yield _rule(
                "GW-BIC",
                f"{path}.service_provider_identifier",
                f"{bic_code!r} is not a valid BIC (ISO 9362: 8 or 11 characters)",
                Severity.WARNING,
            )
    debit = pay.direct_debit
    if debit and debit.debited_account_identifier:
        account = debit.debited_account_identifier
        sepa = pay.means_code == _SEPA_DIRECT_DEBIT
        if (sepa or _LOOKS_LIKE_IBAN.match(account.upper())) and not iban.is_valid(account):
            yield _rule(
                "GW-IBAN",
                "$.payment_instructions.direct_debit.debited_account_identifier",
                f"{account!r} is not a valid IBAN (ISO 13616 check digits or length)",
                Severity.ERROR if sepa else Severity.WARNING,
            )


def _allowance_reasons(invoice: Invoice) -> Iterator[Problem]:
    checks: list[tuple[str, Sequence[AllowanceOrCharge], str]] = [
        ("$.allowances", invoice.allowances, "BR-33"),
        ("$.charges", invoice.charges, "BR-38"),
    ]
    for i, line in enumerate(invoice.lines):
        checks.append((f"$.lines[{i}].allowances", line.allowances, "BR-42"))
        checks.append((f"$.lines[{i}].charges", line.charges, "BR-44"))
    for base, items, rule in checks:
        for j, item in enumerate(items):
            if not (item.reason or item.reason_code):
                yield _rule(
                    rule,
                    f"{base}[{j}].reason",
                    "give a reason (text) or a reason code for each allowance or charge",
                )


def _references(invoice: Invoice) -> Iterator[Problem]:
    if invoice.tax_point_date and invoice.tax_point_date_code:
        yield _rule(
            "BR-CO-3",
            "$.tax_point_date_code",
            "give either the VAT point date (BT-7) or its code (BT-8), not both",
        )
    if invoice.tax_currency_code and invoice.totals.vat_total_in_tax_currency is None:
        yield _rule(
            "BR-53",
            "$.totals.vat_total_in_tax_currency",
            "with a VAT accounting currency (BT-6), give the total VAT in that currency (BT-111)",
        )
    if invoice.tax_currency_code == invoice.currency_code:
        yield problem_at(
            "$.tax_currency_code",
            "the VAT accounting currency equals the invoice currency; leave it out",
            severity=Severity.WARNING,
        )
    if invoice.is_credit_note is False and invoice.type_code == "384" and not (invoice.preceding_invoices):
        yield problem_at(
            "$.preceding_invoices",
            "a corrected invoice (384) should reference the invoice it corrects (BG-3)",
            severity=Severity.WARNING,
        )
