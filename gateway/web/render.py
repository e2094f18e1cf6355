"""Server-side rendering of the dashboard's pages: one Jinja2 environment, autoescaped.

``render(request, "invoices.html", status_code=200, invoices=…)`` answers an ``HTMLResponse``.
Every page gets, besides what the route passes:

* ``request``; ``path`` (the URL path, for ``aria-current`` in the navigation);
* ``tenant``: the signed-in ``TenantRef`` when ``web_tenant`` found one, else ``None``;
* ``csrf_token``: the token every POST form carries (empty when nobody is signed in).

The environment uses ``StrictUndefined``: a name the route forgot to pass is an error in the
tests, not an empty string on the page. Answers carry a Content-Security-Policy allowing only
this origin (no inline script or style; inline SVG with presentation attributes is fine),
``no-store`` caching (pages show tenant data and a CSRF token) and ``nosniff``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

__all__ = ["SECURITY_HEADERS", "Templates", "format_duration", "render", "templates"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None) -> str:
    """``2024-05-01 12:34:56 UTC`` (the store keeps UTC); empty for ``None``."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _amount(value: str | Decimal | None, currency: str | None = None) -> str:
    """An exact decimal amount with thousands separators, as stored (never through float)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:,}"
    return f"{text} {currency}" if currency else text


def format_duration(seconds: float | None) -> str:
    """``0.35 s``, ``45 s``, ``12 min``, ``3.5 h``, ``2.0 d``."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _field_id(name: str) -> str:
    """The HTML id of the control for the form field ``name`` (``f-`` + a safe form of it)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


class Templates:
    """The dashboard's template environment and the one way to answer a page."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = _when
        self.env.filters["amount"] = _amount
        self.env.filters["duration"] = format_duration
        self.env.filters["field_id"] = _field_id
        self.env.filters["zip_pairs"] = lambda values: [(v, v) for v in values]

    def render(
        self,
        request: Request,
        name: str,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        from gateway.web.auth import csrf_token

        tenant = getattr(request.state, "web_tenant", None)
        values: dict[str, Any] = {
            "request": request,
            "path": request.url.path,
            "tenant": tenant,
            "csrf_token": csrf_token(request) if tenant is not None else "",
        }
        values.update(context)
        html = self.env.get_template(name).render(values)
        return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


templates = Templates()


def render(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """``templates.render``: the page ``name`` (a file under ``gateway/web/templates``)."""
    return templates.render(request, name, status_code=status_code, headers=headers, **context)
