"""Submission end to end: read, render, validate, sign, store in one transaction, deliver.

Runs on SQLite and PostgreSQL (``delivery_env.store``) with the official rule packs from the
shared corpus (skipped without it, like the conformance suite).
"""

# The shared fixtures are imported by name (pytest finds them in the module): F401/F811 are expected.
# ruff: noqa: F401, F811

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.folder import FolderConnector
from formats import cii, facturx, ubl
from formats.invoice import check_invoice, load_json
from gateway.keystore import KeyVault
from gateway.pipeline import (
    IdempotencyConflict,
    InputError,
    PipelineContext,
    RecipientNotFound,
    SubmitOutcome,
    submit,
)
from gateway.recipients import RecipientIn
from gateway.runner import run_due_once
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Delivery, Document, Event, Evidence, Invoice, Recipient, Tenant
from tests.gateway.delivery_env import box, engine, store, store_templates, tenant_id
from tests.pki import p12, pki

pytestmark = pytest.mark.conformance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "de-domestic-b2b.json"


def _example() -> bytes:
    return EXAMPLE.read_bytes()


def _canonical() -> Any:
    result = check_invoice(load_json(_example()))
    assert result.ok
    assert result.invoice is not None
    return result.invoice


def _recipient_in(folder: Path, *, formats: list[dict[str, Any]] | None = None, **extra: Any) -> RecipientIn:
    buyer = json.loads(_example())["buyer"]
    return RecipientIn.model_validate(
        {
            "name": "Hafen Logistik",
            "buyer": buyer,
            "formats": formats or [{"kind": "ubl", "profile": "en16931"}],
            "channels": [{"type": "folder", "name": "inbox", "settings": {"path": str(folder)}}],
            **extra,
        }
    )


def _recipient(store: Store, tenant: str, data: RecipientIn, sbox: SecretBox) -> str:
    with store.session() as s:
        return repository.create_recipient(s, tenant, data, sbox).id


def _submit(store: Store, tenant: str, body: bytes, ctx: PipelineContext, **kw: Any) -> SubmitOutcome:
    kw.setdefault("recipient_id", None)
    kw.setdefault("inline_recipient", None)
    kw.setdefault("idempotency_key", None)
    content_type = kw.pop("content_type", "application/json")
    with store.session() as s:
        return submit(s, tenant, body, content_type, ctx=ctx, **kw)


def _counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Invoice, Document, Delivery, Event, Evidence, Recipient)
        }


@pytest.fixture
def ctx(engine: Any, box: SecretBox, tmp_path: Path) -> PipelineContext:
    return PipelineContext(engine=engine, box=box, vault=KeyVault(tmp_path / "keys", box))


def test_a_json_invoice_is_rendered_validated_stored_and_delivered_to_a_folder(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    rid = _recipient(store, tenant_id, _recipient_in(folder), box)
    outcome = _submit(store, tenant_id, _example(), ctx, recipient_id=rid)
    assert outcome.accepted
    assert not outcome.replay
    assert outcome.invoice is not None
    invoice_id = outcome.invoice.id
    with store.session() as s:
        invoice = repository.get_invoice(s, tenant_id, invoice_id)
        assert invoice is not None
        assert (invoice.number, invoice.source_kind, invoice.status) == ("RE-2026-10042", "json", "queued")
        assert invoice.currency == "EUR"
        assert invoice.amount_due is not None
        kinds = {d.kind: d for d in invoice.documents}
        assert set(kinds) == {"ubl", "source", "report"}
        ubl_doc = kinds["ubl"]
        assert ubl_doc.sha256 == hashlib.sha256(ubl_doc.content).hexdigest()
        assert ubl_doc.size == len(ubl_doc.content)
        assert ubl_doc.filename == "RE-2026-10042.xml"
        assert kinds["source"].content == _example()
        report = json.loads(kinds["report"].content)
        assert report["valid"] is True
        assert report["documents"][0]["valid"] is True
        [delivery] = invoice.deliveries
        assert delivery.status == "queued"
        assert delivery.document_kinds == ["ubl"]
        assert delivery.payload_id == f"{delivery.id}@einvoice-gateway"
        events = [(e.previous, e.status) for e in repository.list_events(s, tenant_id, invoice_id)]
        assert events == [
            (None, "accepted"),
            ("accepted", "validating"),
            ("validating", "ready"),
            ("ready", "queued"),
        ]
        stored_ubl, delivery_id = ubl_doc.content, delivery.id

    results = run_due_once(store, {"folder": FolderConnector()}, box)
    assert results == {delivery_id: "delivered"}
    written = folder / f"{delivery_id}-RE-2026-10042.xml"
    assert written.read_bytes() == stored_ubl
    with store.session() as s:
        sent = repository.get_delivery(s, tenant_id, delivery_id)
        assert sent is not None
        assert sent.status == "delivered"
        assert sent.attempts == 1
        assert sent.remote_reference == str(written)
        invoice = repository.get_invoice(s, tenant_id, invoice_id)
        assert invoice is not None
        assert invoice.status == "delivered"
        last = repository.list_events(s, tenant_id, invoice_id)[-1]
        assert (last.previous, last.status, last.attempt) == ("sending", "delivered", 1)
        evidence = repository.get_evidence(s, tenant_id, last.evidence_sha256 or "")
        assert evidence is not None
        manifest = json.loads(evidence.content)
        assert manifest["documents"][0]["sha256"] == hashlib.sha256(stored_ubl).hexdigest()


def test_an_invoice_whose_totals_disagree_is_refused_and_nothing_is_stored(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path), box)
    data = json.loads(_example())
    data.setdefault("totals", {})["amount_due"] = "1.00"
    before = _counts(store)
    outcome = _submit(
        store, tenant_id, json.dumps(data).encode(), ctx, recipient_id=rid, idempotency_key="k1"
    )
    assert not outcome.accepted
    assert outcome.invoice is None
    assert outcome.report is not None
    assert outcome.report["valid"] is False
    assert any(p["term"] == "BT-115" for p in outcome.report["problems"])
    assert _counts(store) == before


def _break_br_co_15(xml: bytes) -> bytes:
    """Make BT-112 (TaxInclusiveAmount) disagree with BT-109 + BT-110."""
    start = xml.index(b"<cbc:TaxInclusiveAmount")
    end = xml.index(b"</cbc:TaxInclusiveAmount>", start)
    opening = xml[start : xml.index(b">", start) + 1]
    return xml[:start] + opening + b"999999.99" + xml[end:]


def test_a_forwarded_ubl_breaking_br_co_15_is_refused_with_the_report(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path), box)
    bad = _break_br_co_15(ubl.to_xml(_canonical()))
    before = _counts(store)
    outcome = _submit(store, tenant_id, bad, ctx, recipient_id=rid, content_type="application/xml")
    assert not outcome.accepted
    assert outcome.report is not None
    fired = [i["id"] for d in outcome.report["documents"] for layer in d["layers"] for i in layer["items"]]
    assert "BR-CO-15" in fired
    assert outcome.report["source"] == "ubl"
    assert _counts(store) == before


@pytest.mark.parametrize("kind", ["ubl", "cii", "facturx"])
def test_a_received_document_is_forwarded_as_is_and_others_rendered_from_it(
    kind: str,
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    invoice = _canonical()
    body = {
        "ubl": lambda: ubl.to_xml(invoice),
        "cii": lambda: cii.to_xml(invoice, cii.EN16931),
        "facturx": lambda: facturx.to_facturx(invoice, cii.EN16931),
    }[kind]()
    formats = [
        {"kind": kind, "profile": "en16931"},
        {"kind": "cii" if kind == "ubl" else "ubl", "profile": "en16931"},
    ]
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path, formats=formats), box)
    content_type = "application/pdf" if kind == "facturx" else "application/xml"
    outcome = _submit(store, tenant_id, body, ctx, recipient_id=rid, content_type=content_type)
    assert outcome.accepted, outcome.report
    assert outcome.invoice is not None
    with store.session() as s:
        stored = repository.get_invoice(s, tenant_id, outcome.invoice.id)
        assert stored is not None
        assert stored.source_kind == kind
        assert stored.number == invoice.number
        docs = {d.kind: d for d in stored.documents}
        assert docs[kind].content == body  # the original, byte for byte
        other = "cii" if kind == "ubl" else "ubl"
        assert docs[other].content != body
        assert docs[other].size > 0
        assert stored.deliveries[0].document_kinds == [kind, other]


def test_the_same_key_and_body_replays_and_another_body_conflicts(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path), box)
    first = _submit(store, tenant_id, _example(), ctx, recipient_id=rid, idempotency_key="order-1")
    again = _submit(store, tenant_id, _example(), ctx, recipient_id=rid, idempotency_key="order-1")
    assert first.invoice is not None
    assert again.invoice is not None
    assert again.replay
    assert again.invoice.id == first.invoice.id
    other = json.loads(_example())
    other["number"] = "RE-2026-10043"
    with pytest.raises(IdempotencyConflict) as caught:
        _submit(
            store, tenant_id, json.dumps(other).encode(), ctx, recipient_id=rid, idempotency_key="order-1"
        )
    assert caught.value.invoice_id == first.invoice.id
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 1
        assert s.scalar(select(func.count()).select_from(Delivery)) == 1


def test_a_concurrent_submission_with_the_same_key_returns_the_winner(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loser looked up the key before the winner committed: the unique constraint decides."""
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path), box)
    winner = _submit(store, tenant_id, _example(), ctx, recipient_id=rid, idempotency_key="race")
    assert winner.invoice is not None
    real = repository.find_by_idempotency_key
    calls: list[str] = []

    def late(s: Any, tenant: str, key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real(s, tenant, key)

    monkeypatch.setattr(repository, "find_by_idempotency_key", late)
    loser = _submit(store, tenant_id, _example(), ctx, recipient_id=rid, idempotency_key="race")
    assert len(calls) == 2  # looked up, lost the insert, looked up again
    assert loser.replay
    assert loser.invoice is not None
    assert loser.invoice.id == winner.invoice.id
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 1
        assert s.scalar(select(func.count()).select_from(Event)) == 4


def test_an_unknown_or_foreign_recipient_is_not_found(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    with store.session() as s:
        other, _ = repository.create_tenant(s, "other-tenant")
        foreign = repository.create_recipient(s, other.id, _recipient_in(tmp_path), box).id
    for rid in ("rcp_doesnotexist", foreign):
        with pytest.raises(RecipientNotFound):
            _submit(store, tenant_id, _example(), ctx, recipient_id=rid)


def test_an_inline_recipient_is_kept_with_its_invoice(
    store: Store,
    tenant_id: str,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    outcome = _submit(store, tenant_id, _example(), ctx, inline_recipient=_recipient_in(tmp_path))
    assert outcome.accepted
    assert outcome.invoice is not None
    with store.session() as s:
        invoice = repository.get_invoice(s, tenant_id, outcome.invoice.id)
        assert invoice is not None
        assert invoice.recipient_id is not None
        recipient = repository.get_recipient(s, tenant_id, invoice.recipient_id)
        assert recipient is not None
        assert recipient.name == f"inline {invoice.id}"
        assert invoice.deliveries[0].settings == {"path": str(tmp_path)}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{}", "text/plain", 415, "not accepted"),
        (b"{not json", "application/json", 422, "JSON cannot be read"),
        (b"<html/>", "application/xml", 422, "not a UBL Invoice"),
        (b"<Invoice", "application/xml", 422, "not well-formed XML.*line 1"),
        (b"hello", "application/json", 422, "neither a JSON invoice"),
        (b"", "application/json", 422, "empty"),
    ],
)
def test_unreadable_input_is_a_clear_input_error(
    body: bytes,
    content_type: str,
    status: int,
    message: str,
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path), box)
    with pytest.raises(InputError, match=message) as caught:
        _submit(store, tenant_id, body, ctx, recipient_id=rid, content_type=content_type)
    assert caught.value.status == status


def test_no_recipient_at_all_is_an_input_error(
    store: Store,
    tenant_id: str,
    ctx: PipelineContext,
) -> None:
    with pytest.raises(InputError, match="recipient"):
        _submit(store, tenant_id, _example(), ctx)


def _vault_key(store: Store, tenant: str, ctx: PipelineContext) -> None:
    with store.session() as s:
        found = s.get(Tenant, tenant)
        assert found is not None
        assert ctx.vault is not None
        ctx.vault.add(found.name, "seal", p12=p12(pki().ecdsa), password="secret")


def test_documents_are_signed_with_the_recipients_key(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    _vault_key(store, tenant_id, ctx)
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path, sign_key="seal"), box)
    outcome = _submit(store, tenant_id, _example(), ctx, recipient_id=rid)
    assert outcome.accepted, outcome.report
    assert outcome.invoice is not None
    with store.session() as s:
        doc = repository.get_document(s, tenant_id, outcome.invoice.id, "ubl")
        assert doc is not None
        assert doc.signed
        assert b"ds:Signature" in doc.content or b"<Signature" in doc.content
        assert doc.sha256 == hashlib.sha256(doc.content).hexdigest()


def test_a_peppol_ubl_the_signer_refuses_is_a_problem_not_a_crash(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    ctx: PipelineContext,
    tmp_path: Path,
) -> None:
    _vault_key(store, tenant_id, ctx)
    data = json.loads(_example())
    formats = [{"kind": "ubl", "profile": "peppol"}]
    rid = _recipient(store, tenant_id, _recipient_in(tmp_path, formats=formats, sign_key="seal"), box)
    before = _counts(store)
    outcome = _submit(store, tenant_id, json.dumps(data).encode(), ctx, recipient_id=rid)
    assert not outcome.accepted
    assert outcome.report is not None
    [problem] = outcome.report["problems"]
    assert problem["rule"] == "signature"
    assert "Peppol" in problem["message"]
    assert _counts(store) == before


def test_an_ariba_channel_gets_its_own_cxml_and_is_delivered_to_a_dtd_checking_receiver(
    store: Store, tenant_id: str, ctx: PipelineContext, box: SecretBox, tmp_path: Path
) -> None:
    """cXML is rendered per Ariba delivery (payloadID = that delivery), the folder gets the rest."""
    from connectors.ariba import AribaConnector
    from connectors.folder import FolderConnector
    from formats.cxml import payload_id
    from gateway.runner import run_due_once
    from tests.connectors.ariba_receiver import AribaReceiver
    from tests.formats.cxml.conftest import CREDENTIALS, DTD_PATH, MISSING_CXML

    if not DTD_PATH.is_file():
        pytest.skip(MISSING_CXML)
    folder = tmp_path / "inbox"
    folder.mkdir()
    with AribaReceiver(DTD_PATH) as receiver:
        ariba = {
            "type": "ariba",
            "name": "ariba",
            "settings": {
                "url": receiver.url,
                **{k: v for k, v in CREDENTIALS.items() if k != "shared_secret"},
                "deployment_mode": "test",
            },
            "secrets": {"shared_secret": receiver.shared_secret},
        }
        data = _recipient_in(folder).model_dump(mode="json", by_alias=True)
        data["channels"].append(ariba)
        recipient_id = _recipient(store, tenant_id, RecipientIn.model_validate(data), box)
        outcome = _submit(store, tenant_id, _example(), ctx, recipient_id=recipient_id)
        assert outcome.accepted, outcome.report
        ariba_connector = AribaConnector(ca_file=receiver.ca_file)
        try:
            results = run_due_once(store, {"ariba": ariba_connector, "folder": FolderConnector()}, box)
        finally:
            ariba_connector.close()
        assert sorted(results.values()) == ["delivered", "delivered"], results
        with store.session() as s:
            invoice = repository.get_invoice(s, tenant_id, outcome.invoice.id if outcome.invoice else "")
            assert invoice is not None
            by_type = {d.channel_type: d for d in invoice.deliveries}
            assert by_type["ariba"].document_kinds == ["cxml"]
            assert "cxml" not in by_type["folder"].document_kinds
            assert by_type["ariba"].payload_id == payload_id(by_type["ariba"].id)
            assert by_type["ariba"].remote_reference == by_type["ariba"].payload_id
        [sent] = receiver.received
        assert by_type["ariba"].payload_id.encode() in sent


def test_an_email_channel_sends_the_documents_with_a_text_in_the_invoice_s_language(
    store: Store, tenant_id: str, ctx: PipelineContext, box: SecretBox, tmp_path: Path
) -> None:
    """JSON in → UBL + Factur-X stored → one mail over STARTTLS+AUTH with both, byte for byte."""
    import email

    from connectors.email import EmailConnector
    from gateway.runner import run_due_once
    from tests.connectors.smtpd import PASSWORD, USER, smtp_server, tls_material

    with smtp_server("starttls") as server:
        channel = {
            "type": "email",
            "name": "ap-mailbox",
            "settings": {
                "to": ["ap@buyer.example"],
                "from": "invoices@seller.example",
                "smtp_host": server.host,
                "smtp_port": server.port,
                "username": USER,
                "tls_ca_pem": tls_material().ca_pem,
                "timeout": 5,
            },
            "secrets": {"password": PASSWORD},
        }
        formats = [{"kind": "ubl", "profile": "en16931"}, {"kind": "facturx", "profile": "en16931"}]
        data = _recipient_in(tmp_path, formats=formats).model_dump(mode="json", by_alias=True)
        data["channels"] = [channel]
        recipient_id = _recipient(store, tenant_id, RecipientIn.model_validate(data), box)
        outcome = _submit(store, tenant_id, _example(), ctx, recipient_id=recipient_id)
        assert outcome.accepted, outcome.report
        connector = EmailConnector()
        try:
            assert list(run_due_once(store, {"email": connector}, box).values()) == ["delivered"]
        finally:
            connector.close()
        [received] = server.handler.messages
    message = email.message_from_bytes(received.content)
    number = json.loads(_example())["number"]
    assert number in str(message["Subject"])
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = body.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "Rechnung" in payload.decode()  # a German seller: the text is German
    with store.session() as s:
        assert outcome.invoice is not None
        row = repository.get_invoice(s, tenant_id, outcome.invoice.id)
        assert row is not None
        stored = {d.filename: d.content for d in row.documents}
    attached = {str(p.get_filename()): p.get_payload(decode=True) for p in message.walk() if p.get_filename()}
    assert attached
    assert all(stored[name] == content for name, content in attached.items())
    assert {name.rsplit(".", 1)[1] for name in attached} == {"xml", "pdf"}
