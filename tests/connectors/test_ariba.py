"""The Ariba channel against a local HTTPS cXML receiver that checks the DTD and the credentials."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.ariba import AribaConnector, mask_secret
from connectors.base import OutgoingDocument, PermanentDeliveryError, TransientDeliveryError
from formats.cxml import payload_id, to_cxml
from formats.invoice.model import Invoice
from tests.connectors.ariba_receiver import AribaReceiver
from tests.formats.cxml.conftest import CREDENTIALS, DTD_PATH, MISSING_CXML

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "de-domestic-b2b.json"
SENT_AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


def document(delivery_id: str = "dlv_1", **credentials: object) -> OutgoingDocument:
    invoice = Invoice.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))
    body = to_cxml(
        invoice, payload_id=payload_id(delivery_id), timestamp=SENT_AT, sender={**CREDENTIALS, **credentials}
    )
    return OutgoingDocument(f"{invoice.number}.xml", body, "text/xml", "cxml")


@pytest.fixture(scope="module")
def receiver() -> Iterator[AribaReceiver]:
    if not DTD_PATH.is_file():
        pytest.skip(MISSING_CXML)
    with AribaReceiver(DTD_PATH) as running:
        yield running


@pytest.fixture
def server(receiver: AribaReceiver) -> AribaReceiver:
    receiver.reply, receiver.slow, receiver.raw = 200, 0.0, None
    receiver.received.clear()
    return receiver


def settings(server: AribaReceiver) -> dict[str, object]:
    return {
        "url": server.url,
        **{k: v for k, v in CREDENTIALS.items() if k != "shared_secret"},
        "deployment_mode": "test",
    }


def send(
    server: AribaReceiver,
    doc: OutgoingDocument | None = None,
    *,
    timeout: float = 5.0,
    ca: bool = True,
    delivery: str = "dlv_1",
):
    connector = AribaConnector(ca_file=server.ca_file if ca else None, timeout=timeout)
    try:
        return connector.send(
            [doc or document(delivery)],
            settings(server),
            {"shared_secret": "abracadabra"},
            delivery_id=delivery,
        )
    finally:
        connector.close()


def test_200_is_delivered_with_payload_id_and_evidence(server: AribaReceiver) -> None:
    doc = document("dlv_200")
    result = send(server, doc, delivery="dlv_200")
    assert (result.status, result.raw_code, result.remote_reference) == (
        "delivered",
        "200",
        "dlv_200@einvoice-gateway",
    )
    assert server.received == [doc.content]  # the bytes as rendered, DTD-valid on the receiver
    assert b"abracadabra" not in result.sent
    assert b"<SharedSecret>********</SharedSecret>" in result.sent
    assert b'<Status code="200" text="OK"' in result.received


def test_201_is_accepted_with_more_status_to_come(server: AribaReceiver) -> None:
    server.reply = 201
    result = send(server)
    assert (result.status, result.raw_code) == ("accepted", "201")


def test_wrong_shared_secret_is_401_permanent(server: AribaReceiver) -> None:
    with pytest.raises(PermanentDeliveryError, match="401 Unauthorized") as caught:
        send(server, document(shared_secret="wrong"))
    assert caught.value.raw_code == "401"
    assert b"wrong" not in caught.value.sent


def test_406_is_permanent_with_the_status_text(server: AribaReceiver) -> None:
    server.reply = 406
    with pytest.raises(PermanentDeliveryError, match="cXML status 406 Not Acceptable") as caught:
        send(server)
    assert caught.value.raw_code == "406"
    assert caught.value.received


def test_500_is_transient(server: AribaReceiver) -> None:
    server.reply = 500
    with pytest.raises(TransientDeliveryError, match="500 Internal Server Error") as caught:
        send(server)
    assert caught.value.raw_code == "500"


def test_no_answer_in_time_is_transient(server: AribaReceiver) -> None:
    server.slow = 1.5
    with pytest.raises(TransientDeliveryError, match=r"within 0\.3 s") as caught:
        send(server, timeout=0.3)
    assert caught.value.raw_code == "TIMEOUT"


def test_a_document_the_dtd_refuses_is_400_permanent(server: AribaReceiver) -> None:
    good = document()
    broken = OutgoingDocument(
        good.filename,
        good.content.replace(b"<InvoiceDetailLineIndicator", b"<Bogus/><InvoiceDetailLineIndicator"),
        good.media_type,
        "cxml",
    )
    with pytest.raises(PermanentDeliveryError, match=r"400 Bad Request.*failed validation") as caught:
        send(server, broken)
    assert caught.value.raw_code == "400"


def test_untrusted_certificate_is_permanent(server: AribaReceiver) -> None:
    with pytest.raises(PermanentDeliveryError, match="does not verify") as caught:
        send(server, ca=False)
    assert caught.value.raw_code == "TLS_CERTIFICATE"
    assert server.received == []  # nothing left the client


def test_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = AribaConnector(timeout=2)
    with pytest.raises(TransientDeliveryError, match=f"cannot reach 127.0.0.1:{port}"):
        connector.send([document()], {"url": f"https://127.0.0.1:{port}/x"}, {}, delivery_id="dlv_1")


@pytest.mark.parametrize(
    ("code", "body", "kind"),
    [
        (503, b"busy", TransientDeliveryError),
        (404, b"no such endpoint", PermanentDeliveryError),
        (200, b"<html>ok</html>", TransientDeliveryError),
    ],
)
def test_http_answer_without_cxml_goes_by_status_class(
    server: AribaReceiver, code: int, body: bytes, kind: type[Exception]
) -> None:
    server.raw = (code, body)
    with pytest.raises(kind, match=f"HTTP {code}.*without a cXML Response"):
        send(server)


def test_payload_id_and_bytes_are_the_same_on_every_attempt(server: AribaReceiver) -> None:
    first = send(server, delivery="dlv_retry")
    second = send(server, delivery="dlv_retry")
    assert first.remote_reference == second.remote_reference == "dlv_retry@einvoice-gateway"
    assert server.received[0] == server.received[1]


def test_connection_is_reused_between_sends(server: AribaReceiver) -> None:
    connector = AribaConnector(ca_file=server.ca_file)
    try:
        for _ in range(3):
            connector.send([document()], settings(server), {}, delivery_id="dlv_1")
        assert sum(len(v) for v in connector._pool.values()) == 1
    finally:
        connector.close()


def test_without_a_cxml_document_or_https_url_nothing_is_sent(server: AribaReceiver) -> None:
    pdf = OutgoingDocument("a.pdf", b"%PDF", "application/pdf", "pdf")
    with pytest.raises(PermanentDeliveryError, match="kind 'cxml'"):
        AribaConnector().send([pdf], settings(server), {}, delivery_id="d")
    with pytest.raises(PermanentDeliveryError, match="https://"):
        AribaConnector().send([document()], {"url": "http://127.0.0.1/x"}, {}, delivery_id="d")
    assert server.received == []


def test_mask_secret_hides_every_shared_secret() -> None:
    assert mask_secret(b"<a><SharedSecret>x</SharedSecret><SharedSecret>\ny\n</SharedSecret></a>") == (
        b"<a><SharedSecret>********</SharedSecret><SharedSecret>********</SharedSecret></a>"
    )
