"""The published JSON Schemas under ``schemas/``, generated from the models.

``gateway schema`` rewrites them; ``gateway schema --check`` and the test suite fail when
a model changed and the published schema did not follow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemas
from formats.invoice import Invoice

SCHEMA_ID = "https://einvoice-gateway.dev/schemas/invoice/v1/invoice.schema.json"


def invoice_schema() -> dict[str, Any]:
    schema = Invoice.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def published() -> dict[str, Path]:
    base = Path(schemas.__file__).parent
    return {"invoice/invoice.schema.json": base / "invoice" / "invoice.schema.json"}


def write_or_check_schemas(*, check_only: bool) -> list[str]:
    """Names of the schema files that differ (written unless ``check_only``)."""
    wanted = {"invoice/invoice.schema.json": render(invoice_schema())}
    drifted = []
    for name, path in published().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != wanted[name]:
            drifted.append(name)
            if not check_only:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted[name], encoding="utf-8")
    return drifted
