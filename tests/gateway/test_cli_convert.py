"""``gateway convert``, run as a user runs it: a subprocess, exit codes, output."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from formats.ubl import PROFILES
from tests.gateway.cli_env import cli_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/de-domestic-b2b.json"
EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# Expressible in every profile: buyer reference, payment instructions, seller contact,
# cities and post codes, electronic addresses on a scheme Peppol accepts (not EM), one note.
INVOICE: dict[str, Any] = {
    "number": "CONV-1",
    "issue_date": "2026-01-15",
    "type_code": "380",
    "currency_code": "EUR",
    "due_date": "2026-02-14",
    "buyer_reference": "04011000-12345-67",
    "notes": [{"text": "Thank you for your order."}],
    "seller": {
        "name": "Seller GmbH",
        "vat_identifier": "DE123456789",
        "electronic_address": {"value": "4001234000015", "scheme": "0088"},
        "address": {"line1": "Hauptstraße 1", "city": "Berlin", "post_code": "10115", "country_code": "DE"},
        "contact": {"name": "Accounts", "telephone": "+49 30 123456", "email": "accounts@example.de"},
    },
    "buyer": {
        "name": "Buyer AG",
        "electronic_address": {"value": "04011000-12345-67", "scheme": "0204"},
        "address": {"line1": "Marktplatz 2", "city": "Köln", "post_code": "50667", "country_code": "DE"},
    },
    "payment_instructions": {
        "means_code": "58",
        "credit_transfers": [{"account_identifier": "DE02120300000000202051"}],
    },
    "lines": [
        {
            "id": "1",
            "quantity": "3",
            "unit_code": "C62",
            "price": {"net_amount": "33.33"},
            "vat": {"category_code": "S", "rate": "19"},
            "item": {"name": "Widget"},
        },
        {
            "id": "2",
            "quantity": "1.5",
            "unit_code": "HUR",
            "price": {"net_amount": "80.00"},
            "vat": {"category_code": "S", "rate": "7"},
            "item": {"name": "Service"},
        },
    ],
}


def gateway(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=60,
        env=cli_env(columns=200),
        check=False,
    )


def stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8")


def no_traceback(done: subprocess.CompletedProcess[bytes]) -> None:
    for stream in (done.stdout.decode("utf-8", "replace"), stderr(done)):
        assert "Traceback" not in stream
        assert "internal error" not in stream


def write(tmp_path: Path, data: dict[str, Any], name: str = "invoice.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def ubl(done: subprocess.CompletedProcess[bytes]) -> etree._Element:
    assert done.returncode == EXIT_OK, stderr(done)
    return etree.fromstring(done.stdout)


def customization_id(root: etree._Element) -> str:
    return root.findtext(f"{{{CBC}}}CustomizationID") or ""


@pytest.fixture
def invoice() -> dict[str, Any]:
    return copy.deepcopy(INVOICE)


# ---------------------------------------------------------------- JSON → UBL


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_json_to_ubl_in_each_profile(tmp_path, invoice, profile):
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl", "--profile", profile)
    root = ubl(done)
    assert root.tag == f"{{{INVOICE_NS}}}Invoice"
    assert customization_id(root) == PROFILES[profile].customization_id
    assert root.findtext(f"{{{CBC}}}ID") == "CONV-1"
    assert done.stdout.startswith(b"<?xml")
    no_traceback(done)


def test_the_default_profile_is_en16931(tmp_path, invoice):
    root = ubl(gateway("convert", write(tmp_path, invoice), "--to", "ubl"))
    assert customization_id(root) == "urn:cen.eu:en16931:2017"


def test_an_example_as_xrechnung():
    root = ubl(gateway("convert", EXAMPLE, "--to", "ubl", "--profile", "xrechnung"))
    assert root.tag == f"{{{INVOICE_NS}}}Invoice"
    assert customization_id(root) == PROFILES["xrechnung"].customization_id


def test_a_credit_note_becomes_a_ubl_creditnote(tmp_path, invoice):
    invoice["type_code"] = "381"
    root = ubl(gateway("convert", write(tmp_path, invoice), "--to", "ubl", "--profile", "peppol"))
    assert root.tag == f"{{{CREDITNOTE_NS}}}CreditNote"
    assert customization_id(root) == PROFILES["peppol"].customization_id


def test_output_option_writes_the_file(tmp_path, invoice):
    source = write(tmp_path, invoice)
    target = tmp_path / "out.xml"
    done = gateway("convert", source, "--to", "ubl", "-o", target)
    assert done.returncode == EXIT_OK, stderr(done)
    assert done.stdout == b""
    assert target.read_bytes() == gateway("convert", source, "--to", "ubl").stdout
    assert etree.fromstring(target.read_bytes()).tag == f"{{{INVOICE_NS}}}Invoice"


def test_reads_standard_input(invoice):
    root = ubl(gateway("convert", "-", "--to", "ubl", stdin=json.dumps(invoice).encode()))
    assert root.findtext(f"{{{CBC}}}ID") == "CONV-1"


def test_line_rounding_is_passed_on(tmp_path, invoice):
    invoice["lines"] = [
        {
            "id": str(i),
            "quantity": "1",
            "unit_code": "C62",
            "price": {"net_amount": "0.10"},
            "vat": {"category_code": "S", "rate": "19"},
            "item": {"name": "Penny item"},
        }
        for i in range(1, 11)
    ]
    path = write(tmp_path, invoice)
    tax = f"{{{CBC}}}TaxAmount"
    totals = ubl(gateway("convert", path, "--to", "ubl"))
    line = ubl(gateway("convert", path, "--to", "ubl", "--rounding", "line"))
    assert totals.findtext(f".//{tax}") == "0.19"
    assert line.findtext(f".//{tax}") == "0.20"


# ---------------------------------------------------------------- problems: exit 1


def test_xrechnung_without_buyer_reference_names_the_term_and_rule(tmp_path, invoice):
    del invoice["buyer_reference"]
    target = tmp_path / "out.xml"
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl", "--profile", "xrechnung", "-o", target)
    assert done.returncode == EXIT_PROBLEMS
    err = stderr(done)
    assert "XRechnung" in err
    assert "$.buyer_reference" in err
    assert "BT-10" in err
    assert "BR-DE-15" in err
    assert done.stdout == b""
    assert not target.exists()
    no_traceback(done)


def test_peppol_refuses_an_email_endpoint(tmp_path, invoice):
    invoice["seller"]["electronic_address"] = {"value": "seller@example.de", "scheme": "EM"}
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl", "--profile", "peppol")
    assert done.returncode == EXIT_PROBLEMS
    assert "PEPPOL-EN16931-CL008" in stderr(done)
    assert "$.seller.electronic_address.scheme" in stderr(done)
    no_traceback(done)


def test_totals_that_disagree_are_refused(tmp_path, invoice):
    invoice["totals"] = {"amount_due": "1.00"}
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl")
    assert done.returncode == EXIT_PROBLEMS
    assert "BT-115" in stderr(done)
    assert done.stdout == b""
    no_traceback(done)


def test_an_invalid_invoice_lists_its_problems(tmp_path, invoice):
    invoice["currency_code"] = "EUX"
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl")
    assert done.returncode == EXIT_PROBLEMS
    assert "$.currency_code" in stderr(done)
    assert "BT-5" in stderr(done)
    no_traceback(done)


# ---------------------------------------------------------------- unreadable: exit 2


def test_malformed_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "number": "1",\n  "lines": [\n}\n', encoding="utf-8")
    done = gateway("convert", path, "--to", "ubl")
    assert done.returncode == EXIT_INPUT
    assert "broken.json" in stderr(done)
    assert "line 4" in stderr(done)
    no_traceback(done)


@pytest.mark.parametrize("to", ["ubl", "json"])
def test_malformed_xml(tmp_path, to):
    path = tmp_path / "broken.xml"
    path.write_text(f'<?xml version="1.0"?>\n<Invoice xmlns="{INVOICE_NS}">\n<x>\n</Invoice>\n')
    done = gateway("convert", path, "--to", to)
    assert done.returncode == EXIT_INPUT
    assert "not well-formed" in stderr(done)
    assert "line 4" in stderr(done)
    no_traceback(done)


def test_xml_with_a_doctype_is_refused(tmp_path):
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        f'<Invoice xmlns="{INVOICE_NS}">&e;</Invoice>\n'
    )
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_INPUT
    assert "DOCTYPE" in stderr(done)
    assert "root:" not in done.stdout.decode()
    no_traceback(done)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b"number: 1\n", "neither JSON, XML nor PDF"),
        ('{"number": "Müller"}'.encode("latin-1"), "UTF-8"),
        (b"<html><body/></html>", "not an invoice"),
    ],
    ids=["empty", "json-array", "yaml", "latin-1", "html"],
)
def test_unreadable_input(tmp_path, content, expected):
    path = tmp_path / "input"
    path.write_bytes(content)
    done = gateway("convert", path, "--to", "ubl")
    assert done.returncode == EXIT_INPUT
    assert expected in stderr(done)
    no_traceback(done)


def test_missing_file(tmp_path):
    done = gateway("convert", tmp_path / "nope.json", "--to", "ubl")
    assert done.returncode == EXIT_INPUT
    assert "nope.json" in stderr(done)
    no_traceback(done)


def test_unwritable_output(tmp_path, invoice):
    done = gateway("convert", write(tmp_path, invoice), "--to", "ubl", "-o", tmp_path / "no/such/dir.xml")
    assert done.returncode == EXIT_INPUT
    assert "cannot write" in stderr(done)
    no_traceback(done)


def test_an_empty_cii_names_what_is_missing(tmp_path):
    path = tmp_path / "factur-x.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice xmlns:rsm="{CII_NS}"/>\n'
    )
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_INPUT
    err = stderr(done)
    assert "cannot read the CII" in err
    assert "rsm:CrossIndustryInvoice" in err
    no_traceback(done)


def test_zugferd_1_is_recognised_and_refused(tmp_path):
    path = tmp_path / "ZUGFeRD-invoice.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>\n'
    )
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_INPUT
    assert "ZUGFeRD 1.0" in stderr(done)
    no_traceback(done)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "cannot read the PDF"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "PDF"),
    ],
    ids=["truncated", "no-invoice-inside"],
)
def test_a_pdf_without_a_readable_invoice_is_refused(tmp_path, content, expected):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_INPUT
    assert expected in stderr(done)
    no_traceback(done)


# ---------------------------------------------------------------- CII, Factur-X and the readable PDF


def cii_root(done: subprocess.CompletedProcess[bytes]) -> etree._Element:
    assert done.returncode == EXIT_OK, stderr(done)
    root = etree.fromstring(done.stdout)
    assert root.tag == f"{{{CII_NS}}}CrossIndustryInvoice"
    return root


def guideline(root: etree._Element) -> str:
    found = root.findtext("{*}ExchangedDocumentContext/{*}GuidelineSpecifiedDocumentContextParameter/{*}ID")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("en16931", "urn:cen.eu:en16931:2017"),
        ("extended", "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"),
        ("xrechnung", "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"),
    ],
)
def test_json_to_cii_in_a_profile(tmp_path, invoice, profile, expected):
    root = cii_root(gateway("convert", write(tmp_path, invoice), "--to", "cii", "--profile", profile))
    assert guideline(root) == expected


def test_minimum_refuses_what_it_cannot_carry_unless_told_to_omit(tmp_path, invoice):
    path = write(tmp_path, invoice)
    refused = gateway("convert", path, "--to", "cii", "--profile", "minimum")
    assert refused.returncode == EXIT_PROBLEMS
    assert "BT-" in stderr(refused)
    assert not refused.stdout
    root = cii_root(gateway("convert", path, "--to", "cii", "--profile", "minimum", "--omit-unsupported"))
    assert guideline(root) == "urn:factur-x.eu:1p0:minimum"


def test_a_ubl_profile_is_refused_for_cii(tmp_path, invoice):
    done = gateway("convert", write(tmp_path, invoice), "--to", "cii", "--profile", "peppol")
    assert done.returncode == EXIT_INPUT
    assert "not a cii profile" in stderr(done)


def test_json_to_facturx_and_back(tmp_path, invoice):
    pdf = tmp_path / "invoice.pdf"
    done = gateway("convert", write(tmp_path, invoice), "--to", "facturx", "--language", "de", "-o", pdf)
    assert done.returncode == EXIT_OK, stderr(done)
    assert pdf.read_bytes().startswith(b"%PDF-")
    back = gateway("convert", pdf, "--to", "json")
    assert back.returncode == EXIT_OK, stderr(back)
    data = json.loads(back.stdout)
    assert data["number"] == invoice["number"]
    assert data["process_control"]["specification_identifier"] == "urn:cen.eu:en16931:2017"
    # and on to UBL: the same invoice, any format to any format
    ubl_root = ubl(gateway("convert", pdf, "--to", "ubl"))
    assert ubl_root.findtext(f"{{{CBC}}}ID") == invoice["number"]


def test_a_facturx_input_keeps_its_profile(tmp_path, invoice):
    pdf = tmp_path / "invoice.pdf"
    made = gateway("convert", write(tmp_path, invoice), "--to", "facturx", "--profile", "extended", "-o", pdf)
    assert made.returncode == EXIT_OK, stderr(made)
    root = cii_root(gateway("convert", pdf, "--to", "cii"))
    assert guideline(root) == "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"


def test_json_to_the_readable_pdf(tmp_path, invoice):
    done = gateway("convert", write(tmp_path, invoice), "--to", "pdf", "--language", "fr")
    assert done.returncode == EXIT_OK, stderr(done)
    assert done.stdout.startswith(b"%PDF-")
    assert b"factur-x.xml" not in done.stdout


def test_ubl_to_cii(tmp_path, invoice):
    ubl_path = tmp_path / "invoice.xml"
    ubl_path.write_bytes(gateway("convert", write(tmp_path, invoice), "--to", "ubl").stdout)
    root = cii_root(gateway("convert", ubl_path, "--to", "cii"))
    number = root.findtext("{*}ExchangedDocument/{*}ID")
    assert number == invoice["number"]


@pytest.mark.parametrize(
    "args",
    [
        ("--to", "pdf", "--profile", "en16931"),
        ("--to", "ubl", "--language", "fr"),
        ("--to", "pdf", "--language", "tlh"),
        ("--to", "ubl", "--omit-unsupported"),
    ],
    ids=["profile-with-pdf", "language-with-ubl", "unknown-language", "omit-with-ubl"],
)
def test_options_that_do_not_apply(args):
    done = gateway("convert", EXAMPLE, *args)
    assert done.returncode == EXIT_INPUT
    assert "error:" in stderr(done)
    no_traceback(done)


@pytest.mark.parametrize(
    "args",
    [
        ("--to", "xml"),
        ("--to", "ubl", "--profile", "zugferd"),
        (),
        ("--to", "json", "--profile", "peppol"),
        ("--to", "json", "--rounding", "line"),
    ],
    ids=["unknown-target", "unknown-profile", "no-target", "profile-with-json", "rounding-with-json"],
)
def test_usage_errors(args):
    done = gateway("convert", EXAMPLE, *args)
    assert done.returncode == EXIT_INPUT
    no_traceback(done)


def test_json_to_json_is_a_usage_error():
    done = gateway("convert", EXAMPLE, "--to", "json")
    assert done.returncode == EXIT_INPUT
    assert "already canonical JSON" in stderr(done)


# ---------------------------------------------------------------- UBL → JSON


def _totals(data: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(str(v)) for k, v in data["totals"].items()}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_round_trip_keeps_the_totals(tmp_path, invoice, profile):
    source = write(tmp_path, invoice)
    calculated = gateway("convert", source, "--to", "ubl", "--profile", profile, "-o", tmp_path / "i.xml")
    assert calculated.returncode == EXIT_OK, stderr(calculated)
    done = gateway("convert", tmp_path / "i.xml", "--to", "json")
    assert done.returncode == EXIT_OK, stderr(done)
    back = json.loads(done.stdout)
    expected = json.loads(gateway("calculate", source).stdout)
    assert _totals(back) == _totals(expected)
    assert back["number"] == invoice["number"]
    assert len(back["lines"]) == len(invoice["lines"])
    no_traceback(done)


def test_round_trip_of_an_example(tmp_path):
    xml = tmp_path / "example.xml"
    assert gateway("convert", EXAMPLE, "--to", "ubl", "-o", xml).returncode == EXIT_OK
    done = gateway("convert", xml, "--to", "json", "-o", tmp_path / "back.json")
    assert done.returncode == EXIT_OK, stderr(done)
    back = json.loads((tmp_path / "back.json").read_text(encoding="utf-8"))
    expected = json.loads(gateway("calculate", EXAMPLE).stdout)
    assert _totals(back) == _totals(expected)
    # and the JSON it gives converts again, to the same UBL
    again = gateway("convert", tmp_path / "back.json", "--to", "ubl")
    assert again.returncode == EXIT_OK, stderr(again)
    assert again.stdout == xml.read_bytes()


def test_ubl_reads_from_standard_input():
    xml = gateway("convert", EXAMPLE, "--to", "ubl").stdout
    done = gateway("convert", "-", "--to", "json", stdin=xml)
    assert done.returncode == EXIT_OK, stderr(done)
    assert json.loads(done.stdout)["number"] == json.loads(EXAMPLE.read_text(encoding="utf-8"))["number"]


def test_ubl_to_ubl_changes_the_profile(tmp_path, invoice):
    xml = tmp_path / "en.xml"
    assert gateway("convert", write(tmp_path, invoice), "--to", "ubl", "-o", xml).returncode == EXIT_OK
    root = ubl(gateway("convert", xml, "--to", "ubl", "--profile", "xrechnung"))
    assert customization_id(root) == PROFILES["xrechnung"].customization_id


def test_a_ubl_element_that_cannot_be_read_names_its_path_and_line(tmp_path, invoice):
    xml = gateway("convert", write(tmp_path, invoice), "--to", "ubl").stdout
    broken = xml.replace(
        b"<cbc:IssueDate>2026-01-15</cbc:IssueDate>", b"<cbc:IssueDate>15.01.2026</cbc:IssueDate>"
    )
    assert broken != xml
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if b"15.01.2026" in text)
    path = tmp_path / "broken.xml"
    path.write_bytes(broken)
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_INPUT
    err = stderr(done)
    assert "IssueDate" in err
    assert f"line {line}" in err
    assert done.stdout == b""
    no_traceback(done)


UNKNOWN = b"<cac:Signature><cbc:ID>urn:oasis:names:specification:ubl:signature:1</cbc:ID></cac:Signature>"


def test_losses_are_warnings_and_strict_makes_them_fail(tmp_path, invoice):
    xml = gateway("convert", write(tmp_path, invoice), "--to", "ubl").stdout
    # cac:Signature is UBL 2.1 (it comes just before the seller) but no EN 16931 term
    lossy = xml.replace(b"<cac:AccountingSupplierParty>", UNKNOWN + b"\n  <cac:AccountingSupplierParty>", 1)
    path = tmp_path / "lossy.xml"
    path.write_bytes(lossy)
    done = gateway("convert", path, "--to", "json")
    assert done.returncode == EXIT_OK, stderr(done)
    err = stderr(done)
    assert "warning" in err
    assert "Signature" in err
    assert json.loads(done.stdout)["number"] == "CONV-1"
    strict = gateway("convert", path, "--to", "json", "--strict")
    assert strict.returncode == EXIT_PROBLEMS
    assert strict.stdout == done.stdout
    no_traceback(done)


def test_no_warnings_for_a_clean_round_trip(tmp_path, invoice):
    xml = tmp_path / "i.xml"
    assert gateway("convert", write(tmp_path, invoice), "--to", "ubl", "-o", xml).returncode == EXIT_OK
    done = gateway("convert", xml, "--to", "json", "--strict")
    assert done.returncode == EXIT_OK, stderr(done)
    assert "warning" not in stderr(done)


CORPUS_EXAMPLE = REPO.parent / "shared" / "corpus" / "en16931" / "ubl" / "examples" / "guide-example1.xml"


@pytest.mark.skipif(not CORPUS_EXAMPLE.exists(), reason="../shared/corpus not found")
def test_a_received_ubl_keeps_its_stated_amounts(tmp_path):
    """guide-example1's line amounts do not follow from quantity × price; converting must not
    change what the sender invoiced, so the stated amounts are written as stated."""
    out = tmp_path / "again.xml"
    done = gateway("convert", CORPUS_EXAMPLE, "--to", "ubl", "-o", out)
    assert done.returncode == EXIT_OK, stderr(done)
    ns = {
        "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
        "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    }
    before = etree.parse(str(CORPUS_EXAMPLE)).xpath(
        "//cac:LegalMonetaryTotal/cbc:PayableAmount/text()", namespaces=ns
    )
    after = etree.parse(str(out)).xpath("//cac:LegalMonetaryTotal/cbc:PayableAmount/text()", namespaces=ns)
    assert after == before
