"""``/ui/``: what happened today and this week, and what needs someone now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from gateway.api.auth import TenantRef
from gateway.api.deps import services
from gateway.store.models import utcnow
from gateway.web import queries
from gateway.web.auth import web_tenant
from gateway.web.charts import Bar, bar_chart
from gateway.web.render import format_duration, render

router = APIRouter()


def _load(request: Request, tenant_id: str) -> queries.Overview:
    with services(request).session() as s:
        return queries.overview(s, tenant_id, utcnow())


@router.get("/")
async def overview(request: Request, tenant: Annotated[TenantRef, Depends(web_tenant)]) -> Response:
    data = await run_in_threadpool(_load, request, tenant.id)
    charts = {
        "invoices": bar_chart(
            "Invoices by status, last 7 days",
            [Bar(status, week) for status, (_, week) in data.invoices.items()],
            label_header="Status",
            value_header="Invoices",
            empty="No invoices in the last 7 days.",
        ),
        "deliveries": bar_chart(
            "Deliveries by status, last 7 days",
            [Bar(status, week) for status, (_, week) in data.deliveries.items()],
            label_header="Status",
            value_header="Deliveries",
            empty="No deliveries in the last 7 days.",
        ),
        "failures": bar_chart(
            "Failed attempts by channel and raw code, last 7 days",
            [Bar(f"{channel} · {code}", count) for channel, code, count, _ in data.failures],
            label_header="Channel · raw code",
            value_header="Failed attempts",
            empty="No failed attempts in the last 7 days.",
        ),
        "latency": bar_chart(
            "Time from accepted to delivered, last 7 days",
            [Bar(label, count) for label, count in data.histogram] if data.durations else [],
            label_header="Time to delivered",
            value_header="Deliveries",
            empty="Nothing was delivered in the last 7 days.",
        ),
    }
    return render(
        request,
        "overview.html",
        data=data,
        charts=charts,
        p50=format_duration(data.p50),
        p90=format_duration(data.p90),
        capped=len(data.durations) >= queries.MAX_DURATIONS,
    )
