"""The UBL reader's fast path for invoice lines: one pass per line, driven by a table.

An invoice is mostly lines, and most lines have the same plain shape. ``read_line`` walks a
line once, child by child, looks each tag up in a table that says which canonical field it
fills and how its value is converted, and builds the line's data already pruned (no
``None``, no empty groups). It records no loss and no origin, so it only accepts a line that
has neither: the first thing the general reader in ``read.py`` would treat in any other way
than "read it into the invoice" makes it give up (``None``), and that line is read by the
general reader instead, which reports the loss or raises the ``ParseError``. Giving up is
always safe; the table only lists what is read exactly as the general reader reads it:

* a tag not in the table, a comment or processing instruction, a second child of the same
  name, an attribute the table does not expect, text beside child elements: give up;
* a leaf that has children, a number that is not an ``xs:decimal``, a ``currencyID`` that is
  not the invoice currency, a tax scheme that is not VAT, a mandatory term missing or
  empty: give up.

Values are stripped as the general reader strips them (``str.strip``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lxml import etree

from formats.ubl.write import TAGS
from formats.xmlread import xs_decimal as decimal

__all__ = ["date_part", "decimal", "iso_date", "read_line"]


def date_part(text: str) -> str:
    # xs:date may carry a time zone (Z, +01:00); the canonical date has none
    if text.endswith("Z"):
        return text[:-1]
    if len(text) > 10 and text[-6] in "+-" and text[-3] == ":":
        return text[:-6]
    return text


def iso_date(text: str) -> date:
    part = date_part(text)
    if len(part) != 10:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(part)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class _GiveUp(Exception):
    """The line needs the general reader."""


# how a child is read
_TEXT = 0  # leaf, no attribute: the stripped text
_DECIMAL = 1  # leaf, no attribute: an xs:decimal
_AMOUNT = 2  # leaf, optional currencyID equal to the invoice currency: an xs:decimal
_QUANTITY = 3  # leaf, unitCode: an xs:decimal, the unit code into ``extra``
_IDENTIFIER = 4  # leaf, optional schemeID: {"value", "scheme"}
_VAT = 5  # leaf, no attribute: must say VAT; read, not kept
_DATE = 6  # leaf, no attribute: an xs:date without time zone (with one, the zone is a loss)
_CODE = 7  # leaf, optional listID / listVersionID: value, scheme, scheme_version
_GROUP = 8  # element: its children fill a dict of its own
_FLAT = 9  # element: its children fill the parent's dict
_LIST = 10  # element, may repeat: its children fill a dict appended to a list

_CODE_ATTRIBUTES = {"listID": "scheme", "listVersionID": "scheme_version"}


_Field = tuple[str, int, "dict[str, _Field] | None", str, bool]
"""(key in the canonical data, kind, table of the children, key of the unit code, unit mandatory)."""


def _field(
    key: str, kind: int, table: dict[str, _Field] | None = None, extra: str = "", required_extra: bool = False
) -> _Field:
    return (key, kind, table, extra, required_extra)


_Table = dict[str, _Field]


def _table(**fields: _Field) -> _Table:
    """Keys are UBL names with ``__`` for ``:`` (``cbc__ID``); lxml tags come out."""
    return {TAGS[name.replace("__", ":")]: field for name, field in fields.items()}


_TAX_SCHEME = _table(cbc__ID=_field("", _VAT))

_ITEM = _table(
    cbc__Name=_field("name", _TEXT),
    cbc__Description=_field("description", _TEXT),
    cac__SellersItemIdentification=_field("", _FLAT, _table(cbc__ID=_field("sellers_identifier", _TEXT))),
    cac__BuyersItemIdentification=_field("", _FLAT, _table(cbc__ID=_field("buyers_identifier", _TEXT))),
    cac__StandardItemIdentification=_field(
        "", _FLAT, _table(cbc__ID=_field("standard_identifier", _IDENTIFIER))
    ),
    cac__CommodityClassification=_field(
        "classifications",
        _LIST,
        _table(cbc__ItemClassificationCode=_field("value", _CODE)),
        extra="value",  # the entry must have a value
    ),
    cac__OriginCountry=_field("", _FLAT, _table(cbc__IdentificationCode=_field("origin_country", _TEXT))),
    # BT-151/BT-152 sit in the item in UBL and in the line in the canonical model: moved after
    cac__ClassifiedTaxCategory=_field(
        "vat",
        _GROUP,
        _table(
            cbc__ID=_field("category_code", _TEXT),
            cbc__Percent=_field("rate", _DECIMAL),
            cac__TaxScheme=_field("", _FLAT, _TAX_SCHEME),
        ),
    ),
)

_PRICE = _table(
    cbc__PriceAmount=_field("net_amount", _AMOUNT),
    cbc__BaseQuantity=_field("base_quantity", _QUANTITY, extra="base_quantity_unit_code"),
)


def _line_table(quantity: str) -> _Table:
    return _table(
        cbc__ID=_field("id", _TEXT),
        cbc__Note=_field("note", _TEXT),
        cbc__AccountingCost=_field("buyer_accounting_reference", _TEXT),
        **{quantity: _field("quantity", _QUANTITY, extra="unit_code", required_extra=True)},
        cbc__LineExtensionAmount=_field("net_amount", _AMOUNT),
        cac__InvoicePeriod=_field(
            "period",
            _GROUP,
            _table(cbc__StartDate=_field("start_date", _DATE), cbc__EndDate=_field("end_date", _DATE)),
        ),
        cac__OrderLineReference=_field("", _FLAT, _table(cbc__LineID=_field("order_line_reference", _TEXT))),
        cac__Item=_field("item", _GROUP, _ITEM),
        cac__Price=_field("price", _GROUP, _PRICE),
    )


_INVOICE_LINE = _line_table("cbc__InvoicedQuantity")
_CREDIT_NOTE_LINE = _line_table("cbc__CreditedQuantity")


def _fill(element: etree._Element, table: _Table, out: dict[str, Any], currency: str) -> None:
    """Read the children of ``element`` into ``out``; raise ``_GiveUp`` at anything unusual.

    The hot loop of the reader: plain tuples, and each child's tag, text, tail and attribute
    names fetched once.
    """
    text = element.text
    if (text and not text.isspace()) or element.keys():
        raise _GiveUp
    seen: set[object] = set()
    for child in element:
        tail = child.tail
        if tail and not tail.isspace():
            raise _GiveUp
        tag: object = child.tag  # a function for comments and processing instructions
        field = table.get(tag)  # type: ignore[call-overload]
        if field is None:
            if tag is etree.Comment or tag is etree.ProcessingInstruction:
                continue  # no data; its tail was checked like any child's
            raise _GiveUp
        key, kind, inner_table, extra, required_extra = field
        if kind == _LIST:
            entry: dict[str, Any] = {}
            _fill(child, inner_table, entry, currency)
            if extra not in entry:  # the general reader skips it or reports it as empty
                raise _GiveUp
            out.setdefault(key, []).append(entry)
            continue
        if tag in seen:
            raise _GiveUp
        seen.add(tag)
        if kind >= _GROUP:
            if kind == _GROUP:
                inner: dict[str, Any] = {}
                _fill(child, inner_table, inner, currency)
                if inner:
                    out[key] = inner
            else:
                _fill(child, inner_table, out, currency)
            continue
        if len(child):
            raise _GiveUp
        value = child.text
        if value is not None:
            value = value.strip() or None
        attributes = child.keys()
        if kind == _TEXT:
            if attributes:
                raise _GiveUp
            if value is not None:
                out[key] = value
        elif kind == _AMOUNT:
            if attributes:
                if attributes != ["currencyID"]:
                    raise _GiveUp
                given = (child.get("currencyID") or "").strip()
                if given and given != currency:
                    raise _GiveUp
            if value is not None:
                out[key] = decimal(value)
        elif kind == _DECIMAL:
            if attributes:
                raise _GiveUp
            if value is not None:
                out[key] = decimal(value)
        elif kind == _QUANTITY:
            if attributes:
                if attributes != ["unitCode"]:
                    raise _GiveUp
                unit = (child.get("unitCode") or "").strip()
                if unit:
                    out[extra] = unit
                elif required_extra:
                    raise _GiveUp
            elif required_extra:
                raise _GiveUp
            if value is not None:
                out[key] = decimal(value)
        elif kind == _IDENTIFIER:
            identifier: dict[str, str] = {}
            if attributes:
                if attributes != ["schemeID"]:
                    raise _GiveUp
                scheme = (child.get("schemeID") or "").strip()
                if scheme:
                    identifier["scheme"] = scheme
            if value is not None:
                identifier["value"] = value
            if identifier:
                out[key] = identifier
        elif kind == _CODE:
            for name, attribute_value in child.items():
                attribute_key = _CODE_ATTRIBUTES.get(str(name))
                if attribute_key is None:
                    raise _GiveUp
                attribute = str(attribute_value).strip()
                if attribute:
                    out[attribute_key] = attribute
            if value is not None:
                out[key] = value
        elif kind == _DATE:
            if attributes:
                raise _GiveUp
            if value is not None:
                if date_part(value) != value:
                    raise _GiveUp
                out[key] = iso_date(value)
        else:  # _VAT
            if attributes or value is None or value.upper() != "VAT":
                raise _GiveUp


def read_line(element: etree._Element, credit: bool, currency: str) -> dict[str, Any] | None:
    """The data of one invoice line, or ``None`` where the general reader must read it."""
    line: dict[str, Any] = {}
    try:
        _fill(element, _CREDIT_NOTE_LINE if credit else _INVOICE_LINE, line, currency)
    except (_GiveUp, ValueError):
        return None
    item = line.get("item")
    price = line.get("price")
    vat = item.pop("vat", None) if item is not None else None
    if (
        "id" not in line
        or "quantity" not in line
        or "unit_code" not in line
        or "net_amount" not in line
        or item is None
        or "name" not in item
        or vat is None
        or "category_code" not in vat
        or price is None
        or "net_amount" not in price
    ):
        return None  # the general reader names what is missing
    line["vat"] = vat
    return line
