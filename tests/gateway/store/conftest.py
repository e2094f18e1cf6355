"""The ``store`` fixture: every test here runs on SQLite and on PostgreSQL.

Each test gets its own database, made by the Alembic migrations (copied from a template
migrated once per session). PostgreSQL tests skip when the server is unreachable, and fail
instead when ``CI`` is set (``gateway.store.testing.require_postgres``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store.testing import MigratedTemplates


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("store"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, store_templates: MigratedTemplates) -> Iterator[Store]:
    with store_templates.store(request.param) as store:
        yield store


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(base64.b64decode(base64.b64encode(bytes(range(32)))))
