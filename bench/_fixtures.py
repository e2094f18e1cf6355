"""Deterministic validation-benchmark fixtures built from the official CEN examples.

The CEN EN 16931 examples ``ubl-tc434-example9.xml`` and ``CII_example9.xml`` (the same
one-line licence invoice in both syntaxes, one VAT category: S 21 %) are replicated to N
invoice lines with unique line ids and a deterministic quantity per line; every amount
the EN 16931 rules check is then recomputed so that the result stays valid:

* UBL: line ``LineExtensionAmount``; ``TaxTotal/TaxAmount``, the ``TaxSubtotal``
  taxable and tax amounts; ``LegalMonetaryTotal`` line extension, tax exclusive, tax
  inclusive and payable amounts;
* CII: line ``LineTotalAmount``; header ``ApplicableTradeTax`` basis and calculated
  amounts; ``SpecifiedTradeSettlementHeaderMonetarySummation`` line total, tax basis
  total, tax total, grand total and due payable amounts.

Nothing is random: the same arguments always give byte-identical files.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxml import etree

UBL_EXAMPLE = Path("en16931/ubl/examples/ubl-tc434-example9.xml")
CII_EXAMPLE = Path("en16931/cii/examples/CII_example9.xml")

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS = {"cac": CAC, "cbc": CBC, "rsm": RSM, "ram": RAM}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Fixture:
    path: Path
    kind: str  # "ubl-10", "ubl-100", "cii-10", "cii-100", "ubl-1mb"
    lines: int
    size: int

    @property
    def syntax(self) -> str:
        return self.kind.split("-", 1)[0]


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _quantity(seed: int, line: int) -> int:
    """Deterministic quantity 1..12 for line ``line`` of fixture ``seed``."""
    return 1 + (seed * 31 + line * 7 + (line * line) % 5) % 12


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, NS)
    if found is None:
        raise ValueError(f"the template has no {path}")
    return found


def _set(root: etree._Element, path: str, value: str) -> None:
    for node in root.findall(path, NS):
        node.text = value


def _replicate(template: etree._Element, parent: etree._Element, lines: int, fill) -> Decimal:
    """Replace ``template`` in ``parent`` by ``lines`` filled copies; the sum of line amounts."""
    index = parent.index(template)
    parent.remove(template)
    total = Decimal(0)
    for number in range(lines, 0, -1):  # insert backwards at the same position
        line = copy.deepcopy(template)
        total += fill(line, number)
        parent.insert(index, line)
    return total


def _rate(category: etree._Element, path: str) -> Decimal:
    return Decimal((category.findtext(path, namespaces=NS) or "0").strip())


def ubl_invoice(template: bytes, lines: int, seed: int, invoice_id: str) -> bytes:
    root = etree.fromstring(template)
    line0 = _one(root, "cac:InvoiceLine")
    price = Decimal(_one(line0, "cac:Price/cbc:PriceAmount").text or "0")
    base = Decimal(line0.findtext("cac:Price/cbc:BaseQuantity", "1", NS) or "1")
    rate = _rate(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent")

    def fill(line: etree._Element, number: int) -> Decimal:
        quantity = _quantity(seed, number)
        amount = (price * quantity / base).quantize(CENT, rounding=ROUND_HALF_UP)
        _set(line, "cbc:ID", str(number))
        _set(line, "cbc:InvoicedQuantity", str(quantity))
        _set(line, "cbc:LineExtensionAmount", _money(amount))
        return amount

    net = _replicate(line0, root, lines, fill)
    tax = (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    _set(root, "cbc:ID", invoice_id)
    _set(root, "cac:TaxTotal/cbc:TaxAmount", _money(tax))
    _set(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", _money(net))
    _set(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", _money(tax))
    for name in ("LineExtensionAmount", "TaxExclusiveAmount"):
        _set(root, f"cac:LegalMonetaryTotal/cbc:{name}", _money(net))
    for name in ("TaxInclusiveAmount", "PayableAmount"):
        _set(root, f"cac:LegalMonetaryTotal/cbc:{name}", _money(net + tax))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def cii_invoice(template: bytes, lines: int, seed: int, invoice_id: str) -> bytes:
    root = etree.fromstring(template)
    transaction = _one(root, "rsm:SupplyChainTradeTransaction")
    line0 = _one(transaction, "ram:IncludedSupplyChainTradeLineItem")
    price = Decimal(
        _one(line0, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount").text
        or "0"
    )
    settlement = _one(transaction, "ram:ApplicableHeaderTradeSettlement")
    header_tax = _one(settlement, "ram:ApplicableTradeTax")
    rate = _rate(header_tax, "ram:RateApplicablePercent")

    def fill(line: etree._Element, number: int) -> Decimal:
        quantity = _quantity(seed, number)
        # The example prices per unit billed (147 = 3 x 49), whatever its BasisQuantity says
        # (the CEN rules do not check BT-149); keep that convention.
        amount = (price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        _set(line, "ram:AssociatedDocumentLineDocument/ram:LineID", str(number))
        _set(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", str(quantity))
        _set(
            line,
            "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
            "ram:LineTotalAmount",
            _money(amount),
        )
        return amount

    net = _replicate(line0, transaction, lines, fill)
    tax = (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    _set(root, "rsm:ExchangedDocument/ram:ID", invoice_id)
    header_tax.find("ram:CalculatedAmount", NS).text = _money(tax)  # type: ignore[union-attr]
    header_tax.find("ram:BasisAmount", NS).text = _money(net)  # type: ignore[union-attr]
    summation = _one(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _set(summation, "ram:LineTotalAmount", _money(net))
    _set(summation, "ram:TaxBasisTotalAmount", _money(net))
    _set(summation, "ram:TaxTotalAmount", _money(tax))
    _set(summation, "ram:GrandTotalAmount", _money(net + tax))
    _set(summation, "ram:DuePayableAmount", _money(net + tax))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build(
    corpus: Path, target: Path, per_kind: int = 50, big_bytes: int = 1024 * 1024
) -> tuple[list[Fixture], Fixture]:
    """Write ``4 * per_kind`` invoices and one ~``big_bytes`` UBL invoice under ``target``."""
    templates = {"ubl": (corpus / UBL_EXAMPLE).read_bytes(), "cii": (corpus / CII_EXAMPLE).read_bytes()}
    makers = {"ubl": ubl_invoice, "cii": cii_invoice}
    target.mkdir(parents=True, exist_ok=True)
    fixtures: list[Fixture] = []
    for syntax in ("ubl", "cii"):
        for lines in (10, 100):
            for seed in range(per_kind):
                kind = f"{syntax}-{lines}"
                data = makers[syntax](templates[syntax], lines, seed, f"BENCH-{kind}-{seed:03d}")
                path = target / f"{kind}-{seed:03d}.xml"
                path.write_bytes(data)
                fixtures.append(Fixture(path, kind, lines, len(data)))
    # Size the big invoice from the measured cost of one line.
    small = len(ubl_invoice(templates["ubl"], 100, 0, "BENCH-probe"))
    large = len(ubl_invoice(templates["ubl"], 200, 0, "BENCH-probe"))
    per_line = (large - small) / 100
    lines = max(1, round(100 + (big_bytes - small) / per_line))
    data = ubl_invoice(templates["ubl"], lines, 7, "BENCH-ubl-1mb")
    path = target / "ubl-1mb.xml"
    path.write_bytes(data)
    return fixtures, Fixture(path, "ubl-1mb", lines, len(data))
