"""What verification found: one ``SignatureResult`` per signature, and the verdict.

Results are data, not exceptions: a tampered document is a valid *input* whose signature
is invalid, and the report says why. Only unreadable input raises (``InvoiceInputError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class SignatureResult:
    """One signature: who signed, when, and whether each check holds (with the reasons)."""

    kind: str  # "XAdES" or "PAdES"
    level: str  # e.g. "XAdES-BES", "XAdES-T", "PAdES-B-B", "PAdES-B-T"
    signer_subject: str | None = None
    signer_issuer: str | None = None
    signer_serial: int | None = None
    signing_time: datetime | None = None  # claimed by the signer (signed attribute/property)
    timestamp_time: datetime | None = None  # from an RFC 3161 token, when there is one
    intact: bool = False  # the signed bytes are unchanged and the signature value verifies
    covers_whole_document: bool = False  # nothing outside the signature was added or changed
    trusted: bool = False  # the certificate chains to the configured trust store
    valid_at_signing_time: bool = False  # every certificate on the path was valid then
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return (
            self.intact
            and self.covers_whole_document
            and self.trusted
            and self.valid_at_signing_time
            and not self.problems
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "level": self.level,
            "valid": self.valid,
            "signer": {
                "subject": self.signer_subject,
                "issuer": self.signer_issuer,
                "serial": f"{self.signer_serial:#x}" if self.signer_serial is not None else None,
            },
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "timestamp_time": self.timestamp_time.isoformat() if self.timestamp_time else None,
            "intact": self.intact,
            "covers_whole_document": self.covers_whole_document,
            "trusted": self.trusted,
            "valid_at_signing_time": self.valid_at_signing_time,
            "problems": list(self.problems),
        }


@dataclass
class VerificationReport:
    """Every signature found in one document. No signature at all is not valid."""

    document_kind: str  # "UBL", "CII", "cXML", "PDF", "XML"
    signatures: list[SignatureResult] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.signatures) and all(s.valid for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_kind": self.document_kind,
            "valid": self.valid,
            "signatures": [s.to_dict() for s in self.signatures],
        }
