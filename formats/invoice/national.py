"""German national rules, shared by every syntax that writes for German recipients.

Peppol's DE-R-0nn and XRechnung's BR-DE-n check the same terms; UBL and CII profiles both
build their requirements from this one table, so a rule is fixed in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from formats.invoice.model import Invoice


def _seller_contact(invoice: Invoice, field: str) -> bool:
    contact = invoice.seller.contact
    return contact is not None and getattr(contact, field) is not None


def _delivery_address(invoice: Invoice, field: str) -> bool:
    address = invoice.delivery.address if invoice.delivery else None
    return address is None or getattr(address, field) is not None


@dataclass(frozen=True)
class GermanRule:
    """One German national rule: Peppol's DE-R-0nn and XRechnung's BR-DE-n check the same."""

    number: int
    term: str
    path: str
    what: str
    met: Callable[[Invoice], bool]


GERMAN_RULES = (
    GermanRule(
        1,
        "BG-16",
        "$.payment_instructions",
        "payment instructions are required",
        lambda inv: inv.payment_instructions is not None,
    ),
    GermanRule(
        2,
        "BG-6",
        "$.seller.contact",
        "the seller contact is required",
        lambda inv: inv.seller.contact is not None,
    ),
    GermanRule(
        3,
        "BT-37",
        "$.seller.address.city",
        "the seller city is required",
        lambda inv: inv.seller.address.city is not None,
    ),
    GermanRule(
        4,
        "BT-38",
        "$.seller.address.post_code",
        "the seller post code is required",
        lambda inv: inv.seller.address.post_code is not None,
    ),
    GermanRule(
        5,
        "BT-41",
        "$.seller.contact.name",
        "the seller contact point is required",
        lambda inv: _seller_contact(inv, "name"),
    ),
    GermanRule(
        6,
        "BT-42",
        "$.seller.contact.telephone",
        "the seller contact telephone number is required",
        lambda inv: _seller_contact(inv, "telephone"),
    ),
    GermanRule(
        7,
        "BT-43",
        "$.seller.contact.email",
        "the seller contact email is required",
        lambda inv: _seller_contact(inv, "email"),
    ),
    GermanRule(
        8,
        "BT-52",
        "$.buyer.address.city",
        "the buyer city is required",
        lambda inv: inv.buyer.address is not None and inv.buyer.address.city is not None,
    ),
    GermanRule(
        9,
        "BT-53",
        "$.buyer.address.post_code",
        "the buyer post code is required",
        lambda inv: inv.buyer.address is not None and inv.buyer.address.post_code is not None,
    ),
    GermanRule(
        10,
        "BT-77",
        "$.delivery.address.city",
        "a deliver-to address needs its city",
        lambda inv: _delivery_address(inv, "city"),
    ),
    GermanRule(
        11,
        "BT-78",
        "$.delivery.address.post_code",
        "a deliver-to address needs its post code",
        lambda inv: _delivery_address(inv, "post_code"),
    ),
)
