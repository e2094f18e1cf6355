"""What the routes share: the store, the secret box, the key vault, the validator.

``Services`` is built by ``create_app`` (tests inject a store and a box) and opens what was
not injected on first use, so an application that only validates documents never creates
a database or asks for a master key. A missing master key answers 503 naming the variable
to set, not a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from formats.errors import GatewayError
from gateway.api.problems import ApiProblem
from gateway.api.settings import ApiSettings
from gateway.keystore import KeyVault
from gateway.secretbox import SecretBox
from gateway.store import Store

__all__ = ["Services", "services"]


class Services:
    def __init__(
        self,
        settings: ApiSettings,
        *,
        store: Store | None = None,
        box: SecretBox | None = None,
        vault: KeyVault | None = None,
        engine: Any = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._box = box
        self._vault = vault
        self._engine = engine
        self._lock = threading.Lock()
        self.runner: Any = None
        self.webhook_pump: Any = None
        self.validator_pool: Any = None  # set by the lifespan
        self._context: Any = None

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = Store.open(self.settings.database_url)
        return self._store

    @property
    def store_opened(self) -> bool:
        return self._store is not None

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            with self._lock:
                if self._box is None:
                    try:
                        self._box = SecretBox.from_env()
                    except GatewayError as exc:
                        raise ApiProblem(
                            503, str(exc), kind="not-configured", title="Not configured"
                        ) from None
        return self._box

    @property
    def vault(self) -> KeyVault:
        if self._vault is None:
            box = self.box
            with self._lock:
                if self._vault is None:
                    self._vault = KeyVault(box=box)
        return self._vault

    @property
    def engine(self) -> Any:
        """What validates submissions: an injected engine, else the validator pool (worker
        processes: validation runs in parallel and a crash or a hang cannot take the API down)."""
        if self._engine is not None:
            return self._engine
        if self.validator_pool is None:
            raise ApiProblem(503, "the validator is not running (the application has not started)")
        return self.validator_pool

    @property
    def pipeline_context(self) -> Any:
        if self._context is None:
            from gateway.pipeline import PipelineContext

            engine, box, vault = self.engine, self.box, self.vault
            with self._lock:
                if self._context is None:
                    self._context = PipelineContext(engine=engine, box=box, vault=vault)
        return self._context

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.store.session() as session:
            yield session

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.webhook_pump is not None:
            self.webhook_pump.stop()
            self.webhook_pump = None


def services(request: Request) -> Services:
    """FastAPI dependency: the application's services."""
    found: Services = request.app.state.services
    return found
