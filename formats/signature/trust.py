"""The trust store verification checks certificate chains against, at the signing time.

A ``TrustStore`` holds root (trust anchor) certificates from PEM/DER bundles or a folder.
``check_chain`` builds a path from the signer's certificate through the intermediates the
signature carries to one of those roots, and validates it *at the moment of signing*:
every certificate on the path must have been valid then (an invoice signed last year with
a certificate that has since expired is still validly signed). Revocation is not checked:
the gateway never fetches CRLs or OCSP on its own (no network calls on untrusted input);
the report says so.

Call it from synchronous code (a worker thread in the API): pyhanko-certvalidator is
asynchronous and ``check_chain`` runs it in its own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError

__all__ = ["ChainVerdict", "TrustStore", "to_asn1"]

REVOCATION_NOTE = "revocation (CRL/OCSP) is not checked"


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class ChainVerdict:
    trusted: bool  # a path to a trust anchor exists
    valid_at: bool  # ... and every certificate on it was valid at the moment asked
    reason: str | None = None


class TrustStore:
    """Trust anchors (root certificates). Empty: nothing is trusted, every chain fails."""

    def __init__(self, roots: Iterable[x509.Certificate] = ()) -> None:
        self.roots = tuple(roots)

    @classmethod
    def from_pem(cls, data: bytes) -> TrustStore:
        return cls(x509.load_pem_x509_certificates(data))

    @classmethod
    def from_path(cls, path: Path) -> TrustStore:
        """A PEM bundle, a DER certificate, or a folder of ``*.pem``/``*.crt``/``*.cer``/``*.der``."""
        files = (
            sorted(p for p in path.iterdir() if p.suffix.lower() in {".pem", ".crt", ".cer", ".der"})
            if path.is_dir()
            else [path]
        )
        roots: list[x509.Certificate] = []
        for file in files:
            data = file.read_bytes()
            if b"-----BEGIN CERTIFICATE-----" in data:
                roots.extend(x509.load_pem_x509_certificates(data))
            else:
                roots.append(x509.load_der_x509_certificate(data))
        return cls(roots)

    def check_chain(
        self, certificate: x509.Certificate, intermediates: Sequence[x509.Certificate], at: datetime
    ) -> ChainVerdict:
        """Whether ``certificate`` chains to a trust anchor and the path was valid at ``at``."""
        if not self.roots:
            return ChainVerdict(False, False, "no trust store is configured: nothing can be trusted")
        context = ValidationContext(
            trust_roots=[to_asn1(root) for root in self.roots],
            other_certs=[to_asn1(c) for c in intermediates],
            moment=at,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        validator = CertificateValidator(to_asn1(certificate), validation_context=context)
        try:
            asyncio.run(validator.async_validate_usage(set()))  # type: ignore[no-untyped-call]
        except PathBuildingError:
            issuer = certificate.issuer.rfc4514_string()
            return ChainVerdict(
                False, False, f"the certificate does not chain to the trust store (issuer {issuer})"
            )
        except (PathValidationError, ValidationError) as exc:
            return ChainVerdict(
                True, False, f"the certificate path was not valid at {at:%Y-%m-%d %H:%M:%S} UTC: {exc}"
            )
        return ChainVerdict(True, True)
