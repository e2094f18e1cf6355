"""The business data an invoice page shows, read from the document the ERP submitted.

The source document is read with the pipeline's own reader (``pipeline.read_source``: the
canonical JSON, UBL, CII or Factur-X, exactly as on submission) and, for the canonical JSON,
calculated with ``formats.invoice.calculate`` (line nets and totals are derived terms there).
Nothing is computed here: this module only picks the terms a person reads, as text.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from formats.errors import GatewayError
from formats.invoice import Invoice, calculate

__all__ = ["BusinessView", "business_view"]


@dataclass
class BusinessView:
    facts: list[tuple[str, str]]  # (label, value), in reading order
    seller: list[tuple[str, str]]
    buyer: list[tuple[str, str]]
    lines: list[dict[str, str]]
    totals: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # why something could not be read


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _pairs(*items: tuple[str, Any]) -> list[tuple[str, str]]:
    return [(label, _text(value)) for label, value in items if value not in (None, "", [])]


def _address(party: Any) -> str:
    address = getattr(party, "address", None)
    if address is None:
        return ""
    parts = [
        address.line1,
        address.line2,
        address.line3,
        " ".join(filter(None, [address.post_code, address.city])),
    ]
    parts += [address.country_subdivision, _text(address.country_code)]
    return ", ".join(p for p in parts if p)


def _party(party: Any) -> list[tuple[str, str]]:
    electronic = getattr(party, "electronic_address", None)
    return _pairs(
        ("Name", party.name),
        ("Trading name", getattr(party, "trading_name", None)),
        ("VAT identifier", getattr(party, "vat_identifier", None)),
        (
            "Electronic address",
            f"{electronic.value} (scheme {_text(electronic.scheme)})" if electronic else None,
        ),
        ("Address", _address(party) or None),
    )


def _view(invoice: Invoice) -> BusinessView:
    facts = _pairs(
        ("Invoice number", invoice.number),
        ("Type code", invoice.type_code),
        ("Issue date", invoice.issue_date),
        ("Due date", invoice.due_date),
        ("Currency", invoice.currency_code),
        ("Buyer reference", invoice.buyer_reference),
        ("Purchase order", invoice.purchase_order_reference),
        ("Contract", invoice.contract_reference),
        ("Project", invoice.project_reference),
        ("Payment terms", invoice.payment_terms),
    )
    lines = [
        {
            "id": line.id,
            "name": line.item.name,
            "quantity": f"{line.quantity} {_text(line.unit_code)}",
            "price": _text(line.price.net_amount),
            "vat": " ".join(
                filter(
                    None,
                    [
                        _text(line.vat.category_code),
                        f"{line.vat.rate} %" if line.vat.rate is not None else "",
                    ],
                )
            ),
            "net": _text(line.net_amount),
        }
        for line in invoice.lines
    ]
    t = invoice.totals
    totals = _pairs(
        ("Sum of line net amounts", t.line_net_total),
        ("Allowances", t.allowance_total),
        ("Charges", t.charge_total),
        ("Total without VAT", t.tax_exclusive_amount),
        ("VAT", t.vat_total),
        ("Total with VAT", t.tax_inclusive_amount),
        ("Paid", t.paid_amount),
        ("Rounding", t.rounding_amount),
        ("Amount due", t.amount_due),
    )
    return BusinessView(
        facts=facts,
        seller=_party(invoice.seller),
        buyer=_party(invoice.buyer),
        lines=lines,
        totals=totals,
        notes=[note.text for note in invoice.notes],
    )


def business_view(content: bytes, media_type: str) -> BusinessView:
    """What the source document says, or a view saying why it cannot be shown (never raises
    for a document the pipeline once accepted and can no longer read)."""
    from gateway.pipeline import read_source

    empty = BusinessView([], [], [], [], [])
    try:
        source = read_source(content, media_type)
    except (GatewayError, ValueError) as exc:
        empty.problem = f"The submitted document cannot be read again: {exc}"
        return empty
    if source.invoice is None:
        empty.problem = "The submitted document holds no invoice the gateway can show."
        return empty
    invoice = source.invoice
    if source.kind == "json":
        with contextlib.suppress(GatewayError):  # else shown as submitted, without derived terms
            invoice = calculate(invoice)
    return _view(invoice)
