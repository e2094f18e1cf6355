"""The ``sftp`` channel: the documents of a delivery uploaded to a buyer's SFTP server (paramiko).

What it promises, like the folder channel (``connectors/folder.py``):

* **Pinned host key, checked before any credential is sent.** ``settings["host_key"]`` is the
  server's public key as in ``known_hosts`` (``ssh-ed25519 AAAA…``) or its fingerprint
  (``SHA256:…``). There is no trust on first use: a key that differs is a permanent failure
  (``HOSTKEY``) whose message names the host and the key it presented, so an operator can
  compare it with what the buyer announced. The key-exchange is restricted to the pinned key's
  type, so a server holding the pinned key is never reported as mismatched because it offered
  another of its keys first. (The check is done on the raw ``Transport`` rather than through a
  ``MissingHostKeyPolicy``: it is the same rejection, but happens before authentication with
  our own timeouts.)
* **All or nothing, nothing half-written.** Each document goes to
  ``.<name>.<delivery id>.partial`` in its target folder, its remote size is checked, and only
  when every document of the delivery is up are they renamed to their final names
  (``posix-rename@openssh.com`` where the server has it, plain rename otherwise). On any
  failure the partials, and finals renamed by this attempt, are removed: a buyer's poller
  never sees half a delivery. Only a connection lost *between* two renames can leave the
  first documents in place; the retry recognises them (next point) and completes the unit.
* **Idempotent re-send.** Final names come from ``settings["remote_path"]`` (placeholders
  ``{invoice_number}`` ``{invoice_id}`` ``{recipient}`` ``{filename}``; their values are taken
  from the settings map, ``{filename}`` from each document). A final file already there with
  the same size and SHA-256 (read back and hashed) is "unchanged": the delivery succeeded
  before a crash. Different content is a permanent error: a buyer's file is never overwritten.
* **Names that cannot escape.** Values are reduced to ``[A-Za-z0-9._-]`` (an invoice number
  ``2026/07/1`` becomes ``2026_07_1``); a value that *is* a traversal attempt (a ``..``
  component, a NUL) is refused, as is a template with ``..``, a backslash or a NUL, and any
  absolute result of a relative template. Refusals are permanent and name the path.
* **Connection reuse.** Authenticated SFTP sessions are pooled per (host, port, user,
  credential, pinned key) with an idle expiry, and checked (a ``stat``) before each use: a
  batch of deliveries to one buyer pays for the handshake once.

Error kinds (``raw_code``): ``AUTH``, ``HOSTKEY``, ``KEY`` (a private key we cannot read),
``NOFOLDER``, ``EACCES``, ``EEXIST``, ``PATH``, ``SETTINGS``, ``NAMES`` are permanent;
``CONNECT``, ``TIMEOUT``, ``IO`` are transient. Evidence: ``sent`` is a JSON manifest (remote
paths, sizes, SHA-256, outcome), ``received`` the server's banner and host-key fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import io
import json
import posixpath
import re
import socket
import stat
import string
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import paramiko  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from connectors.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from connectors.folder import safe_name

__all__ = ["HostKeyPin", "SftpConnector", "fingerprint", "load_private_key", "remote_paths"]

DEFAULT_TEMPLATE = "{filename}"
TEMPLATE_FIELDS = ("invoice_number", "invoice_id", "recipient", "filename")
# the algorithms to negotiate for a pinned key type (an RSA key signs with SHA-2 today)
_KEY_ALGORITHMS = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}
_PIN_LINE = re.compile(r"(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?")
_PIN_FINGERPRINT = re.compile(r"SHA256:([A-Za-z0-9+/]{43})=?")


# ---------------------------------------------------------------- host key pin


def fingerprint(key: paramiko.PKey) -> str:
    """``ssh-ed25519 SHA256:…`` as ``ssh-keygen -l`` prints it: what an operator compares."""
    return f"{key.get_name()} {key.fingerprint}"


@dataclass(frozen=True)
class HostKeyPin:
    """The pinned key: a full public key (type + blob) or only its SHA-256 fingerprint."""

    text: str
    key_type: str | None
    blob: bytes | None
    sha256: str  # "SHA256:<43 base64 chars>", no padding

    @classmethod
    def parse(cls, value: object) -> HostKeyPin:
        if not isinstance(value, str) or not value.strip():
            raise PermanentDeliveryError(
                "the sftp channel has no 'host_key' setting: the server's key must be pinned",
                raw_code="SETTINGS",
            )
        text = value.strip()
        found = _PIN_FINGERPRINT.fullmatch(text)
        if found:
            return cls(text, None, None, f"SHA256:{found.group(1)}")
        line = _PIN_LINE.fullmatch(text)
        if line is None or line.group(1) not in _KEY_ALGORITHMS:
            raise PermanentDeliveryError(
                f"host_key {text[:60]!r} is neither an OpenSSH public key line (ssh-ed25519, "
                "ecdsa-sha2-nistp256/384/521, ssh-rsa) nor a SHA256 fingerprint",
                raw_code="SETTINGS",
            )
        try:
            blob = base64.b64decode(line.group(2), validate=True)
        except binascii.Error:
            raise PermanentDeliveryError(
                f"host_key {text[:60]!r}: the key is not valid base64", raw_code="SETTINGS"
            ) from None
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
        return cls(text, line.group(1), blob, f"SHA256:{digest}")

    @property
    def algorithms(self) -> tuple[str, ...] | None:
        return _KEY_ALGORITHMS[self.key_type] if self.key_type else None

    def matches(self, key: paramiko.PKey) -> bool:
        if self.blob is not None:
            return bool(key.asbytes() == self.blob)
        return bool(key.fingerprint == self.sha256)


# ---------------------------------------------------------------- credentials


def load_private_key(pem: str, passphrase: str | None = None) -> paramiko.PKey:
    """A paramiko key from PEM/OpenSSH text (RSA, ECDSA, Ed25519); errors never quote the key."""
    data = pem.strip().encode("utf-8") + b"\n"
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        try:
            loaded: Any = serialization.load_ssh_private_key(data, password=password)
        except ValueError as first:
            if b"OPENSSH PRIVATE KEY" in data:
                raise first
            loaded = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        what = "is encrypted and no 'passphrase' secret is set" if password is None else "is not encrypted"
        raise PermanentDeliveryError(f"the private_key secret {what}", raw_code="KEY") from None
    except (ValueError, binascii.Error) as exc:
        reason = "wrong passphrase" if password is not None and "password" in str(exc).lower() else ""
        reason = reason or "not a PEM or OpenSSH private key (or a wrong passphrase)"
        raise PermanentDeliveryError(
            f"the private_key secret cannot be read: {reason}", raw_code="KEY"
        ) from None
    # from the object cryptography already parsed where paramiko allows it: paramiko's own
    # OpenSSH-format ECDSA parser rejects about a third of valid keys ("Invalid key curve")
    try:
        if isinstance(loaded, rsa.RSAPrivateKey):
            return paramiko.RSAKey(key=loaded)
        if isinstance(loaded, ec.EllipticCurvePrivateKey):
            return paramiko.ECDSAKey(vals=(loaded, loaded.public_key()))
        if isinstance(loaded, ed25519.Ed25519PrivateKey):
            return paramiko.Ed25519Key.from_private_key(
                io.StringIO(data.decode("utf-8")), password=passphrase
            )
    except (paramiko.SSHException, ValueError) as exc:
        raise PermanentDeliveryError(
            f"the private_key secret cannot be read: {type(exc).__name__}", raw_code="KEY"
        ) from None
    raise PermanentDeliveryError(
        f"the private_key secret is a {type(loaded).__name__}; use RSA, ECDSA or Ed25519", raw_code="KEY"
    )


# ---------------------------------------------------------------- remote names


def _clean_value(name: str, value: str, where: str) -> str:
    """A template value reduced to one harmless path component; traversal attempts are refused."""
    if "\x00" in value:
        raise PermanentDeliveryError(f"{where}: the {name} value contains a NUL byte", raw_code="PATH")
    if any(part.strip() == ".." for part in re.split(r"[/\\]", value)):
        raise PermanentDeliveryError(
            f"{where}: the {name} value {value[:80]!r} is a path traversal; nothing was sent",
            raw_code="PATH",
        )
    return safe_name(value.replace("/", "_").replace("\\", "_"), name.replace("_", "-"))


def remote_paths(
    template: str, documents: Sequence[OutgoingDocument], values: Mapping[str, object]
) -> list[str]:
    """The final remote path of each document, or ``PermanentDeliveryError(raw_code="PATH")``."""
    if "\x00" in template or "\\" in template:
        what = "a NUL byte" if "\x00" in template else "a backslash"
        raise PermanentDeliveryError(f"remote_path {template!r} contains {what}", raw_code="PATH")
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PermanentDeliveryError(
            f"remote_path {template!r} is not a template: {exc}", raw_code="PATH"
        ) from None
    paths: list[str] = []
    for doc in documents:
        out: list[str] = []
        for literal, name, spec, conversion in pieces:
            out.append(literal)
            if name is None:
                continue
            if name not in TEMPLATE_FIELDS or spec or conversion:
                raise PermanentDeliveryError(
                    f"remote_path {template!r}: unknown placeholder {{{name}}}; allowed: "
                    + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS),
                    raw_code="PATH",
                )
            raw = doc.filename if name == "filename" else values.get(name)
            if raw is None or str(raw) == "":
                raise PermanentDeliveryError(
                    f"remote_path {template!r} uses {{{name}}} but the delivery does not provide it",
                    raw_code="SETTINGS",
                )
            out.append(_clean_value(name, str(raw), f"remote path {template!r}"))
        path = "".join(out)
        if ".." in path.split("/"):
            raise PermanentDeliveryError(f"remote path {path!r} contains '..'; refused", raw_code="PATH")
        if path.startswith("/") and not template.startswith("/"):
            raise PermanentDeliveryError(f"remote path {path!r} is absolute; refused", raw_code="PATH")
        if path.endswith("/") or not path.strip("/"):
            raise PermanentDeliveryError(f"remote path {path!r} names a folder, not a file", raw_code="PATH")
        paths.append(posixpath.normpath(path))
    if len(set(paths)) != len(paths):
        raise PermanentDeliveryError(
            f"two documents of the delivery would have the same remote path ({', '.join(paths)}); "
            "put {filename} in remote_path",
            raw_code="NAMES",
        )
    return paths


def _partial(path: str, delivery_id: str) -> str:
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f".{name}.{safe_name(delivery_id, 'delivery')}.partial")


# ---------------------------------------------------------------- sessions and the pool


@dataclass
class _Session:
    transport: paramiko.Transport
    sftp: paramiko.SFTPClient
    banner: str
    host_key: str
    last_used: float = field(default_factory=time.monotonic)
    posix_rename: bool = True

    def evidence(self) -> bytes:
        return json.dumps({"banner": self.banner, "host_key": self.host_key}).encode("utf-8")

    def healthy(self) -> bool:
        if not self.transport.is_active():
            return False
        try:
            self.sftp.stat(".")
        except (OSError, EOFError, paramiko.SSHException):
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sftp.close()
        with contextlib.suppress(Exception):
            # the FIN now: paramiko's close() leaves the socket to its reader thread, which lets
            # go of it only some milliseconds later (the server still counts the connection)
            self.transport.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.transport.close()


_PoolKey = tuple[str, int, str, str, str]


class _Pool:
    """Idle authenticated sessions per key; a session is used by one send at a time."""

    def __init__(self, idle_seconds: float, max_idle: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_idle = max_idle
        self._idle: dict[_PoolKey, list[_Session]] = {}
        self._lock = threading.Lock()

    def _expired(self, now: float) -> list[_Session]:
        gone: list[_Session] = []
        for key, sessions in list(self._idle.items()):
            keep = [s for s in sessions if now - s.last_used < self.idle_seconds]
            gone.extend(s for s in sessions if now - s.last_used >= self.idle_seconds)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        return gone

    def take(self, key: _PoolKey) -> _Session | None:
        while True:
            with self._lock:
                stale = self._expired(time.monotonic())
                candidates = self._idle.get(key)
                session = candidates.pop() if candidates else None
            for old in stale:
                old.close()
            if session is None:
                return None
            if session.healthy():
                return session
            session.close()

    def give(self, key: _PoolKey, session: _Session) -> None:
        session.last_used = time.monotonic()
        with self._lock:
            stale = self._expired(session.last_used)
            sessions = self._idle.setdefault(key, [])
            if len(sessions) < self.max_idle and session.transport.is_active():
                sessions.append(session)
                session = None  # type: ignore[assignment]
        for old in stale:
            old.close()
        if session is not None:
            session.close()

    def close(self) -> None:
        with self._lock:
            every = [s for sessions in self._idle.values() for s in sessions]
            self._idle.clear()
        for session in every:
            session.close()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._idle.values())


# ---------------------------------------------------------------- error mapping


def _network_error(exc: BaseException, what: str, evidence: bytes, sent: bytes = b"") -> DeliveryError:
    """A library or socket error during ``what`` as the error kind the gateway acts on."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, TimeoutError | socket.timeout):
        detail = f" ({exc})" if str(exc) not in ("", "timed out") else ""
        return TransientDeliveryError(
            f"{what}: timed out{detail}", raw_code="TIMEOUT", sent=sent, received=evidence
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransientDeliveryError(
            f"{what}: connection refused", raw_code="CONNECT", sent=sent, received=evidence
        )
    if isinstance(exc, socket.gaierror):
        return TransientDeliveryError(
            f"{what}: the host name does not resolve ({exc.strerror})", raw_code="CONNECT", sent=sent
        )
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return PermanentDeliveryError(
            f"{what}: permission denied", raw_code="EACCES", sent=sent, received=evidence
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
        return PermanentDeliveryError(
            f"{what}: no such file or folder", raw_code="NOFOLDER", sent=sent, received=evidence
        )
    if isinstance(exc, ConnectionError | EOFError):
        reason = "the connection was closed" if isinstance(exc, EOFError) else "the connection was reset"
        return TransientDeliveryError(f"{what}: {reason}", raw_code="IO", sent=sent, received=evidence)
    reason = str(exc) or type(exc).__name__
    return TransientDeliveryError(f"{what}: {reason}", raw_code="IO", sent=sent, received=evidence)


# ---------------------------------------------------------------- the connector


class SftpConnector:
    """Uploads the documents of a delivery; see the module docstring for the promises.

    ``connect_timeout`` bounds the TCP connect, the banner and the key exchange;
    ``auth_timeout`` the authentication; ``operation_timeout`` every SFTP request and each
    block written. ``reuse=False`` opens and closes a connection per send (the naive way, kept
    for the benchmark's comparison).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        auth_timeout: float = 15.0,
        operation_timeout: float = 30.0,
        idle_seconds: float = 60.0,
        max_idle: int = 4,
        reuse: bool = True,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.auth_timeout = auth_timeout
        self.operation_timeout = operation_timeout
        self.reuse = reuse
        self._pool = _Pool(idle_seconds, max_idle if reuse else 0)
        self.connections_opened = 0

    def close(self) -> None:
        """Close every pooled connection (at shutdown; idle ones also expire on their own)."""
        self._pool.close()

    def __enter__(self) -> SftpConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- send

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        host, port, username = self._endpoint(settings)
        pin = HostKeyPin.parse(settings.get("host_key"))
        if not documents:
            raise PermanentDeliveryError("the delivery has no documents to upload", raw_code="EMPTY")
        template = settings.get("remote_path") or DEFAULT_TEMPLATE
        if not isinstance(template, str):
            raise PermanentDeliveryError("remote_path must be a text template", raw_code="SETTINGS")
        paths = remote_paths(template, documents, settings)
        files = [
            {
                "path": path,
                "size": len(doc.content),
                "sha256": hashlib.sha256(doc.content).hexdigest(),
                "kind": doc.kind,
                "outcome": "pending",
            }
            for doc, path in zip(documents, paths, strict=True)
        ]

        def manifest() -> bytes:
            body = {
                "host": host,
                "port": port,
                "username": username,
                "delivery_id": delivery_id,
                "files": files,
            }
            return json.dumps(body, indent=1).encode("utf-8")

        credential, pkey, password = self._credentials(secrets)
        key: _PoolKey = (host, port, username, credential, pin.sha256)
        session = self._pool.take(key) if self.reuse else None
        reused = session is not None
        if session is None:
            session = self._open(host, port, username, pin, pkey, password, manifest)
        try:
            self._transfer(session, documents, paths, files, delivery_id, f"{host}:{port}", manifest)
        except PermanentDeliveryError:
            self._pool.give(key, session) if self.reuse else session.close()
            raise
        except BaseException:
            session.close()  # a transient failure: the connection is suspect
            raise
        if self.reuse:
            self._pool.give(key, session)
        else:
            session.close()
        uploaded = any(f["outcome"] == "uploaded" for f in files)
        return DeliveryResult(
            status="delivered",
            remote_reference="\n".join(paths),
            raw_code="uploaded" if uploaded else "unchanged",
            sent=manifest(),
            received=session.evidence(),
            details={"files": files, "connection": "reused" if reused else "new"},
        )

    @staticmethod
    def _endpoint(settings: Mapping[str, Any]) -> tuple[str, int, str]:
        host, port, username = settings.get("host"), settings.get("port", 22), settings.get("username")
        if not isinstance(host, str) or not host:
            raise PermanentDeliveryError("the sftp channel has no 'host' setting", raw_code="SETTINGS")
        if not isinstance(username, str) or not username:
            raise PermanentDeliveryError("the sftp channel has no 'username' setting", raw_code="SETTINGS")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise PermanentDeliveryError(f"the sftp port {port!r} is not a port number", raw_code="SETTINGS")
        return host, port, username

    @staticmethod
    def _credentials(secrets: Mapping[str, str]) -> tuple[str, paramiko.PKey | None, str | None]:
        """The key or password, and a digest naming them in the pool key (never the secret)."""
        password = secrets.get("password") or None
        pem = secrets.get("private_key") or None
        if pem is None and password is None:
            raise PermanentDeliveryError(
                "the sftp channel needs a 'password' or a 'private_key' secret", raw_code="SETTINGS"
            )
        pkey = load_private_key(pem, secrets.get("passphrase")) if pem else None
        digest = hashlib.sha256()
        digest.update(pkey.fingerprint.encode() if pkey else b"-")
        digest.update(b"\0" + (password or "").encode("utf-8"))
        return digest.hexdigest(), pkey, password

    # ---------------------------------------------------------------- connect

    def _open(
        self,
        host: str,
        port: int,
        username: str,
        pin: HostKeyPin,
        pkey: paramiko.PKey | None,
        password: str | None,
        manifest: Any,
    ) -> _Session:
        where = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        except OSError as exc:
            raise _network_error(exc, f"cannot connect to {where}", b"", manifest()) from None
        transport = paramiko.Transport(sock)
        banner = ""
        try:
            transport.banner_timeout = self.connect_timeout
            transport.handshake_timeout = self.connect_timeout
            transport.auth_timeout = self.auth_timeout
            if pin.algorithms:
                transport.get_security_options().key_types = pin.algorithms
            try:
                transport.start_client(timeout=self.connect_timeout)
            except paramiko.IncompatiblePeer as exc:
                if "host key" in str(exc) and pin.key_type:
                    raise PermanentDeliveryError(
                        f"host key for {where} does not match the pinned key (the server offers no "
                        f"{pin.key_type} key)",
                        raw_code="HOSTKEY",
                        sent=manifest(),
                        received=transport.remote_version.encode("utf-8", "replace"),
                    ) from None
                raise
            except paramiko.SSHException as exc:
                text = str(exc).lower()
                if "banner" in text and not any(w in text for w in ("reset", "eof", "closed", "refused")):
                    # paramiko's wording when the peer does not greet within banner_timeout
                    raise TimeoutError(f"no SSH banner within {self.connect_timeout:g} s") from None
                raise
            if not transport.is_active() or not transport.initial_kex_done:
                # start_client returns silently when its own timeout passes
                raise TimeoutError(f"no SSH handshake within {self.connect_timeout:g} s")
            banner = transport.remote_version or ""
            server_key = transport.get_remote_server_key()
            presented = fingerprint(server_key)
            evidence = json.dumps({"banner": banner, "host_key": presented}).encode("utf-8")
            if not pin.matches(server_key):
                raise PermanentDeliveryError(
                    f"host key for {where} does not match the pinned key (got {presented})",
                    raw_code="HOSTKEY",
                    sent=manifest(),
                    received=evidence,
                )
            self._authenticate(transport, username, pkey, password, where, evidence, manifest)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:  # pragma: no cover - paramiko returns None only without a channel
                raise TransientDeliveryError(f"{where} opened no sftp channel", raw_code="IO")
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.operation_timeout)
        except BaseException as exc:
            transport.close()
            sock.close()
            if isinstance(exc, DeliveryError):
                raise
            if isinstance(exc, paramiko.ChannelException | paramiko.SSHException) and "subsystem" in str(exc):
                raise PermanentDeliveryError(
                    f"{where} refused the sftp subsystem", raw_code="NOSFTP", sent=manifest()
                ) from None
            received = json.dumps({"banner": banner}).encode("utf-8")
            raise _network_error(
                exc, f"cannot open an sftp session on {where}", received, manifest()
            ) from None
        self.connections_opened += 1
        return _Session(transport, sftp, banner, presented)

    @staticmethod
    def _authenticate(
        transport: paramiko.Transport,
        username: str,
        pkey: paramiko.PKey | None,
        password: str | None,
        where: str,
        evidence: bytes,
        manifest: Any,
    ) -> None:
        tried: list[str] = []
        if pkey is not None:
            try:
                transport.auth_publickey(username, pkey)
                return
            except paramiko.AuthenticationException as exc:
                tried.append(f"key {fingerprint(pkey)}: {_auth_reason(exc)}")
        if password is not None:
            try:
                transport.auth_password(username, password)
                return
            except paramiko.AuthenticationException as exc:
                tried.append(f"password: {_auth_reason(exc)}")
        raise PermanentDeliveryError(
            f"authentication as {username!r} on {where} refused ({'; '.join(tried)})",
            raw_code="AUTH",
            sent=manifest(),
            received=evidence,
        )

    # ---------------------------------------------------------------- transfer

    def _transfer(
        self,
        session: _Session,
        documents: Sequence[OutgoingDocument],
        paths: Sequence[str],
        files: list[dict[str, Any]],
        delivery_id: str,
        where: str,
        manifest: Any,
    ) -> None:
        sftp, evidence = session.sftp, session.evidence()

        def fail(exc: BaseException, what: str) -> DeliveryError:
            return _network_error(exc, what, evidence, manifest())

        # 1. what is there already: the same bytes (an earlier attempt) or someone else's file
        for doc, path, entry in zip(documents, paths, files, strict=True):
            try:
                if self._already_there(sftp, path, doc.content, where):
                    entry["outcome"] = "unchanged"
            except PermanentDeliveryError as exc:
                exc.sent, exc.received = manifest(), evidence
                raise
            except BaseException as exc:
                raise fail(exc, f"cannot check {path} on {where}") from None
        # 2. every partial up and its size checked, 3. then the renames
        partials: list[str] = []
        renamed: list[str] = []
        try:
            for doc, path, entry in zip(documents, paths, files, strict=True):
                if entry["outcome"] == "unchanged":
                    continue
                partial = _partial(path, delivery_id)
                partials.append(partial)
                try:
                    with sftp.open(partial, "wb") as remote:
                        remote.set_pipelined(True)
                        remote.write(doc.content)
                    size = sftp.stat(partial).st_size
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        folder = posixpath.dirname(path) or "."
                        raise PermanentDeliveryError(
                            f"the remote folder {folder} does not exist on {where}",
                            raw_code="NOFOLDER",
                            sent=manifest(),
                            received=evidence,
                        ) from None
                    if exc.errno == errno.EACCES:
                        raise PermanentDeliveryError(
                            f"permission denied writing {partial} on {where}",
                            raw_code="EACCES",
                            sent=manifest(),
                            received=evidence,
                        ) from None
                    raise fail(exc, f"upload of {path} to {where} failed") from None
                except BaseException as exc:
                    raise fail(exc, f"upload of {path} to {where} failed") from None
                if size != len(doc.content):
                    raise TransientDeliveryError(
                        f"{partial} on {where} has {size} bytes after the upload, not {len(doc.content)}",
                        raw_code="IO",
                        sent=manifest(),
                        received=evidence,
                    )
                entry["outcome"] = "partial"
            for path, entry in zip(paths, files, strict=True):
                if entry["outcome"] == "unchanged":
                    continue
                partial = _partial(path, delivery_id)
                try:
                    self._rename(session, partial, path)
                except BaseException as exc:
                    raise fail(exc, f"cannot rename {partial} to {path} on {where}") from None
                renamed.append(path)
                entry["outcome"] = "uploaded"
        except BaseException as exc:
            for name in [*partials, *renamed]:
                with contextlib.suppress(Exception):
                    sftp.remove(name)
            for entry in files:
                if entry["outcome"] != "unchanged":
                    entry["outcome"] = "failed"
            if isinstance(exc, DeliveryError):
                exc.sent = manifest()  # the evidence says what is (not) on the server now
            raise

    @staticmethod
    def _already_there(sftp: paramiko.SFTPClient, path: str, content: bytes, where: str) -> bool:
        try:
            attrs = sftp.stat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        if attrs.st_mode is not None and not stat.S_ISREG(attrs.st_mode):
            raise PermanentDeliveryError(f"{path} on {where} exists and is not a file", raw_code="EEXIST")
        if attrs.st_size == len(content):
            digest = hashlib.sha256()
            with sftp.open(path, "rb") as remote:
                remote.prefetch(len(content))
                digest.update(remote.read())
            if digest.digest() == hashlib.sha256(content).digest():
                return True
        raise PermanentDeliveryError(
            f"{path} on {where} already exists with different content; not overwritten",
            raw_code="EEXIST",
        )

    @staticmethod
    def _rename(session: _Session, partial: str, path: str) -> None:
        if session.posix_rename:
            try:
                session.sftp.posix_rename(partial, path)
                return
            except OSError as exc:
                if exc.errno is not None or "unsupported" not in str(exc).lower():
                    raise
                session.posix_rename = False
        session.sftp.rename(partial, path)


def _auth_reason(exc: paramiko.AuthenticationException) -> str:
    if isinstance(exc, paramiko.BadAuthenticationType):
        allowed = ", ".join(exc.allowed_types) or "nothing"
        return f"the server does not accept this method (it allows: {allowed})"
    return "refused"
