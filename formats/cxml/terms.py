"""How EN 16931 terms sit in cXML: the small vocabularies the writer and the reader share."""

from __future__ import annotations

TAX_CATEGORY = "vat"
"""``TaxDetail@category`` for every EN 16931 tax: the invoice model knows only VAT."""

EXEMPT_DETAIL = {"Z": "zeroRated", "E": "exempt", "AE": "exempt", "K": "exempt", "G": "exempt", "O": "exempt"}
"""``TaxDetail@exemptDetail`` per VAT category (BT-118) whose tax is zero."""

VAT_LIKE = frozenset({"vat", "gst", "hst", "qst", "pst", "tva", "mwst", "iva", "btw", "moms"})
"""``TaxDetail@category`` values that are a value added tax (read without a loss)."""

CREDIT_PURPOSES = frozenset({"creditMemo", "lineLevelCreditMemo"})
DEBIT_PURPOSES = frozenset({"debitMemo", "lineLevelDebitMemo"})
CREDIT_NOTE_TYPE = "381"
DEBIT_NOTE_TYPE = "383"
INVOICE_TYPE = "380"

SELLER_ROLES = ("from", "issuerOfInvoice", "invoiceFrom", "supplierCorporate", "supplierAccount")
"""``Contact@role`` values naming the seller (BG-4), in order of preference."""
BUYER_ROLES = ("soldTo", "billTo", "buyerCorporate", "buyerAccount", "buyer")
"""``Contact@role`` values naming the buyer (BG-7), in order of preference."""
PAYEE_ROLE = "remitTo"

CLASSIFICATION_SCHEMES = {"UNSPSC": "TSP", "CPV": "STI", "ECLASS": "TST", "HS": "HS"}
"""``Classification@domain`` names → UNTDID 7143 (BT-158-1)."""
