"""``/v1/recipients``: the recipient registry (buyer, formats, channels).

Secrets (passwords, private keys, shared secrets, tokens) are write-only: the store seals
them, and every answer shows only *which* are set (``{"password": "set"}``). A PATCH that
keeps a channel's name and type keeps its secrets unless new values are given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from gateway.api.auth import CurrentTenant
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem, problem_responses
from gateway.recipients import RecipientIn, RecipientPatch, recipient_public
from gateway.store import repository

router = APIRouter(tags=["recipients"])


def _taken(name: str | None) -> ApiProblem:
    return ApiProblem(
        409, f"a recipient named {name!r} already exists", kind="name-taken", title="Name taken"
    )


@router.post(
    "/recipients",
    summary="Register a recipient",
    status_code=201,
    responses=problem_responses(401, 409, 422),
)
def create_recipient(
    data: RecipientIn, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> JSONResponse:
    box = svc.box
    try:
        with svc.session() as s:
            recipient = repository.create_recipient(s, tenant.id, data, box)
            answer = recipient_public(recipient)
    except (repository.Conflict, IntegrityError):
        raise _taken(data.name) from None
    return JSONResponse(answer, status_code=201, headers={"Location": f"/v1/recipients/{answer['id']}"})


@router.get("/recipients", summary="The tenant's recipients", responses=problem_responses(401))
def list_recipients(tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    with svc.session() as s:
        return {"data": [recipient_public(r) for r in repository.list_recipients(s, tenant.id)]}


@router.get("/recipients/{recipient_id}", summary="One recipient", responses=problem_responses(401, 404))
def get_recipient(
    recipient_id: str, tenant: CurrentTenant, svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    with svc.session() as s:
        recipient = repository.get_recipient(s, tenant.id, recipient_id)
        if recipient is None:
            raise ApiProblem(404, f"no recipient {recipient_id!r}")
        return recipient_public(recipient)


@router.patch(
    "/recipients/{recipient_id}",
    summary="Change a recipient (fields given replace the stored ones)",
    responses=problem_responses(401, 404, 409, 422),
)
def patch_recipient(
    recipient_id: str,
    patch: RecipientPatch,
    tenant: CurrentTenant,
    svc: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    box = svc.box
    try:
        with svc.session() as s:
            try:
                recipient = repository.update_recipient(s, tenant.id, recipient_id, patch, box)
            except ValueError as exc:  # e.g. a kept channel now missing a secret it needs
                raise ApiProblem(
                    422, str(exc), problems=[{"location": "body.channels", "message": str(exc)}]
                ) from None
            if recipient is None:
                raise ApiProblem(404, f"no recipient {recipient_id!r}")
            answer = recipient_public(recipient)
    except (repository.Conflict, IntegrityError):
        raise _taken(patch.name) from None
    return answer
