"""``/v1/batches``: submit many invoices for one recipient at once, then follow the batch.

``POST /v1/batches`` takes ``{"recipient": "rcp_…", "invoices": [{…}, …]}``, a bare JSON
array of invoices, or NDJSON (``application/x-ndjson``, one invoice a line) with the
recipient as ``?recipient=rcp_…`` (at most ``batches.MAX_ITEMS`` invoices, and the upload
size limit). The batch is stored whole, then answered 202 with its id; the invoices go
through the same pipeline as ``POST /v1/invoices`` in the background: threads of this
process on SQLite (``gateway.batches``), ``gateway worker`` processes on PostgreSQL (the
chunk jobs are committed with the batch: ``gateway.batch_jobs``).
An ``Idempotency-Key`` makes the POST itself safe to repeat (the same batch comes back).
``GET /v1/batches/{id}`` reports progress: accepted (with their invoice ids), refused (with
each one's index and problems), pending.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway import batches
from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.api.upload import TooLarge, read_body
from gateway.store import repository

router = APIRouter(tags=["batches"])
_runner_lock = threading.Lock()


def batch_runner(request: Request, svc: Services) -> batches.BatchRunner:
    """The application's batch executor, started on first use (it then resumes unfinished batches)."""
    runner: batches.BatchRunner | None = getattr(request.app.state, "batch_runner", None)
    if runner is not None:
        return runner
    with _runner_lock:
        runner = getattr(request.app.state, "batch_runner", None)
        if runner is None:

            def wake() -> None:
                wake_runner = getattr(svc.runner, "wake", None)
                if callable(wake_runner):
                    wake_runner()

            runner = batches.BatchRunner(
                svc.store,
                lambda: svc.pipeline_context,
                workers=max(1, svc.settings.validate_jobs),
                on_accepted=wake,
            )
            request.app.state.batch_runner = runner
            runner.resume()
    return runner


def _create(
    svc: Services, tenant_id: str, recipient_id: str, items: list[bytes], key: str | None
) -> tuple[str, int, bool]:
    with svc.session() as s:
        if repository.get_recipient(s, tenant_id, recipient_id) is None:
            raise ApiProblem(
                404, f"no recipient {recipient_id!r}", kind="unknown-recipient", title="Unknown recipient"
            )
        try:
            batch, replay = batches.create_batch(s, tenant_id, recipient_id, items, idempotency_key=key)
        except batches.BatchConflict as exc:
            raise ApiProblem(
                409, str(exc), kind="idempotency-conflict", title="Idempotency-Key reused", batch=exc.batch_id
            ) from None
        if not replay:
            # PostgreSQL: the workers' chunk jobs, committed with the items (SQLite: none,
            # the API's BatchRunner below does the work)
            from gateway.batch_jobs import defer_batch

            defer_batch(s, tenant_id, batch.id, batch.total)
        return batch.id, batch.total, replay


@router.post(
    "/batches",
    summary="Submit many invoices for one recipient; they are processed in the background",
    status_code=202,
    responses={
        **problem_responses(401, 404, 409, 413, 415, 422),
        202: {"description": "Accepted: the batch is stored; follow it at links.self."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit_batch(
    request: Request,
    tenant: CurrentTenant,
    svc: Annotated[Services, Depends(services)],
    recipient: Annotated[
        str | None, Query(max_length=64, description="The recipient id (rcp_…); or 'recipient' in the body.")
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> JSONResponse:
    limit = svc.settings.max_upload_bytes
    try:
        body = await read_body(request, limit)
    except TooLarge:
        raise ApiProblem(413, f"the request body is larger than {limit} bytes") from None
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media not in ("application/json", *batches.NDJSON_TYPES):
        raise ApiProblem(415, "send the batch as application/json or application/x-ndjson")
    try:
        parsed = await run_in_threadpool(batches.parse_batch, body, content_type)
    except batches.BatchInputError as exc:
        problems = [{"location": exc.location, "message": str(exc)}] if exc.location else None
        extra: dict[str, Any] = {"problems": problems} if problems else {}
        raise ApiProblem(exc.status, str(exc), kind="unreadable-batch", **extra) from None
    if parsed.recipient is not None and recipient is not None:
        raise ApiProblem(422, "the recipient is named twice: in the query and in the body; keep one")
    recipient_id = parsed.recipient or recipient
    if recipient_id is None:
        raise ApiProblem(
            422,
            'say who receives the invoices: {"recipient": "rcp_…", "invoices": […]} or ?recipient=rcp_…',
            kind="missing-recipient",
        )
    key = idempotency_key.strip() if idempotency_key else None
    context_ready = svc.pipeline_context  # fail now (503) rather than in the background
    del context_ready
    batch_id, total, replay = await run_in_threadpool(
        _create, svc, tenant.id, recipient_id, parsed.items, key or None
    )
    if svc.store.is_sqlite:
        batch_runner(request, svc).schedule(tenant.id, batch_id)
    answer = {"id": batch_id, "total": total, "replay": replay, "links": {"self": f"/v1/batches/{batch_id}"}}
    headers = {"Location": answer["links"]["self"]}  # type: ignore[index]
    if replay:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer, status_code=202, headers=headers)


@router.get(
    "/batches/{batch_id}",
    summary="A batch's progress: accepted (with invoice ids), refused (with problems), pending",
    responses=problem_responses(401, 404),
)
def get_batch(
    batch_id: str, request: Request, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> Any:
    with svc.session() as s:
        progress = batches.batch_progress(s, tenant.id, batch_id)
    if progress is None:
        raise ApiProblem(404, f"no batch {batch_id!r}")
    if progress["pending"] and svc.store.is_sqlite:
        runner = batch_runner(request, svc)
        if not runner.scheduled(batch_id):  # left by a process that stopped: resume it here
            runner.schedule(tenant.id, batch_id)
    return progress
