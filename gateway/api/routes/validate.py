"""``POST /v1/validate``: validate an XML or Factur-X/ZUGFeRD PDF document.

The body is the document itself (``application/xml``, ``text/xml``, ``application/pdf``
or ``application/octet-stream``), or ``multipart/form-data`` with the document in a
``file`` field. The kind is sniffed from the bytes, not trusted from the header.

Answers: 200 with the report (``valid`` says the verdict); 422 when the document cannot be
read (not well-formed, hostile, a PDF without an invoice): problem details whose extension
members are the report itself (``error`` says why); 400 for an unknown ``set``; 413 over the
size limit; 415 for anything that is neither XML nor PDF. Every error is RFC 9457
``application/problem+json``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.api.problems import problem_response, problem_responses
from gateway.api.upload import TooLarge, read_document
from schemas.engine import document_kind
from schemas.render import to_svrl
from schemas.render_html import render_html
from schemas.sets import find_set

router = APIRouter(tags=["validation"])


@router.post(
    "/validate",
    summary="Validate an e-invoice (UBL, CII, Factur-X/ZUGFeRD PDF)",
    responses={
        **problem_responses(400, 413, 415, 422),
        200: {"description": "The validation report (see `valid`)."},
    },
)
async def validate_document(
    request: Request,
    set_id: Annotated[str | None, Query(alias="set", description="Force a validation set id.")] = None,
    report_format: Annotated[str, Query(alias="format", pattern="^(json|html|svrl)$")] = "json",
    name: Annotated[str | None, Query(max_length=255, description="Document name for the report.")] = None,
) -> Response:
    settings = request.app.state.settings
    if set_id is not None and find_set(set_id) is None:
        return problem_response(400, f"unknown validation set {set_id!r}", kind="unknown-set")
    try:
        data, name = await read_document(request, settings.max_upload_bytes, name)
    except TooLarge:
        return problem_response(413, f"the document is larger than {settings.max_upload_bytes} bytes")
    if not data:
        return problem_response(415, "the request has no document")
    if document_kind(data) is None:
        return problem_response(
            415,
            "the body is neither XML nor PDF (send application/xml, application/pdf "
            "or multipart/form-data with a 'file' field)",
        )
    pool = request.app.state.validator_pool
    future = pool.submit(data, name or "document", set_id)
    report = await asyncio.wrap_future(future)
    if report.unreadable and report_format == "json":
        return problem_response(
            422,
            report.error or "the document cannot be read",
            kind="unreadable-document",
            title="Unreadable document",
            **report.as_dict(),
        )
    status = 422 if report.unreadable else 200
    if report_format == "html":
        return HTMLResponse(render_html([report]), status_code=status)
    if report_format == "svrl":
        return Response(to_svrl(report), status_code=status, media_type="application/xml")
    return JSONResponse(report.as_dict(), status_code=status)
