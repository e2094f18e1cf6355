"""Tenant isolation: tenant B sees nothing of tenant A, by listing or by (guessed) id.

Every answer of the matrix is checked for the status and that it is never a 500; another
tenant's id is a 404, exactly as an id that does not exist, never a 403.
"""

from __future__ import annotations

import json

from tests.gateway.api.conftest import Api, example
from tests.gateway.api.test_invoices import assert_problem, submit


def test_tenant_b_cannot_touch_anything_of_tenant_a(api: Api):
    accepted = submit(api, example()).json()
    invoice, delivery = accepted["id"], accepted["deliveries"][0]["id"]
    hook = api.client.post(
        "/v1/webhooks", json={"url": "https://a.example.com/h"}, headers=api.a.headers
    ).json()
    b = api.b.headers
    guesses = [invoice, invoice.replace("inv_", "inv_0"), "inv_" + "0" * 32, "../" + invoice, "%2e%2e"]
    seen = []

    def check(response, status: int) -> None:
        seen.append(response.status_code)
        assert response.status_code != 500, response.text
        assert_problem(response, status)

    for guess in guesses:
        check(api.client.get(f"/v1/invoices/{guess}", headers=b), 404)
        for kind in ("ubl", "source", "report"):
            check(api.client.get(f"/v1/invoices/{guess}/documents/{kind}", headers=b), 404)
    for guess in (delivery, "dlv_" + "0" * 32):
        check(api.client.get(f"/v1/deliveries/{guess}", headers=b), 404)
        check(api.client.post(f"/v1/deliveries/{guess}/retry", headers=b), 404)
        check(api.client.post(f"/v1/deliveries/{guess}/cancel", headers=b), 404)
    check(api.client.get(f"/v1/recipients/{api.a.recipient}", headers=b), 404)
    check(api.client.patch(f"/v1/recipients/{api.a.recipient}", json={"name": "mine now"}, headers=b), 404)
    # submitting to A's recipient with B's key: unknown recipient
    body = json.dumps({"recipient": api.a.recipient, "invoice": json.loads(example())}).encode()
    check(
        api.client.post("/v1/invoices", content=body, headers={**b, "content-type": "application/json"}), 404
    )

    # lists: B sees only its own
    assert api.client.get("/v1/invoices", headers=b).json()["data"] == []
    assert api.client.get(f"/v1/invoices?recipient={api.a.recipient}", headers=b).json()["data"] == []
    assert [r["id"] for r in api.client.get("/v1/recipients", headers=b).json()["data"]] == [api.b.recipient]
    assert api.client.get("/v1/webhooks", headers=b).json()["data"] == []
    assert hook["id"] not in api.client.get("/v1/webhooks", headers=b).text

    # and A still has everything, untouched
    mine = api.client.get(f"/v1/invoices/{invoice}", headers=api.a.headers).json()
    assert mine["deliveries"][0]["status"] == "queued"
    assert (
        api.client.get(f"/v1/recipients/{api.a.recipient}", headers=api.a.headers).json()["name"]
        == "Buyer AG"
    )
    assert 500 not in seen
    assert len(seen) == 29


def test_a_cursor_does_not_leak_across_tenants(api: Api):
    for n in range(3):
        submit(api, json.dumps({**json.loads(example()), "number": f"C-{n}"}).encode())
    page = api.client.get("/v1/invoices?limit=1", headers=api.a.headers).json()
    cursor = page["next_cursor"]
    assert cursor
    other = api.client.get(f"/v1/invoices?limit=1&cursor={cursor}", headers=api.b.headers)
    assert other.status_code == 200
    assert other.json()["data"] == []
