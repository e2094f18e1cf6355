"""A signing identity: a private key with its certificate and chain, checked fit to sign.

``load_pkcs12`` and ``load_pem`` read what customers hand over (a ``.p12``/``.pfx`` file, or
a PEM key plus a PEM certificate chain) and refuse, with a ``SigningError`` that names the
problem, anything that would produce a signature a buyer rejects: a wrong password, a key
that does not match the certificate, a weak or unsupported key, a certificate that is
expired or not yet valid, or one whose key usage forbids signing. Messages never carry key
bytes or passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from formats.errors import SigningError

__all__ = ["PrivateKey", "SigningIdentity", "describe", "load_pem", "load_pkcs12"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
MIN_RSA_BITS = 2048
EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")


@dataclass(frozen=True)
class SigningIdentity:
    """A private key, its certificate and the intermediates up to (not including) a root."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    @property
    def algorithm(self) -> str:
        """``RSA`` or ``ECDSA``: which signature algorithm family the key signs with."""
        return "RSA" if isinstance(self.key, rsa.RSAPrivateKey) else "ECDSA"

    def check(self, at: datetime | None = None) -> None:
        """Raise ``SigningError`` unless the certificate may sign at ``at`` (default: now)."""
        check_certificate(self.certificate, at)

    def __repr__(self) -> str:  # never show key material, even in a debugger or a log line
        return f"SigningIdentity(subject={self.subject!r}, serial={self.serial})"


def describe(certificate: x509.Certificate) -> str:
    """``CN=Seller GmbH (serial 0x1f…)``: how messages name a certificate."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else certificate.subject.rfc4514_string()
    return f"{name!r} (serial {certificate.serial_number:#x})"


def check_certificate(certificate: x509.Certificate, at: datetime | None = None) -> None:
    when = at or datetime.now(UTC)
    if when < certificate.not_valid_before_utc:
        raise SigningError(
            f"the certificate {describe(certificate)} is not valid yet: valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    if when > certificate.not_valid_after_utc:
        raise SigningError(
            f"the certificate {describe(certificate)} expired on "
            f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SigningError(
            f"the certificate {describe(certificate)} may not sign documents: its key usage has "
            "neither digitalSignature nor nonRepudiation"
        )


def _identity(
    key: object, certificate: x509.Certificate | None, extra: list[x509.Certificate]
) -> SigningIdentity:
    if key is None:
        raise SigningError("no private key found")
    if certificate is None:
        raise SigningError("no certificate found for the private key")
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise SigningError(f"the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in EC_CURVES:
            raise SigningError(
                f"the EC curve {key.curve.name} is not supported; use one of {', '.join(EC_CURVES)}"
            )
    else:
        raise SigningError(f"a {type(key).__name__} cannot sign invoices here; use an RSA or ECDSA key")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != certificate.public_key().public_bytes(der, public):
        raise SigningError(f"the private key does not match the certificate {describe(certificate)}")
    chain = tuple(c for c in extra if c != certificate)
    identity = SigningIdentity(key, certificate, chain)
    identity.check()
    return identity


def _password(password: bytes | str | None) -> bytes | None:
    if password is None or password == "":
        return None
    return password.encode("utf-8") if isinstance(password, str) else password


def load_pkcs12(data: bytes, password: bytes | str | None = None) -> SigningIdentity:
    """The identity in a PKCS#12 (``.p12`` / ``.pfx``) file; ``SigningError`` if unusable."""
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, _password(password))
    except ValueError:
        raise SigningError(
            "cannot open the PKCS#12 file: the password is wrong or the file is not PKCS#12"
        ) from None
    return _identity(key, certificate, list(extra))


def load_pem(key_pem: bytes, certificates_pem: bytes, password: bytes | str | None = None) -> SigningIdentity:
    """The identity of a PEM private key and a PEM certificate (its chain may follow it)."""
    try:
        key = serialization.load_pem_private_key(key_pem, _password(password))
    except TypeError:
        raise SigningError("the private key is encrypted: a password is needed") from None
    except ValueError:
        raise SigningError(
            "cannot read the private key: the password is wrong or it is not a PEM key"
        ) from None
    try:
        certificates = x509.load_pem_x509_certificates(certificates_pem)
    except ValueError:
        raise SigningError("cannot read the certificate: it is not a PEM certificate") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    mine = key.public_key().public_bytes(der, public)
    leaf = next((c for c in certificates if c.public_key().public_bytes(der, public) == mine), None)
    if leaf is None and certificates:
        raise SigningError(f"the private key does not match the certificate {describe(certificates[0])}")
    return _identity(key, leaf, certificates)
