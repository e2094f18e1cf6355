"""RFC 3161 timestamps: proof that a signature existed at a given time (XAdES-T, PAdES B-T).

A signature without a timestamp only *claims* its signing time; a token from a timestamp
authority (TSA) binds a digest of the signature to the TSA's clock, so the signature stays
verifiable after the signer's certificate expires. ``Timestamper`` asks a TSA over HTTP(S)
for a token and refuses, with a ``SigningError`` naming the TSA and what went wrong, any
answer that is not a token over exactly what we asked (our digest, our nonce): a document is
never written with a token that does not prove anything. ``verify_token`` checks a token
found in a signed document: it covers the data, its CMS signature verifies with the TSA
certificate it carries, that certificate is meant for timestamping and chains to the trust
store at the token's time.

Only the standard library talks HTTP here (no extra runtime dependency), every call has a
timeout and the answer is bounded in size: the TSA is configured, but its answers are
still untrusted input.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit, urlunsplit

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign.timestamps import TimeStamper

from formats.errors import SigningError
from formats.signature.trust import TrustStore

__all__ = ["MAX_RESPONSE_BYTES", "TimestampVerdict", "Timestamper", "verify_token"]

MAX_RESPONSE_BYTES = 1 << 20  # a token is a few KB; anything near this is not a token
REQUEST_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"

# Digests a token may use for its message imprint and its CMS signature. SHA-1 and MD5 are
# not accepted: a collision would let one token vouch for other data.
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp. asn1crypto's own makes the token mandatory, so it cannot read a
    rejection (which has none): that would hide the TSA's reason behind a parse error."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Invalid(Exception):
    """A token check failed; the message says which (internal: mapped to a verdict or error)."""


@dataclass(frozen=True)
class TimestampVerdict:
    """What a token proves. ``time`` is what the token claims: believe it only if ``valid``."""

    time: datetime | None  # the TSA's genTime (aware, UTC), when the token could be read
    intact: bool  # covers the data and its signature verifies with the TSA certificate it carries
    trusted: bool  # that certificate is a timestamping one chaining to the trust store at ``time``
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.intact and self.trusted


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A TSA answers where it is configured; a redirect would turn our POST into a GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Timestamper:
    """A client of one RFC 3161 timestamp authority, reachable over ``http`` or ``https``."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port  # raises ValueError on a port that is not a number
        except ValueError as exc:
            raise SigningError(f"the timestamp authority URL is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise SigningError(
                f"the timestamp authority URL must use http or https, not {parts.scheme or 'no scheme'!r}"
            )
        if not parts.hostname:
            raise SigningError("the timestamp authority URL has no host")
        if parts.username is not None or parts.password is not None:
            # Never echo it: the URL holds a secret. Credentials in URLs also end up in logs.
            raise SigningError("the timestamp authority URL must not contain credentials (user:password@)")
        if not timeout > 0:
            raise SigningError(f"the timestamp authority timeout must be positive, not {timeout}")
        self.url = url
        self.timeout = float(timeout)
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        # Messages name the TSA without its query string, which may carry an access token.
        self.name = urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))
        self._opener = urllib.request.build_opener(_RefuseRedirects())

    def __repr__(self) -> str:
        return f"Timestamper({self.name!r}, timeout={self.timeout})"

    def token(self, data: bytes) -> bytes:
        """The DER TimeStampToken (a CMS ContentInfo) over the SHA-256 digest of ``data``."""
        return cast(bytes, self.stamp(hashlib.sha256(data).digest(), "sha256").dump())

    def stamp(self, digest: bytes, algorithm: str = "sha256") -> Any:
        """The token (asn1crypto ``cms.ContentInfo``) over a digest already computed with ``algorithm``."""
        if algorithm not in _HASHES:
            raise SigningError(f"cannot ask {self.name} for a timestamp over a {algorithm} digest")
        nonce = secrets.randbits(64) | 1  # never 0: a nonce the TSA could omit without notice
        request = tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
                "nonce": nonce,
                "cert_req": True,
            }
        )
        body, content_type = self._post(request.dump())
        return self._check_response(body, content_type, algorithm, digest, nonce)

    def pyhanko(self) -> TimeStamper:
        """A pyHanko timestamper for PAdES B-T that asks this TSA, with the same checks and errors."""
        return _PyHankoTimestamper(self)

    def _fail(self, what: str) -> SigningError:
        return SigningError(f"timestamp authority {self.name}: {what}")

    def _post(self, body: bytes) -> tuple[bytes, str]:
        # The scheme was checked in __init__: only http and https reach urllib.
        request = urllib.request.Request(  # noqa: S310
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": REQUEST_CONTENT_TYPE, "Accept": REPLY_CONTENT_TYPE},
        )
        deadline = time.monotonic() + self.timeout
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                content_type = response.headers.get("Content-Type", "")
                chunks: list[bytes] = []
                size = 0
                # Read piecewise so a TSA dribbling bytes cannot hold us past the deadline
                # (the socket timeout alone only bounds each read).
                while chunk := response.read1(65536):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise self._fail(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes; not a token")
                    if time.monotonic() > deadline:
                        raise self._fail(f"timed out after {self.timeout:g} s")
                    chunks.append(chunk)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise self._fail(f"answered HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise self._fail(f"timed out after {self.timeout:g} s") from None
            raise self._fail(f"unreachable ({exc.reason})") from None
        except TimeoutError:
            raise self._fail(f"timed out after {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._fail(f"the connection failed ({exc.__class__.__name__}: {exc})") from None
        return b"".join(chunks), content_type

    def _check_response(
        self, body: bytes, content_type: str, algorithm: str, digest: bytes, nonce: int
    ) -> Any:
        try:
            response = _TimeStampResp.load(body, strict=True)
            status_info = response["status"]
            status = status_info["status"].native
            status_info.native  # noqa: B018 - asn1crypto parses lazily: force it inside the try
        except (ValueError, TypeError, KeyError) as exc:
            raise self._fail(
                f"the answer is not an RFC 3161 TimeStampResp "
                f"(Content-Type {content_type or 'none'!r}): {exc}"
            ) from None
        if status not in ("granted", "granted_with_mods"):
            texts = "; ".join(status_info["status_string"].native or []) or "no reason given"
            failures = ", ".join(sorted(status_info["fail_info"].native or [])) or "none"
            raise self._fail(f"rejected the request: status {status}, {texts!r} (failure info: {failures})")
        token = response["time_stamp_token"]
        if not isinstance(token, cms.ContentInfo):
            raise self._fail(f"granted ({status}), but the answer carries no token")
        try:
            info = _tst_info(token)
        except _Invalid as exc:
            raise self._fail(f"granted, but the token is unusable: {exc}") from None
        imprint = info["message_imprint"]
        if (
            imprint["hash_algorithm"]["algorithm"].native != algorithm
            or imprint["hashed_message"].native != digest
        ):
            raise self._fail("the token covers other data than we sent (message imprint mismatch)")
        if info["nonce"].native != nonce:
            raise self._fail("the token does not carry our nonce (a replayed or foreign answer)")
        try:
            _signer(token)
        except _Invalid as exc:
            raise self._fail(f"the token does not verify: {exc}") from None
        # A fresh, unparsed copy: asn1crypto re-encodes every field the checks touched when the
        # token is embedded (pyHanko), ~0.3 s per signature; the fresh copy reuses the TSA's bytes.
        return cms.ContentInfo.load(token.dump())


class _PyHankoTimestamper(TimeStamper):
    """pyHanko's timestamper interface over ``Timestamper``: one HTTP client, one set of checks."""

    def __init__(self, owner: Timestamper) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.owner = owner
        self.url = owner.url

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        return await asyncio.to_thread(self.owner.stamp, message_digest, md_algorithm.lower())


def verify_token(token: bytes, data: bytes, trust: TrustStore) -> TimestampVerdict:
    """Whether ``token`` proves that ``data`` existed at its time, signed by a trusted TSA."""
    try:
        content = cms.ContentInfo.load(token, strict=True)
        info = _tst_info(content)
        gen_time: datetime = info["gen_time"].native
    except _Invalid as exc:
        return TimestampVerdict(None, False, False, f"not a usable timestamp token: {exc}")
    except (ValueError, TypeError, KeyError) as exc:
        return TimestampVerdict(None, False, False, f"not a timestamp token: {exc}")
    try:
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise _Invalid(f"its message imprint uses {algorithm}, which is not accepted")
        if _digest(algorithm, data) != imprint["hashed_message"].native:
            raise _Invalid("it covers other data (message imprint mismatch)")
        certificate, others = _signer(content)
    except _Invalid as exc:
        return TimestampVerdict(gen_time, False, False, f"the timestamp token is not intact: {exc}")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        subject = certificate.subject.rfc4514_string()
        return TimestampVerdict(
            gen_time,
            True,
            False,
            f"the TSA certificate {subject} is not for timestamping (no extended key usage timeStamping)",
        )
    chain = trust.check_chain(certificate, others, gen_time)
    if not (chain.trusted and chain.valid_at):
        return TimestampVerdict(gen_time, True, False, f"the TSA certificate: {chain.reason}")
    return TimestampVerdict(gen_time, True, True)


def _digest(algorithm: str, data: bytes) -> bytes:
    h = hashes.Hash(_HASHES[algorithm]())
    h.update(data)
    return h.finalize()


def _tst_info(content: Any) -> Any:
    """The parsed TSTInfo of a token, or ``_Invalid`` saying why there is none."""
    try:
        if content["content_type"].native != "signed_data":
            raise _Invalid(f"it is {content['content_type'].native!r} content, not CMS signed data")
        encapsulated = content["content"]["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise _Invalid(f"it encapsulates {encapsulated['content_type'].native!r}, not a TSTInfo")
        info = encapsulated["content"].parsed
        info.native  # noqa: B018 - asn1crypto parses lazily: force it here, inside the try
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _Invalid(f"it cannot be read ({exc})") from None
    if not isinstance(info, tsp.TSTInfo):
        raise _Invalid("its content is not a TSTInfo")
    return info


def _signer(content: Any) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The TSA certificate whose signature over the TSTInfo verifies, and the other certificates.

    Checks what RFC 3161/5652 require of the signer info: the signed attributes name the
    TSTInfo content type, carry its digest, and bind the TSA certificate (ESS
    signingCertificate v1 or v2); the signature over them verifies with that certificate.
    """
    try:
        signed_data = content["content"]
        infos = list(signed_data["signer_infos"])
        if len(infos) != 1:
            raise _Invalid(f"it has {len(infos)} signer infos instead of one")
        signer_info = infos[0]
        carried = [c.chosen for c in signed_data["certificates"] or [] if c.name == "certificate"]
        if not carried:
            raise _Invalid("it carries no certificate (the TSA certificate is needed to check it)")
        tsa = _find_certificate(signer_info["sid"], carried)
        attributes = signer_info["signed_attrs"]
        if not attributes:
            raise _Invalid("it has no signed attributes")
        values = {a["type"].native: a["values"] for a in attributes}
        digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
        if digest_algorithm not in _HASHES:
            raise _Invalid(f"it is signed with a {digest_algorithm} digest, which is not accepted")
        if "content_type" not in values or values["content_type"][0].native != "tst_info":
            raise _Invalid("its signed content type is not TSTInfo")
        content_bytes = bytes(signed_data["encap_content_info"]["content"])
        if "message_digest" not in values or values["message_digest"][0].native != _digest(
            digest_algorithm, content_bytes
        ):
            raise _Invalid("the TSTInfo does not match the digest its signature covers")
        _check_signing_certificate(values, tsa)
        signed_bytes = attributes.untag().dump()
        certificate = x509.load_der_x509_certificate(tsa.dump())
        _check_signature(certificate, signer_info, digest_algorithm, signed_bytes)
        others = [x509.load_der_x509_certificate(c.dump()) for c in carried if c is not tsa]
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise _Invalid(f"its signature cannot be read ({exc})") from None
    return certificate, others


def _find_certificate(sid: Any, certificates: list[Any]) -> Any:
    for candidate in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                candidate.issuer == wanted["issuer"]
                and candidate.serial_number == wanted["serial_number"].native
            ):
                return candidate
        elif sid.name == "subject_key_identifier" and candidate.key_identifier == sid.chosen.native:
            return candidate
    raise _Invalid("it does not carry the certificate of the TSA that signed it")


def _check_signing_certificate(values: dict[str, Any], tsa: Any) -> None:
    """RFC 3161 §2.4.1 / RFC 5816: the signed attributes pin the TSA certificate by its hash."""
    if "signing_certificate_v2" in values:
        ess = values["signing_certificate_v2"][0]["certs"][0]
        algorithm = ess["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise _Invalid(f"its signing certificate attribute uses {algorithm}, which is not accepted")
        expected = _digest(algorithm, tsa.dump())
    elif "signing_certificate" in values:
        ess = values["signing_certificate"][0]["certs"][0]
        expected = hashlib.sha1(tsa.dump(), usedforsecurity=False).digest()
    else:
        raise _Invalid("its signed attributes do not name the TSA certificate (ESS signingCertificate)")
    if ess["cert_hash"].native != expected:
        raise _Invalid("its signed attributes name another certificate than the one that signed it")


def _check_signature(certificate: x509.Certificate, signer_info: Any, digest: str, signed: bytes) -> None:
    algorithm = signer_info["signature_algorithm"]
    family = algorithm.signature_algo
    signature = signer_info["signature"].native
    key = certificate.public_key()
    try:
        if family == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), _HASHES[_hash_of(algorithm, digest)]())
        elif family == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            params = algorithm["parameters"]
            pss_hash = _HASHES[_known(params["hash_algorithm"]["algorithm"].native)]()
            mgf_hash = _HASHES[_known(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)]()
            pss = padding.PSS(padding.MGF1(mgf_hash), params["salt_length"].native)
            key.verify(signature, signed, pss, pss_hash)
        elif family == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(_HASHES[_hash_of(algorithm, digest)]()))
        else:
            raise _Invalid(
                f"its signature algorithm {algorithm['algorithm'].native} does not fit the TSA key"
            )
    except InvalidSignature:
        raise _Invalid("its signature does not verify with the TSA certificate") from None


def _hash_of(algorithm: Any, digest: str) -> str:
    """The hash of e.g. ``sha256_rsa``; a bare ``rsassa_pkcs1v15`` uses the signer's digest."""
    try:
        return _known(algorithm.hash_algo)
    except ValueError:
        return digest


def _known(name: str) -> str:
    if name not in _HASHES:
        raise _Invalid(f"it uses the {name} digest, which is not accepted")
    return name
