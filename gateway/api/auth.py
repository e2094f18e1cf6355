"""Bearer API keys: every ``/v1`` resource route knows its tenant, or answers 401.

``Authorization: Bearer KEY``; the key is looked up by its hash (``repository.
tenant_for_api_key``). A missing header, another scheme, an unknown or revoked key all get
the same 401 with ``WWW-Authenticate: Bearer``: the answer never says which keys exist.

A key found valid is remembered for ``KEY_CACHE_SECONDS`` (5 s) by the SHA-256 of the token,
never the token: a busy client does not cost a database round trip per request. So a
revoked key (or a deleted tenant) may still be accepted for up to that long by a server
process that saw it just before; unknown and revoked keys are never cached, so a new key
works at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem

__all__ = ["CurrentTenant", "TenantRef", "current_tenant", "tenant_for_token"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="The tenant's API key (`gateway tenant create NAME` prints the first one).",
)
_MAX_TOKEN = 512
KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_SIZE = 1024


@dataclass(frozen=True)
class TenantRef:
    """The authenticated tenant: plain values, usable outside the session that found it."""

    id: str
    name: str


class _KeyCache:
    """SHA-256 of a valid token → (tenant, until when); bounded, thread-safe."""

    def __init__(self, ttl: float = KEY_CACHE_SECONDS, size: int = _KEY_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[TenantRef, float]] = {}

    def get(self, digest: str) -> TenantRef | None:
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._entries[digest]
                return None
            return found[0]

    def put(self, digest: str, tenant: TenantRef) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
                if len(self._entries) >= self.size:
                    self._entries.clear()
            self._entries[digest] = (tenant, now + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _KeyCache()


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="einvoice-gateway"'})


def current_tenant(
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TenantRef:
    """FastAPI dependency (sync: the lookup runs in the thread pool, off the event loop)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("send the tenant's API key as 'Authorization: Bearer KEY'")
    found = tenant_for_token(svc, credentials.credentials)
    if found is None:
        raise _unauthorized("the API key is not valid")
    return found


def tenant_for_token(svc: Services, token: str) -> TenantRef | None:
    """The tenant of a valid API key, or ``None``: the one key check, shared by the Bearer
    header and the dashboard's session cookie (``gateway.web.auth``)."""
    token = token.strip()
    if not token or len(token) > _MAX_TOKEN:
        return None
    # per store: tests run several applications (databases) in one process
    digest = f"{id(svc.store)}:{hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()}"
    cached = _cache.get(digest)
    if cached is not None:
        return cached
    from gateway.store import repository

    with svc.session() as session:
        tenant = repository.tenant_for_api_key(session, token)
        if tenant is None:
            return None
        found = TenantRef(id=tenant.id, name=tenant.name)
    _cache.put(digest, found)
    return found


CurrentTenant = Annotated[TenantRef, Depends(current_tenant)]
