"""The dashboard's sign-in: the tenant's API key in a cookie, checked like the Bearer header.

* ``POST /ui/login`` with the form field ``api_key`` sets the cookie ``gw_ui`` to the key
  itself (HttpOnly, SameSite=Strict, path ``/ui``, Secure when the request came over https)
  after the same check as ``Authorization: Bearer`` (``gateway.api.auth.tenant_for_token``,
  with its short cache of valid keys): a revoked key stops working here as it does there.
* ``web_tenant`` (a FastAPI dependency) answers the tenant, or a 303 to
  ``/ui/login?next=…`` (raised as ``LoginRequired``, answered by the handler ``install``
  registers).
* CSRF: every POST form carries ``csrf_token`` = HMAC-SHA256 keyed with the cookie's value.
  Another site can neither read the cookie nor compute the token, the token says nothing
  about the key, and every server process computes the same one (no server-side state).
  ``check_csrf`` raises ``WebError(403)`` on a mismatch. SameSite=Strict already keeps the
  cookie off cross-site requests; the token is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.responses import Response

from gateway.api.auth import TenantRef, tenant_for_token
from gateway.api.deps import services

__all__ = [
    "COOKIE",
    "LoginRequired",
    "WebError",
    "check_csrf",
    "check_origin",
    "csrf_token",
    "safe_next",
    "session_key",
    "set_session",
    "web_tenant",
]

COOKIE = "gw_ui"
_CSRF_CONTEXT = b"gateway.web.csrf.v1"


class WebError(Exception):
    """A page-level error answered as the HTML error page with this status (403, 404, 409…)."""

    def __init__(self, status: int, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


class LoginRequired(Exception):
    """No valid session: answered as 303 to the login page, coming back to ``next`` after."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url

    @property
    def location(self) -> str:
        return "/ui/login?next=" + quote(self.next_url, safe="/")


def session_key(request: Request) -> str | None:
    value = (request.cookies.get(COOKIE) or "").strip()
    return value or None


def web_tenant(request: Request) -> TenantRef:
    """FastAPI dependency for every dashboard page except login and static files."""
    key = session_key(request)
    tenant = tenant_for_token(services(request), key) if key else None
    if tenant is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(here if request.method in ("GET", "HEAD") else "/ui/")
    request.state.web_tenant = tenant
    return tenant


def csrf_token(request: Request) -> str:
    """The token for this session's forms (empty without a session cookie)."""
    key = session_key(request)
    if not key:
        return ""
    return hmac.new(key.encode("utf-8", "replace"), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def check_csrf(request: Request, form_value: object) -> None:
    """Refuse (403 page) a POST whose ``csrf_token`` is not this session's."""
    expected = csrf_token(request)
    given = form_value if isinstance(form_value, str) else ""
    if not expected or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise WebError(
            403,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
            title="Form refused",
        )


def check_origin(request: Request) -> None:
    """A POST whose ``Origin`` header names another site is refused (the login form has no
    token yet: this keeps another site from signing a browser into its own tenant)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        raise WebError(403, "This form was sent from another site and is refused.", title="Form refused")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of the dashboard only (never another site)."""
    if not value or not value.startswith("/ui") or value.startswith("//") or "\\" in value:
        return "/ui/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/ui/"
    return value


def set_session(request: Request, response: Response, key: str | None) -> None:
    """Set (or, with ``None``, delete) the session cookie on ``response``."""
    secure = request.url.scheme == "https"
    if key is None:
        response.delete_cookie(COOKIE, path="/ui", secure=secure, httponly=True, samesite="strict")
    else:
        response.set_cookie(COOKIE, key, path="/ui", secure=secure, httponly=True, samesite="strict")
