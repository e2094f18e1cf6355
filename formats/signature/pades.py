"""PAdES signatures on PDF invoices (Factur-X / ZUGFeRD / XRechnung-in-PDF and plain PDFs).

``sign_pdf`` adds a PAdES baseline B-B signature (B-T with a timestamper) as an *incremental
update*: every byte of the original file stays where it was, so the PDF/A-3 claims (XMP
``pdfaid``, output intent, embedded fonts) and the embedded invoice XML are untouched and a
buyer can still extract the exact XML that was signed. pyHanko writes the signature; this
module only keeps it from rewriting the document metadata (pyHanko would re-serialise the
XMP packet and append its name to ``/Producer``, making Info and XMP disagree, which PDF/A
forbids) and makes the signature field invisible (zero-size widget, print flag set: PDF/A
needs no appearance stream for it). The document must not be signed already: a second
signature would be legal PDF but a gateway that re-signs signed invoices hides who signed
what first, so it refuses (``SigningError``) and writes nothing.

``verify_pdf`` checks every signature with pyHanko (digest, signature value, coverage and
the analysis of later incremental updates) and the chain with ``TrustStore.check_chain``
at the signing time (the timestamp's time when a valid timestamp is there). Results are
data; only an unreadable PDF raises ``InvoiceInputError``.

Signing a batch reuses one pyHanko signer per identity (built once, kept in a small cache)
and signs with the ``cryptography`` key object directly: pyHanko's ``SimpleSigner``
re-parses the private key for every signature and signs once more to estimate the size.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import TYPE_CHECKING, Any, Protocol

from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import DiffResult
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from formats.errors import SigningError
from formats.facturx.container import MAX_PDF_BYTES, PdfInputError, describe, precheck
from formats.signature.keys import SigningIdentity
from formats.signature.keys import describe as describe_certificate
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.trust import TrustStore

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

__all__ = ["FIELD_NAME", "MAX_PDF_BYTES", "sign_pdf", "verify_pdf"]

FIELD_NAME = "InvoiceSignature"
"""Name of the signature field added (``InvoiceSignature2``… if the name is taken)."""
MAX_SIGNATURES = 20
"""Most signatures ``verify_pdf`` checks in one PDF (the rest is reported, not checked)."""
_SIGNER_CACHE_SIZE = 32
_RESERVE_MARGIN = 6144
"""Bytes reserved in ``/Contents`` beyond the certificates: signature value, signed attributes."""
_PADES = "/ETSI.CAdES.detached"
_CHANGES = {
    ModificationLevel.FORM_FILLING: "form fields were filled in",
    ModificationLevel.ANNOTATIONS: "annotations were added or changed",
    ModificationLevel.OTHER: "objects outside the signature were added or changed",
}
_SUBFILTERS = frozenset({_PADES, "/adbe.pkcs7.detached"})


class TimestampSource(Protocol):
    """What ``sign_pdf`` needs from ``formats.signature.timestamp.Timestamper``."""

    def pyhanko(self) -> TimeStamper: ...


# ---------------------------------------------------------------------------- signing


class _Signer(signers.SimpleSigner):
    """A ``SimpleSigner`` that signs with the already loaded ``cryptography`` key."""

    def __init__(self, identity: SigningIdentity) -> None:
        self._key = identity.key
        der = serialization.Encoding.DER
        key_info = asn1_keys.PrivateKeyInfo.load(
            identity.key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        chain = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in identity.chain]
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(identity.certificate.public_bytes(der)),
            signing_key=key_info,
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )
        certificates = sum(len(c.public_bytes(der)) for c in (identity.certificate, *identity.chain))
        self.reserve = (certificates + _RESERVE_MARGIN + 255) // 256 * 256  # pyHanko wants it even

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if digest_algorithm.lower() != "sha256":
            return super().sign_raw(data, digest_algorithm)
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
        if mechanism == "sha256_rsa" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), hashes.SHA256())
        if mechanism == "sha256_ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return super().sign_raw(data, digest_algorithm)


_signers: OrderedDict[tuple[int, bytes], tuple[SigningIdentity, _Signer]] = OrderedDict()
_signers_lock = threading.Lock()


def _signer_for(identity: SigningIdentity) -> _Signer:
    """The cached signer of ``identity`` (keyed on the key object and the certificate)."""
    fingerprint = identity.certificate.fingerprint(hashes.SHA256())
    cache_key = (id(identity.key), fingerprint)
    with _signers_lock:
        hit = _signers.get(cache_key)
        if hit is not None and hit[0].key is identity.key and hit[0].chain == identity.chain:
            _signers.move_to_end(cache_key)
            return hit[1]
    signer = _Signer(identity)
    with _signers_lock:
        _signers[cache_key] = (identity, signer)  # holding the identity keeps id(key) unique
        while len(_signers) > _SIGNER_CACHE_SIZE:
            _signers.popitem(last=False)
    return signer


_timestampers: weakref.WeakKeyDictionary[TimestampSource, TimeStamper] = weakref.WeakKeyDictionary()


def _pyhanko_timestamper(source: TimestampSource) -> TimeStamper:
    """One pyHanko timestamper per ``Timestamper``: pyHanko asks the TSA for a dummy token to size
    the signature once per timestamper object, not once per document."""
    with _signers_lock:
        found = _timestampers.get(source)
        if found is None:
            found = _timestampers[source] = source.pyhanko()
        return found


class _Writer(IncrementalPdfFileWriter):
    """An incremental writer that leaves the document metadata (Info and XMP) as it is."""

    def _update_meta(self) -> None:
        return None


def _open_for_signing(raw: bytes) -> _Writer:
    try:
        writer = _Writer(BytesIO(raw))
        reader = writer.prev
        if reader.encrypted:
            raise PdfInputError(
                "the PDF is encrypted: PDF/A-3 forbids encryption, and an encrypted invoice cannot be signed"
            )
        existing = reader.embedded_signatures
        reader.root  # noqa: B018 -- a PDF without a readable catalog fails here, not half-way
    except (PdfInputError, SigningError):
        raise
    except Exception as exc:  # pyHanko raises many exception types on damaged or hostile files
        raise PdfInputError(f"the PDF is damaged or cannot be read ({describe(exc)})") from None
    if existing:
        names = ", ".join(repr(s.field_name) for s in existing[:3])
        raise SigningError(
            f"the PDF is already signed (signature field {names}); it is not signed again: "
            "sign the unsigned document instead"
        )
    return writer


def _free_field_name(writer: _Writer) -> str:
    try:
        taken = {name for name, _value, _ref in fields.enumerate_sig_fields(writer.prev)}
    except Exception as exc:
        raise PdfInputError(f"the PDF's form fields are damaged ({describe(exc)})") from None
    name, number = FIELD_NAME, 1
    while name in taken:
        number += 1
        name = f"{FIELD_NAME}{number}"
    return name


async def _sign(
    pdf_signer: signers.PdfSigner, writer: _Writer, when: datetime, reserve: int | None
) -> BytesIO:
    """pyHanko's ``async_sign_pdf`` with the signing time set (it has no parameter for it)."""
    session = pdf_signer.init_signing_session(writer)
    session.system_time = when
    validation = await session.perform_presign_validation(writer)
    if reserve is None:
        reserve = await session.estimate_signature_container_size(validation, tight=False)
    tbs = session.prepare_tbs_document(validation_info=validation, bytes_reserved=reserve)
    prepared, output = tbs.digest_tbs_document(output=BytesIO())
    post = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=when),
    )
    await post.post_signature_processing(output)
    assert isinstance(output, BytesIO)
    return output


def sign_pdf(
    data: bytes,
    identity: SigningIdentity,
    *,
    timestamper: TimestampSource | None = None,
    signing_time: datetime | None = None,
    reason: str | None = None,
    location: str | None = None,
) -> bytes:
    """``data`` with a PAdES B-B signature appended (B-T with ``timestamper``).

    Raises ``SigningError`` when the certificate may not sign at ``signing_time`` (default:
    now) or the PDF is already signed, and ``InvoiceInputError`` (``PdfInputError``) when the
    bytes are not a readable, unencrypted PDF under ``MAX_PDF_BYTES``.
    """
    when = signing_time or datetime.now(UTC)
    if when.tzinfo is None:
        raise SigningError("the signing time must carry a time zone (e.g. UTC)")
    identity.check(when)
    raw = precheck(data, MAX_PDF_BYTES)
    writer = _open_for_signing(raw)
    signer = _signer_for(identity)
    meta = signers.PdfSignatureMetadata(
        field_name=_free_field_name(writer),
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    tsa = _pyhanko_timestamper(timestamper) if timestamper is not None else None
    pdf_signer = signers.PdfSigner(meta, signer, timestamper=tsa)
    try:
        output = asyncio.run(_sign(pdf_signer, writer, when, None if tsa else signer.reserve))
    except (SigningError, PdfInputError):
        raise
    except Exception as exc:
        if tsa is not None and "timestamp" in f"{type(exc).__name__} {exc}".lower():
            raise SigningError(f"the timestamp authority failed: {describe(exc)}") from None
        raise SigningError(f"the PDF could not be signed ({describe(exc)})") from None
    signed = output.getvalue()
    if not signed.startswith(raw):  # the whole point of an incremental update; never ship otherwise
        raise SigningError("internal error: the signed PDF does not keep the original bytes")
    return signed


# ---------------------------------------------------------------------------- verification


def _cryptography(certificate: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())


def _as_asn1(certificates: Sequence[x509.Certificate]) -> list[asn1_x509.Certificate]:
    der = serialization.Encoding.DER
    return [asn1_x509.Certificate.load(c.public_bytes(der)) for c in certificates]


@dataclass
class _Context:
    trust: TrustStore
    validation: ValidationContext
    signed_fields: set[str]


def _timestamp_certificates(signer_info: Any) -> list[x509.Certificate]:
    """The certificates carried inside the signature timestamp token (the TSA's chain)."""
    found: list[x509.Certificate] = []
    unsigned = signer_info["unsigned_attrs"]
    if not unsigned or unsigned.native is None:
        return found
    for attribute in unsigned:
        if attribute["type"].native != "signature_time_stamp_token":
            continue
        for token in attribute["values"]:
            if not isinstance(token, asn1_cms.ContentInfo):
                continue
            for choice in token["content"]["certificates"] or []:
                if choice.name == "certificate":
                    found.append(_cryptography(choice.chosen))
    return found


def _changes_allowed(diff: object, signed_fields: set[str]) -> bool:
    """Later revisions only add what does not change the invoice: validation data, document
    timestamps, or further signatures in their own fields."""
    if not isinstance(diff, DiffResult):
        return False  # a SuspiciousModification, or no analysis at all
    level = diff.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return True
    return level == ModificationLevel.FORM_FILLING and diff.changed_form_fields <= signed_fields


def _check_one(embedded: EmbeddedPdfSignature, context: _Context) -> SignatureResult:
    result = SignatureResult(kind="PAdES", level="PAdES-B-B")
    subfilter = str(embedded.sig_object.get("/SubFilter", ""))
    if subfilter != _PADES:
        result.level = f"CMS ({subfilter.lstrip('/') or 'no /SubFilter'}), not PAdES"
        result.problems.append(f"the signature is a {subfilter or 'non-PAdES'} signature, not PAdES")
    try:
        certificate = _cryptography(embedded.signer_cert)
    except Exception as exc:
        text = str(exc)
        if "Signing certificate attribute does not match" in text:
            result.problems.append(
                "the certificate in the signature is not the one that signed: its hash differs from "
                "the signed signing-certificate attribute (a substituted certificate)"
            )
        elif "not included" in text:
            result.problems.append("the signer's certificate is not in the signature")
        else:
            result.problems.append(f"the signer's certificate cannot be read ({describe(exc)})")
        return result
    result.signer_subject = certificate.subject.rfc4514_string()
    result.signer_issuer = certificate.issuer.rfc4514_string()
    result.signer_serial = certificate.serial_number
    try:
        result.signing_time = embedded.self_reported_timestamp
    except Exception:
        result.problems.append("the signing time (/M) cannot be read")
    try:
        status = asyncio.run(
            async_validate_pdf_signature(
                embedded,
                signer_validation_context=context.validation,
                ts_validation_context=context.validation,
                key_usage_settings=KeyUsageConstraints(key_usage=set()),
            )
        )
    except Exception as exc:  # a malformed CMS, a weak algorithm, an unreadable revision...
        result.problems.append(f"the signature cannot be validated ({describe(exc)})")
        return result

    result.intact = bool(status.intact and status.valid)
    if not status.intact:
        result.problems.append(
            "the signed bytes were changed: their digest does not match the one the signature covers"
        )
    elif not status.valid:
        result.problems.append(
            f"the signature value does not verify with the certificate {describe_certificate(certificate)}"
        )
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        result.covers_whole_document = True
    elif coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        result.covers_whole_document = _changes_allowed(status.diff_result, context.signed_fields)
        if not result.covers_whole_document:
            level = status.modification_level
            detail = _CHANGES.get(level, "objects outside the signature were changed") if level else ""
            result.problems.append(f"the document was changed after signing: {detail}".rstrip(": "))
    else:
        result.problems.append("the signature does not cover the whole revision it belongs to")

    at = result.signing_time
    token = status.timestamp_validity
    if token is not None:
        result.level = "PAdES-B-T" if subfilter == _PADES else result.level
        if token.intact and token.valid:
            result.timestamp_time = token.timestamp
            tsa = _cryptography(token.signing_cert)
            extra = [
                *_timestamp_certificates(embedded.signer_info),
                *map(_cryptography, embedded.other_embedded_certs),
            ]
            verdict = context.trust.check_chain(tsa, extra, token.timestamp)
            if verdict.trusted and verdict.valid_at:
                at = token.timestamp
            else:
                result.problems.append(f"the timestamp authority is not trusted: {verdict.reason}")
        else:
            result.problems.append("the signature timestamp is damaged: its token does not verify")
    if at is None:
        result.problems.append("the signature carries no signing time; the chain is checked now")
        at = datetime.now(UTC)
    intermediates = [_cryptography(c) for c in embedded.other_embedded_certs]
    verdict = context.trust.check_chain(certificate, intermediates, at)
    result.trusted = verdict.trusted
    result.valid_at_signing_time = verdict.valid_at
    if verdict.reason:
        result.problems.append(verdict.reason)
    return result


def _collect(reader: PdfFileReader) -> list[EmbeddedPdfSignature | SignatureResult]:
    """The filled signature fields in signing order; one that cannot even be parsed (a broken
    CMS, no /ByteRange, an unknown /SubFilter) becomes an invalid result instead of an error."""
    found: list[tuple[int, EmbeddedPdfSignature | SignatureResult]] = []
    for name, value, field in fields.enumerate_sig_fields(reader, filled_status=True):
        signature = value.get_object()
        if signature.get("/Type") == "/DocTimeStamp":
            continue  # document timestamps (PAdES-LTA) are not signatures of the invoice
        subfilter = str(signature.get("/SubFilter", ""))
        if subfilter not in _SUBFILTERS:
            broken = SignatureResult(kind="PAdES", level="unknown")
            broken.problems.append(
                f"the signature field {name!r} has an unsupported /SubFilter {subfilter!r}"
            )
            found.append((1 << 30, broken))
            continue
        try:
            embedded = EmbeddedPdfSignature(reader, field.get_object(), name)
        except Exception as exc:
            broken = SignatureResult(kind="PAdES", level="unknown")
            broken.problems.append(f"the signature in field {name!r} is damaged ({describe(exc)})")
            found.append((1 << 30, broken))
            continue
        found.append((embedded.signed_revision, embedded))
    found.sort(key=lambda item: item[0])
    return [item for _revision, item in found]


def verify_pdf(data: bytes, trust: TrustStore) -> VerificationReport:
    """Every signature in the PDF, checked; ``InvoiceInputError`` if the PDF cannot be read."""
    raw = precheck(data, MAX_PDF_BYTES)
    try:
        reader = PdfFileReader(BytesIO(raw), strict=False)
        if reader.encrypted:
            raise PdfInputError("the PDF is encrypted: its signatures cannot be checked")
        collected = _collect(reader)
    except PdfInputError:
        raise
    except Exception as exc:
        raise PdfInputError(f"the PDF is damaged or cannot be read ({describe(exc)})") from None
    report = VerificationReport(document_kind="PDF")
    context = _Context(
        trust=trust,
        validation=ValidationContext(
            trust_roots=_as_asn1(trust.roots), allow_fetching=False, revocation_mode="soft-fail"
        ),
        signed_fields={str(s.field_name) for s in collected if not isinstance(s, SignatureResult)},
    )
    for item in collected[:MAX_SIGNATURES]:
        report.signatures.append(item if isinstance(item, SignatureResult) else _check_one(item, context))
    if len(collected) > MAX_SIGNATURES:
        skipped = SignatureResult(kind="PAdES", level="unchecked")
        skipped.problems.append(
            f"{len(collected) - MAX_SIGNATURES} more signatures were not checked (limit {MAX_SIGNATURES})"
        )
        report.signatures.append(skipped)
    return report
