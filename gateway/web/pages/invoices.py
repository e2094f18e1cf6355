"""``/ui/invoices``: the search, one invoice with its documents and delivery timeline, the
document and evidence downloads, and an operator's Retry / Cancel of a delivery.

Another tenant's invoice, delivery, document or evidence is the 404 page, like an id that
does not exist. Retry and Cancel call ``gateway.operations`` (the API's own functions): the
lifecycle decides, and a refused move is a 409 page saying why.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from gateway import operations
from gateway.api.auth import TenantRef
from gateway.api.deps import Services, services
from gateway.lifecycle import InvalidTransition, TransportStatus
from gateway.store import repository
from gateway.web import queries
from gateway.web.auth import WebError, check_csrf, safe_next, web_tenant
from gateway.web.business import business_view
from gateway.web.render import render

router = APIRouter()

Tenant = Annotated[TenantRef, Depends(web_tenant)]
PAGE_SIZE = 50
_MAX_AMOUNT = Decimal("1e18")
_KINDS = ("ubl", "cii", "facturx", "pdf", "cxml", "json", "source", "report")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# media types shown inside the page (the rest is only downloaded)
_INLINE = frozenset({"application/pdf"})
NOTICES = {
    "retried": "The delivery was queued again; it will be sent shortly.",
    "canceled": "The delivery was canceled.",
}
FILTER_LABELS = {
    "status": "Status",
    "recipient": "Recipient",
    "issued_from": "Issued from",
    "issued_to": "Issued to",
    "amount_min": "Amount due from",
    "amount_max": "Amount due to",
}


# ---------------------------------------------------------------- the list


@dataclass
class Filters:
    values: dict[str, str]  # as typed, echoed back into the form
    errors: dict[str, str]
    status: str | None = None
    recipient: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


def _date(filters: Filters, name: str) -> date | None:
    text = filters.values[name]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        filters.errors[name] = "Enter a date as YYYY-MM-DD, for example 2024-05-31."
        return None


def _amount(filters: Filters, name: str) -> Decimal | None:
    text = filters.values[name].replace(" ", "").replace("_", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) >= _MAX_AMOUNT:
        filters.errors[name] = "Enter an amount as a number, for example 1250.50."
        return None
    return value


def parse_filters(query: Any, recipient_ids: set[str]) -> Filters:
    values = {name: str(query.get(name) or "").strip()[:100] for name in FILTER_LABELS}
    filters = Filters(values=values, errors={})
    if values["status"]:
        if values["status"] in {s.value for s in TransportStatus}:
            filters.status = values["status"]
        else:
            filters.errors["status"] = "Choose a status from the list."
    if values["recipient"]:
        if values["recipient"] in recipient_ids:
            filters.recipient = values["recipient"]
        else:
            filters.errors["recipient"] = "Choose a recipient from the list."
    filters.issued_from = _date(filters, "issued_from")
    filters.issued_to = _date(filters, "issued_to")
    if filters.issued_from and filters.issued_to and filters.issued_from > filters.issued_to:
        filters.errors["issued_to"] = "The end date is before the start date."
    filters.amount_min = _amount(filters, "amount_min")
    filters.amount_max = _amount(filters, "amount_max")
    if (
        filters.amount_min is not None
        and filters.amount_max is not None
        and filters.amount_min > filters.amount_max
    ):
        filters.errors["amount_max"] = "The largest amount is smaller than the smallest."
    return filters


def _list(svc: Services, tenant_id: str, query: Any) -> dict[str, Any]:
    with svc.session() as s:
        recipients = repository.list_recipients(s, tenant_id)
        names = {r.id: r.name for r in recipients}
        filters = parse_filters(query, set(names))
        cursor = str(query.get("cursor") or "")[:500] or None
        invoices: list[Any] = []
        next_cursor = None
        if not filters.errors:
            search = functools.partial(
                repository.list_invoices,
                s,
                tenant_id,
                status=filters.status,
                recipient=filters.recipient,
                issued_from=filters.issued_from,
                issued_to=filters.issued_to,
                amount_min=filters.amount_min,
                amount_max=filters.amount_max,
                limit=PAGE_SIZE,
            )
            try:
                invoices, next_cursor = search(cursor=cursor)
            except repository.InvalidCursor:  # a stale or edited link: the first page
                cursor = None
                invoices, next_cursor = search()
        rows = [
            {
                "id": i.id,
                "number": i.number,
                "issue_date": i.issue_date,
                "buyer_name": i.buyer_name,
                "recipient": names.get(i.recipient_id or "", ""),
                "amount_due": i.amount_due,
                "currency": i.currency,
                "status": i.status,
                "business_status": i.business_status,
                "created_at": i.created_at,
            }
            for i in invoices
        ]
    kept = {k: v for k, v in filters.values.items() if v}
    return {
        "filters": filters,
        "rows": rows,
        "recipients": sorted(names.items(), key=lambda item: item[1].lower()),
        "statuses": [(s.value, s.value) for s in TransportStatus],
        "next_url": "/ui/invoices?" + urlencode({**kept, "cursor": next_cursor}) if next_cursor else None,
        "first_url": ("/ui/invoices?" + urlencode(kept)) if cursor else None,
        "filtered": bool(kept),
    }


@router.get("/invoices")
async def invoice_list(request: Request, tenant: Tenant) -> Response:
    context = await run_in_threadpool(_list, services(request), tenant.id, request.query_params)
    errors = context["filters"].errors
    return render(
        request,
        "invoices.html",
        status_code=422 if errors else 200,
        labels=FILTER_LABELS,
        **context,
    )


# ---------------------------------------------------------------- one invoice


def _page(svc: Services, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
    with svc.session() as s:
        page = queries.invoice_page(s, tenant_id, invoice_id)
        if page is None:
            return None
        source = next((d for d in page.documents if d.kind == "source"), None)
        business = business_view(source.content, source.media_type) if source is not None else None
        shown = next(
            (
                d
                for kind in ("pdf", "facturx", "source")
                for d in page.documents
                if d.kind == kind and d.media_type in _INLINE
            ),
            None,
        )
        events_by_delivery: dict[str | None, list[Any]] = {}
        for event in page.events:
            events_by_delivery.setdefault(event.delivery_id, []).append(event)
        deliveries = []
        for d in page.deliveries:
            retry, cancel = queries.moves(d.status)
            deliveries.append(
                {
                    "row": d,
                    "events": events_by_delivery.get(d.id, []),
                    "can_retry": retry,
                    "can_cancel": cancel,
                }
            )
        return {
            "invoice": page.invoice,
            "recipient": page.recipient,
            "documents": page.documents,
            "business": business,
            "shown": shown,
            "deliveries": deliveries,
            "invoice_events": events_by_delivery.get(None, []),
            "evidence": page.evidence,
        }


@router.get("/invoices/{invoice_id}")
async def invoice_detail(request: Request, invoice_id: str, tenant: Tenant) -> Response:
    context = await run_in_threadpool(_page, services(request), tenant.id, invoice_id)
    if context is None:
        raise WebError(404, f"There is no invoice {invoice_id!r}.", title="Invoice not found")
    notice = NOTICES.get(str(request.query_params.get("notice") or ""))
    return render(request, "invoice.html", notice=notice, **context)


def _disposition(kind: str, filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "document"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _document(svc: Services, tenant_id: str, invoice_id: str, kind: str) -> tuple[bytes, str, str] | None:
    with svc.session() as s:
        if repository.get_invoice(s, tenant_id, invoice_id) is None:
            return None
        document = repository.get_document(s, tenant_id, invoice_id, kind)
        if document is None:
            return None
        return document.content, document.media_type, document.filename


@router.get("/invoices/{invoice_id}/documents/{kind}")
async def document(request: Request, invoice_id: str, kind: str, tenant: Tenant) -> Response:
    """The document's bytes: a download, or with ``?inline=1`` a PDF shown in the page."""
    kind = kind.lower()
    found = None
    if kind in _KINDS:
        found = await run_in_threadpool(_document, services(request), tenant.id, invoice_id, kind)
    if found is None:
        raise WebError(404, f"Invoice {invoice_id!r} has no {kind!r} document.", title="Document not found")
    content, media_type, filename = found
    inline = request.query_params.get("inline") == "1" and media_type in _INLINE
    headers = {
        "Content-Disposition": _disposition("inline" if inline else "attachment", filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "X-Frame-Options": "SAMEORIGIN",
    }
    if not inline:
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return Response(content, media_type=media_type, headers=headers)


def _evidence(svc: Services, tenant_id: str, sha256: str) -> tuple[bytes, str] | None:
    with svc.session() as s:
        found = repository.get_evidence(s, tenant_id, sha256)
        return (found.content, found.media_type) if found is not None else None


@router.get("/evidence/{sha256}")
async def evidence(request: Request, sha256: str, tenant: Tenant) -> Response:
    """Evidence bytes an event points to (what was sent, what came back): always a download,
    never rendered by the browser (it may be anything a remote server answered)."""
    sha256 = sha256.lower()
    found = None
    if _SHA256.fullmatch(sha256):
        found = await run_in_threadpool(_evidence, services(request), tenant.id, sha256)
    if found is None:
        raise WebError(404, "This evidence is not kept by the store.", title="Evidence not found")
    content, media_type = found
    extension = {"application/json": "json", "application/xml": "xml", "text/plain": "txt"}.get(
        media_type.split(";", 1)[0].strip().lower(), "bin"
    )
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": _disposition("attachment", f"evidence-{sha256[:16]}.{extension}"),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


# ---------------------------------------------------------------- operator moves


def _operate(svc: Services, tenant_id: str, delivery_id: str, move: str) -> str | None:
    """The delivery's invoice id after the move; ``None`` when the tenant has no such delivery."""
    with svc.session() as s:
        if move == "retry":
            delivery = operations.retry_delivery(s, tenant_id, delivery_id)
        else:
            delivery = operations.cancel_delivery(s, tenant_id, delivery_id)
        return delivery.invoice_id if delivery is not None else None


async def _move(request: Request, tenant: TenantRef, delivery_id: str, move: str) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    svc = services(request)
    try:
        invoice_id = await run_in_threadpool(_operate, svc, tenant.id, delivery_id, move)
    except InvalidTransition as exc:
        raise WebError(
            409, f"This delivery cannot be {'retried' if move == 'retry' else 'canceled'} now: {exc}."
        ) from None
    if invoice_id is None:
        raise WebError(404, f"There is no delivery {delivery_id!r}.", title="Delivery not found")
    if move == "retry" and svc.runner is not None:
        svc.runner.wake()
    notice = "retried" if move == "retry" else "canceled"
    back = form.get("back")
    if isinstance(back, str) and back and safe_next(back) == back and back != f"/ui/invoices/{invoice_id}":
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(
        f"/ui/invoices/{invoice_id}?notice={notice}#delivery-{delivery_id}", status_code=303
    )


@router.post("/deliveries/{delivery_id}/retry")
async def retry(request: Request, delivery_id: str, tenant: Tenant) -> Response:
    return await _move(request, tenant, delivery_id, "retry")


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel(request: Request, delivery_id: str, tenant: Tenant) -> Response:
    return await _move(request, tenant, delivery_id, "cancel")
