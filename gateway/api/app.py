"""The FastAPI application: routers, the validator pool's lifetime, error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway import __version__
from gateway.api.routes import validate, verify
from gateway.api.settings import ApiSettings
from gateway.truststore import load_trust_store
from schemas.pool import ValidatorPool


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = ValidatorPool(settings.validate_jobs, timeout=settings.validate_timeout, keep_svrl=True)
        app.state.validator_pool = pool
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="E-invoicing interchange gateway",
        version=__version__,
        lifespan=lifespan,
        description="Validate, convert, sign, deliver and track EN 16931 e-invoices.",
    )
    app.state.settings = settings
    # Read once at start-up: a misconfigured trust store stops the server with a clear error
    # instead of answering every verification with "untrusted".
    app.state.trust_store = load_trust_store(settings.trust_store)
    app.include_router(validate.router, prefix="/v1")
    app.include_router(verify.router, prefix="/v1")

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    return app
