"""Probes and metrics, outside ``/v1`` and without an API key (orchestrators call them).

``/healthz``: the process answers. ``/readyz``: the database answers a ``SELECT 1``; when
it does not, 503 problem details (a load balancer takes the instance out), never a 500.
``/metrics``: Prometheus text from ``gateway.metrics``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import text

from gateway.api.deps import Services, services
from gateway.api.problems import RETRY_AFTER_SECONDS, ApiProblem, problem_responses

router = APIRouter(tags=["operations"])
log = logging.getLogger("gateway.api")


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _ping(svc: Services) -> None:
    with svc.store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/readyz", summary="Readiness: the database answers", responses=problem_responses(503))
async def readyz(svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    try:
        await run_in_threadpool(_ping, svc)
    except ApiProblem:
        raise
    except Exception as exc:  # any database failure means "not ready", whatever its class
        log.warning("readiness check failed: %s", type(exc).__name__)
        raise ApiProblem(
            503,
            "the database does not answer",
            kind="not-ready",
            title="Not ready",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    return {"status": "ready", "database": "sqlite" if svc.store.is_sqlite else "postgresql"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(svc: Annotated[Services, Depends(services)]) -> Response:
    from gateway import metrics as gateway_metrics

    body, media_type = await run_in_threadpool(gateway_metrics.render)
    return Response(body, media_type=media_type)
