"""The key vault: each tenant's signing identities, encrypted at rest.

A customer hands over a PKCS#12 file (or a PEM key and certificate chain) and its password
once; the gateway then signs their invoices with it without asking again. So the vault
must keep both the key material *and* its password, and an attacker who copies the
files must get nothing: every secret is sealed with AES-256-GCM under the master key from
``GATEWAY_MASTER_KEY`` (``gateway.secretbox``), with the tenant, the key name, the field
and the certificate fingerprint as associated data — a record copied to another tenant or
renamed, or whose public metadata was edited, no longer opens.

Layout: ``$GATEWAY_HOME/keys/<tenant>/<name>.json`` (folders 0700, files 0600, written
atomically). Tenant and key names are restricted to ``[a-z0-9][a-z0-9._-]{0,62}``: no
separators, no leading dot, so no name can leave its folder. The public metadata
(subject, issuer, serial, validity, algorithm, SHA-256 fingerprint) sits in clear next to
the sealed values so ``list`` needs no master key. Issue 7 moves the records into the
database; the crypto stays in ``SecretBox``.

Nothing secret ever reaches a log line, a ``repr``, an error message or ``list``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.x509 import Certificate

from formats.errors import GatewayError
from formats.signature.keys import SigningIdentity, load_pem, load_pkcs12
from gateway.secretbox import SecretBox, SecretBoxError

__all__ = ["KeyInfo", "KeyVault", "KeyVaultError", "gateway_home", "valid_name"]

RECORD_FORMAT = 1
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
NAME_RULE = "1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
_AAD_LABEL = b"einvoice-gateway/keyvault/v1"
_CACHE_SIZE = 128


class KeyVaultError(GatewayError):
    """A vault operation cannot be done: bad name, no such key, key exists, damaged record."""


def gateway_home() -> Path:
    """``$GATEWAY_HOME``, else ``$XDG_DATA_HOME/einvoice-gateway`` (``~/.local/share/…``)."""
    explicit = os.environ.get("GATEWAY_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "einvoice-gateway"


def valid_name(value: str, what: str) -> str:
    """``value`` if it is a safe tenant or key name; ``KeyVaultError`` otherwise."""
    if not isinstance(value, str) or NAME.fullmatch(value) is None:
        shown = value[:70] + "…" if isinstance(value, str) and len(value) > 70 else value
        raise KeyVaultError(f"invalid {what} name {shown!r}: use {NAME_RULE}")
    return value


@dataclass(frozen=True)
class KeyInfo:
    """What anyone may see about a stored identity: its certificate, never its key."""

    tenant: str
    name: str
    kind: str  # "pkcs12" or "pem"
    subject: str
    issuer: str
    serial: str  # hexadecimal, as certificates show it
    not_before: str
    not_after: str
    algorithm: str  # "RSA" or "ECDSA"
    fingerprint_sha256: str
    created: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _fingerprint(certificate: Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _metadata(identity: SigningIdentity) -> dict[str, str]:
    cert = identity.certificate
    return {
        "subject": identity.subject,
        "issuer": identity.issuer,
        "serial": f"{identity.serial:#x}",
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "algorithm": identity.algorithm,
        "fingerprint_sha256": _fingerprint(cert),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise KeyVaultError(f"the key record {where} is damaged: a sealed value is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyVaultError(f"the key record {where} is damaged: a sealed value is not base64") from None


# Identities already decrypted and parsed, so signing a batch costs one decryption, not
# one per document. Keyed on the record's path, size and mtime (a replaced or removed
# record is never served from here) and on the master key's one-way id.
_cache: OrderedDict[tuple[str, str, int, int], SigningIdentity] = OrderedDict()
_cache_lock = threading.Lock()


class KeyVault:
    """Signing identities per tenant, sealed under the master key.

    ``box`` defaults to ``SecretBox.from_env()``, built on first use: ``list`` and
    ``remove`` work without a master key, ``add`` and ``get`` need it.
    """

    def __init__(self, root: Path | None = None, box: SecretBox | None = None) -> None:
        self.root = root if root is not None else gateway_home() / "keys"
        self._box = box

    def __repr__(self) -> str:
        return f"KeyVault(root={str(self.root)!r})"

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.from_env()
        return self._box

    def path(self, tenant: str, name: str) -> Path:
        return self.root / valid_name(tenant, "tenant") / f"{valid_name(name, 'key')}.json"

    # ------------------------------------------------------------------ writing

    def add(
        self,
        tenant: str,
        name: str,
        *,
        p12: bytes | None = None,
        key_pem: bytes | None = None,
        cert_pem: bytes | None = None,
        password: str | None = None,
        replace: bool = False,
    ) -> KeyInfo:
        """Check the identity loads and may sign now, then store it; nothing stored on error.

        ``SigningError`` for a wrong password, an expired or not yet valid certificate, a
        key that does not match it; ``KeyVaultError`` if the name is taken (unless
        ``replace``).
        """
        target = self.path(tenant, name)
        if (p12 is None) == (key_pem is None):
            raise KeyVaultError("give either a PKCS#12 file or a PEM key with its certificate")
        if key_pem is not None and not cert_pem:
            raise KeyVaultError("a PEM key needs its PEM certificate (and chain)")
        if target.exists() and not replace:
            raise KeyVaultError(f"tenant {tenant!r} already has a key named {name!r}; remove it first")
        box = self.box
        if p12 is not None:
            kind, material = "pkcs12", p12
            identity = load_pkcs12(p12, password)
        else:
            assert key_pem is not None
            assert cert_pem is not None
            kind, material = "pem", key_pem
            identity = load_pem(key_pem, cert_pem, password)
        metadata = _metadata(identity)
        fingerprint = metadata["fingerprint_sha256"]

        def seal(field: str, value: bytes) -> str:
            return _b64(box.seal(value, _aad(tenant, name, field, kind, fingerprint)))

        sealed = {"material": seal("material", material), "password": seal("password", _pw(password))}
        if cert_pem is not None:
            sealed["certificates"] = seal("certificates", cert_pem)
        created = datetime.now(UTC).replace(microsecond=0).isoformat()
        record = {
            "format": RECORD_FORMAT,
            "tenant": tenant,
            "name": name,
            "kind": kind,
            "created": created,
            "metadata": metadata,
            "sealed": sealed,
        }
        try:
            _write_private(target, json.dumps(record, indent=2).encode("utf-8") + b"\n")
        except OSError as exc:
            reason = exc.strerror or exc
            raise KeyVaultError(f"cannot write the key record {tenant}/{name}: {reason}") from None
        return KeyInfo(tenant=tenant, name=name, kind=kind, created=created, **metadata)

    def remove(self, tenant: str, name: str) -> None:
        target = self.path(tenant, name)
        try:
            target.unlink()
        except FileNotFoundError:
            raise KeyVaultError(f"tenant {tenant!r} has no key named {name!r}") from None

    # ------------------------------------------------------------------ reading

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        """The metadata of every stored identity (of one tenant, or all), sorted."""
        if tenant is not None:
            folders = [self.root / valid_name(tenant, "tenant")]
        elif self.root.is_dir():
            folders = sorted(p for p in self.root.iterdir() if p.is_dir() and NAME.fullmatch(p.name))
        else:
            folders = []
        found: list[KeyInfo] = []
        for folder in folders:
            if not folder.is_dir():
                continue
            for file in sorted(folder.glob("*.json")):
                if NAME.fullmatch(file.stem):
                    found.append(self._info(folder.name, file.stem, self._record(file)))
        return found

    def info(self, tenant: str, name: str) -> KeyInfo:
        return self._info(tenant, name, self._record(self._existing(tenant, name)))

    def get(self, tenant: str, name: str) -> SigningIdentity:
        """The identity, decrypted and checked fit to sign; cached while the record is unchanged."""
        target = self._existing(tenant, name)
        box = self.box
        try:
            stat = target.stat()
        except FileNotFoundError:
            raise KeyVaultError(f"tenant {tenant!r} has no key named {name!r}") from None
        cache_key = (str(target.absolute()), box.key_id, stat.st_mtime_ns, stat.st_size)
        with _cache_lock:
            cached = _cache.get(cache_key)
            if cached is not None:
                _cache.move_to_end(cache_key)
        if cached is not None:
            cached.check()  # a certificate may expire while its identity sits in the cache
            return cached
        identity = self._open(tenant, name, self._record(target), box)
        with _cache_lock:
            _cache[cache_key] = identity
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return identity

    def _existing(self, tenant: str, name: str) -> Path:
        target = self.path(tenant, name)
        if not target.is_file():
            raise KeyVaultError(f"tenant {tenant!r} has no key named {name!r}")
        return target

    def _record(self, file: Path) -> dict[str, Any]:
        where = f"{file.parent.name}/{file.stem}"
        try:
            record = json.loads(file.read_bytes())
        except OSError as exc:
            raise KeyVaultError(f"cannot read the key record {where}: {exc.strerror or exc}") from None
        except ValueError:
            raise KeyVaultError(f"the key record {where} is damaged: not JSON") from None
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            raise KeyVaultError(f"the key record {where} is damaged or of an unknown format")
        if not isinstance(record.get("metadata"), dict) or not isinstance(record.get("sealed"), dict):
            raise KeyVaultError(f"the key record {where} is damaged: metadata or sealed values missing")
        return record

    @staticmethod
    def _info(tenant: str, name: str, record: dict[str, Any]) -> KeyInfo:
        meta = record["metadata"]
        fields = ("subject", "issuer", "serial", "not_before", "not_after", "algorithm", "fingerprint_sha256")
        return KeyInfo(
            tenant=tenant,
            name=name,
            kind=str(record.get("kind", "")),
            created=str(record.get("created", "")),
            **{f: str(meta.get(f, "")) for f in fields},
        )

    @staticmethod
    def _open(tenant: str, name: str, record: dict[str, Any], box: SecretBox) -> SigningIdentity:
        where = f"{tenant}/{name}"
        kind = record.get("kind")
        if kind not in ("pkcs12", "pem"):
            raise KeyVaultError(f"the key record {where} is damaged: unknown kind")
        fingerprint = str(record["metadata"].get("fingerprint_sha256", ""))
        sealed = record["sealed"]

        def unseal(field: str) -> bytes:
            try:
                return box.open(
                    _unb64(sealed.get(field), where), _aad(tenant, name, field, kind, fingerprint)
                )
            except SecretBoxError:
                raise SecretBoxError(
                    f"the key record {where} does not decrypt: GATEWAY_MASTER_KEY is not the key it was "
                    "stored with, or the record was moved from another tenant or name, or altered"
                ) from None

        password = unseal("password").decode("utf-8") or None
        if kind == "pkcs12":
            identity = load_pkcs12(unseal("material"), password)
        else:
            identity = load_pem(unseal("material"), unseal("certificates"), password)
        if _fingerprint(identity.certificate) != fingerprint:
            raise KeyVaultError(f"the key record {where} is damaged: its certificate changed")
        return identity


def _pw(password: str | None) -> bytes:
    return (password or "").encode("utf-8")


def _aad(tenant: str, name: str, field: str, kind: str, fingerprint: str) -> bytes:
    parts = (tenant, name, field, kind, fingerprint)
    return _AAD_LABEL + b"".join(b"\x00" + p.encode("utf-8") for p in parts)


def _private_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) and make sure the vault folders are 0700."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for part in (folder, folder.parent):
        if part.name and part.stat().st_mode & 0o077:
            part.chmod(0o700)


def _write_private(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` as 0600, atomically: a reader sees the old or the new record."""
    _private_dir(target.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
