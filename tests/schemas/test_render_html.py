"""The HTML validation report: structure, grouping by business term, escaping, no scripts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from schemas.render_html import render_html
from schemas.report import ArtefactUse, Item, LayerResult, Level, Report, Validity

HOSTILE = "<script>alert('x')</script>"
HOSTILE_NAME = '"><img src=x onerror=alert(1)>.xml'

OFFICIAL_XSD = ArtefactUse("ubl-xsd", "UBL 2.1 XSD", "2.1", "a" * 64, "official", "bundled")
OFFICIAL_SCH = ArtefactUse(
    "cen-ubl", "CEN EN 16931 UBL Schematron", "1.3.13", "b" * 64, "official", "bundled"
)
UNVERIFIED_SCH = ArtefactUse(
    "cen-ubl", "CEN EN 16931 UBL Schematron", "1.3.13", "c" * 64, "unverified", "/srv/rules/EN16931-UBL.xslt"
)


def _base(name: str, **kw: object) -> Report:
    fields: dict[str, object] = {
        "document": name,
        "sha256": "0123456789abcdef" * 4,
        "size": 12345,
        "syntax": "ubl-invoice",
        "specification_id": "urn:cen.eu:en16931:2017",
        "set_id": "eu.cen.en16931:ubl:1.3.13",
        "set_title": "EN 16931 UBL Invoice",
        "duration_ms": 42.5,
    }
    fields.update(kw)
    return Report(**fields)  # type: ignore[arg-type]


def valid_report() -> Report:
    report = _base("good.xml")
    report.layers = [
        LayerResult("XML well-formedness (hardened)", "xml", Validity.VALID, 1.2),
        LayerResult("UBL 2.1 XSD", "xsd", Validity.VALID, 10.0, artefact=OFFICIAL_XSD),
        LayerResult(
            "EN 16931 Schematron",
            "schematron",
            Validity.VALID,
            30.0,
            artefact=OFFICIAL_SCH,
            items=[Item(Level.INFO, "BR-INFO-1", "Just so you know", terms=["BT-10"])],
        ),
    ]
    return report


def invalid_report() -> Report:
    report = _base("bad.xml", duration_ms=99.0)
    items = [
        # a warning listed first in the input: must be shown after the errors of its group
        Item(
            Level.WARNING,
            "BR-W-112",
            "[BR-W-112] BT-112 looks odd",
            location="/Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
            line=40,
            terms=["BT-112"],
        ),
        Item(
            Level.FATAL,
            "BR-CO-15",
            "[BR-CO-15] Invoice total amount with VAT (BT-112) = BT-109 + BT-110",
            location="/Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
            line=41,
            terms=["BT-112", "BT-109", "BT-110"],
        ),
        Item(
            Level.ERROR,
            "BR-CO-16",
            "[BR-CO-16] Amount due (BT-115) = BT-112 - BT-113 + BT-114",
            location="/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
            line=44,
            terms=["BT-115", "BT-112", "BT-113", "BT-114"],
        ),
        Item(Level.ERROR, "BR-S-08", "VAT breakdown is wrong", terms=["BG-23"]),
        Item(Level.ERROR, "BR-05", "Currency code BT-5 missing", terms=["BT-5"]),
        Item(Level.WARNING, "UBL-CR-001", f"A rule naming no term {HOSTILE}", line=3),
        Item(Level.ERROR, None, "Another rule without term or id", location="/Invoice/cbc:Note[1]"),
    ]
    report.layers = [
        LayerResult("XML well-formedness (hardened)", "xml", Validity.VALID, 1.0),
        LayerResult("UBL 2.1 XSD", "xsd", Validity.VALID, 10.0, artefact=OFFICIAL_XSD),
        LayerResult(
            "EN 16931 Schematron", "schematron", Validity.INVALID, 55.5, items=items, artefact=UNVERIFIED_SCH
        ),
        LayerResult(
            "Peppol BIS Schematron",
            "schematron",
            Validity.SKIPPED,
            message="not run: an earlier layer found errors",
        ),
    ]
    report.notes = [
        "PDF/A-3 checks are structural; this is not a full veraPDF validation.",
        "CEN EN 16931 UBL Schematron: the installed file is not a release the gateway knows",
    ]
    return report


def unreadable_report() -> Report:
    return Report(
        document=HOSTILE_NAME,
        sha256="f" * 64,
        size=10,
        error=f"not well-formed: {HOSTILE} at line 1",
        duration_ms=0.4,
    )


def error_layer_report() -> Report:
    report = _base("no-rules.xml")
    report.layers = [
        LayerResult("XML well-formedness (hardened)", "xml", Validity.VALID, 1.0),
        LayerResult(
            "EN 16931 Schematron",
            "schematron",
            Validity.ERROR,
            message="no artefact installed for this layer; run `gateway rules install`",
        ),
    ]
    return report


def batch() -> list[Report]:
    return [valid_report(), invalid_report(), unreadable_report()]


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def text(el: lxml.html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def position(tree: lxml.html.HtmlElement, el: lxml.html.HtmlElement) -> int:
    return list(tree.iter()).index(el)


# ---------------------------------------------------------------------- page


def test_page_is_self_contained_html5_without_scripts_or_external_resources():
    html = render_html(batch(), generated_at="2024-05-01T10:00:00Z")
    assert html.startswith("<!DOCTYPE html>\n")
    tree = parse(html)
    assert tree.get("lang") == "en"
    assert tree.xpath("//meta[@charset='utf-8']")
    assert tree.xpath("//style")
    assert not tree.xpath("//script | //link | //img | //iframe | //object | //embed")
    assert not tree.xpath("//@src")
    assert all(href.startswith("#") for href in tree.xpath("//@href"))
    assert not any(attr.startswith("on") for el in tree.iter() for attr in el.attrib)
    assert "http://" not in html
    assert "https://" not in html
    assert "@page" in html
    assert "A4" in html
    assert "@import" not in html
    assert "url(" not in html


def test_headings_and_table_headers_are_accessible():
    tree = parse(render_html(batch()))
    assert len(tree.xpath("//h1")) == 1
    h2 = [text(h) for h in tree.xpath("//h2")]
    assert h2[0] == "Summary"
    assert h2[1:] == ["Document 1: good.xml", "Document 2: bad.xml", f"Document 3: {HOSTILE_NAME}"]
    for table in tree.xpath("//table"):
        assert table.xpath(".//th"), "every table has header cells"
    assert all(th.get("scope") in {"col", "row"} for th in tree.xpath("//th"))
    # each document section is labelled by its heading
    for section in tree.xpath("//section[contains(@class, 'document')]"):
        assert tree.get_element_by_id(section.get("aria-labelledby")).tag == "h2"


def test_output_is_deterministic_and_generated_at_is_optional():
    assert render_html(batch()) == render_html(batch())
    without = render_html(batch())
    assert "Generated" not in without
    assert "<time" not in without
    tree = parse(render_html(batch(), generated_at="2024-05-01T10:00:00Z"))
    (time,) = tree.xpath("//header//time")
    assert time.get("datetime") == "2024-05-01T10:00:00Z"
    assert text(time) == "2024-05-01T10:00:00Z"


def test_title_is_escaped_and_used():
    tree = parse(render_html([], title="Report for <ACME & Co>"))
    assert tree.findtext(".//title") == "Report for <ACME & Co>"
    assert text(tree.xpath("//h1")[0]) == "Report for <ACME & Co>"


def test_no_reports_renders_an_empty_summary():
    tree = parse(render_html([]))
    assert tree.get_element_by_id("total-documents").text == "0"
    assert "No documents were validated." in text(tree.get_element_by_id("summary"))
    assert not tree.xpath("//section[contains(@class, 'document')]")


# ---------------------------------------------------------------------- summary


def test_summary_precedes_every_document_section():
    tree = parse(render_html(batch()))
    summary = tree.get_element_by_id("summary")
    docs = [tree.get_element_by_id(f"doc-{i}") for i in (1, 2, 3)]
    assert position(tree, summary) < min(position(tree, d) for d in docs)
    assert [position(tree, d) for d in docs] == sorted(position(tree, d) for d in docs)


def test_summary_rows_give_verdict_set_counts_and_duration():
    tree = parse(render_html(batch()))
    rows = tree.xpath("//table[contains(@class, 'documents')]/tbody/tr")
    assert len(rows) == 3

    def cell(row: lxml.html.HtmlElement, cls: str) -> str:
        return text(row.xpath(f".//*[contains(concat(' ', @class, ' '), ' {cls} ')]")[0])

    good, bad, unreadable = rows
    assert [cell(r, "verdict-tag") for r in rows] == ["VALID", "INVALID", "UNREADABLE"]
    assert [cell(r, "doc-name") for r in rows] == ["good.xml", "bad.xml", HOSTILE_NAME]
    assert cell(good, "set-id") == "eu.cen.en16931:ubl:1.3.13"
    assert cell(good, "set-title") == "EN 16931 UBL Invoice"
    assert (cell(good, "count-fatal"), cell(good, "count-error"), cell(good, "count-warning")) == (
        "0",
        "0",
        "0",
    )
    assert (cell(bad, "count-fatal"), cell(bad, "count-error"), cell(bad, "count-warning")) == (
        "1",
        "4",
        "2",
    )
    assert cell(bad, "duration") == "99.0 ms"
    assert cell(unreadable, "count-error") == "0"
    assert "—" in text(unreadable)  # no validation set
    # each row links to its document's section
    assert [r.xpath(".//a/@href")[0] for r in rows] == ["#doc-1", "#doc-2", "#doc-3"]


def test_overall_counts():
    tree = parse(render_html(batch()))
    expected = {
        "total-documents": "3",
        "total-valid": "1",
        "total-invalid": "1",
        "total-unreadable": "1",
        "total-fatal": "1",
        "total-error": "4",
        "total-warning": "2",
        "total-info": "1",
    }
    assert {k: tree.get_element_by_id(k).text for k in expected} == expected


def test_a_layer_that_could_not_run_makes_the_document_invalid_and_shows_why():
    tree = parse(render_html([error_layer_report()]))
    doc = tree.get_element_by_id("doc-1")
    assert text(doc.xpath(".//div[contains(@class, 'verdict')]/strong")[0]) == "INVALID"
    assert "Not every validation layer ran" in text(doc)
    (row,) = doc.xpath(".//tr[contains(@class, 'layer-error')]")
    assert "no artefact installed for this layer; run `gateway rules install`" in text(row)


# ---------------------------------------------------------------------- documents


def test_valid_document_details():
    tree = parse(render_html([valid_report()]))
    doc = tree.get_element_by_id("doc-1")
    banner = doc.xpath(".//div[contains(@class, 'verdict-valid')]")[0]
    assert text(banner).startswith("VALID")
    facts = dict(
        zip(
            (text(dt) for dt in doc.xpath(".//dl[@class='facts']/dt")),
            (text(dd) for dd in doc.xpath(".//dl[@class='facts']/dd")),
            strict=True,
        )
    )
    assert facts["SHA-256"] == "0123456789abcdef" * 4
    assert facts["Size"] == "12,345 bytes"
    assert facts["Syntax"] == "ubl-invoice"
    assert facts["Specification identifier"] == "urn:cen.eu:en16931:2017"
    assert facts["Validation set"] == "eu.cen.en16931:ubl:1.3.13 — EN 16931 UBL Invoice"
    layers = doc.xpath(".//table[@class='layers']/tbody/tr")
    assert [text(r.xpath("./th")[0]) for r in layers] == [
        "XML well-formedness (hardened)",
        "UBL 2.1 XSD",
        "EN 16931 Schematron",
    ]
    xsd = text(layers[1])
    assert "xsd" in xsd
    assert "valid" in xsd
    assert "10.0 ms" in xsd
    assert "UBL 2.1 XSD 2.1" in xsd
    assert "official" in xsd
    assert "origin: bundled" in xsd
    assert not doc.xpath(".//*[contains(@class, 'unverified')]")
    # the info item is still listed, under its term
    (group,) = doc.xpath(".//section[contains(@class, 'term-group')]")
    assert text(group.xpath(".//h4")[0]) == "BT-10 Buyer reference"


def test_unverified_artefact_is_marked_visibly():
    tree = parse(render_html([invalid_report()]))
    rows = tree.xpath("//table[@class='layers']/tbody/tr")
    marked = [r for r in rows if r.xpath(".//*[contains(@class, 'unverified')]")]
    assert len(marked) == 1
    (row,) = marked
    assert text(row.xpath("./th")[0]) == "EN 16931 Schematron"
    mark = row.xpath(".//*[contains(@class, 'unverified')]")[0]
    assert "unverified" in text(mark)
    assert "/srv/rules/EN16931-UBL.xslt" in text(row)


def test_skipped_layer_shows_its_message():
    tree = parse(render_html([invalid_report()]))
    (row,) = tree.xpath("//tr[contains(@class, 'layer-skipped')]")
    assert "skipped" in text(row)
    assert "not run: an earlier layer found errors" in text(row)


def test_notes_are_listed():
    tree = parse(render_html([invalid_report()]))
    notes = [text(li) for li in tree.xpath("//ul[@class='notes']/li")]
    assert notes[0] == "PDF/A-3 checks are structural; this is not a full veraPDF validation."
    assert len(notes) == 2


def test_unreadable_document_shows_its_error_prominently():
    tree = parse(render_html(batch()))
    doc = tree.get_element_by_id("doc-3")
    (banner,) = doc.xpath(".//div[contains(@class, 'verdict-unreadable')]")
    assert text(banner.xpath("./strong")[0]) == "UNREADABLE"
    (error,) = banner.xpath(".//*[contains(@class, 'unreadable-error')]")
    assert text(error) == f"not well-formed: {HOSTILE} at line 1"
    # the banner comes straight after the heading, before any facts
    heading = doc.xpath("./h2")[0]
    assert heading.getnext() is banner
    assert not doc.xpath(".//section[contains(@class, 'term-group')]")


# ---------------------------------------------------------------------- findings


def test_findings_are_grouped_by_term_in_number_order_other_rules_last():
    tree = parse(render_html([invalid_report()]))
    groups = tree.xpath("//section[contains(@class, 'term-group')]")
    assert [g.get("data-term") for g in groups] == ["BT-5", "BT-112", "BT-115", "BG-23", "other"]
    assert [text(g.xpath("./h4")[0]) for g in groups] == [
        "BT-5 Invoice currency code",
        "BT-112 Invoice total amount with VAT",
        "BT-115 Amount due for payment",
        "BG-23 VAT BREAKDOWN",
        "Other rules",
    ]


def test_an_item_naming_several_terms_is_listed_once_under_its_first():
    tree = parse(render_html([invalid_report()]))
    ids = {
        g.get("data-term"): g.xpath(".//code[@class='rule']/text()")
        for g in tree.xpath("//section[contains(@class, 'term-group')]")
    }
    assert ids["BT-112"] == ["BR-CO-15", "BR-W-112"]
    assert ids["BT-115"] == ["BR-CO-16"]
    everywhere = [rule for rules in ids.values() for rule in rules]
    assert everywhere.count("BR-CO-16") == 1
    co16 = tree.xpath("//li[.//code[@class='rule' and text()='BR-CO-16']]")[0]
    assert "Also concerns: BT-112, BT-113, BT-114" in text(co16)


def test_blocking_findings_come_before_warnings_within_a_group():
    tree = parse(render_html([invalid_report()]))
    bt112 = tree.get_element_by_id("doc-1-BT-112")
    assert [li.get("class") for li in bt112.xpath(".//li")] == ["item item-fatal", "item item-warning"]
    other = tree.get_element_by_id("doc-1-other")
    assert [li.get("class") for li in other.xpath(".//li")] == ["item item-error", "item item-warning"]


def test_each_finding_shows_badge_rule_message_line_and_location():
    tree = parse(render_html([invalid_report()]))
    (item,) = tree.xpath("//li[.//code[@class='rule' and text()='BR-CO-15']]")
    badge = item.xpath(".//span[contains(@class, 'badge')]")[0]
    assert "badge-fatal" in badge.get("class")
    assert text(badge) == "fatal"
    assert text(item.xpath(".//p[@class='message']")[0]).startswith("[BR-CO-15] Invoice total amount")
    assert text(item.xpath(".//*[@class='line']")[0]) == "line 41"
    assert "layer: EN 16931 Schematron" in text(item)
    location = item.xpath(".//code[@class='location']")[0]
    assert text(location) == "/Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"
    # a finding without a rule id says so rather than showing nothing
    (anon,) = tree.xpath("//li[.//p[@class='message' and text()='Another rule without term or id']]")
    assert "(no rule id)" in text(anon)
    warning = tree.xpath("//li[contains(@class, 'item-warning')]//span[contains(@class, 'badge')]")[0]
    assert "badge-warning" in warning.get("class")


def test_level_badge_colours_are_distinct_in_the_stylesheet():
    html = render_html([invalid_report()])
    style = parse(html).findtext(".//style")
    assert ".badge-fatal, .badge-error { background: #a3151f" in style
    assert ".badge-warning { background: #ffc940" in style
    assert ".badge-info { background: #e3e3e3" in style


# ---------------------------------------------------------------------- escaping


def test_hostile_text_is_escaped_everywhere():
    report = invalid_report()
    report.document = HOSTILE_NAME
    report.notes.append(HOSTILE)
    report.layers[2].items[0].location = f"/Invoice/{HOSTILE}"
    report.layers[3].message = HOSTILE
    report.set_title = HOSTILE
    report.specification_id = HOSTILE
    html = render_html([report, unreadable_report()], title=HOSTILE, generated_at=HOSTILE)
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    tree = parse(html)
    assert not tree.xpath("//script | //img")
    assert not any(attr.startswith("on") for el in tree.iter() for attr in el.attrib)
    # the hostile text survives as text, where a reader can see it
    assert HOSTILE in text(tree.get_element_by_id("doc-1-other"))
    assert HOSTILE in [text(li) for li in tree.xpath("//ul[@class='notes']/li")]
    assert text(tree.xpath("//h1")[0]) == HOSTILE


# ---------------------------------------------------------------------- optional: it renders


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_renders_to_png_with_headless_chromium(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(render_html(batch(), generated_at="2024-05-01T10:00:00Z"), encoding="utf-8")
    shot = tmp_path / "report.png"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1024,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
