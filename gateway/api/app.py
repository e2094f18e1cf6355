"""The FastAPI application: routers, shared services and their lifetime, error shapes.

``create_app(settings, store=…, box=…)``: tests and ``gateway serve`` inject what they have
built; anything not injected is opened on first use (``deps.Services``), so the validation
endpoints work without a database or a master key. The lifespan starts the validator pool
and, when the settings say so, the in-process delivery runner (the executor on SQLite;
PostgreSQL deployments run ``gateway worker`` instead), and stops both on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from gateway import __version__
from gateway.api.deps import Services
from gateway.api.problems import install_handlers
from gateway.api.routes import validate, verify
from gateway.api.settings import ApiSettings
from gateway.keystore import KeyVault
from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.truststore import load_trust_store
from schemas.pool import ValidatorPool

__all__ = ["create_app"]


def _default_connectors() -> dict[str, Any]:
    from connectors import default_connectors

    return dict(default_connectors())


def _start_runner(svc: Services, connectors: Mapping[str, Any] | None) -> None:
    mode = svc.settings.runner
    if mode == "off" or (mode == "auto" and not svc.store.is_sqlite):
        return
    from gateway.runner import InProcessRunner

    svc.runner = InProcessRunner(
        svc.store, connectors if connectors is not None else _default_connectors(), svc.box
    ).start()
    if svc.store.is_sqlite:
        from gateway.runner import WebhookPump

        svc.webhook_pump = WebhookPump(svc.store, svc.box).start()


def create_app(
    settings: ApiSettings | None = None,
    *,
    store: Store | None = None,
    box: SecretBox | None = None,
    vault: KeyVault | None = None,
    engine: Any = None,
    connectors: Mapping[str, Any] | None = None,
) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    svc = Services(settings, store=store, box=box, vault=vault, engine=engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = ValidatorPool(settings.validate_jobs, timeout=settings.validate_timeout, keep_svrl=True)
        app.state.validator_pool = pool
        svc.validator_pool = pool
        try:
            if settings.runner == "on" or (settings.runner == "auto" and store is not None):
                _start_runner(svc, connectors)
            yield
        finally:
            batch_runner = getattr(app.state, "batch_runner", None)
            if batch_runner is not None:
                batch_runner.stop()
            svc.close()
            pool.close()

    app = FastAPI(
        title="E-invoicing interchange gateway",
        version=__version__,
        lifespan=lifespan,
        description=(
            "Validate, convert, sign, deliver and track EN 16931 e-invoices. Every error is RFC 9457 "
            "`application/problem+json`. Resource routes need `Authorization: Bearer KEY`."
        ),
    )
    app.state.settings = settings
    app.state.services = svc
    # Read once at start-up: a misconfigured trust store stops the server with a clear error
    # instead of answering every verification with "untrusted".
    app.state.trust_store = load_trust_store(settings.trust_store)
    install_handlers(app)

    from gateway.api.routes import batches, deliveries, health, invoices, recipients, status, webhooks

    for module in (validate, verify, invoices, batches, deliveries, recipients, webhooks, status):
        app.include_router(module.router, prefix="/v1")
    app.include_router(health.router)
    from gateway import web

    web.install(app)  # the dashboard (/ui): same store and API keys
    return app
