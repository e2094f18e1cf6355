"""UBL output profiles as data: one small definition each.

A profile says which specification identifier (BT-24) and business process (BT-23) to
write, which validation sets check the output, and which business terms it requires
beyond EN 16931. ``requirements`` are checked before any XML is produced, so an invoice
that cannot be expressed in a profile fails with the term and the rule named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from formats.invoice.model import Invoice
from formats.invoice.national import GERMAN_RULES as _GERMAN_RULES
from formats.invoice.national import GermanRule as _GermanRule


@dataclass(frozen=True)
class Requirement:
    term: str
    rule: str
    path: str
    message: str
    met: Callable[[Invoice], bool]


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    customization_id: str
    profile_id: str | None
    invoice_set: str
    creditnote_set: str
    requirements: tuple[Requirement, ...] = ()
    # electronic address schemes the profile does not accept
    eas_excluded: frozenset[str] = frozenset()
    # BT-32 is a PartyTaxScheme whose scheme is not VAT: Peppol (NO-R-002) expects "TAX",
    # XRechnung "FC" (Steuernummer)
    tax_registration_scheme: str = "TAX"

    def validation_set(self, credit_note: bool) -> str:
        return self.creditnote_set if credit_note else self.invoice_set


PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def _notes_allowed(invoice: Invoice) -> bool:
    buyer_country = invoice.buyer.address.country_code if invoice.buyer.address else None
    both_german = invoice.seller.address.country_code == "DE" == buyer_country
    return len(invoice.notes) <= 1 or both_german


_PEPPOL_REQUIREMENTS = (
    Requirement(
        "BT-34",
        "PEPPOL-EN16931-R020",
        "$.seller.electronic_address",
        "Peppol needs the seller electronic address",
        lambda inv: inv.seller.electronic_address is not None,
    ),
    Requirement(
        "BT-49",
        "PEPPOL-EN16931-R010",
        "$.buyer.electronic_address",
        "Peppol needs the buyer electronic address",
        lambda inv: inv.buyer.electronic_address is not None,
    ),
    Requirement(
        "BT-10",
        "PEPPOL-EN16931-R003",
        "$.buyer_reference",
        "Peppol needs the buyer reference (BT-10) or the purchase order reference (BT-13)",
        lambda inv: bool(inv.buyer_reference or inv.purchase_order_reference),
    ),
    Requirement(
        "BG-1",
        "PEPPOL-EN16931-R002",
        "$.notes",
        "Peppol allows one invoice note, unless seller and buyer are both in Germany",
        _notes_allowed,
    ),
    Requirement(
        "BT-10",
        "DE-R-015",
        "$.buyer_reference",
        "Peppol's German rules need the buyer reference when the seller is in Germany",
        lambda inv: inv.seller.address.country_code != "DE" or inv.buyer_reference is not None,
    ),
)

EN16931 = Profile(
    name="en16931",
    title="EN 16931 (CEN core)",
    customization_id="urn:cen.eu:en16931:2017",
    profile_id=None,
    invoice_set="eu.cen.en16931:ubl-invoice:1.3.16",
    creditnote_set="eu.cen.en16931:ubl-creditnote:1.3.16",
)


def _seller_in_germany(invoice: Invoice) -> bool:
    return invoice.seller.address.country_code == "DE"


def _peppol_german(rule: _GermanRule) -> Requirement:
    """Peppol applies its DE-R-* rules when the seller's address is in Germany."""
    met = rule.met
    return Requirement(
        rule.term,
        f"DE-R-{rule.number:03d}",
        rule.path,
        f"Peppol's German rules: {rule.what}",
        lambda inv: not _seller_in_germany(inv) or met(inv),
    )


def _xrechnung(rule: _GermanRule) -> Requirement:
    return Requirement(rule.term, f"BR-DE-{rule.number}", rule.path, f"XRechnung: {rule.what}", rule.met)


_PEPPOL_GERMAN = tuple(_peppol_german(rule) for rule in _GERMAN_RULES)

PEPPOL = Profile(
    name="peppol",
    title="Peppol BIS Billing 3.0",
    customization_id="urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
    profile_id=PEPPOL_BILLING,
    invoice_set="eu.peppol.bis3:ubl-invoice:3.0.19",
    creditnote_set="eu.peppol.bis3:ubl-creditnote:3.0.19",
    requirements=_PEPPOL_REQUIREMENTS + _PEPPOL_GERMAN,
    eas_excluded=frozenset({"EM", "AN", "AQ", "AS", "AU"}),
)

XRECHNUNG = Profile(
    name="xrechnung",
    title="XRechnung 3.0",
    customization_id="urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
    profile_id=PEPPOL_BILLING,
    invoice_set="de.xrechnung:ubl-invoice:3.0.2",
    tax_registration_scheme="FC",
    creditnote_set="de.xrechnung:ubl-creditnote:3.0.2",
    requirements=(
        Requirement(
            "BT-10",
            "BR-DE-15",
            "$.buyer_reference",
            "XRechnung needs the buyer reference (the Leitweg-ID)",
            lambda inv: inv.buyer_reference is not None,
        ),
        # BR-DE-2 (the seller contact group) is reported through BR-DE-5/6/7, which name the term
        *(_xrechnung(rule) for rule in _GERMAN_RULES if rule.number != 2),
        *_PEPPOL_REQUIREMENTS[:2],
    ),
)

PROFILES = {p.name: p for p in (EN16931, PEPPOL, XRECHNUNG)}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown UBL profile {name!r}; choose one of {', '.join(PROFILES)}") from None
