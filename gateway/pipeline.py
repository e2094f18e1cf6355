"""Submission: from the ERP's bytes to stored documents and queued deliveries, in one transaction.

``submit`` is the one path an invoice takes into the gateway (the API and the CLI call it):

1. **Idempotency.** The same ``Idempotency-Key`` with the same request (body and recipient,
   by SHA-256) returns the first invoice (``replay``); the same key with another request is
   an ``IdempotencyConflict``. Two submissions racing with one key: the unique constraint
   decides, the loser's savepoint is rolled back and it returns the winner.
2. **Content.** Told from the bytes, never from a file name: a JSON object is a canonical
   invoice (calculated and checked; its problems make it invalid); UBL or CII XML and a
   Factur-X/ZUGFeRD PDF are documents from a third party to *forward as is*: read into the
   canonical invoice for the invoice row and the other renderings, the original kept byte
   for byte as the document of its own kind.
3. **Render** the recipient's formats (``ubl`` with a profile, ``cii`` and ``facturx`` with a
   profile, ``pdf`` the readable invoice); a received document keeps its stated amounts
   (``keep_supplied``).
4. **Validate** every XML and Factur-X document with the validation engine (the set its
   detection chooses). Any error makes the submission invalid: nothing is stored and the
   report of every document comes back.
5. **Sign** when the recipient names a key (the tenant's key vault); a document the signer
   refuses (Peppol BIS forbids an XML signature) is a problem in the report, not a crash.
6. **Store** the invoice, its documents (SHA-256, size, media type), the source, the
   validation report, one delivery per channel (``queued``) and the events
   accepted → validating → ready → queued of each, in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from formats.errors import GatewayError, InvoiceInputError, InvoiceProblems, ParseError, SerializeError
from formats.invoice import Invoice as CanonicalInvoice
from formats.invoice import Problem, RoundingRule, check_invoice, load_json
from formats.invoice.loss import Loss
from gateway.lifecycle import TransportStatus
from gateway.store import Store, repository
from gateway.store.models import Delivery, Document, Invoice, Recipient, Tenant, new_id, utcnow
from schemas.report import Report

if TYPE_CHECKING:
    from gateway.keystore import KeyVault
    from gateway.recipients import RecipientIn
    from gateway.secretbox import SecretBox

__all__ = [
    "IdempotencyConflict",
    "InputError",
    "PipelineContext",
    "PipelineSettings",
    "RecipientNotFound",
    "Submission",
    "SubmitOutcome",
    "Validator",
    "detect_content",
    "request_sha256",
    "submit",
    "submit_many_to_store",
    "submit_to_store",
]

log = logging.getLogger(__name__)

T = TransportStatus
MEDIA_TYPES = {
    "ubl": "application/xml",
    "cii": "application/xml",
    "facturx": "application/pdf",
    "pdf": "application/pdf",
    "json": "application/json",
    "report": "application/json",
    "cxml": "text/xml",
}
ACCEPTED_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "text/xml",
        "application/pdf",
        "application/octet-stream",
    }
)
FORMAT_KINDS = ("ubl", "cii", "facturx", "pdf")
DEFAULT_FORMATS: dict[str, list[dict[str, Any]]] = {
    "json": [{"kind": "ubl", "profile": "en16931"}],
    "ubl": [{"kind": "ubl"}],
    "cii": [{"kind": "cii"}],
    "facturx": [{"kind": "facturx"}],
}


# ---------------------------------------------------------------- errors and shapes


class InputError(GatewayError):
    """The request cannot be read as an invoice: ``status`` 415 (content type) or 422."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class RecipientNotFound(GatewayError):
    """No recipient with this id for this tenant (another tenant's id included): a 404."""


class IdempotencyConflict(GatewayError):
    """The ``Idempotency-Key`` was used before for a different request: a 409."""

    def __init__(self, key: str, invoice_id: str) -> None:
        super().__init__(
            f"the Idempotency-Key {key!r} was already used for a different request (invoice {invoice_id}); "
            "use a new key for a new invoice"
        )
        self.key = key
        self.invoice_id = invoice_id


class Validator(Protocol):
    """``schemas.engine.Engine`` in process, or ``schemas.pool.ValidatorPool``."""

    def validate(self, data: bytes, name: str = ..., set_id: str | None = ...) -> Report: ...


@dataclass(frozen=True)
class PipelineSettings:
    rounding: RoundingRule = RoundingRule.TOTALS
    max_attempts: int = 8  # per delivery, before it is ``failed``
    language: str | None = None  # of the readable PDF; default from the seller's country


@dataclass
class PipelineContext:
    engine: Validator
    box: SecretBox
    vault: KeyVault | None = None
    settings: PipelineSettings = field(default_factory=PipelineSettings)


@dataclass
class SubmitOutcome:
    """``accepted`` with the stored invoice, or not with the report saying why (nothing stored)."""

    accepted: bool
    invoice: Invoice | None = None
    report: dict[str, Any] | None = None
    replay: bool = False


@dataclass
class _Source:
    kind: str  # json | ubl | cii | facturx
    invoice: CanonicalInvoice | None
    losses: Sequence[Loss] = ()
    problems: list[Problem] = field(default_factory=list)
    amount_due: Decimal | None = None


@dataclass
class _Rendered:
    kind: str
    content: bytes
    filename: str
    media_type: str
    report: Report | None = None
    signed: bool = False
    # a document made for one channel's delivery (cXML: its payloadID names the delivery)
    channel: str | None = None
    delivery_id: str | None = None


# ---------------------------------------------------------------- entry point


def request_sha256(body: bytes, recipient_id: str | None, inline_recipient: RecipientIn | None) -> str:
    """What the idempotency check compares: the body and the recipient it is for."""
    digest = hashlib.sha256(body)
    digest.update(b"\x00recipient\x00")
    if recipient_id is not None:
        digest.update(b"id:" + recipient_id.encode("utf-8"))
    elif inline_recipient is not None:
        digest.update(b"inline:" + inline_recipient.model_dump_json().encode("utf-8"))
    return digest.hexdigest()


def submit(
    store_session: Session,
    tenant_id: str,
    body: bytes,
    content_type: str,
    *,
    recipient_id: str | None,
    inline_recipient: RecipientIn | None,
    idempotency_key: str | None,
    ctx: PipelineContext,
) -> SubmitOutcome:
    """Run the pipeline (module docstring); the caller's session commits what it stored."""
    s = store_session
    fingerprint = request_sha256(body, recipient_id, inline_recipient)
    looked = _look_up(s, tenant_id, recipient_id, inline_recipient, idempotency_key, fingerprint)
    if isinstance(looked, SubmitOutcome):
        return looked
    checked = _check(looked, body, content_type, ctx)
    if isinstance(checked, SubmitOutcome):
        return checked
    return _commit(s, tenant_id, checked, idempotency_key, ctx)


def submit_to_store(
    store: Store,
    tenant_id: str,
    body: bytes,
    content_type: str,
    *,
    recipient_id: str | None,
    inline_recipient: RecipientIn | None,
    idempotency_key: str | None,
    ctx: PipelineContext,
) -> SubmitOutcome:
    """``submit`` in two short units of work instead of one long one (what the API calls).

    Reading, rendering, validating and signing take most of the time and need no database:
    the idempotency and recipient lookups run in a first session, the store step in a
    second, so no connection (nor, on PostgreSQL, an open transaction) is held meanwhile.
    A submission racing another with the same ``Idempotency-Key`` is still decided by the
    unique constraint when it stores (the savepoint in ``_commit``), as in ``submit``. The
    invoice (and, accepted, its deliveries: ``invoice.deliveries``) comes back detached,
    with every column loaded.
    """
    fingerprint = request_sha256(body, recipient_id, inline_recipient)
    with store.session() as s:
        looked = _look_up(s, tenant_id, recipient_id, inline_recipient, idempotency_key, fingerprint)
        if isinstance(looked, SubmitOutcome):
            if looked.invoice is not None:
                _ = list(looked.invoice.deliveries)  # loaded while the session is open
            return looked
    checked = _check(looked, body, content_type, ctx)
    if isinstance(checked, SubmitOutcome):
        return checked
    with store.session() as s:
        outcome = _commit(s, tenant_id, checked, idempotency_key, ctx)
        if outcome.invoice is not None:
            _ = list(outcome.invoice.deliveries)
        return outcome


@dataclass(frozen=True)
class Submission:
    """One invoice of ``submit_many_to_store``: its bytes, their media type, its key."""

    body: bytes
    content_type: str
    idempotency_key: str


def submit_many_to_store(
    store: Store,
    tenant_id: str,
    submissions: Sequence[Submission],
    *,
    recipient_id: str,
    ctx: PipelineContext,
    record: Callable[[Session, int, SubmitOutcome | GatewayError], None],
) -> list[SubmitOutcome | GatewayError]:
    """Many invoices for one recipient, stored in one transaction (what a batch chunk runs).

    The recipient is read once; each invoice is read, rendered, validated and signed with no
    database; then one session stores the accepted ones, each in its own savepoint, and
    ``record(session, index, outcome)`` runs for every invoice in that same transaction (a
    batch marks its items there, so an item is accepted exactly when its invoice is stored).
    Each invoice keeps its own Idempotency-Key: one stored by an earlier run comes back as a
    replay from the unique constraint, as in ``submit_to_store`` (its lookup before the work
    is skipped: a repetition only costs the rendering again). An invoice refused for its
    content is a ``SubmitOutcome`` with its report; one that cannot be taken at all
    (unreadable input, a key reused for other content) is the ``GatewayError`` saying why.
    ``RecipientNotFound`` is raised for the whole chunk.
    """
    with store.session() as s:
        recipient = _recipient(s, tenant_id, recipient_id, None)
        vault_tenant = _vault_tenant(s, tenant_id, recipient)
    checked: list[_Checked | SubmitOutcome | GatewayError] = []
    for item in submissions:
        looked = _Lookup(recipient, request_sha256(item.body, recipient_id, None), vault_tenant)
        try:
            checked.append(_check(looked, item.body, item.content_type, ctx))
        except GatewayError as exc:  # InputError and the like: this item only
            checked.append(exc)
    outcomes: list[SubmitOutcome | GatewayError] = []
    with store.session() as s:
        for index, (item, done) in enumerate(zip(submissions, checked, strict=True)):
            outcome: SubmitOutcome | GatewayError
            if isinstance(done, _Checked):
                try:
                    outcome = _commit(s, tenant_id, done, item.idempotency_key, ctx)
                except IdempotencyConflict as exc:
                    outcome = exc
            else:
                outcome = done
            record(s, index, outcome)
            outcomes.append(outcome)
        for outcome in outcomes:
            if isinstance(outcome, SubmitOutcome) and outcome.invoice is not None:
                _ = list(outcome.invoice.deliveries)
    return outcomes


@dataclass
class _Lookup:
    """What the database told ``submit`` before the work that needs no database."""

    recipient: dict[str, Any]
    fingerprint: str
    vault_tenant: str  # the key vault's name for the tenant (signing)


@dataclass
class _Checked:
    """An invoice read, rendered, validated (and signed): ready to store."""

    lookup: _Lookup
    source: _Source
    body: bytes
    rendered: list[_Rendered]
    report: dict[str, Any]


def _look_up(
    s: Session,
    tenant_id: str,
    recipient_id: str | None,
    inline: RecipientIn | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> _Lookup | SubmitOutcome:
    """The replay of an earlier submission with this key, else the recipient (plain data)."""
    if idempotency_key is not None:
        previous = repository.find_by_idempotency_key(s, tenant_id, idempotency_key)
        if previous is not None:
            return _replay(previous, fingerprint, idempotency_key)
    recipient = _recipient(s, tenant_id, recipient_id, inline)
    return _Lookup(recipient, fingerprint, _vault_tenant(s, tenant_id, recipient))


def _vault_tenant(s: Session, tenant_id: str, recipient: Mapping[str, Any]) -> str:
    """The key vault's name for the tenant (its name), read only when the recipient signs."""
    if not recipient.get("sign_key"):
        return tenant_id
    tenant = s.get(Tenant, tenant_id)
    return tenant.name if tenant is not None else tenant_id


def _check(looked: _Lookup, body: bytes, content_type: str, ctx: PipelineContext) -> _Checked | SubmitOutcome:
    """Read, render, validate and sign: no database; a refusal is the outcome with its report."""
    recipient = looked.recipient
    source = read_source(body, content_type, ctx.settings.rounding)
    if source.problems or source.invoice is None:
        return SubmitOutcome(False, report=_report_json(source, [], source.problems))

    formats = _formats(recipient, source.kind)
    problems: list[Problem] = []
    rendered = _render(source, body, formats, ctx, problems)
    rendered += _render_cxml(source, recipient, ctx, problems)
    if not problems:
        _validate(rendered, ctx.engine)
    if problems or any(r.report is not None and not r.report.valid for r in rendered):
        return SubmitOutcome(False, report=_report_json(source, rendered, problems))
    if recipient.get("sign_key"):
        _sign(looked.vault_tenant, str(recipient["sign_key"]), rendered, ctx, problems)
        if problems:
            return SubmitOutcome(False, report=_report_json(source, rendered, problems))
    return _Checked(looked, source, body, rendered, _report_json(source, rendered, []))


def _commit(
    s: Session, tenant_id: str, checked: _Checked, idempotency_key: str | None, ctx: PipelineContext
) -> SubmitOutcome:
    fingerprint = checked.lookup.fingerprint
    try:
        with s.begin_nested():
            invoice = _store(
                s,
                tenant_id,
                checked.lookup.recipient,
                checked.source,
                checked.body,
                checked.rendered,
                checked.report,
                fingerprint,
                idempotency_key,
                ctx,
            )
    except IntegrityError:
        if idempotency_key is None:
            raise
        winner = repository.find_by_idempotency_key(s, tenant_id, idempotency_key)
        if winner is None:
            raise
        return _replay(winner, fingerprint, idempotency_key)
    from gateway.logging import get_logger

    get_logger("gateway.pipeline").info(
        "invoice.accepted",
        invoice_id=invoice.id,
        tenant_id=tenant_id,
        number=invoice.number,
        deliveries=len(invoice.deliveries),
        formats=[doc.kind for doc in checked.rendered],
    )
    return SubmitOutcome(True, invoice=invoice, report=checked.report)


def _replay(previous: Invoice, fingerprint: str, key: str) -> SubmitOutcome:
    if previous.request_sha256 != fingerprint:
        raise IdempotencyConflict(key, previous.id)
    return SubmitOutcome(True, invoice=previous, replay=True)


# ---------------------------------------------------------------- recipient


def _recipient(
    s: Session, tenant_id: str, recipient_id: str | None, inline: RecipientIn | None
) -> dict[str, Any]:
    """The recipient as plain data; ``inline`` is kept as a recipient row after storing."""
    if recipient_id is not None:
        found = repository.get_recipient(s, tenant_id, recipient_id)
        if found is None:
            raise RecipientNotFound(f"no recipient {recipient_id!r}")
        return {
            "row": found,
            "formats": list(found.formats or []),
            "channels": list(found.channels or []),
            "sign_key": found.sign_key,
        }
    if inline is None:
        raise InputError("say who receives the invoice: a recipient id or inline delivery options")
    data = inline.model_dump(mode="json")
    return {
        "inline": inline,
        "formats": list(data.get("formats") or []),
        "channels": list(data.get("channels") or []),
        "sign_key": data.get("sign_key"),
    }


def _formats(recipient: Mapping[str, Any], source_kind: str) -> list[dict[str, Any]]:
    wanted = [dict(f) for f in recipient["formats"]] or DEFAULT_FORMATS[source_kind]
    seen: set[str] = set()
    out = []
    for entry in wanted:
        kind = str(entry.get("kind", "")).lower()
        if kind == "cxml":  # the Ariba connector wraps the documents in cXML when it sends
            continue
        if kind not in FORMAT_KINDS:
            raise InputError(
                f"the recipient asks for format {kind!r}; the gateway renders {', '.join(FORMAT_KINDS)}"
            )
        if kind in seen:
            raise InputError(f"the recipient lists format {kind!r} twice; one document per kind")
        seen.add(kind)
        out.append({"kind": kind, "profile": entry.get("profile")})
    return out or DEFAULT_FORMATS[source_kind]


# ---------------------------------------------------------------- reading


def detect_content(body: bytes) -> str:
    """``json``, ``xml`` or ``pdf`` from the bytes; ``InputError`` (422) for anything else."""
    if not body.strip():
        raise InputError("the request body is empty")
    head = body[:1024].lstrip(b"\x00").removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    raise InputError("the body is neither a JSON invoice, UBL or CII XML, nor a Factur-X PDF")


def read_source(body: bytes, content_type: str, rounding: RoundingRule = RoundingRule.TOTALS) -> _Source:
    """The submitted invoice read from its bytes; input errors raise, invoice problems are returned."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared and declared not in ACCEPTED_CONTENT_TYPES and not declared.endswith("+json"):
        raise InputError(
            f"content type {declared!r} is not accepted; send application/json, application/xml or "
            "application/pdf",
            status=415,
        )
    kind = detect_content(body)
    if kind == "json":
        try:
            data = load_json(body)
        except InvoiceInputError as exc:
            raise InputError(f"the JSON cannot be read: {exc}") from None
        result = check_invoice(data, rounding)
        if not result.ok or result.calculated is None:
            return _Source("json", result.invoice, problems=list(result.problems))
        return _Source("json", result.invoice, amount_due=result.calculated.totals.amount_due)
    if kind == "pdf":
        from formats.facturx import from_pdf

        try:
            invoice, losses = from_pdf(body)
        except (InvoiceInputError, ParseError) as exc:
            raise InputError(f"cannot read the PDF: {exc}") from None
        return _Source("facturx", invoice, losses, amount_due=invoice.totals.amount_due)
    return _read_xml(body)


def _read_xml(body: bytes) -> _Source:
    from lxml import etree

    from schemas.engine import detect_syntax
    from schemas.sets import Syntax
    from schemas.xmlsafe import XmlInputError, parse_xml

    try:
        root = parse_xml(body).getroot()
    except XmlInputError as exc:
        raise InputError(str(exc)) from None
    syntax = detect_syntax(root)
    if syntax is None:
        q = etree.QName(root)
        raise InputError(
            f"the XML root is {{{q.namespace or ''}}}{q.localname}, not a UBL Invoice/CreditNote or a CII "
            "CrossIndustryInvoice"
        )
    if syntax is Syntax.ZUGFERD1:
        raise InputError("ZUGFeRD 1.0 is not accepted; ask the sender for ZUGFeRD 2.x / Factur-X")
    kind = "cii" if syntax is Syntax.CII else "ubl"
    if kind == "cii":
        from formats.cii.read import from_xml
    else:
        from formats.ubl.read import from_xml
    try:
        invoice, losses = from_xml(body)
    except ParseError as exc:
        raise InputError(f"cannot read the {kind.upper()}: {exc}") from None
    return _Source(kind, invoice, losses, amount_due=invoice.totals.amount_due)


# ---------------------------------------------------------------- rendering, validation, signing


def _filename(number: str, kind: str) -> str:
    from connectors.folder import safe_name

    stem = safe_name(number, "invoice")
    suffix = {
        "ubl": ".xml",
        "cii": "-cii.xml",
        "facturx": ".pdf",
        "pdf": "-readable.pdf",
        "report": "-report.json",
        "cxml": "-cxml.xml",
    }[kind]
    return f"{stem}{suffix}"


def _render(
    source: _Source,
    body: bytes,
    formats: Sequence[Mapping[str, Any]],
    ctx: PipelineContext,
    problems: list[Problem],
) -> list[_Rendered]:
    from formats import cii, facturx, ubl

    invoice = source.invoice
    assert invoice is not None
    received = source.kind != "json"
    rounding = ctx.settings.rounding
    out: list[_Rendered] = []
    for entry in formats:
        kind, profile = entry["kind"], entry.get("profile")
        name = _filename(invoice.number, kind)
        try:
            if kind == source.kind:  # a forwarded document is its own kind, byte for byte
                content = body
            elif kind == "ubl":
                content = ubl.to_xml(
                    invoice, ubl.profile(profile or "en16931"), rounding, keep_supplied=received
                )
            elif kind == "cii":
                content = cii.to_xml(
                    invoice, _cii_profile(invoice, profile), rounding, keep_supplied=received
                )
            elif kind == "facturx":
                content = facturx.to_facturx(
                    invoice,
                    _cii_profile(invoice, profile),
                    language=ctx.settings.language,
                    rounding=rounding,
                    keep_supplied=received,
                )
            else:
                content = facturx.to_pdf(invoice, language=ctx.settings.language)
        except SerializeError as exc:
            headline = str(exc).split(": ", 1)[0] if exc.problems else str(exc)
            problems.extend(exc.problems or [Problem(f"$ ({kind})", headline, rule="render")])
            continue
        except InvoiceProblems as exc:
            problems.extend(exc.problems)
            continue
        except ValueError as exc:  # an unknown profile name
            problems.append(Problem(f"$.formats[{kind}]", str(exc), rule="profile"))
            continue
        out.append(_Rendered(kind, content, name, MEDIA_TYPES[kind]))
    return out


def _render_cxml(
    source: _Source, recipient: Mapping[str, Any], ctx: PipelineContext, problems: list[Problem]
) -> list[_Rendered]:
    """The cXML InvoiceDetailRequest for the recipient's Ariba channel, if it has one.

    cXML carries the delivery itself (payloadID, timestamp, the channel's credentials and
    SharedSecret), so it is rendered per Ariba channel with the delivery id reserved here,
    and stored with the invoice: every attempt of that delivery sends the same bytes.
    """
    channels = [c for c in recipient["channels"] if c.get("type") == "ariba"]
    if not channels:
        return []
    if len(channels) > 1:
        problems.append(Problem("$.recipient.channels", "one Ariba channel per recipient", rule="channels"))
        return []
    from formats import cxml

    invoice = source.invoice
    assert invoice is not None
    channel = channels[0]
    name = str(channel.get("name") or "ariba")
    row: Recipient | None = recipient.get("row")
    if row is not None:
        secrets = repository.recipient_secrets(row, ctx.box).get(name, {})
    else:
        inline = recipient["inline"]
        secrets = next((dict(c.secrets) for c in inline.channels if c.name == name), {})
    settings = dict(channel.get("settings") or {})
    delivery_id = new_id("dlv")
    try:
        content = cxml.to_cxml(
            invoice,
            payload_id=cxml.payload_id(delivery_id),
            timestamp=utcnow(),
            sender={**settings, "shared_secret": secrets.get("shared_secret", "")},
            deployment_mode=str(settings.get("deployment_mode", "production")),
            rounding=ctx.settings.rounding,
            keep_supplied=source.kind != "json",
        )
    except SerializeError as exc:
        problems.extend(exc.problems or [Problem("$ (cxml)", str(exc), rule="render")])
        return []
    return [
        _Rendered(
            "cxml",
            content,
            _filename(invoice.number, "cxml"),
            MEDIA_TYPES["cxml"],
            channel=name,
            delivery_id=delivery_id,
        )
    ]


def _cii_profile(invoice: CanonicalInvoice, name: str | None) -> Any:
    from formats import cii

    if name:
        return cii.profile(name.strip().lower().replace(" ", "").replace("_", "").replace("-", ""))
    spec = invoice.process_control.specification_identifier
    return (cii.profile_for_guideline(spec) if spec else None) or cii.EN16931


def _validate(rendered: Sequence[_Rendered], engine: Validator) -> None:
    """Each XML and Factur-X document through the engine; the readable PDF carries no XML to check."""
    from gateway.metrics import observe_validation

    for doc in rendered:
        # the readable PDF carries no XML; cXML has no official rule set (its DTD is checked
        # by the tests: the gateway never fetches DTDs at run time)
        if doc.kind not in ("pdf", "cxml"):
            started = time.perf_counter()
            doc.report = engine.validate(doc.content, doc.filename)
            observe_validation(time.perf_counter() - started)


def _sign(
    vault_tenant: str,
    key: str,
    rendered: Sequence[_Rendered],
    ctx: PipelineContext,
    problems: list[Problem],
) -> None:
    from formats.errors import SigningError
    from formats.signature import sign

    if ctx.vault is None:
        problems.append(
            Problem(
                "$.sign_key",
                f"the recipient asks for signing with {key!r}, but no key vault is configured",
                rule="signature",
            )
        )
        return
    try:
        identity = ctx.vault.get(vault_tenant, key)
    except GatewayError as exc:
        problems.append(Problem("$.sign_key", f"cannot use signing key {key!r}: {exc}", rule="signature"))
        return
    for doc in rendered:
        if doc.kind == "cxml":  # Ariba authenticates the channel (SharedSecret), not the document
            continue
        try:
            doc.content = sign(doc.content, identity)
        except (SigningError, InvoiceInputError) as exc:
            problems.append(
                Problem(f"$ ({doc.filename})", f"cannot sign {doc.kind}: {exc}", rule="signature")
            )
            continue
        doc.signed = True


def _report_json(
    source: _Source, rendered: Sequence[_Rendered], problems: Sequence[Problem]
) -> dict[str, Any]:
    """One report for the whole submission: the invoice's problems and every document's validation."""
    reports = [r.report.as_dict() for r in rendered if r.report is not None]
    valid = not problems and all(r["valid"] for r in reports) and source.invoice is not None
    return {
        "valid": valid,
        "source": source.kind,
        "problems": [p.as_dict() for p in problems],
        "losses": [
            {"path": loss.path, "line": loss.line, "value": loss.value, "reason": loss.reason}
            for loss in source.losses
        ],
        "documents": reports,
    }


# ---------------------------------------------------------------- storing


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _document(
    tenant_id: str,
    invoice_id: str,
    kind: str,
    content: bytes,
    filename: str,
    media_type: str,
    signed: bool = False,
) -> dict[str, Any]:
    """A ``documents`` row's values (inserted with Core: see ``_store``)."""
    return {
        "id": new_id("doc"),
        "tenant_id": tenant_id,
        "invoice_id": invoice_id,
        "kind": kind,
        "media_type": media_type,
        "filename": filename,
        "sha256": _sha(content),
        "size": len(content),
        "content": content,
        "signed": signed,
        "created_at": utcnow(),
    }


def _channel_settings(
    channel: Mapping[str, Any], invoice: CanonicalInvoice, amount_due: Decimal | None, ctx: PipelineContext
) -> dict[str, Any]:
    """The channel's settings as stored on the delivery; an email channel also gets what its
    subject and body say (the invoice's language, seller, amount and due date), the channel's
    own settings winning where both name a key."""
    settings = dict(channel.get("settings") or {})
    if channel.get("type") != "email":
        return settings
    from formats.pdf.labels import default_language

    address = invoice.seller.address
    values: dict[str, Any] = {
        "language": ctx.settings.language or default_language(address.country_code, address.post_code),
        "invoice_number": invoice.number,
        "seller_name": invoice.seller.name,
        "currency": str(invoice.currency_code),
        "amount_due": str(amount_due) if amount_due is not None else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
    }
    return {**{k: v for k, v in values.items() if v is not None}, **settings}


def cxml_payload_id(delivery_id: str) -> str:
    from formats.cxml import payload_id

    return payload_id(delivery_id)


def _store(
    s: Session,
    tenant_id: str,
    recipient: Mapping[str, Any],
    source: _Source,
    body: bytes,
    rendered: Sequence[_Rendered],
    report: dict[str, Any],
    fingerprint: str,
    idempotency_key: str | None,
    ctx: PipelineContext,
) -> Invoice:
    invoice = source.invoice
    assert invoice is not None
    invoice_id = new_id("inv")
    row: Recipient | None = recipient.get("row")
    if row is None:
        inline = recipient["inline"]
        named = inline.model_copy(update={"name": f"inline {invoice_id}"})
        row = repository.create_recipient(s, tenant_id, named, ctx.box)
    kinds = [doc.kind for doc in rendered]
    now = utcnow()
    values: dict[str, Any] = {
        "id": invoice_id,
        "tenant_id": tenant_id,
        "recipient_id": row.id,
        "idempotency_key": idempotency_key,
        "request_sha256": fingerprint,
        "number": invoice.number[:200],
        "issue_date": invoice.issue_date.isoformat(),
        "currency": str(invoice.currency_code),
        "amount_due": str(source.amount_due) if source.amount_due is not None else None,
        "buyer_name": invoice.buyer.name[:300],
        "source_kind": source.kind,
        "status": T.QUEUED.value if row.channels else T.READY.value,
        "created_at": now,
        "updated_at": now,
        "business_status": None,
    }
    # compact: with indent json falls back to its pure-Python encoder (2-3 ms a report)
    report_bytes = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    report_sha = _sha(report_bytes)
    source_ext = {"json": ".json", "ubl": ".xml", "cii": ".xml", "facturx": ".pdf"}[source.kind]
    source_media = {
        "json": "application/json",
        "ubl": "application/xml",
        "cii": "application/xml",
        "facturx": "application/pdf",
    }[source.kind]
    documents = [
        _document(tenant_id, invoice_id, doc.kind, doc.content, doc.filename, doc.media_type, doc.signed)
        for doc in rendered
    ]
    documents.append(
        _document(
            tenant_id,
            invoice_id,
            "source",
            body,
            _filename(invoice.number, "ubl").removesuffix(".xml") + f"-source{source_ext}",
            source_media,
        )
    )
    documents.append(
        _document(
            tenant_id,
            invoice_id,
            "report",
            report_bytes,
            _filename(invoice.number, "report"),
            MEDIA_TYPES["report"],
        )
    )
    deliveries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    per_channel = {doc.channel: doc for doc in rendered if doc.channel is not None}
    for channel in row.channels or []:
        made_for = per_channel.get(str(channel.get("name")))
        delivery_id = made_for.delivery_id if made_for is not None and made_for.delivery_id else new_id("dlv")
        # a document rendered for one channel (cXML) goes only there; the others get the rest
        channel_kinds = [made_for.kind] if made_for is not None else [k for k in kinds if k != "cxml"]
        deliveries.append(
            {
                "id": delivery_id,
                "tenant_id": tenant_id,
                "invoice_id": invoice_id,
                "channel_type": str(channel.get("type")),
                "channel_name": str(channel.get("name") or channel.get("type")),
                "settings": _channel_settings(channel, invoice, source.amount_due, ctx),
                "document_kinds": channel_kinds,
                "status": T.QUEUED.value,
                "business_status": None,
                "attempts": 0,
                "max_attempts": ctx.settings.max_attempts,
                "next_attempt_at": now,
                "last_error": None,
                "remote_reference": None,
                # the cXML payloadID for Ariba (its status updates name it), a stable id elsewhere
                "payload_id": cxml_payload_id(delivery_id),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        previous: str | None = None
        for status in (T.ACCEPTED, T.VALIDATING, T.READY, T.QUEUED):
            events.append(
                {
                    "tenant_id": tenant_id,
                    "invoice_id": invoice_id,
                    "delivery_id": delivery_id,
                    "axis": "transport",
                    "status": status.value,
                    "previous": previous,
                    "source": "pipeline",
                    "evidence_sha256": report_sha if status is T.READY else None,
                }
            )
            previous = status.value
    # Core inserts, no unit of work (most of this step's time was the ORM's flush): the
    # invoice first, so its idempotency key's unique constraint decides a race before the
    # rest is written, then each table's rows with one executemany. A recipient made inline
    # above is flushed before, for the foreign key.
    if s.new or s.dirty or s.deleted:
        s.flush()
    s.execute(insert(cast(Table, Invoice.__table__)), [values])
    s.execute(insert(cast(Table, Document.__table__)), documents)
    if deliveries:
        s.execute(insert(cast(Table, Delivery.__table__)), deliveries)
    repository.insert_events(s, events)
    # What the caller gets back: the invoice and its deliveries as rows the session knows as
    # persistent (as if loaded; no SQL), its documents left to load on access.
    record = Invoice(**values)
    record.deliveries = [Delivery(**d) for d in deliveries]
    for obj in (record, *record.deliveries):
        make_transient_to_detached(obj)
    s.add(record)
    if deliveries and s.get_bind().dialect.name == "postgresql":
        # the job is inserted in this same transaction: a crash before the commit loses both,
        # after it neither (docs/architecture.md); SQLite's in-process runner polls instead
        from gateway.jobs import defer_delivery

        for delivery in deliveries:
            defer_delivery(s, delivery["id"])
    return record
