"""The canonical invoice (EN 16931), its calculation and its checks.

Public API: everything in ``__all__``; the modules behind it are private.
"""

from formats.invoice.calculate import RoundingRule, calculate
from formats.invoice.check import CheckResult, check_invoice, parse_invoice
from formats.invoice.codes import CodeList, codes
from formats.invoice.compare import Disagreement, compare_totals
from formats.invoice.load import load_json
from formats.invoice.model import (
    Address,
    Attachment,
    Buyer,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    DocumentAllowance,
    DocumentCharge,
    DocumentTotals,
    ElectronicAddress,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    LegalRegistration,
    LineAllowance,
    LineCharge,
    LineVat,
    Note,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    PriceDetails,
    Seller,
    SupportingDocument,
    TaxRepresentative,
    VatBreakdown,
)
from formats.invoice.problems import Problem, Severity
from formats.invoice.rules import check_rules
from formats.invoice.terms import TERMS, Term, term_for_path

__all__ = [
    "TERMS",
    "Address",
    "Attachment",
    "Buyer",
    "CheckResult",
    "CodeList",
    "Contact",
    "CreditTransfer",
    "Delivery",
    "DirectDebit",
    "Disagreement",
    "DocumentAllowance",
    "DocumentCharge",
    "DocumentTotals",
    "ElectronicAddress",
    "Identifier",
    "Invoice",
    "InvoiceLine",
    "Item",
    "LegalRegistration",
    "LineAllowance",
    "LineCharge",
    "LineVat",
    "Note",
    "Payee",
    "PaymentCard",
    "PaymentInstructions",
    "Period",
    "PrecedingInvoice",
    "PriceDetails",
    "Problem",
    "RoundingRule",
    "Seller",
    "Severity",
    "SupportingDocument",
    "TaxRepresentative",
    "Term",
    "VatBreakdown",
    "calculate",
    "check_invoice",
    "check_rules",
    "codes",
    "compare_totals",
    "load_json",
    "parse_invoice",
    "term_for_path",
]
