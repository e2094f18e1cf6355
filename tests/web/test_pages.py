"""The dashboard's pages (``/ui``) through FastAPI's TestClient, on SQLite and PostgreSQL.

Sign-in and out, the CSRF lock, tenant isolation, the invoice filters, Retry / Cancel moving
a real delivery (the folder connector failing for real), recipients created and edited
through the form with write-only secrets, and hostile invoice text escaped. The application
and its two tenants come from ``tests/gateway/api/conftest.py`` (the same fixtures as the
API's tests). Browser-driven tests live elsewhere (Playwright); these need no browser.
"""

# ruff: noqa: F811 - the fixtures imported from tests/gateway/api/conftest.py are parameters here
from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from connectors.folder import FolderConnector
from gateway.api import auth as api_auth
from gateway.runner import run_due_once
from gateway.store import repository
from gateway.store.models import Delivery, Event, utcnow
from gateway.web import charts, queries
from gateway.web.pages import invoices as invoice_pages
from tests.gateway.api.conftest import (  # noqa: F401 - fixtures, used by name
    Api,
    api,
    api_store_templates,
    box,
    engine,
    folder_recipient,
    invoice_json,
    store,
)

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


# ---------------------------------------------------------------- helpers


def login(client: TestClient, key: str) -> None:
    response = client.post("/ui/login", data={"api_key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui/"


def csrf(client: TestClient, page: str = "/ui/") -> str:
    response = client.get(page)
    assert response.status_code == 200, response.text
    found = CSRF.search(response.text)
    assert found is not None
    assert found.group(1)
    return found.group(1)


def h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found is not None, html[:500]
    return unescape(found.group(1).strip())


def submit(
    api: Api, data: dict[str, Any], recipient: str | None = None, headers: dict[str, str] | None = None
):
    response = api.client.post(
        f"/v1/invoices?recipient={recipient or api.a.recipient}",
        content=json.dumps(data).encode(),
        headers={**(headers or api.a.headers), "content-type": "application/json"},
    )
    assert response.status_code == 202, response.text
    return response.json()


def field_error(html: str, name: str) -> str:
    """The error message shown for form field ``name`` (and that the control points to it)."""
    fid = "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    found = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">(.*?)</p>', html, re.S)
    assert found is not None, f"no error shown for {name}"
    control = re.search(rf'<(?:input|textarea|select|fieldset)[^>]*id="{re.escape(fid)}"[^>]*>', html)
    assert control is not None, f"no control {fid}"
    assert f"{fid}-error" in control.group(0)  # aria-describedby names the message
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


@pytest.fixture
def client(api: Api) -> TestClient:
    """Tenant A's browser: its own cookie jar, signed in."""
    browser = TestClient(api.client.app, raise_server_exceptions=False)
    login(browser, api.a.key)
    return browser


@pytest.fixture
def other(api: Api) -> TestClient:
    """Tenant B's browser, signed in."""
    browser = TestClient(api.client.app, raise_server_exceptions=False)
    login(browser, api.b.key)
    return browser


# ---------------------------------------------------------------- sign-in


def test_pages_need_a_session_and_login_sets_a_strict_cookie(api: Api):
    anonymous = TestClient(api.client.app, raise_server_exceptions=False)
    for path in ("/ui/", "/ui/invoices", "/ui/recipients", "/ui/recipients/new", "/ui/validate", "/ui/nope"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/login?next=")
    deep = anonymous.get("/ui/invoices?status=failed&amount_min=5", follow_redirects=False)
    assert deep.headers["location"] == "/ui/login?next=/ui/invoices%3Fstatus%3Dfailed%26amount_min%3D5"
    # a POST without a session goes to the login page too, never to the form's target
    post = anonymous.post("/ui/deliveries/dlv_x/retry", data={}, follow_redirects=False)
    assert post.status_code == 303
    assert post.headers["location"] == "/ui/login?next=/ui/"
    # a cookie with a wrong key is no session, and a Bearer header is not one either
    anonymous.cookies.set("gw_ui", "gw_" + "A" * 43, path="/ui")
    assert anonymous.get("/ui/", follow_redirects=False).status_code == 303
    anonymous.cookies.clear()
    assert anonymous.get("/ui/", headers=api.a.headers, follow_redirects=False).status_code == 303

    form = anonymous.get("/ui/login?next=/ui/invoices")
    assert form.status_code == 200
    assert '<label for="f-api_key">API key' in form.text
    assert 'name="next" value="/ui/invoices"' in form.text
    assert "<nav" not in form.text  # nothing to navigate before signing in

    empty = anonymous.post("/ui/login", data={"api_key": "  "})
    assert empty.status_code == 422
    assert "Enter the tenant" in field_error(empty.text, "api_key")
    wrong = anonymous.post("/ui/login", data={"api_key": "gw_" + "B" * 43}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "not valid" in field_error(wrong.text, "api_key")
    assert "set-cookie" not in wrong.headers

    foreign = anonymous.post(
        "/ui/login",
        data={"api_key": api.a.key},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers

    ok = anonymous.post(
        "/ui/login", data={"api_key": api.a.key, "next": "/ui/invoices"}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/ui/invoices"
    cookie = ok.headers["set-cookie"]
    assert cookie.startswith(f"gw_ui={api.a.key};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http (TestClient); see the https case below
    for target in ("https://evil.example/ui/", "//evil.example/ui/", "/v1/invoices", "/ui\\..\\x"):
        bounce = anonymous.post(
            "/ui/login", data={"api_key": api.a.key, "next": target}, follow_redirects=False
        )
        assert bounce.headers["location"] == "/ui/", target

    page = anonymous.get("/ui/")
    assert page.status_code == 200
    assert h1(page.text) == "Overview"
    assert '<html lang="en">' in page.text
    assert '<a class="skip-link" href="#main">' in page.text
    assert '<main id="main"' in page.text
    for href in ("/ui/", "/ui/invoices", "/ui/validate", "/ui/recipients"):
        assert f'<a href="{href}"' in page.text
    assert ">Sign out</button>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)  # nothing from elsewhere
    assert "tenant-a" in page.text

    secure = TestClient(api.client.app, base_url="https://testserver", raise_server_exceptions=False)
    assert (
        "Secure"
        in secure.post("/ui/login", data={"api_key": api.a.key}, follow_redirects=False).headers["set-cookie"]
    )


def test_logout_needs_the_token_and_a_revoked_key_ends_the_session(api: Api, client: TestClient):
    refused = client.post("/ui/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert refused.status_code == 403
    assert "Form refused" in refused.text
    assert client.get("/ui/", follow_redirects=False).status_code == 200  # still signed in

    token = csrf(client)
    out = client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"
    assert 'gw_ui=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/ui/", follow_redirects=False).status_code == 303

    login(client, api.a.key)
    with api.store.session() as s:
        [key] = repository.list_api_keys(s, api.a.id)
        repository.revoke_api_key(s, api.a.id, key.id)
    api_auth._cache.clear()  # the 5 s cache of valid keys (gateway/api/auth.py)
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_static_files_are_served_without_a_session_and_nothing_else(api: Api, client: TestClient):
    anonymous = TestClient(api.client.app, raise_server_exceptions=False)
    css = anonymous.get("/ui/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    for bad in ("/ui/static/missing.css", "/ui/static/..%2f__init__.py", "/ui/static/.hidden.css"):
        assert anonymous.get(bad, follow_redirects=False).status_code in (303, 404), bad
        assert client.get(bad).status_code == 404, bad
    unknown = client.get("/ui/no/such/page")
    assert unknown.status_code == 404
    assert h1(unknown.text) == "Page not found"
    assert unknown.headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------- invoices


def test_invoice_filters_paging_and_bad_filters(
    api: Api, client: TestClient, box, monkeypatch: pytest.MonkeyPatch
):
    small = invoice_json("F-SMALL")
    small["issue_date"] = "2026-01-15"
    small["lines"] = small["lines"][:1]  # 4 × 1250.00 + 19 % = 5950.00
    big = invoice_json("F-BIG")
    big["issue_date"] = "2026-03-01"
    with api.store.session() as s:
        from gateway.recipients import RecipientIn

        second = repository.create_recipient(
            s,
            api.a.id,
            RecipientIn.model_validate(folder_recipient(api.outbox / "x", "Second")),
            box,
        ).id
    first = submit(api, small)
    submit(api, big, recipient=second)

    def numbers(query: str) -> list[str]:
        response = client.get("/ui/invoices" + query)
        assert response.status_code == 200, response.text
        assert h1(response.text) == "Invoices"
        return re.findall(r'<a href="/ui/invoices/inv_[0-9a-f]+">([^<]+)</a>', response.text)

    assert numbers("") == ["F-BIG", "F-SMALL"]
    assert numbers(f"?recipient={second}") == ["F-BIG"]
    assert numbers("?issued_from=2026-02-01") == ["F-BIG"]
    assert numbers("?issued_to=2026-01-15") == ["F-SMALL"]
    assert numbers("?amount_max=6000") == ["F-SMALL"]
    assert numbers("?amount_min=5950.00&amount_max=5950") == ["F-SMALL"]
    assert numbers("?amount_min=6000") == ["F-BIG"]
    assert numbers("?status=queued") == ["F-BIG", "F-SMALL"]
    assert numbers("?status=failed") == []
    assert numbers("?cursor=garbage") == ["F-BIG", "F-SMALL"]  # an unknown cursor starts again

    page = client.get("/ui/invoices?status=queued")
    assert '<option value="queued" selected>' in page.text
    assert '<span class="status status-queued">queued</span>' in page.text
    assert "5,950.00 EUR" in page.text

    monkeypatch.setattr(invoice_pages, "PAGE_SIZE", 1)
    one = client.get("/ui/invoices?status=queued")
    assert re.findall(r">(F-[A-Z]+)</a>", one.text) == ["F-BIG"]
    next_link = re.search(r'<a href="([^"]+)" rel="next">', one.text)
    assert next_link is not None
    two = client.get(unescape(next_link.group(1)))
    assert re.findall(r">(F-[A-Z]+)</a>", two.text) == ["F-SMALL"]
    assert 'rel="next"' not in two.text

    bad = client.get(
        "/ui/invoices?status=lost&issued_from=yesterday&amount_min=lots&amount_max=1&recipient=rcp_nope"
    )
    assert bad.status_code == 422
    assert "Choose a status" in field_error(bad.text, "status")
    assert "YYYY-MM-DD" in field_error(bad.text, "issued_from")
    assert "number" in field_error(bad.text, "amount_min")
    assert "Choose a recipient" in field_error(bad.text, "recipient")
    assert 'value="yesterday"' in bad.text  # what was typed stays in the form
    reversed_dates = client.get(
        "/ui/invoices?issued_from=2026-05-01&issued_to=2026-04-01&amount_min=9&amount_max=1"
    )
    assert reversed_dates.status_code == 422
    assert "before the start" in field_error(reversed_dates.text, "issued_to")
    assert "smaller" in field_error(reversed_dates.text, "amount_max")
    assert first["id"] not in bad.text  # no results under a refused filter


def test_invoice_page_documents_timeline_retry_and_cancel(api: Api, client: TestClient, box):
    # the tenant's folder does not exist yet: the folder connector fails the delivery for real
    accepted = submit(api, invoice_json("RT-1"))
    invoice, delivery = accepted["id"], accepted["deliveries"][0]["id"]
    assert set(run_due_once(api.store, {"folder": FolderConnector()}, box).values()) == {"failed"}

    page = client.get(f"/ui/invoices/{invoice}")
    assert page.status_code == 200
    assert h1(page.text) == "Invoice RT-1"
    assert '<span class="status status-failed">failed</span>' in page.text
    assert "does not exist" in page.text  # the reason, in the timeline and as the last error
    assert f'action="/ui/deliveries/{delivery}/retry"' in page.text
    assert '<button type="submit">Retry</button>' in page.text
    assert "Hydraulikpumpe HP-40" in page.text  # business data: the lines
    # every event, with its evidence downloadable
    with api.store.session() as s:
        events = repository.list_events(s, api.a.id, invoice)
    failed_event = next(e for e in events if e.status == "failed")
    assert failed_event.evidence_sha256
    assert f'href="/ui/evidence/{failed_event.evidence_sha256}"' in page.text
    assert page.text.count("<tr>") >= len(events)
    evidence = client.get(f"/ui/evidence/{failed_event.evidence_sha256}")
    assert evidence.status_code == 200
    assert evidence.headers["content-disposition"].startswith("attachment;")
    assert evidence.headers["content-type"] == "application/octet-stream"
    assert json.loads(evidence.content)  # the manifest
    assert client.get("/ui/evidence/" + "0" * 64).status_code == 404
    assert client.get("/ui/evidence/not-a-hash").status_code == 404

    # documents: the same bytes as the API's
    ubl = client.get(f"/ui/invoices/{invoice}/documents/ubl")
    assert ubl.status_code == 200
    assert (
        ubl.content == api.client.get(f"/v1/invoices/{invoice}/documents/ubl", headers=api.a.headers).content
    )
    assert ubl.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/ui/invoices/{invoice}/documents/pdf").status_code == 404  # not rendered for it
    assert client.get(f"/ui/invoices/{invoice}/documents/nonsense").status_code == 404

    # the overview: in "Needs attention", and in the failures by channel and code
    overview = client.get("/ui/")
    assert overview.status_code == 200
    assert f'href="/ui/invoices/{invoice}#delivery-{delivery}"' in overview.text
    assert "folder · " in overview.text
    assert "<svg" in overview.text
    assert "<title" in overview.text
    assert "<table>" in overview.text

    # CSRF: a Retry without the token (or with another) changes nothing
    for token in (None, "", "0" * 64):
        data = {} if token is None else {"csrf_token": token}
        refused = client.post(f"/ui/deliveries/{delivery}/retry", data=data, follow_redirects=False)
        assert refused.status_code == 403
    assert _status(api, delivery) == "failed"

    token = csrf(client, f"/ui/invoices/{invoice}")
    retried = client.post(
        f"/ui/deliveries/{delivery}/retry",
        data={"csrf_token": token, "back": f"/ui/invoices/{invoice}"},
        follow_redirects=False,
    )
    assert retried.status_code == 303
    assert retried.headers["location"] == f"/ui/invoices/{invoice}?notice=retried#delivery-{delivery}"
    assert _status(api, delivery) == "queued"
    shown = client.get(retried.headers["location"])
    assert "queued again" in shown.text
    assert "retried by an operator" in shown.text
    again = client.post(f"/ui/deliveries/{delivery}/retry", data={"csrf_token": token})
    assert again.status_code == 409
    assert "cannot be retried" in again.text

    canceled = client.post(
        f"/ui/deliveries/{delivery}/cancel",
        data={"csrf_token": token, "back": "/ui/"},
        follow_redirects=False,
    )
    assert canceled.status_code == 303
    assert canceled.headers["location"] == "/ui/"
    assert _status(api, delivery) == "canceled"
    assert client.post(f"/ui/deliveries/{delivery}/cancel", data={"csrf_token": token}).status_code == 409
    assert client.post("/ui/deliveries/dlv_nope/cancel", data={"csrf_token": token}).status_code == 404


def _status(api: Api, delivery_id: str) -> str:
    with api.store.session() as s:
        found = repository.get_delivery(s, api.a.id, delivery_id)
        assert found is not None
        return found.status


def test_pdf_is_shown_inline_and_needs_attention_lists_long_retries_and_rejections(
    api: Api, client: TestClient, box
):
    with api.store.session() as s:
        from gateway.recipients import RecipientIn

        data = folder_recipient(api.outbox / "pdf", "With PDF")
        data["formats"] = [{"kind": "pdf"}]
        rid = repository.create_recipient(s, api.a.id, RecipientIn.model_validate(data), box).id
    accepted = submit(api, invoice_json("PDF-1"), recipient=rid)
    invoice, delivery = accepted["id"], accepted["deliveries"][0]["id"]
    page = client.get(f"/ui/invoices/{invoice}")
    assert f'<iframe class="document-view" src="/ui/invoices/{invoice}/documents/pdf?inline=1"' in page.text
    inline = client.get(f"/ui/invoices/{invoice}/documents/pdf?inline=1")
    assert inline.status_code == 200
    assert inline.content.startswith(b"%PDF-")
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    source = client.get(f"/ui/invoices/{invoice}/documents/source?inline=1")  # JSON: never inline
    assert source.headers["content-disposition"].startswith("attachment;")

    # retrying for two hours, and rejected by the buyer: both need someone
    now = utcnow()
    with api.store.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery).values(status="retrying", attempts=3))
        event = repository.append_event(
            s,
            tenant_id=api.a.id,
            invoice_id=invoice,
            delivery_id=delivery,
            axis="transport",
            status="retrying",
            previous="sending",
            source="channel:folder",
            raw_code="EIO",
            reason="disk on fire",
        )
        event.created_at = now - timedelta(hours=2)
    second = submit(api, invoice_json("REJ-1"))
    with api.store.session() as s:
        rejected = second["deliveries"][0]["id"]
        s.execute(update(Delivery).where(Delivery.id == rejected).values(business_status="rejected"))
        repository.append_event(
            s,
            tenant_id=api.a.id,
            invoice_id=second["id"],
            delivery_id=rejected,
            axis="business",
            status="rejected",
            previous=None,
            source="ariba",
            reason="wrong PO number",
        )
    overview = client.get("/ui/").text
    assert "Retrying for over an hour" in overview
    assert "disk on fire" in overview
    assert "Rejected by the buyer" in overview
    assert "wrong PO number" in overview
    assert "folder · EIO" in overview
    with api.store.session() as s:
        found = queries.overview(s, api.a.id, utcnow())
        assert {a.kind for a in found.attention} == {"retrying", "rejected"}
        # an hour is the threshold: a run of failures that began 30 min ago is not listed
        s.execute(
            update(Event).where(Event.delivery_id == delivery).values(created_at=now - timedelta(minutes=30))
        )
        assert {a.kind for a in queries.attention(s, api.a.id, utcnow())} == {"rejected"}
        # (the invoices' summary status was left as it was: only the deliveries were moved here)
        assert found.invoices == {"queued": (2, 2)}
        assert found.deliveries == {"queued": (1, 1), "retrying": (1, 1)}
        assert found.failures == [("folder", "EIO", 1, "disk on fire")]
        assert found.durations == []


# ---------------------------------------------------------------- isolation


def test_another_tenants_ids_are_404_pages(api: Api, client: TestClient, other: TestClient, box):
    accepted = submit(api, invoice_json("A-ONLY"))
    invoice, delivery = accepted["id"], accepted["deliveries"][0]["id"]
    run_due_once(api.store, {"folder": FolderConnector()}, box)
    with api.store.session() as s:
        sha = next(
            e.evidence_sha256 for e in repository.list_events(s, api.a.id, invoice) if e.status == "failed"
        )
    assert client.get(f"/ui/evidence/{sha}").status_code == 200  # A's own: fine

    token = csrf(other)
    for path in (
        f"/ui/invoices/{invoice}",
        f"/ui/invoices/{invoice}/documents/ubl",
        f"/ui/invoices/{invoice}/documents/source",
        f"/ui/evidence/{sha}",
        f"/ui/recipients/{api.a.recipient}",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "A-ONLY" not in response.text
    for move in ("retry", "cancel"):
        assert other.post(f"/ui/deliveries/{delivery}/{move}", data={"csrf_token": token}).status_code == 404
    assert _status(api, delivery) == "failed"
    edit = other.post(
        f"/ui/recipients/{api.a.recipient}",
        data={"csrf_token": token, "name": "mine now", "channels-count": "0"},
    )
    assert edit.status_code == 404
    assert "A-ONLY" not in other.get("/ui/invoices").text
    assert "A-ONLY" not in other.get("/ui/").text
    assert api.a.recipient not in other.get("/ui/recipients").text
    # B cannot filter on A's recipient either
    assert other.get(f"/ui/invoices?recipient={api.a.recipient}").status_code == 422
    # and A's token is not B's
    assert (
        other.post(f"/ui/deliveries/{delivery}/retry", data={"csrf_token": csrf(client)}).status_code == 403
    )


# ---------------------------------------------------------------- recipients


SFTP_SETTINGS = {"host": "sftp.example.com", "username": "acme", "host_key": "SHA256:" + "A" * 43}
SECRET = "correct horse battery staple"


def recipient_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "name": "Hansen SFTP",
        "buyer.name": "Hansen Logistik AG",
        "buyer.vat_identifier": "DE987654321",
        "buyer.address.city": "Hamburg",
        "buyer.address.country_code": "DE",
        "formats-ubl": "1",
        "formats-ubl-profile": "peppol",
        "formats-pdf": "1",
        "channels-count": "2",
        "channels-0-type": "sftp",
        "channels-0-name": "main",
        "channels-0-settings": json.dumps(SFTP_SETTINGS),
        "channels-0-secret-password": SECRET,
        "channels-1-type": "",
        "channels-1-name": "",
        "channels-1-settings": "",
    }
    form.update(changes)
    return form


def test_recipient_create_and_edit_with_write_only_secrets(api: Api, client: TestClient, box):
    new = client.get("/ui/recipients/new")
    assert h1(new.text) == "New recipient"
    token = CSRF.search(new.text).group(1)  # type: ignore[union-attr]
    created = client.post("/ui/recipients/new", data=recipient_form(token), follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    rid = location.split("/")[-1].split("?")[0]
    page = client.get(location)
    assert h1(page.text) == "Recipient Hansen SFTP"
    assert "The recipient was created." in page.text
    assert SECRET not in page.text
    assert "Set. Leave empty to keep it" in page.text
    assert "sftp.example.com" in page.text  # settings are shown, secrets are not
    with api.store.session() as s:
        stored = repository.get_recipient(s, api.a.id, rid)
        assert stored is not None
        assert repository.recipient_secrets(stored, box) == {"main": {"password": SECRET}}
        assert stored.formats == [{"kind": "ubl", "profile": "peppol"}, {"kind": "pdf"}]
        assert stored.buyer["address"] == {"city": "Hamburg", "country_code": "DE"}
    listing = client.get("/ui/recipients")
    assert h1(listing.text) == "Recipients"
    assert f'<a href="/ui/recipients/{rid}">Hansen SFTP</a>' in listing.text

    # edit: rename and change a setting, secret field left empty → the stored password stays
    changed = dict(SFTP_SETTINGS, port=2222)
    edit = recipient_form(
        token,
        name="Hansen renamed",
        **{"channels-0-settings": json.dumps(changed), "channels-0-secret-password": ""},
    )
    saved = client.post(f"/ui/recipients/{rid}", data=edit, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with api.store.session() as s:
        stored = repository.get_recipient(s, api.a.id, rid)
        assert stored is not None
        assert stored.name == "Hansen renamed"
        assert stored.channels[0]["settings"]["port"] == 2222
        assert repository.recipient_secrets(stored, box) == {"main": {"password": SECRET}}
    # a new value replaces it; a second channel can be added in the empty fieldset
    replaced = recipient_form(
        token,
        **{
            "channels-0-secret-password": "new-secret",
            "channels-1-type": "folder",
            "channels-1-name": "copy",
            "channels-1-settings": json.dumps({"path": str(api.outbox / "copy")}),
        },
    )
    assert client.post(f"/ui/recipients/{rid}", data=replaced, follow_redirects=False).status_code == 303
    with api.store.session() as s:
        stored = repository.get_recipient(s, api.a.id, rid)
        assert stored is not None
        assert repository.recipient_secrets(stored, box) == {"main": {"password": "new-secret"}}
        assert [c["name"] for c in stored.channels] == ["main", "copy"]
    # renaming the channel loses its secret: the store's check names the field
    lost = client.post(
        f"/ui/recipients/{rid}",
        data=recipient_form(token, **{"channels-0-name": "other", "channels-0-secret-password": ""}),
    )
    assert lost.status_code == 422
    assert "needs a 'password' or a 'private_key'" in field_error(lost.text, "channels-0-secrets")

    # CSRF is required here too
    assert client.post("/ui/recipients/new", data=recipient_form("")).status_code == 403


def test_recipient_bad_input_is_422_next_to_the_field_without_echoing_secrets(api: Api, client: TestClient):
    token = csrf(client, "/ui/recipients/new")
    bad = recipient_form(
        token,
        name="",
        **{
            "buyer.address.country_code": "ZZ",
            "channels-0-settings": json.dumps({"host": "bad host!", "username": "acme", "host_key": "nope"}),
            "formats-ubl-profile": "nonsense",
        },
    )
    response = client.post("/ui/recipients/new", data=bad)
    assert response.status_code == 422
    assert SECRET not in response.text
    assert "type them once more" in response.text
    assert field_error(response.text, "name")
    assert "ZZ" in field_error(response.text, "buyer.address.country_code")
    settings_error = field_error(response.text, "channels-0-settings")
    assert "host:" in settings_error
    assert "host_key:" in settings_error
    assert "unknown ubl profile" in field_error(response.text, "formats")
    assert 'class="error-summary"' in response.text
    assert 'value="Hansen Logistik AG"' in response.text  # what was typed stays

    not_json = client.post(
        "/ui/recipients/new", data=recipient_form(token, **{"channels-0-settings": "{host:"})
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in field_error(not_json.text, "channels-0-settings")
    wrong_secret = client.post(
        "/ui/recipients/new",
        data=recipient_form(
            token, **{"channels-0-secret-password": "", "channels-0-secret-bearer_token": "x"}
        ),
    )
    assert wrong_secret.status_code == 422
    assert "takes no secret bearer_token" in field_error(wrong_secret.text, "channels-0-secrets")
    no_channel = client.post(
        "/ui/recipients/new",
        data=recipient_form(
            token,
            **{
                "channels-0-type": "",
                "channels-0-name": "",
                "channels-0-settings": "",
                "channels-0-secret-password": "",
            },
        ),
    )
    assert no_channel.status_code == 422
    assert field_error(no_channel.text, "channels")

    assert (
        client.post("/ui/recipients/new", data=recipient_form(token), follow_redirects=False).status_code
        == 303
    )
    taken = client.post("/ui/recipients/new", data=recipient_form(token))
    assert taken.status_code == 422
    assert "already exists" in field_error(taken.text, "name")
    with api.store.session() as s:
        names = [r.name for r in repository.list_recipients(s, api.a.id)]
    assert names.count("Hansen SFTP") == 1


# ---------------------------------------------------------------- escaping


def test_hostile_invoice_and_recipient_text_is_escaped(api: Api, client: TestClient):
    hostile = '<script>alert("x")</script>'
    data = invoice_json('"><img src=x onerror=alert(1)>')
    data["buyer"]["name"] = hostile
    data["lines"][0]["item"]["name"] = hostile
    accepted = submit(api, data)
    token = csrf(client, "/ui/recipients/new")
    made = client.post(
        "/ui/recipients/new",
        data=recipient_form(token, name=hostile, **{"buyer.name": hostile}),
        follow_redirects=False,
    )
    assert made.status_code == 303
    for path in (
        f"/ui/invoices/{accepted['id']}",
        "/ui/invoices",
        "/ui/recipients",
        made.headers["location"],
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;" in page.text, path
    assert h1(client.get(f"/ui/invoices/{accepted['id']}").text) == 'Invoice "><img src=x onerror=alert(1)>'


# ---------------------------------------------------------------- building blocks (no database)


def test_bar_chart_escapes_and_has_a_table_fallback():
    html = str(charts.bar_chart("Fails <b>", [charts.Bar("sftp · <x>", 3), charts.Bar("http · 503", 1)]))
    assert "<b>" not in html
    assert "<x>" not in html
    assert 'role="img"' in html
    assert "<title" in html
    assert "<desc" in html
    assert '<th scope="row">sftp · &lt;x&gt;</th><td class="num">3</td>' in html
    assert html.count('<rect class="bar"') == 2
    empty = str(charts.bar_chart("Nothing", [], empty="No data."))
    assert "No data." in empty
    assert "<svg" not in empty


def test_percentiles_and_histogram():
    assert queries.percentile([], 0.5) is None
    assert queries.percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert queries.percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    now = utcnow()
    view = queries.Overview(now, now, {}, {}, [], [0.5, 5, 30, 120, 1200, 7200, 40000, 100000])
    assert [count for _, count in view.histogram] == [1] * 8
