"""Signing in and out, and the static files: the only ``/ui`` routes without a session."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from gateway.api.auth import tenant_for_token
from gateway.api.deps import services
from gateway.web.auth import (
    LoginRequired,
    check_csrf,
    check_origin,
    safe_next,
    session_key,
    set_session,
    web_tenant,
)
from gateway.web.render import render

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
_STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
_MAX_KEY = 512


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """A file of ``gateway/web/static`` (flat: no sub-folders, no path tricks)."""
    path = STATIC_DIR / name
    media_type = _MEDIA_TYPES.get(path.suffix.lower())
    if _STATIC_NAME.fullmatch(name) is None or media_type is None or not path.is_file():
        return Response("not found\n", status_code=404, media_type="text/plain")
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), error=None, title="Sign in")


@router.post("/login")
async def login(request: Request) -> Response:
    check_origin(request)
    form = await request.form()
    raw = form.get("api_key")
    key = raw.strip() if isinstance(raw, str) else ""
    target = form.get("next")
    next_url = safe_next(target if isinstance(target, str) else None)
    error: str | None = None
    status = 200
    if not key:
        error, status = "Enter the tenant's API key.", 422
    elif len(key) > _MAX_KEY:
        error, status = "This is not a valid API key.", 401
    else:
        tenant = await run_in_threadpool(tenant_for_token, services(request), key)
        if tenant is None:
            error, status = "This API key is not valid (unknown or revoked).", 401
    if error is not None:
        return render(request, "login.html", status_code=status, next=next_url, error=error, title="Sign in")
    response = RedirectResponse(next_url, status_code=303)
    set_session(request, response, key)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    if session_key(request) is not None:
        try:
            await run_in_threadpool(web_tenant, request)
        except LoginRequired:
            pass  # a stale cookie: nothing to protect, it is simply cleared
        else:
            check_csrf(request, form.get("csrf_token"))
    response = RedirectResponse("/ui/login", status_code=303)
    set_session(request, response, None)
    return response
