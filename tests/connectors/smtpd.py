"""A real SMTP server for the email connector's tests: aiosmtpd with TLS and AUTH on loopback.

``tls_material()`` makes a throwaway CA and a server certificate for 127.0.0.1/localhost
(EC P-256, in memory, once per session) plus an unrelated CA the client can be told to
trust instead (the "untrusted certificate" case). ``smtp_server()`` starts aiosmtpd on a
free loopback port, STARTTLS required or implicit TLS, AUTH accepting one user, with a
``Recorder`` handler that keeps every message and can be told to answer 451/550.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "gateway"
PASSWORD = "s3cret-Pa55"  # a test server's password, nothing real
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class TlsMaterial:
    ca_pem: str  # the CA that issued the server certificate: trusting it verifies
    other_ca_pem: str  # an unrelated CA: trusting only it fails verification
    cert_pem: bytes  # server certificate
    key_pem: bytes


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@cache
def tls_material() -> TlsMaterial:
    ca_key, ca_cert = _ca("Gateway Test SMTP CA")
    _, other_cert = _ca("Some Other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    as_pem = serialization.Encoding.PEM
    return TlsMaterial(
        ca_pem=ca_cert.public_bytes(as_pem).decode(),
        other_ca_pem=other_cert.public_bytes(as_pem).decode(),
        cert_pem=cert.public_bytes(as_pem),
        key_pem=key.private_bytes(as_pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def server_context() -> ssl.SSLContext:
    material = tls_material()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:  # load_cert_chain reads files only
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert.write_bytes(material.cert_pem)
        key.write_bytes(material.key_pem)
        context.load_cert_chain(cert, key)
    return context


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any  # (host, port) of the client: equal peers mean one reused connection


@dataclass
class Recorder:
    """aiosmtpd handler: keeps messages; ``rcpt_replies``/``data_reply`` script refusals."""

    messages: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    queued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply is not None:
            return self.data_reply
        with self.lock:
            self.queued += 1
            queue_id = f"Q{self.queued:05d}"
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), session.peer)
            )
        return f"250 2.0.0 OK queued as {queue_id}"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and (auth_data.password == PASSWORD.encode())
    )
    return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535 on failure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Controller(Controller):
    """aiosmtpd's Controller, keeping its sessions: stopping it alone leaves their sockets open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[Any] = []

    def factory(self) -> Any:
        session = super().factory()
        self.sessions.append(session)
        return session

    def drop_sessions(self) -> None:
        """Cut every client connection (abort, as a crashing server would), in the server's loop."""

        async def drop() -> None:
            for session in self.sessions:
                for transport in {
                    getattr(session, "transport", None),
                    getattr(session, "_original_transport", None),
                }:
                    if transport is not None and not transport.is_closing():
                        transport.abort()
            await asyncio.sleep(0.05)  # the transports close on the next turns of the loop

        asyncio.run_coroutine_threadsafe(drop(), self.loop).result(timeout=10)


@dataclass
class Server:
    host: str
    port: int
    handler: Recorder
    controller: Controller
    options: dict[str, Any] = field(default_factory=dict)  # the Controller's, to start it again
    running: bool = True

    def stop(self) -> None:
        """The server goes down: stop listening and drop every session."""
        if self.running:
            assert isinstance(self.controller, _Controller)
            self.controller.drop_sessions()
            self.controller.stop()
            self.running = False

    def start(self) -> None:
        """Back on the same port, with the same handler (and messages); a Controller runs once."""
        if not self.running:
            self.controller = _Controller(self.handler, **self.options)
            self.controller.start()
            self.running = True


@contextlib.contextmanager
def smtp_server(mode: str = "starttls", *, auth: bool = True, idle_timeout: float = 300) -> Iterator[Server]:
    """aiosmtpd on 127.0.0.1: ``mode`` ``starttls`` (required before AUTH/MAIL) or ``implicit``."""
    handler = Recorder()
    port = free_port()
    kwargs: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "server_hostname": "mx.test.invalid",
        "authenticator": _authenticator if auth else None,
        "ready_timeout": 10.0,
        "timeout": idle_timeout,  # the server closes a session idle this long (421)
    }
    if mode == "starttls":
        kwargs.update(tls_context=server_context(), require_starttls=True, auth_required=auth)
    elif mode == "implicit":
        # aiosmtpd does not count implicit TLS as TLS for AUTH: allow AUTH without STARTTLS
        # (the whole connection is TLS), and do not *require* it (that would warn).
        kwargs.update(ssl_context=server_context(), auth_require_tls=False)
    else:
        raise ValueError(mode)
    controller = _Controller(handler, **kwargs)
    controller.start()
    server = Server("127.0.0.1", port, handler, controller, kwargs)
    try:
        yield server
    finally:
        server.stop()
