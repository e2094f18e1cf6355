"""The ``email`` channel: the invoice documents as attachments of one message, sent over SMTP.

The receiving side is a mailbox, often an accounts-payable robot that reads the attachments,
sometimes a person. What this connector promises:

* **TLS, verified.** STARTTLS on a plain connection (587, the default) or TLS from the first
  byte (``implicit_tls``, 465). The server certificate is always verified, against the
  system store or, with ``tls_ca_pem``, against that CA only; a certificate that does not
  verify is a permanent failure (an operator must fix the trust, retrying will not).
  Plain text only to a loopback relay (the settings model refuses anything else). AUTH
  when ``username`` is set, with the ``password`` secret.
* **Recognisable repeats.** ``Message-ID: <delivery id@From domain>`` is the same on every
  attempt, and so are the MIME boundary and the attachments: a message sent twice (a crash
  between the server's 250 and the status update) is the same message twice, which the
  recipient's mail system and people can see.
* **All or nothing.** Every recipient must be accepted before the message is sent: one
  refused address fails the delivery (the others are not mailed half the time).
* **Failure kinds from the reply code.** 4xx transient, 5xx permanent (``raw_code`` is the
  code), 535 authentication refused permanent, 454 temporary, connection errors and
  timeouts transient.
* **Evidence.** ``sent`` is the whole RFC 5322 message, ``received`` the server's final
  reply (which usually names its queue id); ``remote_reference`` the Message-ID.

Connections are pooled per server and credentials and reused with ``RSET`` between
messages (a new connection with TLS and AUTH costs several round trips); a pooled
connection idle longer than ``idle_seconds`` is closed instead of reused, and one the
server has dropped is replaced transparently before anything of the message is sent.

The subject and body come from templates in the invoice's language (``TEMPLATE_KEYS``):
the documents do not carry it, so the pipeline passes these values in the settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from connectors.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from formats import numbers
from formats.invoice.codes import currency_decimals

__all__ = [
    "LANGUAGES",
    "TEMPLATE_KEYS",
    "EmailConnector",
    "SmtpPool",
    "build_message",
    "message_id",
]

# the settings keys the templates read (all optional): the pipeline passes them per invoice
TEMPLATE_KEYS = (
    "language",  # BCP 47 tag; its primary subtag picks the template (en, fr, de), else en
    "invoice_number",
    "seller_name",
    "amount_due",  # a decimal number as a string ("1234.50") or a number
    "currency",  # ISO 4217 code
    "due_date",  # ISO date "YYYY-MM-DD"
    "payment_link",  # an https:// URL; anything else is left out
)
DEFAULT_TIMEOUT = 30.0
MAX_PER_CONNECTION = 100  # messages sent over one connection before it is renewed
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# ---------------------------------------------------------------------------- the message


@dataclass(frozen=True)
class _Language:
    subject: str
    subject_from: str
    greeting: str
    intro: str
    intro_from: str
    amount: str
    due: str
    pay: str
    attached: str
    closing: str
    code: str  # formats.numbers' language: month names, digit grouping, decimal mark
    date_format: str  # {d} {month} {y}


LANGUAGES: dict[str, _Language] = {
    "en": _Language(
        code="en",
        subject="Invoice {number}",
        subject_from="Invoice {number} from {seller}",
        greeting="Hello,",
        intro="Please find attached invoice {number}.",
        intro_from="Please find attached invoice {number} from {seller}.",
        amount="Amount due: {amount}",
        due="Due date: {date}",
        pay="Pay online: {link}",
        attached="Attached:",
        closing="This message was sent automatically; replies are not read.",
        date_format="{d} {month} {y}",
    ),
    "fr": _Language(
        code="fr",
        subject="Facture {number}",
        subject_from="Facture {number} de {seller}",
        greeting="Bonjour,",
        intro="Veuillez trouver ci-joint la facture {number}.",
        intro_from="Veuillez trouver ci-joint la facture {number} de {seller}.",
        amount="Montant dû : {amount}",
        due="Date d'échéance : {date}",
        pay="Payer en ligne : {link}",
        attached="Pièces jointes :",
        closing="Ce message a été envoyé automatiquement ; les réponses ne sont pas lues.",
        date_format="{d} {month} {y}",
    ),
    "de": _Language(
        code="de",
        subject="Rechnung {number}",
        subject_from="Rechnung {number} von {seller}",
        greeting="Guten Tag,",
        intro="anbei erhalten Sie die Rechnung {number}.",
        intro_from="anbei erhalten Sie die Rechnung {number} von {seller}.",
        amount="Offener Betrag: {amount}",
        due="Fällig am: {date}",
        pay="Online bezahlen: {link}",
        attached="Anhänge:",
        closing="Diese Nachricht wurde automatisch versandt; Antworten werden nicht gelesen.",
        date_format="{d}. {month} {y}",
    ),
}


def _text(value: Any, limit: int = 200) -> str | None:
    """A template value as one harmless line (no header injection), or None when absent."""
    if value is None:
        return None
    cleaned = _CONTROL.sub(" ", str(value)).strip()
    return cleaned[:limit] or None


def _language(settings: Mapping[str, Any]) -> _Language:
    tag = _text(settings.get("language")) or "en"
    return LANGUAGES.get(re.split(r"[-_]", tag, maxsplit=1)[0].lower(), LANGUAGES["en"])


def _amount(value: Any, currency: str | None, lang: _Language) -> str | None:
    """``1,234.50 EUR`` (en), ``1 234,50 EUR`` (fr): grouped as the PDF writes it, the
    currency's minor units (``JPY`` has none), the ISO code after (plain text)."""
    shown = _text(value)
    if shown is None:
        return None
    try:
        amount = Decimal(shown)
        places = currency_decimals(currency) if currency else 2
        text = numbers.number(amount, lang.code, decimals=places)
    except (InvalidOperation, ValueError):
        return f"{shown} {currency}" if currency else shown  # shown as given rather than lost
    return f"{text} {currency}" if currency else text


def _date(value: Any, lang: _Language) -> str | None:
    shown = _text(value)
    if shown is None:
        return None
    try:
        day = date.fromisoformat(shown[:10])
    except ValueError:
        return shown
    month = numbers.STYLES[lang.code].months[day.month - 1]
    return lang.date_format.format(d=day.day, month=month, y=day.year)


def _link(value: Any) -> str | None:
    link = _text(value, 2000)
    if link is None or not re.fullmatch(r"https://[^\s<>\"]+", link):
        return None  # a javascript: or http:// "payment link" is not put in front of a payer
    return link


def render(settings: Mapping[str, Any], documents: Sequence[OutgoingDocument]) -> tuple[str, str]:
    """(subject, text body) in the invoice's language from the ``TEMPLATE_KEYS`` settings.

    Missing values drop their line rather than leave a blank ("Amount due: None"); without
    an invoice number the subject names the first document's file.
    """
    lang = _language(settings)
    number = _text(settings.get("invoice_number"), 100)
    if number is None:
        number = documents[0].filename.rsplit(".", 1)[0] if documents else ""
    seller = _text(settings.get("seller_name"), 150)
    subject = (lang.subject_from if seller else lang.subject).format(number=number, seller=seller)
    lines = [
        lang.greeting,
        "",
        (lang.intro_from if seller else lang.intro).format(number=number, seller=seller),
    ]
    details = []
    amount = _amount(settings.get("amount_due"), _text(settings.get("currency"), 3), lang)
    if amount:
        details.append(lang.amount.format(amount=amount))
    due = _date(settings.get("due_date"), lang)
    if due:
        details.append(lang.due.format(date=due))
    link = _link(settings.get("payment_link"))
    if link:
        details.append(lang.pay.format(link=link))
    if details:
        lines += ["", *details]
    lines += ["", lang.attached, *(f"- {doc.filename}" for doc in documents), "", "-- ", lang.closing, ""]
    return subject, "\n".join(lines)


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "gateway.invalid"


def message_id(delivery_id: str, sender: str) -> str:
    """``<delivery id@sender's domain>``: the same on every attempt of one delivery."""
    local = _SAFE_ID.sub("_", delivery_id).strip("._") or "delivery"
    return f"<{local}@{_domain(sender)}>"


def build_message(
    documents: Sequence[OutgoingDocument],
    settings: Mapping[str, Any],
    *,
    delivery_id: str,
    sender: str,
    recipients: Sequence[str],
    now: float | None = None,
) -> tuple[EmailMessage, str]:
    """The message (multipart/mixed: the text, then each document) and its Message-ID."""
    subject, body = render(settings, documents)
    msg = EmailMessage(policy=policy.SMTP)
    ident = message_id(delivery_id, sender)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(now, localtime=False, usegmt=True)
    msg["Message-ID"] = ident
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies bouncing around
    lang = _text(settings.get("language"), 35)
    if lang:
        msg["Content-Language"] = lang
    msg.set_content(body, charset="utf-8")
    digest = hashlib.sha256(delivery_id.encode("utf-8"))
    for doc in documents:
        maintype, _, subtype = (doc.media_type or "application/octet-stream").partition("/")
        if not subtype or _CONTROL.search(doc.media_type):
            maintype, subtype = "application", "octet-stream"
        filename = _text(doc.filename, 200) or "document"
        msg.add_attachment(doc.content, maintype=maintype, subtype=subtype, filename=filename)
        digest.update(hashlib.sha256(doc.content).digest())
    # a boundary derived from the delivery (not random): the same bytes on every attempt
    msg.set_boundary("=_gw_" + digest.hexdigest()[:32])
    return msg, ident


# ---------------------------------------------------------------------------- the connection pool


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    secret_digest: str  # the password's hash: a changed password never reuses a session
    ca_digest: str
    timeout: float


@dataclass
class _Pooled:
    smtp: smtplib.SMTP
    last_used: float
    sent: int = 0
    reused: bool = False


@dataclass
class SmtpPool:
    """Idle authenticated SMTP sessions per endpoint, closed after ``idle_seconds`` unused.

    Thread-safe: a session is lent to one sender at a time; at most ``max_idle`` idle
    sessions per endpoint are kept (the others are closed with QUIT).
    """

    idle_seconds: float = 30.0
    max_idle: int = 4
    clock: Callable[[], float] = time.monotonic
    _idle: dict[_Endpoint, list[_Pooled]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    opened: int = 0  # sessions opened so far (the bench and the tests read it)

    def take(self, endpoint: _Endpoint) -> _Pooled | None:
        expired: list[_Pooled] = []
        found: _Pooled | None = None
        with self._lock:
            stack = self._idle.get(endpoint, [])
            now = self.clock()
            while stack:
                item = stack.pop()
                if now - item.last_used > self.idle_seconds:
                    expired.append(item)
                else:
                    found = item
                    break
        for item in expired:
            _quit(item.smtp)
        if found is not None:
            found.reused = True
        return found

    def give_back(self, endpoint: _Endpoint, item: _Pooled) -> None:
        item.last_used = self.clock()
        if item.sent >= MAX_PER_CONNECTION:
            _quit(item.smtp)
            return
        with self._lock:
            stack = self._idle.setdefault(endpoint, [])
            if len(stack) < self.max_idle:
                stack.append(item)
                return
        _quit(item.smtp)

    def close(self) -> None:
        with self._lock:
            every = [item for stack in self._idle.values() for item in stack]
            self._idle.clear()
        for item in every:
            _quit(item.smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    with contextlib.suppress(OSError):
        smtp.close()


# ---------------------------------------------------------------------------- errors


def _reply_text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return " ".join(text.split())[:300]


def _by_code(what: str, code: int, message: bytes | str, *, sent: bytes = b"") -> DeliveryError:
    text = _reply_text(message)
    received = f"{code} {text}".encode()
    kind: type[DeliveryError] = PermanentDeliveryError if code >= 500 else TransientDeliveryError
    if code < 400:  # an unexpected positive reply where a final one was due: try again later
        kind = TransientDeliveryError
    return kind(
        f"{what}: the SMTP server answered {code} {text}", raw_code=str(code), sent=sent, received=received
    )


def _connection_error(where: str, exc: BaseException, *, sent: bytes = b"") -> DeliveryError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentDeliveryError(
            f"the TLS certificate of {where} does not verify: {exc.verify_message or exc.reason}; "
            "fix the server certificate or the channel's tls_ca_pem",
            raw_code="TLS_VERIFY",
            sent=sent,
        )
    if isinstance(exc, ssl.SSLError):
        return TransientDeliveryError(
            f"TLS with {where} failed: {exc.reason or exc}", raw_code="TLS", sent=sent
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransientDeliveryError(f"{where} did not answer in time", raw_code="TIMEOUT", sent=sent)
    if isinstance(exc, socket.gaierror):
        return TransientDeliveryError(
            f"the SMTP host of {where} cannot be resolved: {exc.strerror}", raw_code="DNS", sent=sent
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransientDeliveryError(f"{where} refused the connection", raw_code="ECONNREFUSED", sent=sent)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError(f"{where} closed the connection", raw_code="DISCONNECTED", sent=sent)
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return TransientDeliveryError(f"cannot talk to {where}: {reason}", raw_code="NETWORK", sent=sent)


# ---------------------------------------------------------------------------- the connector


class EmailConnector:
    """Sends the documents to ``settings["to"]``; see the module docstring for the promises.

    Settings (``gateway.recipients.EmailSettings``): ``to``, ``from``, ``smtp_host``,
    ``smtp_port``, ``starttls``, ``implicit_tls``, ``username``, ``tls_ca_pem``,
    ``timeout``, plus the per-invoice ``TEMPLATE_KEYS``. Secret: ``password``.
    """

    def __init__(
        self,
        *,
        pool: SmtpPool | None = None,
        local_hostname: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.pool = pool if pool is not None else SmtpPool()
        self._local_hostname = local_hostname
        self._now = now
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._contexts_lock = threading.Lock()

    def close(self) -> None:
        self.pool.close()

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        endpoint, sender, recipients, password, ca_pem = self._settings(settings, secrets)
        if not documents:
            raise PermanentDeliveryError("the delivery has no documents to attach", raw_code="EMPTY")
        msg, ident = build_message(
            documents,
            settings,
            delivery_id=delivery_id,
            sender=sender,
            recipients=recipients,
            now=self._now(),
        )
        data = msg.as_bytes(policy=policy.SMTP)
        where = f"{endpoint.host}:{endpoint.port}"
        for _ in range(2):  # a second time only when a pooled session turned out to be dead
            item = self.pool.take(endpoint)
            if item is None:
                item = self._open(endpoint, password, ca_pem, where)
            try:
                code, reply = self._transaction(item, sender, recipients, data, where)
            except _StaleSession:
                _quit(item.smtp)
                continue
            except DeliveryError:
                self._recycle(endpoint, item)
                raise
            except (smtplib.SMTPException, OSError) as exc:
                _quit(item.smtp)
                raise _connection_error(where, exc, sent=data) from None
            item.sent += 1
            self.pool.give_back(endpoint, item)
            received = f"{code} {_reply_text(reply)}".encode()
            return DeliveryResult(
                status="delivered",
                remote_reference=ident,
                raw_code=str(code),
                sent=data,
                received=received,
                details={"message_id": ident, "recipients": list(recipients), "size": len(data)},
            )
        raise TransientDeliveryError(f"{where} keeps closing the connection", raw_code="DISCONNECTED")

    # -- settings

    def _settings(
        self, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> tuple[_Endpoint, str, list[str], str | None, str | None]:
        def setting_error(text: str) -> PermanentDeliveryError:
            return PermanentDeliveryError(f"email channel: {text}", raw_code="SETTINGS")

        host = settings.get("smtp_host")
        sender = settings.get("from", settings.get("from_"))
        to = settings.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(host, str) or not host:
            raise setting_error("no 'smtp_host' setting")
        if not isinstance(sender, str) or "@" not in sender:
            raise setting_error("no 'from' address")
        if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
            raise setting_error("'to' must list at least one address")
        for address in [sender, *to]:
            if _CONTROL.search(address):
                raise setting_error(f"address {address!r} contains control characters")
        implicit = bool(settings.get("implicit_tls", False))
        starttls = bool(settings.get("starttls", True)) and not implicit
        try:
            port = int(settings.get("smtp_port") or (465 if implicit else 587))
            timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            raise setting_error("'smtp_port' and 'timeout' must be numbers") from None
        username = settings.get("username") or None
        password = secrets.get("password")
        if username is not None and not password:
            raise setting_error(f"'username' {username!r} is set but the 'password' secret is missing")
        ca_pem = settings.get("tls_ca_pem") or None
        endpoint = _Endpoint(
            host=host,
            port=port,
            implicit_tls=implicit,
            starttls=starttls,
            username=str(username) if username else None,
            secret_digest=hashlib.sha256((password or "").encode("utf-8")).hexdigest() if username else "",
            ca_digest=hashlib.sha256(str(ca_pem or "").encode("utf-8")).hexdigest(),
            timeout=timeout,
        )
        return endpoint, sender, list(to), password if username else None, ca_pem

    def _context(self, ca_pem: str | None, where: str) -> ssl.SSLContext:
        key = ca_pem or ""
        with self._contexts_lock:
            context = self._contexts.get(key)
            if context is None:
                try:
                    context = (
                        ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
                    )
                except ssl.SSLError as exc:
                    raise PermanentDeliveryError(
                        f"the channel's tls_ca_pem for {where} cannot be loaded: {exc.reason or exc}",
                        raw_code="TLS_CA",
                    ) from None
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                self._contexts[key] = context
        return context

    # -- one session

    def _open(self, endpoint: _Endpoint, password: str | None, ca_pem: str | None, where: str) -> _Pooled:
        smtp: smtplib.SMTP | None = None
        context = self._context(ca_pem, where) if endpoint.implicit_tls or endpoint.starttls else None
        try:
            if endpoint.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    endpoint.host,
                    endpoint.port,
                    local_hostname=self._local_hostname,
                    timeout=endpoint.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    endpoint.host,
                    endpoint.port,
                    local_hostname=self._local_hostname,
                    timeout=endpoint.timeout,
                )
            # Nagle would hold the last TLS record of a message until the server's delayed
            # ACK (40 ms on Linux): on a reused session that is most of each message's time
            if smtp.sock is not None:
                with contextlib.suppress(OSError):
                    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code, reply = smtp.ehlo()
            if code != 250:
                code, reply = smtp.helo()
                if code != 250:
                    raise _by_code(f"{where} refused the greeting", code, reply)
            if endpoint.starttls:
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(
                        f"{where} does not offer STARTTLS; use implicit_tls or another server",
                        raw_code="NO_STARTTLS",
                    )
                code, reply = smtp.starttls(context=context)
                if code != 220:
                    raise _by_code(f"{where} refused STARTTLS", code, reply)
                smtp.ehlo()
            if endpoint.username is not None:
                if not smtp.has_extn("auth"):
                    raise PermanentDeliveryError(
                        f"{where} does not offer AUTH, but the channel has a username", raw_code="NO_AUTH"
                    )
                smtp.login(endpoint.username, password or "")
        except DeliveryError:
            if smtp is not None:
                _quit(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            if smtp is not None:
                _quit(smtp)
            error = _by_code(
                f"{where} refused the login of {endpoint.username!r}", exc.smtp_code, exc.smtp_error
            )
            raise error from None
        except smtplib.SMTPResponseException as exc:
            if smtp is not None:
                _quit(smtp)
            raise _by_code(f"{where} refused the session", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            if smtp is not None:
                _quit(smtp)
            raise PermanentDeliveryError(f"{where}: {exc}", raw_code="UNSUPPORTED") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if smtp is not None:
                _quit(smtp)
            raise _connection_error(where, exc) from None
        except smtplib.SMTPException as exc:  # e.g. "No suitable authentication method found."
            if smtp is not None:
                _quit(smtp)
            raise PermanentDeliveryError(f"{where}: {exc}", raw_code="SMTP") from None
        self.pool.opened += 1
        return _Pooled(smtp, self.pool.clock())

    def _transaction(
        self, item: _Pooled, sender: str, recipients: Sequence[str], data: bytes, where: str
    ) -> tuple[int, bytes]:
        smtp = item.smtp
        if item.reused:
            try:
                code, reply = smtp.rset()
            except (smtplib.SMTPServerDisconnected, OSError):
                raise _StaleSession from None
            if code != 250:
                raise _StaleSession
        try:
            code, reply = smtp.mail(sender)
        except smtplib.SMTPServerDisconnected:
            if item.reused:
                raise _StaleSession from None
            raise
        if code != 250:
            raise _by_code(f"{where} refused the sender {sender}", code, reply, sent=data)
        refused: list[tuple[str, int, bytes]] = []
        for address in recipients:
            code, reply = smtp.rcpt(address)
            if code not in (250, 251):
                refused.append((address, code, reply))
        if refused:
            # all or nothing: the worst answer decides (one permanent refusal is permanent)
            address, code, reply = max(refused, key=lambda r: r[1])
            raise _by_code(f"{where} refused the recipient {address}", code, reply, sent=data)
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as exc:  # the DATA command itself was refused
            raise _by_code(f"{where} refused the message", exc.smtp_code, exc.smtp_error, sent=data) from None
        if code != 250:
            raise _by_code(f"{where} did not accept the message", code, reply, sent=data)
        return code, reply

    def _recycle(self, endpoint: _Endpoint, item: _Pooled) -> None:
        """After a refusal the session is still good: RSET and pool it, else close it."""
        try:
            code, _ = item.smtp.rset()
        except (smtplib.SMTPException, OSError):
            _quit(item.smtp)
            return
        if code == 250:
            self.pool.give_back(endpoint, item)
        else:
            _quit(item.smtp)


class _StaleSession(Exception):
    """A pooled session the server has dropped: nothing was sent, open a new one."""
