"""The key vault: sealed at rest, bound to tenant and name, never showing a secret."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from formats.errors import SigningError
from formats.signature import load_pkcs12
from gateway import keystore
from gateway.keystore import KeyVault, KeyVaultError
from gateway.secretbox import SecretBox, SecretBoxError, generate_master_key
from tests.pki import p12, pem, pki

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(bytes(range(32)))


@pytest.fixture
def vault(tmp_path: Path, box: SecretBox) -> KeyVault:
    return KeyVault(tmp_path / "keys", box)


def _pem_text(password: str | None = PASSWORD) -> tuple[bytes, bytes]:
    return pem(pki().rsa, password)


def test_round_trip_pkcs12_and_pem(vault):
    info = vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    key, certs = _pem_text()
    vault.add(
        "acme",
        "backup.ec",
        key_pem=pem(pki().ecdsa, PASSWORD)[0],
        cert_pem=pem(pki().ecdsa)[1],
        password=PASSWORD,
    )
    vault.add("globex", "main", key_pem=key, cert_pem=certs, password=PASSWORD)
    assert info.subject == pki().rsa.certificate.subject.rfc4514_string()
    assert info.algorithm == "RSA"
    assert info.serial == f"{pki().rsa.certificate.serial_number:#x}"
    identity = vault.get("acme", "main")
    assert identity.certificate == pki().rsa.certificate
    assert identity.chain == (pki().intermediate.certificate,)
    assert vault.get("acme", "backup.ec").algorithm == "ECDSA"
    assert vault.get("globex", "main").certificate == pki().rsa.certificate
    assert [(k.tenant, k.name) for k in vault.list()] == [
        ("acme", "backup.ec"),
        ("acme", "main"),
        ("globex", "main"),
    ]
    assert [k.name for k in vault.list("globex")] == ["main"]
    vault.remove("acme", "main")
    assert [k.name for k in vault.list("acme")] == ["backup.ec"]
    with pytest.raises(KeyVaultError, match="has no key named 'main'"):
        vault.get("acme", "main")
    with pytest.raises(KeyVaultError, match="has no key named"):
        vault.remove("acme", "main")


def test_password_less_pkcs12(vault):
    vault.add("acme", "plain", p12=p12(pki().ecdsa, None))
    assert vault.get("acme", "plain").certificate == pki().ecdsa.certificate


def test_records_are_sealed_and_private(vault, tmp_path):
    key, _ = _pem_text(None)  # an unencrypted PEM key: its text must not be in the file
    vault.add("acme", "main", key_pem=key, cert_pem=_pem_text()[1])
    vault.add("acme", "p12", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    record = tmp_path / "keys" / "acme" / "main.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "acme").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    raw = record.read_bytes() + (tmp_path / "keys" / "acme" / "p12.json").read_bytes()
    assert b"PRIVATE KEY" not in raw
    assert key.split(b"\n")[1] not in raw  # not even one line of base64 key text
    assert PASSWORD.encode() not in raw
    assert base64.b64encode(PASSWORD.encode()) not in raw
    assert not list((tmp_path / "keys" / "acme").glob("*.tmp"))  # atomic writes leave nothing


def test_nonce_is_fresh_per_record(vault, tmp_path):
    data = p12(pki().rsa, PASSWORD)
    vault.add("acme", "one", p12=data, password=PASSWORD)
    vault.add("acme", "two", p12=data, password=PASSWORD)
    one = json.loads((tmp_path / "keys" / "acme" / "one.json").read_text())["sealed"]
    two = json.loads((tmp_path / "keys" / "acme" / "two.json").read_text())["sealed"]
    assert one["material"][:24] != two["material"][:24]
    assert one["password"] != two["password"]


def test_wrong_master_key_is_a_clear_error(vault, tmp_path):
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    other = KeyVault(tmp_path / "keys", SecretBox(bytes(32)))
    with pytest.raises(SecretBoxError, match="GATEWAY_MASTER_KEY is not the key it was stored with"):
        other.get("acme", "main")
    assert [k.name for k in other.list()] == ["main"]  # metadata needs no master key


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is not set"),
        ("not base64!!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "must decode to 32 bytes"),
    ],
)
def test_missing_or_malformed_master_key_names_the_variable(value, message):
    with pytest.raises(SecretBoxError, match=message) as caught:
        SecretBox.from_env({"GATEWAY_MASTER_KEY": value})
    assert "GATEWAY_MASTER_KEY" in str(caught.value)


def test_master_key_from_env_and_generated():
    key = generate_master_key()
    assert len(base64.b64decode(key)) == 32
    box = SecretBox.from_env({"GATEWAY_MASTER_KEY": key})
    assert box.open(box.seal(b"x", b"aad"), b"aad") == b"x"
    with pytest.raises(SecretBoxError):
        box.open(box.seal(b"x", b"aad"), b"other")
    assert key not in repr(box)


@pytest.mark.parametrize("destination", [("globex", "main"), ("acme", "renamed")])
def test_record_moved_to_another_tenant_or_name_fails(vault, tmp_path, destination):
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    source = tmp_path / "keys" / "acme" / "main.json"
    target = tmp_path / "keys" / destination[0] / f"{destination[1]}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(source.read_bytes())
    with pytest.raises(SecretBoxError, match="moved from another tenant or name"):
        vault.get(*destination)


def test_edited_metadata_fails(vault, tmp_path):
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    vault.add("acme", "other", p12=p12(pki().ecdsa, PASSWORD), password=PASSWORD)
    path = tmp_path / "keys" / "acme" / "main.json"
    record = json.loads(path.read_text())
    other = json.loads((tmp_path / "keys" / "acme" / "other.json").read_text())
    record["metadata"]["fingerprint_sha256"] = other["metadata"]["fingerprint_sha256"]
    path.write_text(json.dumps(record))
    with pytest.raises(SecretBoxError):
        vault.get("acme", "main")


@pytest.mark.parametrize(
    "name", ["../etc", "..", ".hidden", "a/b", "a\\b", "UPPER", "", "x" * 64, "tenant\x00", "-dash", "é"]
)
def test_path_traversal_and_odd_names_are_refused(vault, tmp_path, name):
    with pytest.raises(KeyVaultError, match="invalid tenant name"):
        vault.add(name, "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    with pytest.raises(KeyVaultError, match="invalid key name"):
        vault.get("acme", name)
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").rglob("*.json"))


@pytest.mark.parametrize(
    ("issued", "password", "message"),
    [
        ("rsa", "wrong", "password is wrong"),
        ("expired", PASSWORD, "expired on"),
        ("not_yet_valid", PASSWORD, "not valid yet"),
        ("no_signing_usage", PASSWORD, "may not sign"),
    ],
)
def test_unfit_identities_are_refused_and_nothing_stored(vault, tmp_path, issued, password, message):
    with pytest.raises(SigningError, match=message) as caught:
        vault.add("acme", "main", p12=p12(getattr(pki(), issued), PASSWORD), password=password)
    assert PASSWORD not in str(caught.value)
    assert vault.list() == []
    assert not (tmp_path / "keys" / "acme" / "main.json").exists()


def test_mismatched_pem_is_refused(vault):
    key, _ = pem(pki().rsa, PASSWORD)
    _, other_cert = pem(pki().ecdsa)
    with pytest.raises(SigningError, match="does not match"):
        vault.add("acme", "main", key_pem=key, cert_pem=other_cert, password=PASSWORD)
    assert vault.list() == []


def test_existing_name_is_not_overwritten_unless_asked(vault):
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    with pytest.raises(KeyVaultError, match="already has a key named 'main'"):
        vault.add("acme", "main", p12=p12(pki().ecdsa, PASSWORD), password=PASSWORD)
    assert vault.get("acme", "main").algorithm == "RSA"
    vault.add("acme", "main", p12=p12(pki().ecdsa, PASSWORD), password=PASSWORD, replace=True)
    assert vault.get("acme", "main").algorithm == "ECDSA"  # the cache follows the new record


def test_nothing_secret_in_list_repr_or_errors(vault, tmp_path):
    key, certs = pem(pki().rsa, None)
    vault.add("acme", "main", key_pem=key, cert_pem=certs)
    vault.add("acme", "p12", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    listed = json.dumps([k.to_dict() for k in vault.list()])
    shown = listed + repr(vault) + repr(vault.get("acme", "main")) + repr(vault.box) + repr(vault.list())
    errors = []
    for call in (
        lambda: KeyVault(tmp_path / "keys", SecretBox(bytes(32))).get("acme", "p12"),
        lambda: vault.add("acme", "x", p12=p12(pki().rsa, PASSWORD), password=PASSWORD + "x"),
    ):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the message is what is checked
            call()
        errors.append(str(caught.value))
    for text in [shown, *errors]:
        assert "PRIVATE KEY" not in text
        assert PASSWORD not in text
        assert key.split(b"\n")[1].decode() not in text


def test_identity_is_cached_until_the_record_changes(vault, monkeypatch):
    vault.add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
    calls = []

    def counting(*args):
        calls.append(args)
        return load_pkcs12(*args)

    monkeypatch.setattr("gateway.keystore.load_pkcs12", counting)
    first = vault.get("acme", "main")
    assert vault.get("acme", "main") is first
    assert KeyVault(vault.root, vault.box).get("acme", "main") is first  # shared in the process
    assert len(calls) == 1
    other_master = KeyVault(vault.root, SecretBox(bytes(32)))
    with pytest.raises(SecretBoxError):  # the cache never bypasses the master key
        other_master.get("acme", "main")


def test_default_home_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path / "home"))
    assert KeyVault().root == tmp_path / "home" / "keys"
    monkeypatch.delenv("GATEWAY_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert keystore.gateway_home() == tmp_path / "xdg" / "einvoice-gateway"
    monkeypatch.delenv("GATEWAY_MASTER_KEY", raising=False)
    with pytest.raises(SecretBoxError, match="GATEWAY_MASTER_KEY is not set"):
        KeyVault(tmp_path / "k").add("acme", "main", p12=p12(pki().rsa, PASSWORD), password=PASSWORD)
