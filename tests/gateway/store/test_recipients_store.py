"""Recipients in the store: secrets sealed at rest, never in the public view, kept across PATCH."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import text

from gateway.recipients import RecipientPatch, recipient_public
from gateway.secretbox import SecretBox, SecretBoxError
from gateway.store import Store
from gateway.store import repository as repo
from tests.gateway.store.data import ARIBA_SECRET, SFTP_PASSWORD, recipient_data, recipient_in


def _tenant(store: Store, name: str = "acme") -> str:
    with store.session() as s:
        return repo.create_tenant(s, name)[0].id


def _raw_rows(store: Store) -> str:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM recipients")).all()
    return repr(rows)


def test_create_and_read_back(store: Store, box: SecretBox) -> None:
    tenant = _tenant(store)
    with store.session() as s:
        created = repo.create_recipient(s, tenant, recipient_in(), box)
    with store.session() as s:
        recipient = repo.get_recipient(s, tenant, created.id)
        assert recipient is not None
        assert recipient.formats == [{"kind": "ubl", "profile": "peppol"}, {"kind": "pdf"}]
        assert recipient.buyer["vat_identifier"] == "DE123456789"
        sftp = recipient.channels[1]
        assert sftp["settings"]["port"] == 22
        assert recipient.channels[2]["settings"]["from"]["identity"] == "AN01000000001"
        assert repo.recipient_secrets(recipient, box) == {
            "edi": {"password": SFTP_PASSWORD},
            "ariba": {"shared_secret": ARIBA_SECRET},
        }
        assert [r.id for r in repo.list_recipients(s, tenant)] == [created.id]


def test_secrets_never_in_the_row_nor_the_public_view(store: Store, box: SecretBox) -> None:
    tenant = _tenant(store)
    with store.session() as s:
        recipient = repo.create_recipient(s, tenant, recipient_in(), box)
        public = recipient_public(recipient)
    raw = _raw_rows(store)
    for secret in (SFTP_PASSWORD, ARIBA_SECRET):
        assert secret not in raw
        assert secret.encode().hex() not in raw
        assert secret not in json.dumps(public)
    assert public["channels"][1]["secrets"] == {"password": "set"}
    assert public["channels"][2]["secrets"] == {"shared_secret": "set"}
    assert public["channels"][0]["secrets"] == {}
    assert public["id"] == recipient.id
    assert public["channels"][1]["settings"]["host"] == "sftp.example.com"


def test_sealed_secrets_are_bound_to_tenant_recipient_and_channel(store: Store, box: SecretBox) -> None:
    tenant = _tenant(store)
    with store.session() as s:
        one = repo.create_recipient(s, tenant, recipient_in("one"), box)
        two = repo.create_recipient(s, tenant, recipient_in("two"), box)
        two.secrets = one.secrets  # copied onto another recipient: must not open there
        with pytest.raises(SecretBoxError):
            repo.recipient_secrets(two, box)
        sealed = json.loads(one.secrets or b"")
        sealed["ariba"], sealed["edi"] = sealed["edi"], sealed["ariba"]  # swapped between channels
        one.secrets = json.dumps(sealed).encode()
        with pytest.raises(SecretBoxError):
            repo.recipient_secrets(one, box)
        other_box = SecretBox(base64.b64decode(base64.b64encode(bytes(32))))
        with pytest.raises(SecretBoxError):
            repo.recipient_secrets(two, other_box)
        s.rollback()


def test_patch_keeps_secrets_unless_replaced(store: Store, box: SecretBox) -> None:
    tenant = _tenant(store)
    with store.session() as s:
        created = repo.create_recipient(s, tenant, recipient_in(), box)
    channels = recipient_data()["channels"]
    for channel in channels:
        channel.pop("secrets", None)
    channels[1]["settings"]["port"] = 2222
    channels[2]["secrets"] = {"shared_secret": "rotated"}
    patch = RecipientPatch.model_validate({"name": "Acme AG", "channels": channels, "sign_key": "acme-2025"})
    with store.session() as s:
        updated = repo.update_recipient(s, tenant, created.id, patch, box)
        assert updated is not None
    with store.session() as s:
        recipient = repo.get_recipient(s, tenant, created.id)
        assert recipient is not None
        assert recipient.name == "Acme AG"
        assert recipient.sign_key == "acme-2025"
        assert recipient.channels[1]["settings"]["port"] == 2222
        assert recipient.formats == [{"kind": "ubl", "profile": "peppol"}, {"kind": "pdf"}]  # untouched
        assert repo.recipient_secrets(recipient, box) == {
            "edi": {"password": SFTP_PASSWORD},
            "ariba": {"shared_secret": "rotated"},
        }
    with store.session() as s:
        repo.update_recipient(s, tenant, created.id, RecipientPatch.model_validate({"sign_key": None}), box)
    with store.session() as s:
        recipient = repo.get_recipient(s, tenant, created.id)
        assert recipient is not None
        assert recipient.sign_key is None
        assert recipient.name == "Acme AG"


def test_patch_cannot_leave_a_channel_without_credentials(store: Store, box: SecretBox) -> None:
    tenant = _tenant(store)
    with store.session() as s:
        created = repo.create_recipient(s, tenant, recipient_in(), box)
    channels = recipient_data()["channels"]
    channels[1]["name"] = "renamed"  # a new channel: the old one's password does not follow
    channels[1].pop("secrets")
    patch = RecipientPatch.model_validate({"channels": channels})
    with store.session() as s, pytest.raises(ValueError, match="'renamed' needs a 'password'"):
        repo.update_recipient(s, tenant, created.id, patch, box)


def test_recipient_names_are_unique_per_tenant(store: Store, box: SecretBox) -> None:
    a, b = _tenant(store, "a"), _tenant(store, "b")
    with store.session() as s:
        repo.create_recipient(s, a, recipient_in("Acme"), box)
        repo.create_recipient(s, b, recipient_in("Acme"), box)  # another tenant: fine
        other = repo.create_recipient(s, a, recipient_in("Other"), box)
    with store.session() as s, pytest.raises(repo.Conflict):
        repo.create_recipient(s, a, recipient_in("Acme"), box)
    with store.session() as s, pytest.raises(repo.Conflict):
        repo.update_recipient(s, a, other.id, RecipientPatch(name="Acme"), box)
