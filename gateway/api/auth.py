"""Bearer API keys: every ``/v1`` resource route knows its tenant, or answers 401.

``Authorization: Bearer KEY``; the key is looked up by its hash (``repository.
tenant_for_api_key``). A missing header, another scheme, an unknown or revoked key all get
the same 401 with ``WWW-Authenticate: Bearer``: the answer never says which keys exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem

__all__ = ["CurrentTenant", "TenantRef", "current_tenant"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="The tenant's API key (`gateway tenant create NAME` prints the first one).",
)
_MAX_TOKEN = 512


@dataclass(frozen=True)
class TenantRef:
    """The authenticated tenant: plain values, usable outside the session that found it."""

    id: str
    name: str


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="einvoice-gateway"'})


def current_tenant(
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TenantRef:
    """FastAPI dependency (sync: the lookup runs in the thread pool, off the event loop)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("send the tenant's API key as 'Authorization: Bearer KEY'")
    token = credentials.credentials.strip()
    if len(token) > _MAX_TOKEN:
        raise _unauthorized("the API key is not valid")
    from gateway.store import repository

    with svc.session() as session:
        tenant = repository.tenant_for_api_key(session, token)
        if tenant is None:
            raise _unauthorized("the API key is not valid")
        return TenantRef(id=tenant.id, name=tenant.name)


CurrentTenant = Annotated[TenantRef, Depends(current_tenant)]
