"""Machine outputs of validation reports: JSON and SVRL passthrough.

The HTML report for people is ``render_html``; the CLI's text summary lives in the CLI.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from schemas.report import Report
from schemas.svrl import SVRL


def to_json(reports: list[Report]) -> str:
    data: Any = [r.as_dict() for r in reports]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False) + "\n"


def to_svrl(report: Report) -> str:
    """One SVRL document for a report: the output of each Schematron layer that ran, merged.

    Tools that expect SVRL get the official stylesheets' own output, unchanged, under one
    ``svrl:schematron-output`` root (an SVRL document per layer would not be one file).
    """
    root = etree.Element(f"{{{SVRL}}}schematron-output", nsmap={"svrl": SVRL})
    root.set("title", f"{report.document}: {report.set_title or 'not validated'}")
    for layer in report.layers:
        if not layer.svrl:
            continue
        parsed = etree.fromstring(
            layer.svrl.encode("utf-8"),
            etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True),
        )
        root.append(etree.Comment(f" {layer.name} "))
        for child in parsed:
            root.append(child)
    return etree.tostring(root, encoding="unicode", pretty_print=True)
