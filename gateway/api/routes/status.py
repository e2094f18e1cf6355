"""``POST /v1/status/ariba``: the buyer's Ariba network tells us what happened to an invoice.

The body is a cXML ``StatusUpdateRequest``. The delivery it is about is found within the
authenticated tenant by the ``payloadID`` of our send (``DocumentReference@payloadID``: each
delivery's stable payloadID), or else by the invoice number
(``InvoiceStatus/InvoiceIDInfo@invoiceID``). ``InvoiceStatus@type`` moves the business axis:

    processing → in_process · reconciled → approved · paying → paying · paid → paid
    rejected → rejected · canceled → canceled

Statuses may arrive out of order; nothing leaves a final state (``rejected``, ``paid``,
``canceled``). Each change is an event whose evidence is the raw cXML (kept, by SHA-256); a
repeat of the current status changes nothing and is acknowledged.

The answer is a cXML ``Response`` whose ``Status@code`` is also the HTTP status: 200 done,
400 a document that cannot be read (not well-formed, a DOCTYPE other than cXML's public DTD,
not a StatusUpdateRequest, an unknown status type), 404 no such delivery for this tenant,
409 the delivery's business status is already final. Authentication (401), size (413) and
content type (415) are refused before the document is read, as problem details.

cXML documents carry ``<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/…/cXML.dtd">``. The
hardened parser refuses every DOCTYPE, so exactly that external declaration (no internal
subset, the cxml.org URL) is blanked out first — nothing is fetched or expanded — and
any other DOCTYPE is refused like everywhere else.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from formats.errors import ParseError
from formats.xmlsafe import parse
from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.api.upload import TooLarge, read_body
from gateway.lifecycle import BUSINESS_FINAL, BusinessStatus, InvalidTransition, check_business
from gateway.store import repository
from gateway.store.models import Delivery, Invoice

router = APIRouter(tags=["status"])

CXML_MEDIA = "text/xml"
MAX_STATUS_BYTES = 1024 * 1024
_CXML_DOCTYPE = re.compile(
    rb'<!DOCTYPE\s+cXML\s+SYSTEM\s+"https?://xml\.cxml\.org/schemas/cXML/[0-9.]+/[A-Za-z]+\.dtd"\s*>'
)
STATUS_MAP: dict[str, BusinessStatus] = {
    "processing": BusinessStatus.IN_PROCESS,
    "reconciled": BusinessStatus.APPROVED,
    "paying": BusinessStatus.PAYING,
    "paid": BusinessStatus.PAID,
    "rejected": BusinessStatus.REJECTED,
    "canceled": BusinessStatus.CANCELED,
}
_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}


class _Refused(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def cxml_response(code: int, detail: str) -> Response:
    root = etree.Element("cXML")
    now = datetime.now(UTC)
    root.set("payloadID", f"{now.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}@einvoice-gateway")
    root.set("timestamp", now.isoformat(timespec="seconds"))
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    status = etree.SubElement(etree.SubElement(root, "Response"), "Status")
    status.set("code", str(code))
    status.set("text", _TEXT.get(code, "Error"))
    status.text = detail
    body = etree.tostring(
        root,
        xml_declaration=True,
        encoding="UTF-8",
        doctype='<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">',
    )
    return Response(body, status_code=code, media_type=CXML_MEDIA)


def _read(raw: bytes) -> etree._Element:
    # same length, so the parser's line numbers still match the sender's document
    cleaned = _CXML_DOCTYPE.sub(lambda m: b" " * len(m.group(0)), raw, count=1)
    try:
        return parse(cleaned, max_bytes=MAX_STATUS_BYTES)
    except ParseError as exc:
        raise _Refused(400, f"the cXML cannot be read: {exc}") from None


def _attr(element: etree._Element | None, name: str) -> str | None:
    if element is None:
        return None
    value = element.get(name)
    return value.strip() if value and value.strip() else None


def _find_delivery(s: Session, tenant_id: str, payload_id: str | None, invoice_id: str | None) -> Delivery:
    if payload_id is not None:
        found = s.scalars(
            select(Delivery).where(Delivery.tenant_id == tenant_id, Delivery.payload_id == payload_id)
        ).first()
        if found is not None:
            return found
    if invoice_id is not None:
        candidates = list(
            s.scalars(
                select(Delivery)
                .join(Invoice, Invoice.id == Delivery.invoice_id)
                .where(
                    Delivery.tenant_id == tenant_id,
                    Invoice.tenant_id == tenant_id,
                    Invoice.number == invoice_id,
                )
                .order_by(Invoice.created_at.desc(), Delivery.created_at)
            )
        )
        ariba = [d for d in candidates if d.channel_type == "ariba"]
        if ariba or candidates:
            return (ariba or candidates)[0]
    named = " / ".join(
        f"{what} {value!r}" for what, value in (("payloadID", payload_id), ("invoiceID", invoice_id)) if value
    )
    raise _Refused(404, f"no delivery of this tenant matches {named}")


def _apply(svc: Services, tenant_id: str, raw: bytes) -> tuple[int, str]:
    root = _read(raw)
    if etree.QName(root).localname != "cXML":
        raise _Refused(400, f"the root element is {etree.QName(root).localname}, not cXML")
    request = root.find("Request/StatusUpdateRequest")
    if request is None:
        raise _Refused(400, "the cXML has no Request/StatusUpdateRequest")
    invoice_status = request.find("InvoiceStatus")
    raw_type = _attr(invoice_status, "type")
    if raw_type is None:
        raise _Refused(400, "the StatusUpdateRequest has no InvoiceStatus@type")
    new = STATUS_MAP.get(raw_type.lower())
    if new is None:
        raise _Refused(400, f"InvoiceStatus@type {raw_type!r} is not one of {', '.join(sorted(STATUS_MAP))}")
    payload_id = _attr(request.find("DocumentReference"), "payloadID")
    invoice_number = _attr(
        invoice_status.find("InvoiceIDInfo") if invoice_status is not None else None, "invoiceID"
    )
    if payload_id is None and invoice_number is None:
        raise _Refused(
            400, "the StatusUpdateRequest names no DocumentReference@payloadID nor InvoiceIDInfo@invoiceID"
        )
    notes = invoice_status.findall("Comments") if invoice_status is not None else []
    comments = " ".join(str(c.xpath("string()")).strip() for c in notes).strip()
    status_text = _attr(request.find("Status"), "text")
    reason = (comments or status_text or "")[:2000] or None

    for attempt in range(3):
        try:
            with svc.session() as s:
                delivery = _find_delivery(s, tenant_id, payload_id, invoice_number)
                previous = delivery.business_status
                if previous == new.value:
                    return 200, f"delivery {delivery.id} is already {new.value}"
                try:
                    check_business(previous, new)
                except InvalidTransition as exc:
                    raise _Refused(409, str(exc)) from None
                evidence = repository.put_evidence(s, tenant_id, raw, "application/xml")
                delivery.business_status = new.value
                invoice = repository.get_invoice(s, tenant_id, delivery.invoice_id)
                if invoice is not None:
                    invoice.business_status = new.value
                s.flush()
                repository.append_event(
                    s,
                    tenant_id=tenant_id,
                    invoice_id=delivery.invoice_id,
                    delivery_id=delivery.id,
                    axis="business",
                    status=new.value,
                    previous=previous,
                    source="ariba",
                    raw_code=raw_type,
                    reason=reason,
                    evidence_sha256=evidence,
                    final=new in BUSINESS_FINAL,
                )
                answer = f"delivery {delivery.id}: {previous or 'none'} -> {new.value}"
            return 200, answer
        except StaleDataError:  # a worker moved the delivery meanwhile: read it again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@router.post(
    "/status/ariba",
    summary="Inbound cXML StatusUpdateRequest: moves the business axis of a delivery",
    response_class=Response,
    responses={
        **problem_responses(401, 413, 415),
        200: {"description": "cXML Response, Status code 200.", "content": {CXML_MEDIA: {}}},
        400: {"description": "cXML Response, Status 400: unreadable document.", "content": {CXML_MEDIA: {}}},
        404: {"description": "cXML Response, Status 404: no such delivery.", "content": {CXML_MEDIA: {}}},
        409: {"description": "cXML Response, Status 409: already final.", "content": {CXML_MEDIA: {}}},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/xml": {"schema": {"type": "string"}}}}
    },
)
async def ariba_status(
    request: Request, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> Response:
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared and declared not in ("text/xml", "application/xml", "application/octet-stream"):
        raise ApiProblem(415, f"send the cXML as text/xml, not {declared}")
    try:
        raw = await read_body(request, MAX_STATUS_BYTES)
    except TooLarge:
        raise ApiProblem(413, f"a StatusUpdateRequest is at most {MAX_STATUS_BYTES} bytes") from None
    try:
        code, detail = await run_in_threadpool(_apply, svc, tenant.id, raw)
    except _Refused as refused:
        return cxml_response(refused.code, refused.detail)
    return cxml_response(code, detail)
