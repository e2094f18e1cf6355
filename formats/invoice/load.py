"""Reading an invoice from JSON bytes, safely, and writing it back.

Numbers become ``Decimal`` straight from the text (``0.1`` stays exactly 0.1), a key given
twice is refused rather than silently keeping the last, ``NaN``/``Infinity`` are refused,
and the input is bounded in size and nesting before it is parsed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from formats.errors import InvoiceInputError

MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest invoice JSON accepted (embedded attachments are base64 inside it)."""
MAX_DEPTH = 32


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvoiceInputError(f"the key {key!r} is given twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise InvoiceInputError(f"{name} is not a number an invoice can hold")


def _depth(value: Any, level: int = 0) -> None:
    if level > MAX_DEPTH:
        raise InvoiceInputError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for item in value.values():
            _depth(item, level + 1)
    elif isinstance(value, list):
        for item in value:
            _depth(item, level + 1)


def load_json(data: bytes | str, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Parse invoice JSON into plain Python data (a dict), or raise ``InvoiceInputError``."""
    try:
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
    except UnicodeEncodeError as exc:
        raise InvoiceInputError(f"the input is not valid Unicode text (character {exc.start})") from None
    if size > max_bytes:
        raise InvoiceInputError(f"the input is {size} bytes; the limit is {max_bytes}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvoiceInputError(f"the input is not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    if not text.strip():
        raise InvoiceInputError("the input is empty")
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise InvoiceInputError(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InvoiceInputError(f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    _depth(value)
    if not isinstance(value, dict):
        raise InvoiceInputError(f"an invoice is a JSON object; this input is a JSON {type(value).__name__}")
    return value


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def dump_json(invoice: BaseModel) -> str:
    """An invoice as JSON text: amounts as exact strings, empty and absent terms left out."""
    data = _prune(invoice.model_dump(mode="json"))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
