"""The published JSON Schema must match the model it is generated from."""

import json

from gateway.schema_files import invoice_schema, published, render


def test_published_invoice_schema_matches_the_model():
    path = published()["invoice/invoice.schema.json"]
    assert path.exists(), "run `gateway schema` to generate schemas/invoice/invoice.schema.json"
    assert path.read_text(encoding="utf-8") == render(invoice_schema()), (
        "schemas/invoice/invoice.schema.json is out of date: run `gateway schema` and commit it"
    )


def test_schema_names_business_terms_and_refuses_unknown_fields():
    schema = json.loads(published()["invoice/invoice.schema.json"].read_text(encoding="utf-8"))
    assert schema["$schema"].endswith("2020-12/schema")
    props = schema["properties"]
    assert "BT-1 " in props["number"]["description"]
    assert schema["additionalProperties"] is False
    line = schema["$defs"]["InvoiceLine"]
    assert "BT-131" in line["properties"]["net_amount"]["description"]
    assert set(schema["required"]) >= {
        "number",
        "issue_date",
        "type_code",
        "currency_code",
        "seller",
        "buyer",
        "lines",
    }
