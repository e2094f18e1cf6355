"""RFC 9457 problem details: the one shape of every error the API answers.

Every non-2xx answer is ``application/problem+json`` with ``type``, ``title``, ``status`` and
``detail``; validation failures add ``problems`` (what was wrong in the request) or
``report`` (the invoice's validation report). Routes raise ``ApiProblem``; the handlers
installed by ``install_handlers`` turn it, FastAPI's request validation errors, Starlette's
404/405 and any unexpected exception into that shape. An unexpected exception answers a
bare 500 naming nothing of the server (no class, message or path): the traceback goes to
the log with the request id, never to the client.

The database being unreachable (restarting, failing over, out of connections) is not a bug:
any route that needs it answers 503 ``database-unavailable`` with ``Retry-After`` and logs
one warning line, no traceback (``gateway.store.availability`` decides which errors are an
outage). A client resubmits with the same ``Idempotency-Key`` after that many seconds.
Database errors that are bugs (bad SQL, a constraint) stay a logged 500.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.store.availability import database_unavailable

__all__ = [
    "PROBLEM",
    "RETRY_AFTER_SECONDS",
    "ApiProblem",
    "Problem",
    "install_handlers",
    "problem_response",
    "problem_responses",
]

PROBLEM = "application/problem+json"
TYPE_PREFIX = "urn:einvoice-gateway:problem:"
log = logging.getLogger("gateway.api")
RETRY_AFTER_SECONDS = 5  # what a 503 for an unreachable database tells the client to wait

# status -> (type slug, title) used when a route does not name its own
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-request", "Invalid request"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class Problem(BaseModel):
    """The problem details body (for the OpenAPI document); extension members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


class ApiProblem(Exception):
    """Raised by routes and dependencies; answered as problem details by the handler."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title
        self.headers = headers
        self.extra = extra


def problem_body(
    status: int, detail: str, *, kind: str | None = None, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    default_kind, default_title = _DEFAULTS.get(status, ("error", "Error"))
    body: dict[str, Any] = dict(extra)
    # the four RFC 9457 members win over any extension of the same name
    body.update(
        type=TYPE_PREFIX + (kind or default_kind),
        title=title or default_title,
        status=status,
        detail=detail,
    )
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, detail, kind=kind, title=title, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status documented as problem details."""
    return {
        status: {
            "description": _DEFAULTS.get(status, ("error", "Error"))[1],
            "model": Problem,
            "content": {PROBLEM: {}},
        }
        for status in statuses
    }


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, kind=exc.kind, title=exc.title, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            # ``input`` may echo a secret the client sent (a recipient's password): never returned
            problems.append({"location": _location(error.get("loc", ())), "message": error.get("msg", "")})
        json_error = any(e.get("type") == "json_invalid" for e in exc.errors())
        detail = (
            "the request body is not valid JSON"
            if json_error
            else "the request does not match what this endpoint accepts; see problems"
        )
        return problem_response(422, detail, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 404 and exc.detail == "Not Found":
            detail = f"no route {request.url.path}"
        elif status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        else:
            detail = str(exc.detail)
        return problem_response(status, detail, headers=getattr(exc, "headers", None))

    def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:16]
        log.error("unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
        return problem_response(
            500,
            "the server failed to handle this request; quote the incident id when reporting it",
            incident=incident,
        )

    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        # Registered for the database drivers' exception trees (below), so an outage is
        # answered here without the server logging a traceback per request.
        if not database_unavailable(exc):
            return _internal_error(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            503,
            f"the database cannot be reached right now; retry in {RETRY_AFTER_SECONDS} s (a submission "
            "repeated with the same Idempotency-Key is never stored twice)",
            kind="database-unavailable",
            title="Database unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for family in _database_errors():
        app.add_exception_handler(family, _database_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):  # wrapped in something else (e.g. a thread pool's error)
            return await _database_error(request, exc)
        return _internal_error(request, exc)


def _database_errors() -> tuple[type[Exception], ...]:
    """The exception trees a database failure arrives in: SQLAlchemy, psycopg (through the job
    queue), procrastinate's wrapper around psycopg, and the stdlib SQLite driver."""
    import sqlite3

    import psycopg
    from procrastinate.exceptions import ProcrastinateException
    from sqlalchemy.exc import SQLAlchemyError

    return (SQLAlchemyError, psycopg.Error, ProcrastinateException, sqlite3.Error)
