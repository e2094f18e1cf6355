"""``POST /v1/verify``: check the signatures of a signed XML invoice or PDF.

The body is the document (any media type: the kind is sniffed from the bytes), or
``multipart/form-data`` with the document in a ``file`` field, as for ``/v1/validate``.

Answers: 200 with the verification report for every readable document — ``valid`` is the
verdict, and a document without any signature is readable but not valid; 422 (RFC 9457
``application/problem+json``) when the document cannot be read (empty, neither XML nor
PDF, not well-formed, hostile); 413 over the size limit. Verification checks certificate
paths against the trust store the server is configured with (``GATEWAY_TRUST_STORE``),
never one a client sends, and never fetches anything over the network.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from formats.errors import GatewayError
from formats.signature import verify
from gateway.api.problems import PROBLEM, problem_response
from gateway.api.upload import TooLarge, read_document

router = APIRouter(tags=["signatures"])


def problem(status: int, detail: str, document: str | None = None) -> JSONResponse:
    """An RFC 9457 problem details answer."""
    if status == 422:
        kind, title = "unreadable-document", "Unreadable document"
        return problem_response(status, detail, kind=kind, title=title, document=document)
    return problem_response(status, detail)


@router.post(
    "/verify",
    summary="Verify the signatures of an XML invoice (XAdES) or PDF (PAdES)",
    responses={
        200: {"description": "The verification report (see `valid`)."},
        413: {"description": "The document is larger than the limit.", "content": {PROBLEM: {}}},
        422: {"description": "The document cannot be read (problem details).", "content": {PROBLEM: {}}},
    },
)
async def verify_document(
    request: Request,
    name: Annotated[str | None, Query(max_length=255, description="Document name for the report.")] = None,
) -> JSONResponse:
    settings = request.app.state.settings
    try:
        data, name = await read_document(request, settings.max_upload_bytes, name)
    except TooLarge:
        return problem(413, f"the document is larger than {settings.max_upload_bytes} bytes")
    if not data:
        return problem(422, "the request has no document (send it as the body or a multipart 'file' field)")
    try:
        # CPU-bound, and path validation runs its own event loop: never on the server's loop.
        report = await asyncio.to_thread(verify, data, request.app.state.trust_store)
    except GatewayError as exc:
        return problem(422, str(exc), document=name)
    return JSONResponse({"document": name, **report.to_dict()})
