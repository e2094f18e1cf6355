"""A local HTTPS cXML receiver that behaves like Ariba's invoice endpoint, for the connector tests.

It listens on 127.0.0.1 with a throwaway certificate (its own CA, made in memory with
``cryptography``; ``ca_file`` is that CA for the client), and for each POST:

1. parses the body without loading anything: the DOCTYPE must be the public cXML one (it is
   blanked, never fetched), then validates the document against the corpus DTD on disk
   (``lxml.etree.DTD(<file>)``): invalid → ``400 Bad Request`` with the DTD errors;
2. checks ``Header/From`` identity and ``Sender`` ``SharedSecret``: wrong → ``401 Unauthorized``;
3. answers the configured code (``reply``): 200 OK, 201 Accepted, 406 Not Acceptable, 500
   Internal Server Error…, as a cXML ``Response/Status``; ``slow`` seconds of delay first
   make the client time out; ``raw`` replaces the answer with plain HTTP (no cXML).

Every received body is kept in ``received``.
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from formats.cxml.read import CXML_DOCTYPE

STATUS_TEXT = {
    200: "OK",
    201: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    406: "Not Acceptable",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Tls:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls(common_name: str = "Ariba Test CA") -> Tls:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Tls(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def cxml_response(code: int, text: str, detail: str = "") -> bytes:
    root = etree.Element("cXML")
    root.set("payloadID", f"receiver-{code}@ariba.test")
    root.set("timestamp", "2026-01-01T00:00:00+00:00")
    status = etree.SubElement(etree.SubElement(root, "Response"), "Status")
    status.set("code", str(code))
    status.set("text", text)
    if detail:
        status.text = detail
    return etree.tostring(
        root,
        xml_declaration=True,
        encoding="UTF-8",
        doctype='<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/cXML.dtd">',
    )


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected, not an error worth printing."""


@dataclass
class AribaReceiver:
    """The receiver's configuration and what it saw; ``start()`` / ``stop()`` or a with-block."""

    dtd_path: Path
    identity: str = "AN01000000001"
    shared_secret: str = "abracadabra"
    reply: int = 200
    slow: float = 0.0
    raw: tuple[int, bytes] | None = None
    received: list[bytes] = field(default_factory=list)
    tls: Tls = field(default_factory=make_tls)
    _server: ThreadingHTTPServer | None = None
    _dir: Any = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}/cxml/invoice"

    @property
    def ca_file(self) -> str:
        return str(Path(self._dir.name) / "ca.pem")

    def start(self) -> AribaReceiver:
        self._dir = tempfile.TemporaryDirectory(prefix="ariba-receiver-")
        folder = Path(self._dir.name)
        (folder / "ca.pem").write_bytes(self.tls.ca_pem)
        (folder / "server.pem").write_bytes(self.tls.cert_pem + self.tls.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem")
        dtd = etree.DTD(str(self.dtd_path))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def answer(self, code: int, body: bytes, content_type: str = "text/xml; charset=UTF-8") -> None:
                self.send_response(code, STATUS_TEXT.get(code))
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(body)
                if receiver.slow:
                    time.sleep(receiver.slow)
                if receiver.raw is not None:
                    code, raw = receiver.raw
                    self.answer(code, raw, "text/plain")
                    return
                code, detail = receiver.judge(body, dtd)
                if code == 200:
                    code = receiver.reply
                self.answer(code, cxml_response(code, STATUS_TEXT.get(code, "Error"), detail))

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def judge(self, body: bytes, dtd: etree.DTD) -> tuple[int, str]:
        """400 for a document the DTD refuses, 401 for wrong credentials, else 200."""
        head = body[: body.find(b"<cXML")] if b"<cXML" in body else body
        found = CXML_DOCTYPE.search(head)
        if found is None:
            return 400, "the document has no cXML DOCTYPE"
        cleaned = body[: found.start()] + b" " * (found.end() - found.start()) + body[found.end() :]
        parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
        try:
            tree = etree.fromstring(cleaned, parser)
        except etree.XMLSyntaxError as exc:
            return 400, f"not well-formed: {exc}"
        if not dtd.validate(tree):
            errors = "; ".join(f"line {e.line}: {e.message}" for e in dtd.error_log.filter_from_errors()[:3])  # type: ignore[attr-defined]
            return 400, f"XML document contained a doctype but failed validation: {errors}"
        identity = tree.findtext("Header/From/Credential/Identity")
        secret = tree.findtext("Header/Sender/Credential/SharedSecret")
        if identity != self.identity or secret != self.shared_secret:
            return 401, "the From identity or the Sender SharedSecret is not known"
        return 200, ""

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> AribaReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
