"""``/v1/webhooks``: where the gateway posts status changes (Standard Webhooks, HMAC-SHA256).

The signing secret (``whsec_…``) is in the creation answer and nowhere else, ever: like
Stripe, a lost secret means a new endpoint, not a lookup.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.api.schemas import WebhookCreated, WebhookIn, webhook_json
from gateway.store import repository

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks",
    summary="Register a webhook endpoint; the answer holds its signing secret, once",
    status_code=201,
    response_model=WebhookCreated,
    responses=problem_responses(401, 422),
)
def create_webhook(
    data: WebhookIn, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> JSONResponse:
    from gateway.webhooks import WebhookUrlError, check_url

    try:
        check_url(data.url)
    except WebhookUrlError as exc:
        raise ApiProblem(422, str(exc), problems=[{"location": "body.url", "message": str(exc)}]) from None
    box = svc.box
    with svc.session() as s:
        webhook, secret = repository.create_webhook(s, tenant.id, data.url, box)
        s.flush()
        answer = {**webhook_json(webhook), "secret": secret}
    return JSONResponse(answer, status_code=201, headers={"Location": f"/v1/webhooks/{answer['id']}"})


@router.get(
    "/webhooks",
    summary="The tenant's webhook endpoints (never their secrets)",
    responses=problem_responses(401),
)
def list_webhooks(tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    with svc.session() as s:
        return {"data": [webhook_json(w) for w in repository.list_webhooks(s, tenant.id)]}
