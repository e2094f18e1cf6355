"""The database unreachable: 503 problem details with ``Retry-After``, never a 500; a bug stays a 500.

The outage here is a PostgreSQL URL on a loopback port nothing listens on (connection
refused), so these run everywhere; the real restart under load is in
``tests/chaos/test_outages.py``. The clients raise server exceptions: an answer that only
came from Starlette's last-resort handler (which re-raises, and logs a traceback per
request) would fail the test.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from procrastinate.exceptions import ConnectorException
from sqlalchemy import exc as sa_exc

from gateway.api import create_app
from gateway.api.problems import RETRY_AFTER_SECONDS
from gateway.api.settings import ApiSettings
from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store.availability import database_unavailable
from tests.gateway.api.conftest import example
from tests.gateway.api.test_invoices import assert_problem
from tests.pgserver import free_port

KEY = "gw_" + "A" * 43  # well-formed (the lookup runs), unknown


def _wrapped(cause: BaseException) -> ConnectorException:
    try:
        raise ConnectorException from cause
    except ConnectorException as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (psycopg.OperationalError("connection failed: Connection refused"), True),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
        (psycopg.errors.TooManyConnections("too many clients"), True),
        (
            sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection")),
            True,
        ),
        (sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"), True),
        (_wrapped(psycopg.OperationalError("connection failed")), True),  # the job queue's wrapper
        (sa_exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), True),
        # bugs and bad data, even when they come from the driver
        (sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: invoices")), False),
        (
            sa_exc.ProgrammingError("SELECT", {}, psycopg.errors.UndefinedTable("relation does not exist")),
            False,
        ),
        (psycopg.errors.SerializationFailure("could not serialize access"), False),
        (_wrapped(psycopg.errors.UndefinedFunction("no such function")), False),
        (ValueError("not a database error"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_which_errors_are_an_outage(error: BaseException, outage: bool) -> None:
    assert database_unavailable(error) is outage


@pytest.fixture
def down_client(engine) -> Iterator[TestClient]:
    # connect_timeout bounds the wait should the port ever be filtered rather than closed
    store = Store(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gateway?connect_timeout=3")
    app = create_app(ApiSettings(runner="off"), store=store, box=SecretBox(bytes(range(32))), engine=engine)
    client = TestClient(app)  # raise_server_exceptions: nothing may reach the last resort
    yield client
    client.close()
    store.dispose()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/invoices"),
        ("POST", "/v1/invoices?recipient=rcp_x"),
        ("GET", "/v1/invoices/inv_x"),
        ("GET", "/v1/recipients"),
        ("GET", "/v1/deliveries/dlv_x"),
    ],
)
def test_routes_needing_the_database_answer_503_with_retry_after(
    down_client: TestClient, method: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}
    with caplog.at_level(logging.WARNING, logger="gateway.api"):
        response = down_client.request(
            method, path, headers=headers, content=example() if method == "POST" else None
        )
    body = assert_problem(response, 503)
    assert body["type"].endswith(":database-unavailable")
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "Idempotency-Key" in body["detail"]
    assert "psycopg" not in response.text  # nothing of the server
    assert "127.0.0.1" not in response.text
    records = [r for r in caplog.records if r.name == "gateway.api"]
    assert [r.levelname for r in records] == ["WARNING"]  # one line, no traceback
    assert records[0].exc_info is None


def test_probes_during_an_outage(down_client: TestClient) -> None:
    assert down_client.get("/healthz").status_code == 200  # the process answers
    ready = down_client.get("/readyz")
    assert assert_problem(ready, 503)["type"].endswith(":not-ready")
    assert ready.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


def test_a_database_bug_is_still_a_logged_500(
    engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database without the gateway's tables: SQLite says ``no such table`` with an
    OperationalError, which must not pass for an outage."""
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    app = create_app(ApiSettings(runner="off"), store=store, box=SecretBox(bytes(range(32))), engine=engine)
    client = TestClient(app)
    try:
        with caplog.at_level(logging.ERROR, logger="gateway.api"):
            response = client.get("/v1/invoices", headers={"Authorization": f"Bearer {KEY}"})
    finally:
        client.close()
        store.dispose()
    body = assert_problem(response, 500)
    assert "retry-after" not in response.headers
    assert "no such table" not in response.text
    (record,) = [r for r in caplog.records if r.name == "gateway.api"]
    assert body["incident"] in record.getMessage()
    assert record.exc_info is not None  # the traceback is in the log, for the operator


def test_a_dashboard_page_answers_an_html_503(down_client: TestClient) -> None:
    """Signed in (the cookie), the page's key lookup needs the database: the dashboard's own
    error page, 503 with Retry-After, not the API's problem JSON; the API keeps its JSON."""
    down_client.cookies.set("gw_ui", KEY)
    page = down_client.get("/ui/invoices")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "cannot reach its database" in page.text
    assert "psycopg" not in page.text
    api = down_client.get("/v1/invoices", headers={"Authorization": f"Bearer {KEY}"})
    assert_problem(api, 503)
