"""TERMS: every EN 16931 business term and group, and where it lives in the model."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from formats.invoice import TERMS, Invoice, term_for_path

# EN 16931-1: BT-1 … BT-165 without BT-4 (which the norm does not define), BG-1 … BG-32.
EN16931_BTS = [f"BT-{n}" for n in range(1, 166) if n != 4]
EN16931_BGS = [f"BG-{n}" for n in range(1, 33)]
SUB_TERM = re.compile(r"^BT-\d+-\d$")


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (through Optional, list, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _all_models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Invoice]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_models(info.annotation))
    return seen


ALL_FIELDS = [(model, name) for model in _all_models() for name in model.model_fields]


def _resolve(path: str) -> None:
    """Walk ``path`` through the model, failing on a segment that is not a field."""
    model: type[BaseModel] = Invoice
    segments = path.split(".")
    for position, segment in enumerate(segments):
        name, is_item = (segment[:-3], True) if segment.endswith("[*]") else (segment, False)
        assert name in model.model_fields, f"{path}: {model.__name__} has no field {name!r}"
        annotation = model.model_fields[name].annotation
        if is_item:
            assert _is_list(annotation), f"{path}: {model.__name__}.{name} is not a list"
        if position < len(segments) - 1:
            [model] = _models(annotation)


@pytest.mark.parametrize("term_id", EN16931_BTS)
def test_every_business_term_is_listed(term_id):
    assert term_id in TERMS
    assert TERMS[term_id].id == term_id
    assert TERMS[term_id].name
    assert TERMS[term_id].path


@pytest.mark.parametrize("group_id", EN16931_BGS)
def test_every_business_group_is_listed(group_id):
    assert group_id in TERMS
    assert TERMS[group_id].path


def test_bt_4_does_not_exist():
    assert "BT-4" not in TERMS


def test_nothing_but_en16931_terms():
    known = set(EN16931_BTS) | set(EN16931_BGS)
    extra = {t for t in TERMS if t not in known and not SUB_TERM.match(t)}
    assert extra == set()
    for sub in (t for t in TERMS if SUB_TERM.match(t)):
        assert sub.rsplit("-", 1)[0] in TERMS, sub


def test_paths_are_unique():
    paths = [t.path for t in TERMS.values()]
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize("term_id", sorted(TERMS))
def test_every_term_path_is_a_model_field(term_id):
    _resolve(TERMS[term_id].path)


@pytest.mark.parametrize("term_id", sorted(TERMS))
def test_term_for_path_finds_each_term(term_id):
    concrete = "$." + TERMS[term_id].path.replace("[*]", "[7]")
    found = term_for_path(concrete)
    assert found is not None
    assert found.id == term_id


@pytest.mark.parametrize(
    ("path", "term_id"),
    [
        ("$.lines[3].price.net_amount", "BT-146"),
        ("lines[3].price.net_amount", "BT-146"),
        ("$.totals.amount_due", "BT-115"),
        ("$.seller.address.country_code", "BT-40"),
        ("$.buyer.address.country_code", "BT-55"),
        ("$.tax_representative.address.line3", "BT-164"),
        ("$.delivery.address.line3", "BT-165"),
        ("$.vat_breakdown[0].tax_amount", "BT-117"),
        ("$.lines[12].allowances[2].amount", "BT-136"),
        ("$.allowances[2].amount", "BT-92"),
        ("$.seller.identifiers[1]", "BT-29"),  # an identifier object stands for its value
        ("$.lines[0].colour", "BG-25"),  # an unknown field: the nearest group
        ("$.lines[0].price.discount.extra", "BT-147"),
        ("$.seller", "BG-4"),
    ],
)
def test_term_for_path(path, term_id):
    found = term_for_path(path)
    assert found is not None
    assert found.id == term_id


def test_term_for_path_example_from_the_brief():
    found = term_for_path("$.lines[3].price.net_amount")
    assert found is not None
    assert found.id == "BT-146"
    assert found.name == "Item net price"


@pytest.mark.parametrize("path", ["$", "", "$.nonsense", "$.nonsense.deeper[2]"])
def test_term_for_path_outside_the_model(path):
    assert term_for_path(path) is None


@pytest.mark.parametrize(
    ("path", "term_id"),
    [
        ("$.lines", "BG-25"),
        ("$.notes", "BG-1"),
        ("$.vat_breakdown", "BG-23"),
        ("$.payment_instructions.credit_transfers", "BG-17"),
        ("$.lines[0].allowances", "BG-27"),
    ],
)
def test_term_for_a_whole_list(path, term_id):
    found = term_for_path(path)
    assert found is not None
    assert found.id == term_id


@pytest.mark.parametrize(
    ("model", "name"),
    [
        pytest.param(
            model,
            name,
            id=f"{model.__name__}.{name}",
        )
        for model, name in ALL_FIELDS
    ],
)
def test_every_model_field_names_its_term(model, name):
    description = model.model_fields[name].description or ""
    assert re.search(r"\b(BT|BG)-\d+", description), f"{model.__name__}.{name}: {description!r}"


def test_every_model_field_is_checked():
    names = {f"{m.__name__}.{n}" for m, n in ALL_FIELDS}
    assert "Invoice.lines" in names
    assert "ItemAttribute.value" in names
    assert "Attachment.content" in names
    assert len(ALL_FIELDS) > 150
