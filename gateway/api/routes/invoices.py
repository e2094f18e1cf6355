"""``/v1/invoices``: submit an invoice, follow it, download its documents.

Submission (``POST /v1/invoices``), one design for every body:

* the body is the invoice: canonical JSON (``application/json``), UBL or CII XML
  (``application/xml``), or a Factur-X/ZUGFeRD PDF (``application/pdf``), forwarded as is;
* the recipient is ``?recipient=rcp_…`` (any body), or, for JSON only, the envelope
  ``{"recipient": "rcp_…" | {inline recipient}, "invoice": {...}}`` — the only way to give
  inline delivery options. A JSON object with an ``invoice`` member is an envelope; a
  canonical invoice has no such member. Naming the recipient twice is a 422.
* ``Idempotency-Key`` (≤ 255 characters): the same key with the same invoice and recipient
  returns the first result (202, ``replay: true``, header ``Idempotent-Replayed: true``); with
  anything else it is a 409.

The pipeline runs before the answer, in one transaction: 202 with the invoice id and its
deliveries, or 422 with the validation report (nothing stored, nothing queued).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from formats.errors import InvoiceInputError
from formats.invoice import load_json
from gateway import pipeline
from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.api.schemas import (
    InvoiceAccepted,
    InvoiceList,
    InvoiceOut,
    accepted_json,
    invoice_json,
    invoice_summary_json,
)
from gateway.api.upload import TooLarge, read_body
from gateway.recipients import RecipientIn
from gateway.store import repository

router = APIRouter(tags=["invoices"])

_ENVELOPE_KEYS = frozenset({"recipient", "invoice"})
_KINDS = ("ubl", "cii", "facturx", "pdf", "cxml", "json", "source", "report")


# ---------------------------------------------------------------- the envelope


def _dump(value: Any) -> str:
    """JSON text keeping numbers exactly as they came (``load_json`` reads them as Decimal)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + _dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _validation_problems(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    return [
        {"location": ".".join([prefix, *(str(p) for p in e["loc"])]), "message": e["msg"]}
        for e in exc.errors()
    ]


def _unwrap(body: bytes, recipient_param: str | None) -> tuple[bytes, str | None, RecipientIn | None]:
    """``(invoice bytes, recipient id, inline recipient)`` from the body and the query."""
    head = body[:64].lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"{") or b'"invoice"' not in body:
        return body, recipient_param, None
    try:
        data = load_json(body)
    except InvoiceInputError as exc:
        raise ApiProblem(422, f"the JSON cannot be read: {exc}", kind="unreadable-document") from None
    if "invoice" not in data:
        return body, recipient_param, None
    extra = sorted(set(data) - _ENVELOPE_KEYS)
    if extra:
        raise ApiProblem(
            422,
            f"the envelope has only 'recipient' and 'invoice'; unexpected: {', '.join(extra)}",
            problems=[{"location": key, "message": "unexpected member"} for key in extra],
        )
    invoice = data["invoice"]
    if not isinstance(invoice, dict):
        raise ApiProblem(422, "'invoice' must be a JSON object (the canonical invoice)")
    given = data.get("recipient")
    if given is not None and recipient_param is not None:
        raise ApiProblem(422, "the recipient is named twice: in the query and in the envelope; keep one")
    inline: RecipientIn | None = None
    recipient_id = recipient_param
    if isinstance(given, str):
        recipient_id = given
    elif isinstance(given, dict):
        try:
            inline = RecipientIn.model_validate(_plain(given))
        except ValidationError as exc:
            raise ApiProblem(
                422,
                "the inline recipient is not valid; see problems",
                problems=_validation_problems(exc, "recipient"),
            ) from None
    elif given is not None:
        raise ApiProblem(422, "'recipient' is a recipient id (string) or an inline recipient (object)")
    return _dump(invoice).encode("utf-8"), recipient_id, inline


def _plain(value: Any) -> Any:
    """Decimals back to JSON numbers pydantic takes (ports, counts) without losing text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else str(value)
    return value


# ---------------------------------------------------------------- submit


def _submit(
    svc: Services,
    tenant_id: str,
    body: bytes,
    content_type: str,
    recipient_id: str | None,
    inline: RecipientIn | None,
    key: str | None,
) -> tuple[bool, dict[str, Any]]:
    """The pipeline in two short units of work (``pipeline.submit_to_store``): no database
    connection is held while the invoice is rendered and validated."""
    ctx = svc.pipeline_context
    try:
        outcome = pipeline.submit_to_store(
            svc.store,
            tenant_id,
            body,
            content_type,
            recipient_id=recipient_id,
            inline_recipient=inline,
            idempotency_key=key,
            ctx=ctx,
        )
    except pipeline.RecipientNotFound as exc:
        raise ApiProblem(404, str(exc), kind="unknown-recipient", title="Unknown recipient") from None
    except pipeline.IdempotencyConflict as exc:
        raise ApiProblem(
            409,
            str(exc),
            kind="idempotency-conflict",
            title="Idempotency-Key reused",
            invoice=exc.invoice_id,
        ) from None
    except pipeline.InputError as exc:
        status = exc.status if exc.status in (415, 422) else 422
        raise ApiProblem(
            status, str(exc), kind="unsupported-media-type" if status == 415 else "unreadable-document"
        ) from None
    if not outcome.accepted or outcome.invoice is None:
        return False, outcome.report or {}
    invoice = outcome.invoice
    deliveries = sorted(invoice.deliveries, key=lambda d: (d.created_at, d.id))
    return True, accepted_json(invoice, deliveries, replay=outcome.replay)


@router.post(
    "/invoices",
    summary="Submit an invoice (canonical JSON, UBL, CII or Factur-X) for delivery",
    status_code=202,
    response_model=InvoiceAccepted,
    responses={
        **problem_responses(401, 404, 409, 413, 415, 422),
        202: {"description": "Accepted: the invoice is stored and its deliveries are queued."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/xml": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def submit_invoice(
    request: Request,
    tenant: CurrentTenant,
    svc: Annotated[Services, Depends(services)],
    recipient: Annotated[
        str | None, Query(max_length=64, description="The recipient id (rcp_…); or use the JSON envelope.")
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response:
    limit = svc.settings.max_invoice_bytes
    try:
        body = await read_body(request, limit)
    except TooLarge:
        raise ApiProblem(413, f"the request body is larger than {limit} bytes") from None
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        raise ApiProblem(
            415, "send the invoice as the request body (application/json, application/xml or application/pdf)"
        )
    if not body.strip():
        raise ApiProblem(422, "the request body is empty: send the invoice", kind="unreadable-document")
    body, recipient_id, inline = _unwrap(body, recipient)
    if recipient_id is None and inline is None:
        raise ApiProblem(
            422,
            "say who receives the invoice: ?recipient=rcp_… or the JSON envelope "
            '{"recipient": …, "invoice": {…}}',
            kind="missing-recipient",
        )
    key = idempotency_key.strip() if idempotency_key else None
    accepted, answer = await run_in_threadpool(
        _submit, svc, tenant.id, body, content_type, recipient_id, inline, key or None
    )
    if not accepted:
        raise ApiProblem(
            422,
            "the invoice is not valid; nothing was stored or queued (see report)",
            kind="invalid-invoice",
            title="Invalid invoice",
            report=answer,
        )
    if svc.runner is not None and not answer["replay"]:
        wake = getattr(svc.runner, "wake", None)
        if callable(wake):
            wake()
    headers = {"Location": answer["links"]["self"]}
    if answer["replay"]:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer, status_code=202, headers=headers)


# ---------------------------------------------------------------- read


def _load_invoice(svc: Services, tenant_id: str, invoice_id: str) -> dict[str, Any]:
    with svc.session() as s:
        invoice = repository.get_invoice(s, tenant_id, invoice_id)
        if invoice is None:
            raise ApiProblem(404, f"no invoice {invoice_id!r}")
        documents = repository.invoice_documents(s, tenant_id, invoice.id)
        deliveries = repository.invoice_deliveries(s, tenant_id, invoice.id)
        events = repository.list_events(s, tenant_id, invoice.id)
        return invoice_json(invoice, documents, deliveries, events)


@router.get(
    "/invoices/{invoice_id}",
    summary="An invoice: both status axes, its documents, deliveries and event timeline",
    response_model=InvoiceOut,
    responses=problem_responses(401, 404),
)
def get_invoice(invoice_id: str, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]) -> Any:
    return _load_invoice(svc, tenant.id, invoice_id)


@router.get(
    "/invoices/{invoice_id}/documents/{kind}",
    summary="One document of an invoice, as stored (ETag: its SHA-256)",
    response_class=Response,
    responses={
        **problem_responses(401, 404),
        200: {"description": "The document's bytes with its media type."},
        304: {"description": "If-None-Match matched the ETag."},
    },
)
def get_document(
    invoice_id: str,
    kind: str,
    request: Request,
    tenant: CurrentTenant,
    svc: Annotated[Services, Depends(services)],
) -> Response:
    kind = kind.lower()
    if kind not in _KINDS:
        raise ApiProblem(404, f"no document kind {kind!r}; kinds: {', '.join(_KINDS)}")
    with svc.session() as s:
        if repository.get_invoice(s, tenant.id, invoice_id) is None:
            raise ApiProblem(404, f"no invoice {invoice_id!r}")
        document = repository.get_document(s, tenant.id, invoice_id, kind)
        if document is None:
            raise ApiProblem(404, f"invoice {invoice_id} has no {kind} document")
        etag = f'"{document.sha256}"'
        headers = {
            "ETag": etag,
            "Content-Disposition": _disposition(document.filename),
            "Cache-Control": "private, max-age=0, must-revalidate",
        }
        if etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        return Response(document.content, media_type=document.media_type, headers=headers)


def _etags(value: str | None) -> set[str]:
    if not value:
        return set()
    return {tag.strip().removeprefix("W/") for tag in value.split(",")}


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _when(value: str | None, name: str) -> date | datetime | None:
    """``from``/``to``: a date (the whole day, both ends inclusive) or an ISO 8601 date-time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiProblem(
            422,
            f"{name!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time: {value!r}",
            problems=[{"location": f"query.{name}", "message": "not a date or date-time"}],
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get(
    "/invoices",
    summary="The tenant's invoices, newest first, paged",
    response_model=InvoiceList,
    responses=problem_responses(401, 422),
)
def list_invoices(
    tenant: CurrentTenant,
    svc: Annotated[Services, Depends(services)],
    status: Annotated[str | None, Query(max_length=30, description="Summary status of the invoice.")] = None,
    recipient: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[
        str | None, Query(alias="from", description="Created on/after (date or date-time).")
    ] = None,
    date_to: Annotated[
        str | None, Query(alias="to", description="Created on/before (date or date-time).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    start = _when(date_from, "from")
    end = _when(date_to, "to")
    limit = min(limit, svc.settings.max_page)
    with svc.session() as s:
        try:
            invoices, next_cursor = repository.list_invoices(
                s,
                tenant.id,
                status=status,
                recipient=recipient,
                date_from=start,
                date_to=end,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as exc:  # a cursor that is not one of ours
            raise ApiProblem(
                422, str(exc), problems=[{"location": "query.cursor", "message": "invalid cursor"}]
            ) from None
        data = [invoice_summary_json(i) for i in invoices]
    params: Mapping[str, Any] = {
        k: v
        for k, v in {"status": status, "recipient": recipient, "from": date_from, "to": date_to}.items()
        if v is not None
    }
    links = {"self": "/v1/invoices" + ("?" + urlencode({**params, "limit": limit}))}
    if next_cursor is not None:
        links["next"] = "/v1/invoices?" + urlencode({**params, "limit": limit, "cursor": next_cursor})
    return {"data": data, "next_cursor": next_cursor, "links": links}
