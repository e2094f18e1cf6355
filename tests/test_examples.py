"""Every invoice in examples/ checks clean, and its totals are pinned.

The pinned figures were worked out by hand (the arithmetic is in the comments), not
copied from ``calculate()``, so a change in the calculation fails here. VAT is rounded
per category and rate on the totals (EN 16931, BR-CO-17), half away from zero.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from formats.invoice import check_invoice

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES = ROOT / "examples"
FILES = sorted(EXAMPLES.glob("*.json"))

# file name: (amount_due BT-115, vat_total BT-110, tax_exclusive_amount BT-109)
PINNED: dict[str, tuple[str, str, str]] = {
    # S 19 %: 4 × 1250.00 + 12.5 × 95.00 = 5000.00 + 1187.50 = 6187.50; × 19 % = 1175.625 → 1175.63
    # S 7 %: 2 × (38.90 − 3.90) = 70.00; × 7 % = 4.90
    # net 6257.50; VAT 1175.63 + 4.90 = 1180.53; due 6257.50 + 1180.53 = 7438.03
    "de-domestic-b2b.json": ("7438.03", "1180.53", "6257.50"),
    # S 5.5 %: 24 × 18.40 + 10 × 16.95 + 3 × 12.80 = 441.60 + 169.50 + 38.40 = 649.50;
    #          × 5.5 % = 35.7225 → 35.72
    # S 20 %: 1 × 89.00 + 2 × 14.90 = 118.80; × 20 % = 23.76
    # net 768.30; VAT 35.72 + 23.76 = 59.48; due 827.78
    "fr-domestic-direct-debit.json": ("827.78", "59.48", "768.30"),
    # S 21 %: 2 × 289.00 + 1 × 45.50 = 623.50; × 21 % = 130.935 → 130.94 (half up)
    # due 623.50 + 130.94 = 754.44 (a credit note carries positive amounts)
    "be-credit-note.json": ("754.44", "130.94", "623.50"),
    # K 0 %: 150 × 42.80 + 600 × 3.15 + 3 × 24.00 = 6420.00 + 1890.00 + 72.00 = 8382.00; VAT 0
    "intra-community-supply.json": ("8382.00", "0.00", "8382.00"),
    # AE 0 %: 186 × 52.50 + 14 × 38.00 + 2 × 295.00 = 9765.00 + 532.00 + 590.00 = 10887.00; VAT 0
    "reverse-charge-services.json": ("10887.00", "0.00", "10887.00"),
    # G 0 %: 3 × 4850.00 + 10 × 36.50 + 48 × 11.25 = 14550.00 + 365.00 + 540.00 = 15455.00
    #        + freight charge 380.00 = 15835.00; VAT 0
    "export-outside-eu.json": ("15835.00", "0.00", "15835.00"),
    # lines S 19 %: 6 × 24.90 + 4 × 38.75 + (5 × 42.60 − 10 % = 213.00 − 21.30)
    #               = 149.40 + 155.00 + 191.70 = 496.10
    # lines S 7 %: 250 × 0.68 + 20 × 9.45 + 12.5 × 8.96 = 170.00 + 189.00 + 112.00 = 471.00
    # line net total 967.10; allowance 2 % of 496.10 = 9.922 → 9.92; freight charge 35.00
    # S 19 % base 496.10 − 9.92 + 35.00 = 521.18; × 19 % = 99.0242 → 99.02
    # S 7 % base 471.00; × 7 % = 32.97
    # net 967.10 − 9.92 + 35.00 = 992.18; VAT 99.02 + 32.97 = 131.99; gross 1124.17
    # due 1124.17 − prepaid 500.00 = 624.17
    "mixed-rates-allowance-charge.json": ("624.17", "131.99", "992.18"),
    # S 19 %: 96.5 × 118.00 + 4 × 150.00 + 3 × 78.80 = 11387.00 + 600.00 + 236.40 = 12223.40;
    #         × 19 % = 2322.446 → 2322.45; due 14545.85
    "with-attachment.json": ("14545.85", "2322.45", "12223.40"),
    # 500 lines; checked with an independent Decimal computation (Σ round(qty × price / base qty)
    # per rate): S 7 % base 30710.86 → VAT 2149.7602 → 2149.76;
    # S 19 % base 20587.25 → VAT 3911.5775 → 3911.58
    # net 51298.11; VAT 6061.34; due 57359.45
    "large-500-lines.json": ("57359.45", "6061.34", "51298.11"),
}


def test_every_example_is_pinned() -> None:
    assert {f.name for f in FILES} == set(PINNED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_checks_clean(path: Path) -> None:
    result = check_invoice(path.read_bytes())
    assert result.problems == []
    assert result.ok
    assert result.calculated is not None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_totals(path: Path) -> None:
    result = check_invoice(path.read_bytes())
    assert result.calculated is not None
    totals = result.calculated.totals
    amount_due, vat_total, tax_exclusive = (Decimal(x) for x in PINNED[path.name])
    assert totals.amount_due == amount_due
    assert totals.vat_total == vat_total
    assert totals.tax_exclusive_amount == tax_exclusive


def test_large_example_has_500_lines() -> None:
    result = check_invoice((EXAMPLES / "large-500-lines.json").read_bytes())
    assert result.invoice is not None
    assert len(result.invoice.lines) == 500


def test_attachment_is_a_pdf() -> None:
    result = check_invoice((EXAMPLES / "with-attachment.json").read_bytes())
    assert result.invoice is not None
    attachments = [d.attachment for d in result.invoice.supporting_documents if d.attachment]
    assert len(attachments) == 1
    assert attachments[0].mime_code == "application/pdf"
    assert attachments[0].content.startswith(b"%PDF-")
    assert attachments[0].content.rstrip().endswith(b"%%EOF")
