"""RecipientIn: per-channel-type settings and secrets, checked before anything is stored."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.recipients import EmailChannel, RecipientIn, RecipientPatch
from tests.gateway.store.data import recipient_data


def _with_channel(channel: dict[str, Any]) -> dict[str, Any]:
    return recipient_data(channels=[channel])


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        RecipientIn.model_validate(data)
    return str(info.value)


def test_valid_recipient_parses_with_defaults() -> None:
    recipient = RecipientIn.model_validate(recipient_data())
    sftp = recipient.channels[1]
    assert sftp.type == "sftp"
    assert sftp.settings.port == 22
    assert recipient.formats[1].profile is None
    cii = RecipientIn.model_validate(recipient_data(formats=[{"kind": "facturx"}]))
    assert cii.formats[0].profile == "en16931"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["formats"].append({"kind": "docx"}), "kind"),
        (lambda d: d["formats"].__setitem__(0, {"kind": "ubl", "profile": "basic"}), "unknown ubl profile"),
        (lambda d: d["formats"].__setitem__(0, {"kind": "pdf", "profile": "x"}), "has no profiles"),
        (lambda d: d["formats"].append({"kind": "ubl"}), "listed twice"),
        (lambda d: d["buyer"].pop("name"), "buyer.name"),
        (lambda d: d["channels"].append(copy.deepcopy(d["channels"][0])), "unique"),
        (lambda d: d["channels"][0].update(name="bad name"), "channel name"),
        (lambda d: d["channels"][0]["settings"].update(path="relative/out"), "absolute"),
        (lambda d: d["channels"][0].update(secrets={"password": "x"}), "folder channel takes no secret"),
        (lambda d: d["channels"][1]["settings"].pop("host_key"), "host_key"),
        (lambda d: d["channels"][1]["settings"].update(host_key="yes"), "known_hosts"),
        (lambda d: d["channels"][1]["settings"].update(hostkey="x"), "hostkey"),
        (lambda d: d["channels"][1]["settings"].update(remote_path="/in/{number}"), "{number}"),
        (lambda d: d["channels"][1]["settings"].update(remote_path="/in/../{filename}"), ".."),
        (lambda d: d["channels"][1]["settings"].update(port=70000), "port"),
        (lambda d: d["channels"][1]["settings"].update(host="bad host!"), "host name"),
        (lambda d: d["channels"][1].update(secrets={}), "'password' or a 'private_key'"),
        (lambda d: d["channels"][1].update(secrets={"token": "x"}), "takes no secret token"),
        (lambda d: d["channels"][1].update(secrets={"password": "p", "passphrase": "x"}), "passphrase"),
        (lambda d: d["channels"][2]["settings"].update(url="http://ariba.example.com/"), "https"),
        (lambda d: d["channels"][2]["settings"].update(deployment_mode="staging"), "deployment_mode"),
        (lambda d: d["channels"][2]["settings"]["sender"].pop("identity"), "identity"),
    ],
)
def test_bad_recipients_are_refused_naming_the_problem(change, message: str) -> None:
    data = recipient_data()
    change(data)
    assert message in _error(data)


def test_email_channel() -> None:
    channel: dict[str, Any] = {
        "type": "email",
        "name": "ap",
        "settings": {"to": ["ap@acme.example"], "from": "gw@us.example", "smtp_host": "smtp.us.example"},
        "secrets": {"password": "pw"},
    }
    parsed = RecipientIn.model_validate(_with_channel(channel)).channels[0]
    assert isinstance(parsed, EmailChannel)
    assert parsed.settings.starttls is True
    bad = copy.deepcopy(channel)
    bad["settings"]["to"] = ["not-an-address"]
    assert "not an email address" in _error(_with_channel(bad))
    bad = copy.deepcopy(channel)
    bad["settings"]["to"] = []
    assert "to" in _error(_with_channel(bad))


def test_http_channel_urls_and_headers() -> None:
    def channel(url: str, headers: dict[str, str] | None = None, secrets: dict[str, str] | None = None):
        return _with_channel(
            {
                "type": "http",
                "name": "erp",
                "settings": {"url": url, "headers": headers or {}},
                "secrets": secrets or {},
            }
        )

    RecipientIn.model_validate(
        channel("https://erp.example.com/in", {"X-Tenant": "7"}, {"bearer_token": "t"})
    )
    RecipientIn.model_validate(channel("http://127.0.0.1:9000/in"))
    RecipientIn.model_validate(channel("http://localhost/in"))
    assert "https" in _error(channel("http://erp.example.com/in"))
    assert "credentials do not belong" in _error(channel("https://u:p@erp.example.com/in"))
    assert "bearer_token" in _error(channel("https://erp.example.com/", {"Authorization": "Bearer x"}))
    assert "not both" in _error(
        channel("https://erp.example.com/", secrets={"bearer_token": "a", "basic_password": "b"})
    )


def test_patch_is_all_optional_and_strict() -> None:
    assert RecipientPatch.model_validate({}).model_fields_set == set()
    assert RecipientPatch.model_validate({"sign_key": None}).model_fields_set == {"sign_key"}
    with pytest.raises(ValidationError, match="extra"):
        RecipientPatch.model_validate({"nme": "x"})
    with pytest.raises(ValidationError, match="format"):
        RecipientPatch.model_validate({"formats": []})
