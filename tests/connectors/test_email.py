"""The email channel against a real SMTP server (aiosmtpd with STARTTLS or implicit TLS, AUTH)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from connectors.base import OutgoingDocument, PermanentDeliveryError, TransientDeliveryError
from connectors.email import EmailConnector, SmtpPool, build_message, render
from tests.connectors.smtpd import PASSWORD, USER, Server, free_port, smtp_server, tls_material

PDF = OutgoingDocument(
    "INV-42.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", "application/pdf", "facturx"
)
XML = OutgoingDocument(
    "INV-42.xml", "<Invoice><Note>Grüße</Note></Invoice>\n".encode(), "application/xml", "cii"
)
INVOICE = {
    "language": "de",
    "invoice_number": "INV-42",
    "seller_name": "Seller GmbH",
    "amount_due": "1234.5",
    "currency": "EUR",
    "due_date": "2025-07-31",
    "payment_link": "https://pay.example.com/i/42",
}


@pytest.fixture(scope="module")
def starttls() -> Iterator[Server]:
    with smtp_server("starttls") as server:
        yield server


@pytest.fixture(scope="module")
def implicit() -> Iterator[Server]:
    with smtp_server("implicit") as server:
        yield server


@pytest.fixture
def connector() -> Iterator[EmailConnector]:
    c = EmailConnector(local_hostname="gateway.test")
    yield c
    c.close()


def settings(server: Server, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "to": ["ap@buyer.example"],
        "from": "invoices@seller.example",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "username": USER,
        "tls_ca_pem": tls_material().ca_pem,
        "timeout": 5,
    }
    if server.controller.ssl_context is not None:
        base["implicit_tls"] = True
    return {**base, **extra}


def parsed(content: bytes) -> EmailMessage:
    msg = message_from_bytes(content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_starttls_auth_delivers_the_documents_as_attachments(starttls: Server, connector) -> None:
    before = len(starttls.handler.messages)
    result = connector.send(
        [PDF, XML], {**settings(starttls), **INVOICE}, {"password": PASSWORD}, delivery_id="dlv_1"
    )
    got = starttls.handler.messages[before]
    assert got.mail_from == "invoices@seller.example"
    assert got.rcpt_tos == ["ap@buyer.example"]
    msg = parsed(got.content)
    assert msg["Message-ID"] == "<dlv_1@seller.example>" == result.remote_reference
    assert msg["From"] == "invoices@seller.example"
    assert msg["To"] == "ap@buyer.example"
    assert msg["Date"]
    assert msg["Subject"] == "Rechnung INV-42 von Seller GmbH"
    assert msg.get_content_type() == "multipart/mixed"
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Offener Betrag: 1.234,50 EUR" in text
    assert "Fällig am: 31. Juli 2025" in text
    assert "https://pay.example.com/i/42" in text
    attachments = list(msg.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("INV-42.pdf", "application/pdf"),
        ("INV-42.xml", "application/xml"),
    ]
    assert [a.get_payload(decode=True) for a in attachments] == [PDF.content, XML.content]
    # evidence: exactly the bytes the server received, and its final reply with the queue id
    assert result.sent.replace(b"\r\n", b"\n") == got.content.replace(b"\r\n", b"\n")
    assert result.received.startswith(b"250 2.0.0 OK queued as Q")
    assert result.raw_code == "250"


def test_implicit_tls_delivers(implicit: Server, connector) -> None:
    result = connector.send([XML], settings(implicit), {"password": PASSWORD}, delivery_id="dlv_2")
    msg = parsed(implicit.handler.messages[-1].content)
    assert msg["Message-ID"] == result.remote_reference == "<dlv_2@seller.example>"
    [attachment] = msg.iter_attachments()
    assert attachment.get_payload(decode=True) == XML.content
    # no invoice values given: an English template built from what is there
    assert msg["Subject"] == "Invoice INV-42"


def test_a_retry_sends_the_same_message_id_and_body(starttls: Server, connector) -> None:
    first = connector.send([PDF], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_same")
    again = connector.send([PDF], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_same")
    assert first.remote_reference == again.remote_reference
    strip_date = [
        b"\n".join(line for line in r.sent.split(b"\n") if not line.startswith(b"Date:"))
        for r in (first, again)
    ]
    assert strip_date[0] == strip_date[1]


def test_wrong_password_is_permanent_535(starttls: Server, connector) -> None:
    with pytest.raises(PermanentDeliveryError, match="refused the login of 'gateway'") as info:
        connector.send([XML], settings(starttls), {"password": "wrong"}, delivery_id="dlv_3")
    assert info.value.raw_code == "535"


@pytest.mark.parametrize(
    ("where", "reply", "kind", "code"),
    [
        ("rcpt", "451 4.7.1 greylisted, try again later", TransientDeliveryError, "451"),
        ("rcpt", "550 5.1.1 no such mailbox", PermanentDeliveryError, "550"),
        ("data", "451 4.3.0 queue full", TransientDeliveryError, "451"),
        ("data", "554 5.7.1 rejected as spam", PermanentDeliveryError, "554"),
    ],
)
def test_server_refusals_map_to_their_kind(starttls: Server, connector, where, reply, kind, code) -> None:
    handler = starttls.handler
    before = len(handler.messages)
    if where == "rcpt":
        handler.rcpt_replies["ap@buyer.example"] = reply
    else:
        handler.data_reply = reply
    try:
        with pytest.raises(kind) as info:
            connector.send([XML], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_4")
    finally:
        handler.rcpt_replies.clear()
        handler.data_reply = None
    assert info.value.raw_code == code
    assert code in str(info.value)
    assert info.value.received.startswith(code.encode())
    assert len(handler.messages) == before
    # the session survived the refusal: the next message goes through on it
    connector.send([XML], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_5")
    assert len(handler.messages) == before + 1


def test_one_refused_recipient_fails_the_whole_message(starttls: Server, connector) -> None:
    handler = starttls.handler
    before = len(handler.messages)
    handler.rcpt_replies["gone@buyer.example"] = "550 5.1.1 no such mailbox"
    try:
        with pytest.raises(PermanentDeliveryError, match=r"gone@buyer\.example"):
            connector.send(
                [XML],
                settings(starttls, to=["ap@buyer.example", "gone@buyer.example"]),
                {"password": PASSWORD},
                delivery_id="dlv_6",
            )
    finally:
        handler.rcpt_replies.clear()
    assert len(handler.messages) == before


def test_server_down_is_transient(connector) -> None:
    down = {"to": ["a@b.example"], "from": "x@y.example", "smtp_host": "127.0.0.1", "smtp_port": free_port()}
    with pytest.raises(TransientDeliveryError, match="refused the connection") as info:
        connector.send([XML], {**down, "timeout": 2}, {}, delivery_id="dlv_7")
    assert info.value.raw_code == "ECONNREFUSED"


def test_untrusted_certificate_is_permanent(starttls: Server, implicit: Server, connector) -> None:
    for server in (starttls, implicit):
        with pytest.raises(PermanentDeliveryError, match="does not verify") as info:
            connector.send(
                [XML],
                settings(server, tls_ca_pem=tls_material().other_ca_pem),
                {"password": PASSWORD},
                delivery_id="dlv_8",
            )
        assert info.value.raw_code == "TLS_VERIFY"


def test_a_connection_is_reused_then_expires_when_idle(starttls: Server) -> None:
    clock = [1000.0]
    pool = SmtpPool(idle_seconds=30, clock=lambda: clock[0])
    connector = EmailConnector(pool=pool)
    try:
        for n in range(3):
            connector.send([XML], settings(starttls), {"password": PASSWORD}, delivery_id=f"dlv_r{n}")
            clock[0] += 10
        clock[0] += 60
        connector.send([XML], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_r3")
    finally:
        connector.close()
    peers = [m.peer for m in starttls.handler.messages[-4:]]
    assert peers[0] == peers[1] == peers[2] != peers[3]
    assert pool.opened == 2


def test_a_connection_the_server_dropped_is_replaced() -> None:
    pool = SmtpPool()
    connector = EmailConnector(pool=pool)
    with smtp_server("starttls", idle_timeout=0.3) as server:
        try:
            connector.send([XML], settings(server), {"password": PASSWORD}, delivery_id="dlv_d1")
            time.sleep(0.8)  # the server times the idle session out (421) and closes it
            connector.send([XML], settings(server), {"password": PASSWORD}, delivery_id="dlv_d2")
        finally:
            connector.close()
        assert [m.rcpt_tos for m in server.handler.messages] == [["ap@buyer.example"]] * 2
    assert pool.opened == 2


def test_a_changed_password_never_reuses_a_session(starttls: Server, connector) -> None:
    connector.send([XML], settings(starttls), {"password": PASSWORD}, delivery_id="dlv_p1")
    with pytest.raises(PermanentDeliveryError):
        connector.send([XML], settings(starttls), {"password": "changed"}, delivery_id="dlv_p2")


def test_settings_mistakes_are_permanent_and_named(connector) -> None:
    with pytest.raises(PermanentDeliveryError, match="smtp_host"):
        connector.send([XML], {"to": ["a@b.example"], "from": "x@y.example"}, {}, delivery_id="d")
    with pytest.raises(PermanentDeliveryError, match="password"):
        connector.send(
            [XML],
            {"to": ["a@b.example"], "from": "x@y.example", "smtp_host": "h", "username": "u"},
            {},
            delivery_id="d",
        )


@pytest.mark.parametrize(
    ("language", "subject", "amount"),
    [
        ("en", "Invoice INV-42 from Seller GmbH", "Amount due: 1,234.50 EUR"),
        ("fr-FR", "Facture INV-42 de Seller GmbH", "Montant dû : 1\u00a0234,50 EUR"),
        ("de", "Rechnung INV-42 von Seller GmbH", "Offener Betrag: 1.234,50 EUR"),
        ("xx", "Invoice INV-42 from Seller GmbH", "Amount due: 1,234.50 EUR"),
    ],
)
def test_templates_per_language(language: str, subject: str, amount: str) -> None:
    got_subject, body = render({**INVOICE, "language": language}, [PDF])
    assert got_subject == subject
    assert amount in body
    assert "INV-42.pdf" in body


def test_amounts_and_dates_are_written_as_the_pdf_writes_them() -> None:
    """The figures come from formats.numbers, as on the attached PDF: the currency's minor
    units (none for JPY), the language's grouping and month names."""
    _, body = render({**INVOICE, "language": "de", "amount_due": "-98765.4", "currency": "JPY"}, [PDF])
    assert "Offener Betrag: -98.765 JPY" in body
    assert "31. Juli 2025" in body
    _, body = render({**INVOICE, "language": "fr", "amount_due": "0.5", "currency": None}, [PDF])
    assert "Montant dû : 0,50" in body
    assert "31 juillet 2025" in body


def test_templates_leave_out_what_is_missing_or_unsafe() -> None:
    subject, body = render(
        {"invoice_number": "A\r\nBcc: evil@x.example", "payment_link": "javascript:alert(1)"}, [PDF]
    )
    assert "\n" not in subject
    assert "javascript" not in body
    assert "None" not in body
    assert "Amount" not in body
    msg, _ = build_message(
        [PDF], {"invoice_number": "A\r\nBcc: x@y"}, delivery_id="d", sender="a@b.c", recipients=["x@y.z"]
    )
    assert msg["Bcc"] is None


def test_settings_from_the_registry_model_drive_the_connector(implicit: Server, connector) -> None:
    from gateway.recipients import EmailChannel, channel_settings

    channel = EmailChannel.model_validate(
        {
            "type": "email",
            "name": "ap",
            "settings": {
                "to": ["ap@buyer.example"],
                "from": "invoices@seller.example",
                "smtp_host": implicit.host,
                "smtp_port": implicit.port,
                "implicit_tls": True,
                "username": USER,
                "tls_ca_pem": tls_material().ca_pem,
                "language": "fr",
            },
            "secrets": {"password": PASSWORD},
        }
    )
    stored = channel_settings(channel)
    assert stored["from"] == "invoices@seller.example"
    result = connector.send([XML], {**stored, "invoice_number": "F-1"}, channel.secrets, delivery_id="dlv_m")
    assert parsed(implicit.handler.messages[-1].content)["Subject"] == "Facture F-1"
    assert result.remote_reference == "<dlv_m@seller.example>"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starttls": False}, "plain text"),
        ({"tls_ca_pem": "not a certificate"}, "PEM"),
        ({"language": "français!"}, "language tag"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_email_settings_model_refuses(change: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    from gateway.recipients import EmailSettings

    base = {"to": ["a@b.example"], "from": "x@y.example", "smtp_host": "smtp.y.example"}
    EmailSettings.model_validate(base)
    EmailSettings.model_validate({**base, "smtp_host": "127.0.0.1", "starttls": False})  # loopback relay
    with pytest.raises(ValidationError, match=message):
        EmailSettings.model_validate({**base, **change})
