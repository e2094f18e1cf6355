"""The web dashboard (``/ui``): server-rendered pages on the same store and auth as the API.

Layout:

* ``render.py``: the Jinja2 environment (autoescaped) and ``render(request, name, **context)``;
* ``auth.py``: the session cookie (the API key, checked like the Bearer header), the
  ``web_tenant`` dependency, CSRF tokens;
* ``pages/``: one module per area, each exposing ``router`` (an ``APIRouter`` without
  prefix: its paths are relative to ``/ui``). Every module there is included, in name order,
  so a new page is a new module; ``validate.py`` (the Validate page, ``validate_router``);
* ``templates/`` (``base.html`` is the layout; ``_forms.html`` the accessible form macros)
  and ``static/`` (served at ``/ui/static/NAME``).

The browser gets no second copy of the business logic: forms post to the server, which
validates through the same models as the API (``RecipientIn``…) and re-renders the form with
each error next to its field. ``install(app)`` includes ``router`` and registers the handlers
answering ``LoginRequired`` (303 to the login page) and ``WebError`` (the HTML error page).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from gateway.web import pages
from gateway.web.auth import LoginRequired, WebError, web_tenant
from gateway.web.render import render
from gateway.web.validate import validate_router

__all__ = ["install", "router"]


def _page_routers() -> list[APIRouter]:
    found = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        page_router = getattr(module, "router", None)
        if isinstance(page_router, APIRouter):
            found.append(page_router)
    return found


router = APIRouter(prefix="/ui", include_in_schema=False)
for _page_router in _page_routers():
    router.include_router(_page_router)
router.include_router(validate_router)  # the Validate page (gateway/web/validate.py)


@router.api_route("/{rest:path}", methods=["GET", "POST"], dependencies=[Depends(web_tenant)])
def _not_found(request: Request, rest: str) -> Response:
    """Any other ``/ui`` path: the dashboard's own 404 page (after the sign-in check)."""
    raise WebError(404, f"There is no page at {request.url.path}.", title="Page not found")


def install(app: FastAPI) -> None:
    """Serve the dashboard from ``app``: the routes and the two page-level answers."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(WebError)
    async def _error(request: Request, exc: WebError) -> Response:
        return render(
            request,
            "error.html",
            status_code=exc.status,
            title=exc.title
            or {403: "Forbidden", 404: "Not found", 409: "Not allowed now"}.get(exc.status, "Error"),
            message=exc.message,
        )

    _html_when_the_database_is_down(app)
    app.include_router(router)


def _html_when_the_database_is_down(app: FastAPI) -> None:
    """A ``/ui`` page answers a database outage with the HTML error page (503, Retry-After),
    not the API's problem JSON. Wraps the handlers ``install_handlers`` registered for the
    database drivers' errors (and the catch-all): anything else, and every other path, still
    goes to them."""
    from gateway.api.problems import RETRY_AFTER_SECONDS, _database_errors
    from gateway.store.availability import database_unavailable

    def wrap(original: Any) -> Any:
        async def handler(request: Request, exc: Exception) -> Response:
            if request.url.path.startswith("/ui") and database_unavailable(exc):
                return render(
                    request,
                    "error.html",
                    status_code=503,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    title="Database unavailable",
                    message=(
                        "The gateway cannot reach its database right now. Nothing you submitted "
                        f"is lost; reload this page in {RETRY_AFTER_SECONDS} seconds."
                    ),
                )
            answer: Response = await original(request, exc)
            return answer

        return handler

    for family in (*_database_errors(), Exception):
        original = app.exception_handlers.get(family)
        if original is not None:
            app.exception_handlers[family] = wrap(original)
