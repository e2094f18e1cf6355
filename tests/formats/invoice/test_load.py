"""load_json(): exact numbers, and refusing what an invoice must not be read from."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from formats.errors import GatewayError, InvoiceInputError
from formats.invoice import calculate, check_invoice, dump_json, load_json, parse_invoice
from formats.invoice.load import MAX_DEPTH


def refused(data: bytes | str, **kwargs: int) -> InvoiceInputError:
    with pytest.raises(InvoiceInputError) as info:
        load_json(data, **kwargs)
    return info.value


def test_reads_an_object():
    assert load_json(b'{"number": "A-1", "lines": []}') == {"number": "A-1", "lines": []}


def test_reads_str_input_too():
    assert load_json('{"name": "Müller"}') == {"name": "Müller"}


def test_utf8_bom_is_accepted():
    assert load_json('\ufeff{"name": "Müller"}'.encode()) == {"name": "Müller"}


# ---------------------------------------------------------------- numbers


def test_numbers_become_exact_decimals():
    data = load_json(b'{"a": 0.1, "b": 1.10, "c": 10, "d": -0.005, "e": 1e2, "f": 12345678901234567890.12}')
    assert data["a"] == Decimal("0.1")
    assert isinstance(data["a"], Decimal)
    assert str(data["a"]) == "0.1"
    assert str(data["b"]) == "1.10"  # trailing zero kept: the text is the value
    assert data["c"] == Decimal(10)
    assert isinstance(data["c"], Decimal)
    assert data["d"] == Decimal("-0.005")
    assert data["e"] == Decimal(100)
    assert data["f"] == Decimal("12345678901234567890.12")


def test_decimal_sum_is_exact():
    data = load_json(b'{"a": [0.1, 0.2]}')
    assert sum(data["a"]) == Decimal("0.3")


def test_no_float_anywhere():
    data = load_json(b'{"a": {"b": [1.5, {"c": 2.25}]}}')
    assert data == {"a": {"b": [Decimal("1.5"), {"c": Decimal("2.25")}]}}
    assert not isinstance(data["a"]["b"][0], float)


# ---------------------------------------------------------------- refused input


def test_malformed_json_gives_line_and_column():
    error = refused(b'{\n  "number": "A-1",\n  "lines": [}\n}')
    assert error.line == 3
    assert error.column is not None
    assert error.column > 1
    assert "not valid JSON" in str(error)
    assert "line 3" in str(error)
    assert "column" in str(error)


def test_error_is_a_gateway_error():
    assert isinstance(refused(b"{"), GatewayError)


def test_trailing_garbage_refused():
    error = refused(b'{"a": 1} {"b": 2}')
    assert error.line == 1


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1, "a": 2}', b'{"a": 1, "a": 1}', b'{"x": {"lines": [{"id": "1", "id": "2"}]}}'],
)
def test_duplicate_keys_refused(data):
    error = refused(data)
    assert "given twice" in str(error)


def test_duplicate_key_is_named():
    assert "'currency_code'" in str(refused(b'{"currency_code": "EUR", "currency_code": "USD"}'))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(constant):
    error = refused(f'{{"amount": {constant}}}'.encode())
    assert constant in str(error)


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"[]", "list"), (b'"invoice"', "str"), (b"42", "Decimal"), (b"null", "NoneType"), (b"true", "bool")],
)
def test_top_level_must_be_an_object(data, kind):
    error = refused(data)
    assert "JSON object" in str(error)
    assert kind in str(error)


@pytest.mark.parametrize("data", [b"", "", b"   \n\t", b"\xef\xbb\xbf"], ids=["bytes", "str", "blank", "bom"])
def test_empty_input_refused(data):
    assert "empty" in str(refused(data))


def test_too_large_refused_before_parsing():
    data = json.dumps({"notes": [{"text": "x" * 100}]}).encode()
    error = refused(data, max_bytes=50)
    assert str(len(data)) in str(error)
    assert "50" in str(error)


def test_exactly_max_bytes_is_accepted():
    data = b'{"a": 1}'
    assert load_json(data, max_bytes=len(data)) == {"a": Decimal(1)}


def test_too_large_counts_utf8_bytes_of_str_input():
    text = '{"a": "' + "é" * 30 + '"}'  # 39 characters, 69 bytes
    refused(text, max_bytes=60)


def test_nesting_just_within_the_limit_is_accepted():
    data = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    nested = '{"a": ' + data + "}"
    assert load_json(nested)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 1_000, 200_000])
def test_too_deep_nesting_refused(depth):
    data = '{"a": ' + "[" * depth + "]" * depth + "}"
    assert "nested" in str(refused(data))


def test_too_deep_objects_refused():
    depth = 100
    data = '{"a": ' * depth + "1" + "}" * depth
    assert str(MAX_DEPTH) in str(refused(data))


@pytest.mark.parametrize(
    ("data", "byte"),
    [(b"\xff{}", 0), (b'{"name": "M\xfcller"}', 11), ("{}".encode("utf-16"), 0)],
    ids=["ff", "latin-1", "utf-16"],
)
def test_non_utf8_bytes_refused(data, byte):
    error = refused(data)
    assert "UTF-8" in str(error)
    assert f"byte {byte}" in str(error)


def test_str_with_lone_surrogate_is_an_input_error():
    refused('{"name": "\ud800"}')


# ---------------------------------------------------------------- through check_invoice


def test_check_invoice_raises_input_error_for_unreadable_bytes():
    with pytest.raises(InvoiceInputError) as info:
        check_invoice(b'{"number": ')
    assert info.value.line == 1


def test_check_invoice_reports_problems_for_readable_json():
    result = check_invoice(b'{"number": "1"}')
    assert not result.ok
    assert result.invoice is None


# ---------------------------------------------------------------- dump_json


def test_dump_json_writes_exact_amounts_and_leaves_out_empty_terms(minimal_invoice):
    minimal_invoice["lines"][0]["price"]["net_amount"] = "0.10"
    calculated = calculate(parse_invoice(minimal_invoice))
    text = dump_json(calculated)
    assert text.endswith("\n")
    data = json.loads(text)
    assert data["lines"][0]["net_amount"] == "0.10"  # a string, never a float
    assert data["totals"]["amount_due"] == "0.12"
    assert "allowances" not in data  # [] left out
    assert "process_control" not in data  # {} left out
    assert "payee" not in data  # None left out
    assert "identifiers" not in data["seller"]
    assert parse_invoice(load_json(text)) == calculated


def test_dump_json_keeps_non_ascii_text(minimal_invoice):
    minimal_invoice["seller"]["name"] = "Müller & Søn — 日本"
    assert "Müller & Søn — 日本" in dump_json(parse_invoice(minimal_invoice))
