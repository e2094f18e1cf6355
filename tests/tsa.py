"""A real RFC 3161 timestamp authority on 127.0.0.1 for the signing tests.

``tsa_server()`` starts an HTTP responder on a free port in a daemon thread, answers each
POSTed TimeStampReq with a token signed by ``pki().tsa`` (or another ``Issued`` TSA), honours
the request's nonce and certReq, and yields its URL; it always shuts down, with bounded
joins. ``mode`` makes it misbehave for the client's error paths. ``tsa_url`` is the same
as a pytest fixture: import it into a test module (or a conftest) to use it.

Tokens are built here with asn1crypto and cryptography, independently of the client code
in ``formats/signature/timestamp.py``, so a test of one is not a test of itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.pki import Issued, _issue, _rsa, pki

__all__ = ["Mode", "ecdsa_tsa", "rogue_tsa", "sign_tst_info", "tsa_server", "tsa_url"]

Mode = Literal[
    "ok",  # a correct token
    "reject",  # status rejection with a status string and failInfo badAlg
    "garbage",  # 200 with bytes that are not DER
    "http-error",  # HTTP 500
    "slow",  # waits ``delay`` seconds before answering
    "wrong-imprint",  # a valid token over another digest
    "wrong-nonce",  # a valid token with another nonce
    "bad-signature",  # a token whose CMS signature does not verify
    "huge",  # more than 1 MB of answer
    "redirect",  # 302 to another URL (the client must not follow it)
]
MAX_REQUEST = 64 * 1024


class _Rejection(core.Sequence):  # type: ignore[misc]
    """A TimeStampResp without a token (asn1crypto's own cannot omit it)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [("status", tsp.PKIStatusInfo)]


def _rejection(text: str, failure: str) -> bytes:
    status = {"status": "rejection", "status_string": [text], "fail_info": {failure}}
    return bytes(_Rejection({"status": status}).dump())


JOIN_SECONDS = 5.0


@cache
def ecdsa_tsa() -> Issued:
    """A trusted timestamping certificate with an ECDSA P-256 key (``pki().tsa`` is RSA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _issue(
        "Test Timestamp Authority (ECDSA)", key, pki().intermediate, pki().tsa.chain, timestamping=True
    )


@cache
def rogue_tsa() -> Issued:
    """A timestamping certificate under ``pki().untrusted_root``: well-formed, but not trusted."""
    return _issue("Rogue Timestamp Authority", _rsa(), pki().untrusted_root, (), timestamping=True)


def sign_tst_info(
    signer: Issued,
    imprint: Any,
    nonce: int | None,
    *,
    cert_req: bool = True,
    at: datetime | None = None,
    corrupt: bool = False,
) -> Any:
    """A TimeStampToken (``cms.ContentInfo``) over ``imprint``, signed by ``signer``."""
    gen_time = (at or datetime.now(UTC)).replace(microsecond=0)
    certificate = asn1_x509.Certificate.load(signer.certificate.public_bytes(serialization.Encoding.DER))
    fields: dict[str, Any] = {
        "version": "v1",
        "policy": "1.3.6.1.4.1.99999.1",  # a made-up test policy
        "message_imprint": imprint,
        "serial_number": int.from_bytes(hashlib.sha256(repr((gen_time, nonce)).encode()).digest()[:8]),
        "gen_time": gen_time,
        "tsa": asn1_x509.GeneralName({"directory_name": certificate.subject}),
    }
    if nonce is not None:
        fields["nonce"] = nonce
    info = tsp.TSTInfo(fields).dump()
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(gen_time)})]},
            {"type": "message_digest", "values": [hashlib.sha256(info).digest()]},
            {
                "type": "signing_certificate_v2",
                "values": [
                    {
                        "certs": [
                            {
                                "hash_algorithm": {"algorithm": "sha256"},
                                "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                            }
                        ]
                    }
                ],
            },
        ]
    )
    if isinstance(signer.key, rsa.RSAPrivateKey):
        signature = signer.key.sign(attributes.dump(), padding.PKCS1v15(), hashes.SHA256())
        algorithm = "sha256_rsa"
    else:
        assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
        signature = signer.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
        algorithm = "sha256_ecdsa"
    if corrupt:
        signature = bytes([signature[0] ^ 0xFF]) + signature[1:]
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in signer.chain]
    signed_data: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(info)},
        "signer_infos": [
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": certificate.issuer,
                            "serial_number": certificate.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": algorithm},
                "signature": signature,
            }
        ],
    }
    if cert_req:
        signed_data["certificates"] = [certificate, *chain]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def _answer(request_body: bytes, signer: Issued, mode: Mode, at: datetime | None) -> bytes:
    try:
        request = tsp.TimeStampReq.load(request_body, strict=True)
        imprint = request["message_imprint"]
        nonce = request["nonce"].native
        cert_req = bool(request["cert_req"].native)
    except (ValueError, TypeError, KeyError):
        return _rejection("not a TimeStampReq", "bad_data_format")
    if mode == "reject":
        return _rejection("policy says no", "bad_alg")
    if mode == "wrong-imprint":
        imprint = tsp.MessageImprint(
            {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(b"other").digest()}
        )
    if mode == "wrong-nonce" and nonce is not None:
        nonce += 1
    token = sign_tst_info(signer, imprint, nonce, cert_req=cert_req, at=at, corrupt=mode == "bad-signature")
    return bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())


@contextmanager
def tsa_server(
    signer: Issued | None = None, *, mode: Mode = "ok", delay: float = 2.0, at: datetime | None = None
) -> Iterator[str]:
    """Run a TSA signing with ``signer`` (default ``pki().tsa``); yield its URL.

    ``at`` fixes the genTime of every token (default: now); ``delay`` is how long ``slow``
    waits (it stops waiting, without answering, when the server shuts down).
    """
    issued = signer or pki().tsa
    stopping = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            if mode == "slow" and stopping.wait(delay):
                return
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mode == "http-error":
                self.send_error(500, "TSA on fire")
                return
            if mode == "garbage":
                payload = b"<html>not a timestamp</html>"
            elif mode == "huge":
                payload = b"\x00" * (1024 * 1024 + 4096)
            else:
                payload = _answer(body, issued, mode, at)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            # The client may give up (size bound, timeout): expected in those tests.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client hanging up mid-answer is part of the tests, not a failure

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(JOIN_SECONDS)


@pytest.fixture
def tsa_url() -> Iterator[str]:
    """The URL of a well-behaved TSA signing with ``pki().tsa``, for the test's duration."""
    with tsa_server() as url:
        yield url
