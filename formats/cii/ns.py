"""UN/CEFACT Cross Industry Invoice D16B namespaces and the document identifiers around them."""

from __future__ import annotations

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
PREFIXES = {namespace: prefix for prefix, namespace in NAMESPACES.items()}

# ZUGFeRD 1.0 (2014) used a pre-D16B CII with its own root namespace; it is recognised and
# reported as such, not read.
ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"
