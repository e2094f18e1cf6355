"""Value types of the canonical invoice: exact decimals and checked codes.

Money, prices, quantities and percentages are ``Decimal``; a binary ``float`` is refused
because it cannot hold 0.10 exactly. Codes are checked against the official EN 16931
lists (see ``codes.py``); each error names the list and the rule (``BR-CL-*``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from formats.invoice.codes import CODE_LIST_NAMES, CodeList, is_valid


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise PydanticCustomError(
            "float_not_allowed",
            "binary floats cannot hold amounts exactly; give a JSON number, a string "
            'such as "12.50", or a Decimal',
        )
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "expected a decimal number, got a boolean")
    return value


def _max_decimals(places: int, rule: str) -> Callable[[Decimal], Decimal]:
    def check(value: Decimal) -> Decimal:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            raise PydanticCustomError(
                "too_many_decimals",
                "{rule}: at most {places} decimals are allowed, got {value}",
                {"rule": rule, "places": places, "value": str(value)},
            )
        return value

    return check


_Exact = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(allow_inf_nan=False),
    # plain notation in JSON: 1E+2 is written "100", which xs:decimal accepts too
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
]

Amount = Annotated[_Exact, AfterValidator(_max_decimals(2, "BR-DEC"))]
"""A monetary amount: at most two decimals (EN 16931 BR-DEC-*), may be negative."""

UnitPrice = Annotated[_Exact, Field(ge=0)]
"""A unit price (BT-146, BT-147, BT-148): any precision, never negative (BR-27, BR-28)."""

Quantity = Annotated[_Exact, Field()]
"""A quantity (BT-129): any precision; negative quantities are allowed (returns)."""

BaseQuantity = Annotated[_Exact, Field(gt=0)]
"""A price base quantity (BT-149): strictly positive."""

Percent = Annotated[_Exact, Field(ge=0, le=100)]
"""A percentage from 0 to 100 (allowance/charge percentages)."""

VatRate = Annotated[_Exact, Field(ge=0, le=100)]
"""A VAT rate in percent (BT-96, BT-103, BT-119, BT-152)."""


def _code(code_list: CodeList) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not is_valid(code_list, value):
            raise PydanticCustomError(
                "unknown_code",
                "{rule}: '{value}' is not a valid {name}",
                {"rule": code_list.value, "value": value, "name": CODE_LIST_NAMES[code_list]},
            )
        return value

    return check


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_code(CodeList.CURRENCY))]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$"), AfterValidator(_code(CodeList.COUNTRY))]
UnitCode = Annotated[str, AfterValidator(_code(CodeList.UNIT))]
InvoiceTypeCode = Annotated[str, Field(pattern=r"^[0-9]{1,3}$"), AfterValidator(_code(CodeList.INVOICE_TYPE))]
VatCategoryCode = Annotated[str, AfterValidator(_code(CodeList.VAT_CATEGORY))]
VatExemptionCode = Annotated[str, AfterValidator(_code(CodeList.VAT_EXEMPTION_REASON))]
PaymentMeansCode = Annotated[str, AfterValidator(_code(CodeList.PAYMENT_MEANS))]
AllowanceReasonCode = Annotated[str, AfterValidator(_code(CodeList.ALLOWANCE_REASON))]
ChargeReasonCode = Annotated[str, AfterValidator(_code(CodeList.CHARGE_REASON))]
ElectronicAddressScheme = Annotated[str, AfterValidator(_code(CodeList.ELECTRONIC_ADDRESS_SCHEME))]
PartyIdScheme = Annotated[str, AfterValidator(_code(CodeList.PARTY_ID_SCHEME))]
RegistrationScheme = Annotated[str, AfterValidator(_code(CodeList.REGISTRATION_SCHEME))]
LocationScheme = Annotated[str, AfterValidator(_code(CodeList.LOCATION_SCHEME))]
ItemStandardScheme = Annotated[str, AfterValidator(_code(CodeList.ITEM_STANDARD_SCHEME))]
ItemClassificationScheme = Annotated[str, AfterValidator(_code(CodeList.ITEM_CLASSIFICATION_SCHEME))]
ObjectScheme = Annotated[str, AfterValidator(_code(CodeList.OBJECT_SCHEME))]
MimeCode = Annotated[str, AfterValidator(_code(CodeList.MIME))]
VatDateCode = Annotated[str, AfterValidator(_code(CodeList.VAT_DATE_CODE))]
