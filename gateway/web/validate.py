"""The dashboard's Validate page: drop or pick a UBL, CII or Factur-X file, read the report.

* ``GET /ui/validate``: the form (a file input with its label; a drop zone when scripts run,
  ``/ui/static/validate.js``, which only puts the dropped file into that input).
* ``POST /ui/validate`` (``multipart/form-data``: ``csrf_token``, ``file``): the same engine
  as ``POST /v1/validate`` (the application's validator pool: worker processes, a crash or a
  hang cannot take the server down), the same upload limit (``max_upload_bytes``), then the
  report grouped by business term with ``schemas.render_html``'s grouping (``group_by_term``,
  ``term_heading``), each finding with its level, rule, message, location and the names of
  the terms it concerns (``formats.invoice.terms.TERMS``).
* ``GET /ui/validate/reports/{token}.html|.json``: the report just shown, as the API's
  self-contained HTML page or its JSON, as a download. Reports are kept in memory for a
  while (``ReportCache``: the last few per tenant, an hour at most), keyed by the tenant
  *and* a random token: a token shown to one tenant finds nothing for another.

Files that are not invoices answer a message on the page, never a 500: neither XML nor PDF
415, over the limit 413, no file 400, not well-formed or hostile (a DOCTYPE, an entity, a
PDF without an invoice) 422 with the engine's reason in the verdict banner.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from formats.invoice.terms import TERMS
from gateway.api.auth import TenantRef
from gateway.api.upload import MULTIPART_SLACK, TooLarge
from gateway.web.auth import WebError, check_csrf, web_tenant
from gateway.web.render import SECURITY_HEADERS, render
from schemas.engine import document_kind
from schemas.render_html import OTHER, group_by_term, render_html, term_heading
from schemas.report import BLOCKING, Level, Report

__all__ = ["ReportCache", "validate_router"]

validate_router = APIRouter()

ACCEPT = ".xml,.pdf,application/xml,text/xml,application/pdf"
_NOT_ID = re.compile(r"[^A-Za-z0-9-]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 255


class ReportCache:
    """The last reports shown, per tenant, so the page's download links need no second upload.

    Bounded three ways: ``per_tenant`` reports per tenant (the oldest goes), ``total`` over
    every tenant, ``ttl`` seconds each. Keys are ``(tenant id, token)``; the token is 128
    random bits, and a lookup with another tenant's id finds nothing.
    """

    def __init__(self, *, per_tenant: int = 8, total: int = 64, ttl: float = 3600.0) -> None:
        self.per_tenant = per_tenant
        self.total = total
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[Report, float]] = OrderedDict()

    def put(self, tenant_id: str, report: Report) -> str:
        token = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            self._entries[(tenant_id, token)] = (report, now + self.ttl)
            mine = [key for key in self._entries if key[0] == tenant_id]
            for key in mine[: max(0, len(mine) - self.per_tenant)]:
                del self._entries[key]
            while len(self._entries) > self.total:
                self._entries.popitem(last=False)
        return token

    def get(self, tenant_id: str, token: str) -> Report | None:
        with self._lock:
            self._expire(time.monotonic())
            found = self._entries.get((tenant_id, token))
        return None if found is None else found[0]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire(self, now: float) -> None:
        for key in [key for key, (_, until) in self._entries.items() if until <= now]:
            del self._entries[key]


_cache_lock = threading.Lock()


def report_cache(request: Request) -> ReportCache:
    """The application's report cache (made on first use)."""
    state = request.app.state
    cache: ReportCache | None = getattr(state, "web_reports", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(state, "web_reports", None)
            if cache is None:
                cache = ReportCache()
                state.web_reports = cache
    return cache


# ---------------------------------------------------------------------- the report as the page shows it


def _verdict(report: Report) -> str:
    if report.unreadable:
        return "unreadable"
    return "valid" if report.valid else "invalid"


def _term(term: str) -> dict[str, str | None]:
    known = TERMS.get(term)
    return {"id": term, "name": known.name if known else None}


def _groups(report: Report) -> list[dict[str, Any]]:
    """``group_by_term`` as plain values for the template."""
    groups = []
    for term, pairs in group_by_term(report):
        items = [
            {
                "level": item.level.value,
                "rule": item.id,
                "message": item.message,
                "location": item.location,
                "line": item.line,
                "layer": layer.name,
                "terms": [_term(t) for t in item.terms],
            }
            for item, layer in pairs
        ]
        groups.append(
            {
                "slug": "term-" + (_NOT_ID.sub("_", term) if term is not None else "other"),
                "term": _term(term) if term is not None else None,
                "heading": term_heading(term) if term is not None else OTHER,
                "blocking": sum(1 for item, _ in pairs if item.level in BLOCKING),
                "findings": items,
            }
        )
    return groups


def _view(report: Report) -> dict[str, Any]:
    return {
        "document": report.document,
        "verdict": _verdict(report),
        "error": report.error,
        "counts": {level.value: report.count(level) for level in Level},
        "sha256": report.sha256,
        "size": report.size,
        "syntax": report.syntax,
        "specification_id": report.specification_id,
        "embedded": report.embedded,
        "set_id": report.set_id,
        "set_title": report.set_title,
        "duration_ms": report.duration_ms,
        "notes": report.notes,
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind,
                "validity": layer.validity.value,
                "message": layer.message,
                "findings": len(layer.items),
                "artefact": (
                    f"{layer.artefact.title} {layer.artefact.version} ({layer.artefact.status})"
                    if layer.artefact
                    else None
                ),
            }
            for layer in report.layers
        ],
        "groups": _groups(report),
    }


# ---------------------------------------------------------------------- the upload


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _file_name(upload: UploadFile) -> str:
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:_MAX_NAME] or "document"


async def _read_form(request: Request, limit: int) -> tuple[bytes, str]:
    """The CSRF-checked upload: ``(bytes, file name)``; ``_Refused`` or ``TooLarge`` otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise _Refused(415, "Send the form on this page (multipart/form-data with a file).")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise TooLarge
    try:
        async with request.form(max_files=1, max_fields=4) as form:  # closes the spooled file
            check_csrf(request, form.get("csrf_token"))
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise _Refused(400, "Choose a file to validate.")
            data = await upload.read(limit + 1)
            name = _file_name(upload)
    except HTTPException as exc:  # a malformed body, too many parts
        raise _Refused(400, f"The form could not be read: {exc.detail}.") from None
    if len(data) > limit:
        raise TooLarge
    if not data:
        raise _Refused(400, "Choose a file to validate (the file chosen is empty).")
    return data, name


def _form_page(request: Request, *, status_code: int = 200, error: str | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    return render(
        request,
        "validate.html",
        status_code=status_code,
        error=error,
        accept=ACCEPT,
        max_bytes=settings.max_upload_bytes,
    )


@validate_router.get("/validate", response_class=HTMLResponse, include_in_schema=False)
def validate_form(request: Request, tenant: Annotated[TenantRef, Depends(web_tenant)]) -> HTMLResponse:
    return _form_page(request)


@validate_router.post("/validate", response_class=HTMLResponse, include_in_schema=False)
async def validate_upload(
    request: Request, tenant: Annotated[TenantRef, Depends(web_tenant)]
) -> HTMLResponse:
    limit: int = request.app.state.settings.max_upload_bytes
    try:
        data, name = await _read_form(request, limit)
    except TooLarge:
        return _form_page(
            request,
            status_code=413,
            error=f"The file is larger than the limit of {limit:,} bytes and was not validated.",
        )
    except _Refused as exc:
        return _form_page(request, status_code=exc.status, error=exc.message)
    if document_kind(data) is None:
        return _form_page(
            request,
            status_code=415,
            error=(
                f"{name} is neither XML nor PDF. Choose a UBL or CII invoice (.xml) "
                "or a Factur-X / ZUGFeRD PDF."
            ),
        )
    pool = request.app.state.validator_pool  # the engine of POST /v1/validate
    report: Report = await asyncio.wrap_future(pool.submit(data, name, None))
    for layer in report.layers:
        layer.svrl = None  # the pool keeps SVRL for the API; the downloads do not use it
    token = report_cache(request).put(tenant.id, report)
    settings = request.app.state.settings
    return render(
        request,
        "validate_report.html",
        status_code=422 if report.unreadable else 200,
        error=None,
        accept=ACCEPT,
        max_bytes=settings.max_upload_bytes,
        report=_view(report),
        token=token,
    )


def _download_name(document: str, extension: str) -> str:
    stem = document.rsplit(".", 1)[0] if "." in document else document
    stem = _UNSAFE_NAME.sub("_", stem).strip("._") or "document"
    return f"{stem[:100]}-report.{extension}"


@validate_router.get("/validate/reports/{token}.{fmt}", include_in_schema=False)
def download_report(
    request: Request, token: str, fmt: str, tenant: Annotated[TenantRef, Depends(web_tenant)]
) -> Response:
    if fmt not in ("html", "json"):
        raise WebError(404, "Reports are downloaded as .html or .json.", title="Not found")
    report = report_cache(request).get(tenant.id, token)
    if report is None:
        raise WebError(
            404,
            "This report is no longer kept (reports are kept for an hour, the last few per tenant). "
            "Validate the file again.",
            title="Report not found",
        )
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{_download_name(report.document, fmt)}"',
    }
    if fmt == "json":
        body = json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
        return Response(body, media_type="application/json", headers=headers)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return HTMLResponse(render_html([report], generated_at=stamp), headers=headers)
