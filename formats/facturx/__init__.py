"""Factur-X / ZUGFeRD / XRechnung-in-PDF: the CII invoice inside a PDF/A-3, both ways.

``to_facturx`` writes the CII XML (``formats.cii``), renders the invoice (``formats.pdf``) and
embeds the one in the other; ``to_pdf`` is the same rendering without XML (for e-mail).
``extract`` takes the invoice XML out of any Factur-X / ZUGFeRD file and ``from_pdf`` reads it
into the canonical model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from formats.errors import SerializeError
from formats.facturx.container import MAX_EMBEDDED_BYTES, MAX_PDF_BYTES, PdfInputError
from formats.facturx.embed import AttachedFile, embed
from formats.facturx.extract import Embedded, extract, from_pdf
from formats.facturx.levels import FLAVORS, LEVELS, level_for_guideline
from formats.invoice.calculate import RoundingRule

if TYPE_CHECKING:
    from formats.invoice.model import Invoice


def _profile(profile: Any) -> Any:
    if isinstance(profile, str):
        from formats.cii import profile as by_name

        try:
            return by_name(profile.strip().lower().replace(" ", "").replace("_", "").replace("-", ""))
        except ValueError as exc:
            raise SerializeError(str(exc)) from None
    return profile


def to_facturx(
    invoice: Invoice,
    profile: Any,
    *,
    language: str | None = None,
    rounding: RoundingRule = RoundingRule.TOTALS,
    keep_supplied: bool = False,
    omit_unsupported: bool = False,
    payment_link: str | None = None,
) -> bytes:
    """The invoice as a Factur-X PDF/A-3 in ``profile`` (a ``formats.cii`` profile or its name;
    XRECHNUNG is embedded as ``xrechnung.xml``). The XML is written first, so an invoice the
    profile cannot express raises ``SerializeError`` before anything is rendered."""
    from formats.cii import to_xml

    chosen = _profile(profile)
    xml = to_xml(invoice, chosen, rounding, keep_supplied=keep_supplied, omit_unsupported=omit_unsupported)
    pdf = to_pdf(invoice, language=language, payment_link=payment_link)
    if chosen.name.upper() == "XRECHNUNG":  # XRechnung in PDF (ZUGFeRD 2.1.1+, Factur-X 1.0.06+)
        return embed(pdf, xml, level="XRECHNUNG", flavor="xrechnung", modified=invoice.issue_date)
    return embed(pdf, xml, level=chosen.facturx_level, modified=invoice.issue_date)


def to_pdf(invoice: Invoice, *, language: str | None = None, payment_link: str | None = None) -> bytes:
    """The rendered invoice, a PDF/A-3b without XML (what ``to_facturx`` embeds into)."""
    from formats.pdf import render_pdf

    return render_pdf(invoice, language=language, payment_link=payment_link)


__all__ = [
    "FLAVORS",
    "LEVELS",
    "MAX_EMBEDDED_BYTES",
    "MAX_PDF_BYTES",
    "AttachedFile",
    "Embedded",
    "PdfInputError",
    "embed",
    "extract",
    "from_pdf",
    "level_for_guideline",
    "to_facturx",
    "to_pdf",
]
