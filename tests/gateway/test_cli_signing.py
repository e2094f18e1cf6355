"""``gateway keys``, ``gateway sign`` and ``gateway verify`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from lxml import etree

from formats.facturx import to_facturx
from formats.invoice import load_json, parse_invoice
from gateway.keystore import KeyVault
from gateway.secretbox import SecretBox, generate_master_key
from tests.gateway.cli_env import cli_env
from tests.pki import p12, pem, pki, trust_pem
from tests.tsa import tsa_server

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "fixtures" / "ubl-minimal.xml"
PASSWORD = "Corr3ct-Horse"


class Env:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.master = generate_master_key()
        self.vars = {
            "GATEWAY_HOME": str(base / "home"),
            "GATEWAY_MASTER_KEY": self.master,
            "SIGNING_PW": PASSWORD,
        }
        self.root_pem = base / "root.pem"
        self.root_pem.write_bytes(trust_pem())

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = cli_env(columns=200, **{**self.vars, **extra})
        if "GATEWAY_TRUST_STORE" not in extra:  # only what the test configures
            env.pop("GATEWAY_TRUST_STORE", None)
        for name in [k for k, v in extra.items() if v == "<unset>"]:
            env.pop(name)
        result = subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """A vault with acme/main (RSA, trusted) and acme/mallory (under an unrelated root)."""
    environment = Env(tmp_path_factory.mktemp("signing-cli"))
    vault = KeyVault(Path(environment.vars["GATEWAY_HOME"]) / "keys", SecretBox.from_env(environment.vars))
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    vault.add("acme", "mallory", p12=p12(pki().untrusted, PASSWORD), password=PASSWORD)
    return environment


@pytest.fixture(scope="module")
def facturx_pdf() -> bytes:
    data = load_json((ROOT / "examples" / "large-500-lines.json").read_bytes())
    return to_facturx(parse_invoice({**data, "lines": data["lines"][:10]}), "en16931")


def _copy(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- keys


def test_keys_add_list_remove(tmp_path):
    env = Env(tmp_path)
    p12_file = _copy(tmp_path, "seller.p12", p12(pki().rsa, PASSWORD))
    key, certs = pem(pki().ecdsa, PASSWORD)
    key_file, cert_file = _copy(tmp_path, "key.pem", key), _copy(tmp_path, "cert.pem", certs)

    added = env.run(
        "keys",
        "add",
        "--tenant",
        "acme",
        "--name",
        "main",
        "--p12",
        str(p12_file),
        "--password-env",
        "SIGNING_PW",
    )
    assert added.returncode == 0, added.stderr
    assert "stored acme/main: CN=Seller GmbH (RSA)" in added.stdout
    added = env.run(
        "keys",
        "add",
        "--tenant",
        "globex",
        "--name",
        "ec-1",
        "--key",
        str(key_file),
        "--cert",
        str(cert_file),
        "--password-env",
        "SIGNING_PW",
    )
    assert added.returncode == 0, added.stderr

    listed = env.run("keys", "list", "--json")
    assert listed.returncode == 0
    keys = json.loads(listed.stdout)
    assert [(k["tenant"], k["name"], k["algorithm"]) for k in keys] == [
        ("acme", "main", "RSA"),
        ("globex", "ec-1", "ECDSA"),
    ]
    assert keys[0]["fingerprint_sha256"] == pki().rsa.certificate.fingerprint(hashes.SHA256()).hex()
    text = env.run("keys", "list", "--tenant", "globex")
    assert "globex/ec-1: CN=Seller GmbH (ECDSA)" in text.stdout
    assert "acme" not in text.stdout

    duplicate = env.run(
        "keys",
        "add",
        "--tenant",
        "acme",
        "--name",
        "main",
        "--p12",
        str(p12_file),
        "--password-env",
        "SIGNING_PW",
    )
    assert duplicate.returncode == 2
    assert "already has a key named 'main'" in duplicate.stderr

    removed = env.run("keys", "remove", "--tenant", "acme", "--name", "main")
    assert removed.returncode == 0
    assert [k["name"] for k in json.loads(env.run("keys", "list", "--json").stdout)] == ["ec-1"]
    again = env.run("keys", "remove", "--tenant", "acme", "--name", "main")
    assert again.returncode == 2
    assert "has no key named 'main'" in again.stderr


def test_keys_add_refusals(tmp_path):
    env = Env(tmp_path)
    good = _copy(tmp_path, "seller.p12", p12(pki().rsa, PASSWORD))
    expired = _copy(tmp_path, "expired.p12", p12(pki().expired, PASSWORD))
    base = ("keys", "add", "--tenant", "acme", "--name", "main")

    wrong = env.run(*base, "--p12", str(good), "--password-env", "WRONG_PW", WRONG_PW="nope")
    assert wrong.returncode == 1
    assert "password is wrong" in wrong.stderr
    assert "nothing was stored" in wrong.stderr
    no_password = env.run(*base, "--p12", str(good))  # not interactive: no prompt, no password
    assert no_password.returncode == 1
    assert "--password-env" in no_password.stderr
    old = env.run(*base, "--p12", str(expired), "--password-env", "SIGNING_PW")
    assert old.returncode == 1
    assert "expired on" in old.stderr
    unset = env.run(*base, "--p12", str(good), "--password-env", "NOT_THERE")
    assert unset.returncode == 2
    assert "NOT_THERE" in unset.stderr
    traversal = env.run(
        "keys",
        "add",
        "--tenant",
        "../x",
        "--name",
        "main",
        "--p12",
        str(good),
        "--password-env",
        "SIGNING_PW",
    )
    assert traversal.returncode == 2
    assert "invalid tenant name" in traversal.stderr
    both = env.run(*base, "--p12", str(good), "--key", str(good))
    assert both.returncode == 2
    missing = env.run(*base, "--p12", str(tmp_path / "absent.p12"), "--password-env", "SIGNING_PW")
    assert missing.returncode == 2
    assert "cannot read PKCS#12 file" in missing.stderr
    no_master = env.run(
        *base, "--p12", str(good), "--password-env", "SIGNING_PW", GATEWAY_MASTER_KEY="<unset>"
    )
    assert no_master.returncode == 2
    assert "GATEWAY_MASTER_KEY is not set" in no_master.stderr
    bad_master = env.run(
        *base, "--p12", str(good), "--password-env", "SIGNING_PW", GATEWAY_MASTER_KEY="dG9vIHNob3J0"
    )
    assert bad_master.returncode == 2
    assert "GATEWAY_MASTER_KEY must decode to 32 bytes" in bad_master.stderr
    assert json.loads(env.run("keys", "list", "--json").stdout) == []  # nothing stored by any


def test_no_password_or_key_text_in_any_output(tmp_path):
    env = Env(tmp_path)
    key, certs = pem(pki().rsa, None)  # an unencrypted PEM key: the worst case if it leaked
    key_file, cert_file = _copy(tmp_path, "key.pem", key), _copy(tmp_path, "cert.pem", certs)
    p12_file = _copy(tmp_path, "seller.p12", p12(pki().rsa, PASSWORD))
    outputs = [
        env.run(
            "keys",
            "add",
            "--tenant",
            "acme",
            "--name",
            "pem",
            "--key",
            str(key_file),
            "--cert",
            str(cert_file),
        ),
        env.run(
            "keys",
            "add",
            "--tenant",
            "acme",
            "--name",
            "p12",
            "--p12",
            str(p12_file),
            "--password-env",
            "SIGNING_PW",
        ),
        env.run(
            "keys",
            "add",
            "--tenant",
            "acme",
            "--name",
            "bad",
            "--p12",
            str(p12_file),
            "--password-env",
            "WRONG_PW",
            WRONG_PW=PASSWORD + "!",
        ),
        env.run("keys", "list"),
        env.run("keys", "list", "--json"),
        env.run(
            "sign",
            str(MINIMAL),
            "--tenant",
            "acme",
            "--key",
            "p12",
            "-o",
            str(tmp_path / "s.xml"),
            GATEWAY_MASTER_KEY=generate_master_key(),
        ),  # wrong master key
        env.run("sign", str(MINIMAL), "--tenant", "acme", "--key", "nope", "-o", str(tmp_path / "s.xml")),
    ]
    assert outputs[0].returncode == outputs[1].returncode == 0
    assert outputs[2].returncode == 1
    assert "does not decrypt" in outputs[5].stderr
    key_lines = [line for line in key.decode().splitlines() if "-----" not in line]
    for result in outputs:
        text = result.stdout + result.stderr
        assert PASSWORD not in text
        assert "PRIVATE KEY" not in text
        assert env.master not in text
        assert not any(line in text for line in key_lines)


# ---------------------------------------------------------------- sign and verify


def test_sign_and_verify_ubl(env, tmp_path):
    source = _copy(tmp_path, "invoice.xml", MINIMAL.read_bytes())
    signed = env.run("sign", str(source), "--tenant", "acme", "--key", "main")
    assert signed.returncode == 0, signed.stderr
    target = tmp_path / "invoice.signed.xml"
    tree = etree.fromstring(target.read_bytes())
    assert tree.xpath("count(//*[local-name()='SignatureValue'])") == 1
    assert source.read_bytes() == MINIMAL.read_bytes()
    assert not list(tmp_path.glob("*.tmp"))

    text = env.run("verify", str(target), "--trust", str(env.root_pem))
    assert text.returncode == 0, text.stdout + text.stderr
    assert "✓ valid" in text.stdout
    assert "CN=Seller GmbH (RSA)" in text.stdout
    assert "CN=Test Issuing CA" in text.stdout
    assert f"{pki().rsa.certificate.serial_number:#x}" in text.stdout
    assert "✓ intact, ✓ covering the whole document, ✓ trusted, ✓ valid at signing time" in text.stdout

    as_json = env.run("verify", str(target), "--format", "json", GATEWAY_TRUST_STORE=str(env.root_pem))
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["valid"] is True
    assert report["document_kind"] == "UBL"
    (signature,) = report["signatures"]
    assert signature["kind"] == "XAdES"
    assert signature["signer"]["subject"].startswith("CN=Seller GmbH (RSA)")
    assert signature["signing_time"]


def test_sign_and_verify_facturx_pdf(env, tmp_path, facturx_pdf):
    source = _copy(tmp_path, "invoice.pdf", facturx_pdf)
    out = tmp_path / "out" / "signed.pdf"
    out.parent.mkdir()
    signed = env.run("sign", str(source), "--tenant", "acme", "--key", "main", "-o", str(out))
    assert signed.returncode == 0, signed.stderr
    data = out.read_bytes()
    assert data.startswith(facturx_pdf)  # an incremental update: the original bytes stay
    verified = env.run("verify", str(out), "--trust", str(env.root_pem), "--format", "json")
    assert verified.returncode == 0, verified.stdout
    report = json.loads(verified.stdout)
    assert report["valid"] is True
    assert report["signatures"][0]["kind"] == "PAdES"
    assert report["signatures"][0]["covers_whole_document"] is True

    # a byte in a comment near the start: still a readable PDF, but not the bytes signed
    changed = data.replace(b"ReportLab Generated", b"ReportLab Generatex", 1)
    assert changed != data
    tampered = _copy(tmp_path, "tampered.pdf", changed)
    result = env.run("verify", str(tampered), "--trust", str(env.root_pem))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ invalid" in result.stdout
    assert "✗ not intact" in result.stdout


def test_tampered_xml_exits_1_with_the_reason(env, tmp_path):
    source = _copy(tmp_path, "invoice.xml", MINIMAL.read_bytes())
    assert env.run("sign", str(source), "--tenant", "acme", "--key", "main").returncode == 0
    signed = (tmp_path / "invoice.signed.xml").read_bytes()
    changed = signed.replace(b">119.00</cbc:TaxInclusiveAmount>", b">1.00</cbc:TaxInclusiveAmount>")
    assert changed != signed
    tampered = _copy(tmp_path, "tampered.xml", changed)
    result = env.run("verify", str(tampered), "--trust", str(env.root_pem))
    assert result.returncode == 1
    assert "✗ invalid" in result.stdout
    assert "problem:" in result.stdout
    report = json.loads(
        env.run("verify", str(tampered), "--trust", str(env.root_pem), "--format", "json").stdout
    )
    assert report["valid"] is False
    assert report["signatures"][0]["intact"] is False
    assert report["signatures"][0]["problems"]


def test_untrusted_and_unsigned_exit_1(env, tmp_path):
    source = _copy(tmp_path, "invoice.xml", MINIMAL.read_bytes())
    out = tmp_path / "mallory.xml"
    assert (
        env.run("sign", str(source), "--tenant", "acme", "--key", "mallory", "-o", str(out)).returncode == 0
    )
    untrusted = env.run("verify", str(out), "--trust", str(env.root_pem))
    assert untrusted.returncode == 1
    assert "✓ intact" in untrusted.stdout
    assert "✗ not trusted" in untrusted.stdout
    assert "does not chain to the trust store" in untrusted.stdout
    no_store = env.run("verify", str(out))
    assert no_store.returncode == 1
    assert "no trust store configured" in no_store.stdout
    unsigned = env.run("verify", str(source), "--trust", str(env.root_pem))
    assert unsigned.returncode == 1
    assert "no signature found" in unsigned.stdout


def test_unreadable_input_and_usage_errors_exit_2(env, tmp_path):
    text = _copy(tmp_path, "notes.txt", b"hello world")
    broken = _copy(tmp_path, "broken.xml", b"<Invoice><unclosed>")
    xxe = _copy(tmp_path, "xxe.xml", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    output = tmp_path / "o.xml"
    for path in (text, broken, xxe, tmp_path / "absent.xml"):
        verified = env.run("verify", str(path), "--trust", str(env.root_pem))
        assert verified.returncode == 2, (path, verified.stdout, verified.stderr)
        assert "error:" in verified.stderr
        signed = env.run("sign", str(path), "--tenant", "acme", "--key", "main", "-o", str(output))
        assert signed.returncode == 2, (path, signed.stdout, signed.stderr)
    assert not output.exists()
    bad_trust = env.run("verify", str(MINIMAL), "--trust", str(text))
    assert bad_trust.returncode == 2
    assert "trust store" in bad_trust.stderr
    unknown_key = env.run("sign", str(MINIMAL), "--tenant", "acme", "--key", "nope", "-o", str(output))
    assert unknown_key.returncode == 2
    assert "has no key named 'nope'" in unknown_key.stderr


def test_sign_refuses_to_overwrite_input_or_sign_twice(env, tmp_path):
    source = _copy(tmp_path, "invoice.xml", MINIMAL.read_bytes())
    same = env.run("sign", str(source), "--tenant", "acme", "--key", "main", "-o", str(source))
    assert same.returncode == 2
    assert "refusing to overwrite the input" in same.stderr
    assert source.read_bytes() == MINIMAL.read_bytes()
    assert env.run("sign", str(source), "--tenant", "acme", "--key", "main").returncode == 0
    twice = env.run(
        "sign",
        str(tmp_path / "invoice.signed.xml"),
        "--tenant",
        "acme",
        "--key",
        "main",
        "-o",
        str(tmp_path / "twice.xml"),
    )
    assert twice.returncode == 1
    assert "already signed" in twice.stderr
    assert not (tmp_path / "twice.xml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice.signed.xml", "invoice.xml"]


@pytest.mark.parametrize("kind", ["xml", "pdf"])
def test_sign_with_a_timestamp_authority(env, tmp_path, facturx_pdf, kind):
    source = _copy(tmp_path, f"invoice.{kind}", MINIMAL.read_bytes() if kind == "xml" else facturx_pdf)
    with tsa_server() as url:
        signed = env.run("sign", str(source), "--tenant", "acme", "--key", "main", "--tsa", url)
    assert signed.returncode == 0, signed.stderr
    result = env.run(
        "verify", str(tmp_path / f"invoice.signed.{kind}"), "--trust", str(env.root_pem), "--format", "json"
    )
    assert result.returncode == 0, result.stdout
    (signature,) = json.loads(result.stdout)["signatures"]
    assert signature["timestamp_time"]
    assert signature["level"].endswith("T")


def test_unreachable_timestamp_authority_writes_nothing(env, tmp_path):
    source = _copy(tmp_path, "invoice.xml", MINIMAL.read_bytes())
    with tsa_server(mode="http-error") as url:
        signed = env.run("sign", str(source), "--tenant", "acme", "--key", "main", "--tsa", url)
    assert signed.returncode == 1
    assert "nothing was written" in signed.stderr
    assert not (tmp_path / "invoice.signed.xml").exists()
