"""Tenants and API keys: only a hash is stored, wrong and revoked keys find nobody."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select, text

from gateway.store import Store
from gateway.store import repository as repo
from gateway.store.models import ApiKey


def test_create_tenant_returns_a_working_key(store: Store) -> None:
    with store.session() as s:
        tenant, key = repo.create_tenant(s, "acme")
    assert re.fullmatch(r"gw_[A-Za-z0-9_-]{43}", key)
    with store.session() as s:
        found = repo.tenant_for_api_key(s, key)
        assert found is not None
        assert found.id == tenant.id
        assert repo.get_tenant_by_name(s, "acme") is not None
        assert repo.get_tenant_by_name(s, "nobody") is None


def test_only_the_hash_and_prefix_are_stored(store: Store) -> None:
    with store.session() as s:
        _, key = repo.create_tenant(s, "acme")
    with store.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(text("SELECT * FROM api_keys"))]
    assert len(rows) == 1
    flat = " ".join(rows[0])
    assert key not in flat
    assert hashlib.sha256(key.encode()).hexdigest() in rows[0]
    assert key[:12] in rows[0]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # same prefix, wrong secret part
        lambda k: k[:-1],  # truncated
        lambda k: "xx_" + k[3:],  # wrong scheme
        lambda k: "",
        lambda k: k + "é",
    ],
)
def test_wrong_keys_find_nobody(store: Store, mangle) -> None:
    with store.session() as s:
        _, key = repo.create_tenant(s, "acme")
    with store.session() as s:
        assert repo.tenant_for_api_key(s, mangle(key)) is None


def test_revoked_key_fails_other_keys_keep_working(store: Store) -> None:
    with store.session() as s:
        tenant, first = repo.create_tenant(s, "acme")
        second = repo.create_api_key(s, tenant.id, name="ci")
    with store.session() as s:
        key_id = s.scalars(select(ApiKey.id).where(ApiKey.prefix == first[:12])).one()
        assert repo.revoke_api_key(s, tenant.id, key_id) is not None
    with store.session() as s:
        assert repo.tenant_for_api_key(s, first) is None
        found = repo.tenant_for_api_key(s, second)
        assert found is not None
        assert found.id == tenant.id
        assert [k.name for k in repo.list_api_keys(s, tenant.id)] == ["initial", "ci"]


def test_keys_are_scoped_to_their_tenant(store: Store) -> None:
    with store.session() as s:
        a, _ = repo.create_tenant(s, "a")
        b, key_b = repo.create_tenant(s, "b")
        key_id = s.scalars(select(ApiKey.id).where(ApiKey.prefix == key_b[:12])).one()
        assert repo.revoke_api_key(s, a.id, key_id) is None  # A cannot revoke B's key
        assert repo.list_api_keys(s, a.id)[0].tenant_id == a.id
    with store.session() as s:
        found = repo.tenant_for_api_key(s, key_b)
        assert found is not None
        assert found.id == b.id


def test_duplicate_tenant_name_is_a_conflict(store: Store) -> None:
    with store.session() as s:
        repo.create_tenant(s, "acme")
    with store.session() as s, pytest.raises(repo.Conflict, match="acme"):
        repo.create_tenant(s, "acme")
