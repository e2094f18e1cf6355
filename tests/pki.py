"""A throwaway PKI for the signing tests, generated with ``cryptography`` on first use.

Nothing secret is committed: every key is made in memory per test session. ``pki()`` gives a
root CA, an intermediate CA under it, and signing identities under the intermediate: RSA
3072 and ECDSA P-256 (valid now), one expired, one not yet valid, one whose key usage
forbids signing, and one under an unrelated root (untrusted). ``p12()`` / ``pem()`` export
an identity as a customer would hand it over. A timestamp authority certificate (extended
key usage timeStamping) is there for the RFC 3161 responder the tests start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from formats.signature.keys import PrivateKey, SigningIdentity

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = field(default=())

    @property
    def identity(self) -> SigningIdentity:
        """The identity without the checks (tests of the checks build them from this)."""
        return SigningIdentity(self.key, self.certificate, self.chain)


@dataclass(frozen=True)
class Pki:
    root: Issued
    intermediate: Issued
    rsa: Issued
    ecdsa: Issued
    expired: Issued
    not_yet_valid: Issued
    no_signing_usage: Issued
    untrusted_root: Issued
    untrusted: Issued
    tsa: Issued


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gateway Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    name: str,
    key: PrivateKey,
    issuer: Issued | None,
    *,
    ca: bool = False,
    start: datetime = NOW - DAY,
    end: datetime = NOW + 365 * DAY,
    signing: bool = True,
    timestamping: bool = False,
) -> x509.Certificate:
    issuer_key = issuer.key if issuer else key
    issuer_name = issuer.certificate.subject if issuer else _name(name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=signing or ca,
                content_commitment=signing and not ca,
                key_encipherment=not signing and not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _issue(
    name: str, key: PrivateKey, issuer: Issued, chain: tuple[x509.Certificate, ...], **kwargs: object
) -> Issued:
    return Issued(key, _certificate(name, key, issuer, **kwargs), chain)  # type: ignore[arg-type]


@cache
def pki() -> Pki:
    root_key = _rsa()
    root = Issued(
        root_key,
        _certificate("Test Root CA", root_key, None, ca=True, start=NOW - 1000 * DAY, end=NOW + 3650 * DAY),
    )
    inter_key = _rsa()
    intermediate = Issued(
        inter_key,
        _certificate("Test Issuing CA", inter_key, root, ca=True, start=NOW - 900 * DAY),
        (root.certificate,),
    )
    chain = (intermediate.certificate,)
    other_key = _rsa()
    other_root = Issued(other_key, _certificate("Unrelated Root CA", other_key, None, ca=True))
    return Pki(
        root=root,
        intermediate=intermediate,
        rsa=_issue("Seller GmbH (RSA)", _rsa(3072), intermediate, chain),
        ecdsa=_issue("Seller GmbH (ECDSA)", ec.generate_private_key(ec.SECP256R1()), intermediate, chain),
        expired=_issue(
            "Seller GmbH (expired)", _rsa(), intermediate, chain, start=NOW - 400 * DAY, end=NOW - DAY
        ),
        not_yet_valid=_issue("Seller GmbH (future)", _rsa(), intermediate, chain, start=NOW + 30 * DAY),
        no_signing_usage=_issue("Seller GmbH (encryption only)", _rsa(), intermediate, chain, signing=False),
        untrusted_root=other_root,
        untrusted=_issue("Mallory Ltd", _rsa(), other_root, ()),
        tsa=_issue("Test Timestamp Authority", _rsa(), intermediate, chain, signing=True, timestamping=True),
    )


def p12(issued: Issued, password: str | None = "secret") -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(
        b"signer", issued.key, issued.certificate, list(issued.chain) or None, encryption
    )


def pem(issued: Issued, password: str | None = "secret") -> tuple[bytes, bytes]:
    """(the PEM private key, the PEM certificate followed by its chain)."""
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    key = issued.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    certificates = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (issued.certificate, *issued.chain)
    )
    return key, certificates


def trust_pem() -> bytes:
    """The trust store the tests configure: the test root only."""
    return pki().root.certificate.public_bytes(serialization.Encoding.PEM)
