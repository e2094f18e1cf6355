"""The test helpers themselves: an absent PostgreSQL skips, except under CI where it fails."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from gateway.store import testing

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def test_unreachable_postgres_skips_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(testing.PG_URL_ENV, NOWHERE)
    monkeypatch.delenv("CI", raising=False)
    assert testing.pg_url() is None
    with pytest.raises(pytest.skip.Exception, match=r"PostgreSQL not reachable at .*127\.0\.0\.1:1"):
        testing.require_postgres()


def test_unreachable_postgres_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(testing.PG_URL_ENV, NOWHERE)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        testing.require_postgres()


def test_fresh_database_is_created_and_dropped() -> None:
    admin = testing.require_postgres()
    with testing.fresh_database() as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
        engine.dispose()
        assert name.startswith("gw_")
    engine = create_engine(admin)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
        assert left.scalar_one() == 0
    engine.dispose()
