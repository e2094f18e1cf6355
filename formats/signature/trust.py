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
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
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


_TOLERANCE = timedelta(seconds=1)  # pyhanko-certvalidator's own time tolerance
_MAX_PATHS = 1024


def _fingerprint(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


class TrustStore:
    """Trust anchors (root certificates). Empty: nothing is trusted, every chain fails.

    A path once built and validated is kept (per signer certificate and the intermediates
    offered): its structure and its certificates' signatures do not depend on time, so a
    later check at another moment only has to compare that moment with each certificate's
    validity period. A batch of invoices signed by one certificate pays for path building
    once, not per document.
    """

    def __init__(self, roots: Iterable[x509.Certificate] = ()) -> None:
        self.roots = tuple(roots)
        self._paths: dict[tuple[bytes, ...], tuple[tuple[datetime, datetime, str], ...]] = {}

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
        key = (_fingerprint(certificate), *(_fingerprint(c) for c in intermediates))
        windows = self._paths.get(key)
        if windows is not None:
            for start, end, name in windows:
                if not start - _TOLERANCE <= at <= end + _TOLERANCE:
                    return ChainVerdict(
                        True,
                        False,
                        f"the certificate path was not valid at {at:%Y-%m-%d %H:%M:%S} UTC: {name} is valid "
                        f"from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC",
                    )
            return ChainVerdict(True, True)
        return self._validate(key, certificate, intermediates, at)

    def _validate(
        self,
        key: tuple[bytes, ...],
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        at: datetime,
    ) -> ChainVerdict:
        context = ValidationContext(
            trust_roots=[to_asn1(root) for root in self.roots],
            other_certs=[to_asn1(c) for c in intermediates],
            moment=at,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        validator = CertificateValidator(to_asn1(certificate), validation_context=context)
        try:
            path = asyncio.run(validator.async_validate_usage(set()))  # type: ignore[no-untyped-call]
        except PathBuildingError:
            issuer = certificate.issuer.rfc4514_string()
            return ChainVerdict(
                False, False, f"the certificate does not chain to the trust store (issuer {issuer})"
            )
        except (PathValidationError, ValidationError) as exc:
            return ChainVerdict(
                True, False, f"the certificate path was not valid at {at:%Y-%m-%d %H:%M:%S} UTC: {exc}"
            )
        if len(self._paths) >= _MAX_PATHS:
            self._paths.clear()
        self._paths[key] = tuple(
            (
                c["tbs_certificate"]["validity"]["not_before"].native,
                c["tbs_certificate"]["validity"]["not_after"].native,
                c.subject.human_friendly,
            )
            for c in path.iter_certs(include_root=True)
        )
        return ChainVerdict(True, True)
