"""An application per test on its own database (SQLite, and PostgreSQL when it answers).

The app is built with the store, the secret box and an in-process validation engine
injected, and used without its lifespan (no validator pool process, no delivery runner):
the tests drive deliveries through the store where they need a status to change.
Two tenants, ``a`` and ``b``, each with an API key and a folder recipient.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api import create_app
from gateway.api.settings import ApiSettings
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.testing import MigratedTemplates
from schemas.engine import Engine

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MAX_BODY = 256 * 1024


@pytest.fixture(scope="session")
def api_store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("api-store"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, api_store_templates: MigratedTemplates) -> Iterator[Store]:
    with api_store_templates.store(request.param) as store:
        yield store


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(bytes(range(32)))


@dataclass
class Tenant:
    id: str
    key: str
    recipient: str
    headers: dict[str, str]


@dataclass
class Api:
    client: TestClient
    store: Store
    a: Tenant
    b: Tenant
    outbox: Path


def folder_recipient(path: Path, name: str = "Buyer AG") -> dict[str, Any]:
    return {
        "name": name,
        "buyer": {"name": "Buyer AG"},
        "formats": [{"kind": "ubl", "profile": "en16931"}],
        "channels": [{"type": "folder", "name": "archive", "settings": {"path": str(path)}}],
    }


def example(name: str = "de-domestic-b2b.json") -> bytes:
    return (EXAMPLES / name).read_bytes()


def invoice_json(number: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(example())
    if number is not None:
        data["number"] = number
    return data


@pytest.fixture
def api(store: Store, box: SecretBox, engine: Engine, tmp_path: Path) -> Iterator[Api]:
    app = create_app(
        ApiSettings(max_invoice_bytes=MAX_BODY, max_upload_bytes=MAX_BODY, runner="off"),
        store=store,
        box=box,
        engine=engine,
    )
    client = TestClient(app, raise_server_exceptions=False)
    tenants = []
    for name in ("tenant-a", "tenant-b"):
        with store.session() as s:
            tenant, key = repository.create_tenant(s, name)
            from gateway.recipients import RecipientIn

            recipient = repository.create_recipient(
                s, tenant.id, RecipientIn.model_validate(folder_recipient(tmp_path / name)), box
            )
            tenants.append(Tenant(tenant.id, key, recipient.id, {"Authorization": f"Bearer {key}"}))
    yield Api(client, store, tenants[0], tenants[1], tmp_path)
    client.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
