"""``POST /v1/deliveries/{id}/retry`` and ``/cancel``: an operator's moves on one delivery.

Both are lifecycle moves (``gateway.operations``): 404 for an id this tenant does not own
(another tenant's included), 409 with the reason when the lifecycle forbids the move (a
delivered delivery cannot be canceled, a queued one need not be retried).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from gateway import operations
from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.api.schemas import DeliveryOut, delivery_json
from gateway.lifecycle import InvalidTransition
from gateway.store import repository
from gateway.store.models import Delivery

router = APIRouter(tags=["deliveries"])

Move = Callable[[Session, str, str], Delivery | None]


def _move(svc: Services, tenant_id: str, delivery_id: str, move: Move) -> dict[str, Any]:
    with svc.session() as s:
        try:
            delivery = move(s, tenant_id, delivery_id)
        except InvalidTransition as exc:
            raise ApiProblem(409, str(exc), kind="invalid-transition", title="Not allowed now") from None
        if delivery is None:
            raise ApiProblem(404, f"no delivery {delivery_id!r}")
        return delivery_json(delivery)


@router.get(
    "/deliveries/{delivery_id}",
    summary="One delivery: both status axes, attempts, last error",
    response_model=DeliveryOut,
    responses=problem_responses(401, 404),
)
def get_delivery(delivery_id: str, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]) -> Any:
    with svc.session() as s:
        delivery = repository.get_delivery(s, tenant.id, delivery_id)
        if delivery is None:
            raise ApiProblem(404, f"no delivery {delivery_id!r}")
        return delivery_json(delivery)


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Queue a failed or retrying delivery again, now, with a fresh budget of attempts",
    response_model=DeliveryOut,
    responses=problem_responses(401, 404, 409),
)
def retry_delivery(
    delivery_id: str, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> Any:
    answer = _move(svc, tenant.id, delivery_id, operations.retry_delivery)
    if svc.runner is not None:
        svc.runner.wake()
    return answer


@router.post(
    "/deliveries/{delivery_id}/cancel",
    summary="Cancel a delivery that has not been sent yet (final)",
    response_model=DeliveryOut,
    responses=problem_responses(401, 404, 409),
)
def cancel_delivery(
    delivery_id: str, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> Any:
    return _move(svc, tenant.id, delivery_id, operations.cancel_delivery)
