"""A validation report as one self-contained HTML page, fit to forward to a supplier.

The page has inline CSS only: no JavaScript, no fonts, images or style sheets from
elsewhere, so it opens offline and in mail clients and prints on A4. It reads:

1. a summary: one row per document (verdict, validation set, counts, duration) and the
   totals over the batch;
2. one section per document: a verdict banner (or, for a document that could not be read,
   the reason), its SHA-256 and size, the detected syntax and specification identifier,
   the validation set, a table of the layers run with the artefact each used, and notes;
3. within that section, the findings grouped by the business term they name: BTs in
   number order, then BGs, then "Other rules" for findings naming no term. A finding
   naming several terms is listed once, under its first. Fatal and error findings come
   before warnings, and warnings before information, within each group.

Every value taken from a report (file names, rule messages, XPaths, artefact titles) is
escaped: a document may carry hostile text. The output depends only on the reports and
the arguments, so the same input always gives the same page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from formats.invoice.terms import TERMS
from schemas.report import BLOCKING, Item, LayerResult, Level, Report, Validity

__all__ = ["OTHER", "group_by_term", "render_html", "term_heading"]

OTHER = "Other rules"
_LEVEL_RANK = {Level.FATAL: 0, Level.ERROR: 1, Level.WARNING: 2, Level.INFO: 3}
_TERM_ID = re.compile(r"^(BT|BG)-(\d+)(?:-(\d+))?$")
_NOT_ID = re.compile(r"[^A-Za-z0-9-]")

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0 auto; padding: 1.5rem; max-width: 60rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 11pt; line-height: 1.45; color: #1a1a1a; background: #fff;
}
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; border-bottom: 2px solid #333; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; padding: .2rem .4rem; background: #eef1f5;
     border-left: 4px solid #44546a; }
p.generated { margin: 0 0 1rem; color: #444; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
              font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .92em; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid #8a8a8a; padding: .3rem .4rem; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
thead th { background: #e4e7ec; }
tbody th { font-weight: 600; background: #f6f7f9; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.verdict { padding: .6rem .8rem; margin: .5rem 0 1rem; border: 2px solid; border-radius: 4px;
           font-size: 1.1rem; }
.verdict strong { font-size: 1.25rem; letter-spacing: .05em; margin-right: .6rem; }
.verdict-valid { background: #e6f4ea; border-color: #1e7b34; color: #0b4a1d; }
.verdict-invalid { background: #fdecea; border-color: #a3151f; color: #7a0c14; }
.verdict-unreadable { background: #f3e8f7; border-color: #5b1a73; color: #3e0f50; }
.unreadable-error { margin: .5rem 0 0; padding: .5rem; background: #fff; border: 1px solid #5b1a73;
                    color: #1a1a1a; font-size: 1rem; overflow-wrap: anywhere; white-space: pre-wrap; }
.tag { display: inline-block; padding: 0 .35rem; border-radius: 3px; font-size: .82em; font-weight: 700;
       text-transform: uppercase; letter-spacing: .03em; border: 1px solid transparent; white-space: nowrap; }
.tag-valid { background: #1e7b34; color: #fff; }
.tag-invalid { background: #a3151f; color: #fff; }
.tag-unreadable { background: #5b1a73; color: #fff; }
.tag-error { background: #a3151f; color: #fff; }
.tag-skipped { background: #e0e0e0; color: #333; border-color: #888; }
.badge-fatal, .badge-error { background: #a3151f; color: #fff; }
.badge-warning { background: #ffc940; color: #3b2a00; border-color: #a36b00; }
.badge-info { background: #e3e3e3; color: #333; border-color: #888; }
.unverified { background: #ffc940; color: #3b2a00; border-color: #a36b00; }
.official { background: #e6f4ea; color: #0b4a1d; border-color: #1e7b34; }
.status-other { background: #e3e3e3; color: #333; border-color: #888; }
.layer-message { display: block; margin-top: .2rem; }
tr.layer-error td, tr.layer-invalid td { background: #fff6f6; }
.sha { font-size: .8em; color: #444; word-break: break-all; }
ul.notes li { margin-bottom: .3rem; }
ol.items { list-style: none; margin: 0 0 .5rem; padding: 0; }
ol.items li.item { padding: .4rem .5rem; border-bottom: 1px solid #ccc; break-inside: avoid; }
.item-head { display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
.rule { font-weight: 700; }
.meta { color: #444; font-size: .88em; }
.message { margin: .2rem 0; overflow-wrap: anywhere; white-space: pre-wrap; }
code.location { display: block; font-size: .78em; color: #333; background: #f4f4f4; padding: .15rem .3rem;
                overflow-wrap: anywhere; word-break: break-all; white-space: pre-wrap; }
.also { font-size: .88em; color: #444; }
.none { color: #1e5b2e; font-style: italic; }
a { color: #0b4f9c; }
@page { size: A4; margin: 15mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.document { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  tr, .verdict { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(value: object) -> str:
    """Escape anything for text or a quoted attribute."""
    return escape(str(value), quote=True)


def _verdict(report: Report) -> str:
    if report.unreadable:
        return "UNREADABLE"
    return "VALID" if report.valid else "INVALID"


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _size(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,} bytes"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _counts(report: Report) -> tuple[int, int, int, int]:
    return (
        report.count(Level.FATAL),
        report.count(Level.ERROR),
        report.count(Level.WARNING),
        report.count(Level.INFO),
    )


def _term_key(term: str) -> tuple[int, int, int, str]:
    """BTs by number (BT-18 before BT-18-1 before BT-19), then BGs, then anything odd."""
    match = _TERM_ID.match(term)
    if match is None:
        return (2, 0, 0, term)
    kind, number, sub = match.groups()
    return (0 if kind == "BT" else 1, int(number), int(sub or 0), term)


def _term_heading(term: str) -> str:
    known = TERMS.get(term)
    return f"{term} {known.name}" if known else term


def _group(report: Report) -> list[tuple[str | None, list[tuple[Item, LayerResult]]]]:
    """Findings by their first term, in term order, ``None`` (other rules) last."""
    groups: dict[str | None, list[tuple[Item, LayerResult]]] = {}
    for layer in report.layers:
        for item in layer.items:
            groups.setdefault(item.terms[0] if item.terms else None, []).append((item, layer))
    ordered = sorted((t for t in groups if t is not None), key=_term_key)
    keys: list[str | None] = [*ordered, *([None] if None in groups else [])]
    return [(key, sorted(groups[key], key=lambda pair: _LEVEL_RANK[pair[0].level])) for key in keys]


# The same grouping for other views of a report (the dashboard's Validate page).
group_by_term = _group
term_heading = _term_heading


# ---------------------------------------------------------------------- summary


def _summary(reports: list[Report]) -> Iterable[str]:
    yield '<section id="summary" aria-labelledby="summary-heading">'
    yield '<h2 id="summary-heading">Summary</h2>'
    verdicts = [_verdict(r) for r in reports]
    totals = [sum(c[i] for c in map(_counts, reports)) for i in range(4)]
    yield '<table class="overall">'
    yield "<caption>Overall</caption>"
    yield "<tbody>"
    rows = [
        ("Documents", "total-documents", len(reports)),
        ("Valid", "total-valid", verdicts.count("VALID")),
        ("Invalid", "total-invalid", verdicts.count("INVALID")),
        ("Unreadable", "total-unreadable", verdicts.count("UNREADABLE")),
        ("Fatal findings", "total-fatal", totals[0]),
        ("Errors", "total-error", totals[1]),
        ("Warnings", "total-warning", totals[2]),
        ("Information", "total-info", totals[3]),
    ]
    for label, ident, value in rows:
        yield f'<tr><th scope="row">{label}</th><td class="num" id="{ident}">{value}</td></tr>'
    yield "</tbody></table>"
    if not reports:
        yield "<p>No documents were validated.</p>"
        yield "</section>"
        return
    yield '<table class="documents">'
    yield "<caption>Documents</caption>"
    yield (
        '<thead><tr><th scope="col">#</th><th scope="col">Document</th><th scope="col">Verdict</th>'
        '<th scope="col">Validation set</th><th scope="col" class="num">Fatal</th>'
        '<th scope="col" class="num">Errors</th><th scope="col" class="num">Warnings</th>'
        '<th scope="col" class="num">Duration</th></tr></thead>'
    )
    yield "<tbody>"
    for index, (report, verdict) in enumerate(zip(reports, verdicts, strict=True), start=1):
        fatal, error, warning, _info = _counts(report)
        if report.set_id:
            vset = f'<code class="set-id">{_e(report.set_id)}</code>'
            if report.set_title:
                vset += f'<br><span class="set-title">{_e(report.set_title)}</span>'
        else:
            vset = "—"
        yield (
            f'<tr class="summary-row" id="summary-doc-{index}">'
            f'<td class="num">{index}</td>'
            f'<th scope="row" class="doc-name"><a href="#doc-{index}">{_e(report.document)}</a></th>'
            f'<td><span class="tag tag-{verdict.lower()} verdict-tag">{verdict}</span></td>'
            f"<td>{vset}</td>"
            f'<td class="num count-fatal">{fatal}</td>'
            f'<td class="num count-error">{error}</td>'
            f'<td class="num count-warning">{warning}</td>'
            f'<td class="num duration">{_ms(report.duration_ms)}</td>'
            "</tr>"
        )
    yield "</tbody></table>"
    yield "</section>"


# ---------------------------------------------------------------------- one document


def _banner(report: Report) -> Iterable[str]:
    verdict = _verdict(report)
    fatal, error, warning, info = _counts(report)
    yield f'<div class="verdict verdict-{verdict.lower()}">'
    yield f"<strong>{verdict}</strong>"
    if report.unreadable:
        yield "<span>The document could not be read or validated.</span>"
        yield f'<p class="unreadable-error">{_e(report.error)}</p>'
    else:
        parts = [
            _plural(fatal, "fatal finding"),
            _plural(error, "error"),
            _plural(warning, "warning"),
            _plural(info, "information message"),
        ]
        yield f'<span class="verdict-counts">{", ".join(parts)}</span>'
        if not report.valid and not (fatal or error):
            yield (
                '<p class="verdict-reason">Not every validation layer ran to completion; '
                "see the layer table.</p>"
            )
    yield "</div>"


def _facts(report: Report) -> Iterable[str]:
    facts: list[tuple[str, str]] = [
        ("File", _e(report.document)),
        ("SHA-256", f'<code class="sha">{_e(report.sha256)}</code>' if report.sha256 else "unknown"),
        ("Size", _size(report.size)),
    ]
    if report.embedded:
        facts.append(("Embedded XML", _e(report.embedded)))
    facts += [
        ("Syntax", _e(report.syntax) if report.syntax else "not detected"),
        (
            "Specification identifier",
            f"<code>{_e(report.specification_id)}</code>" if report.specification_id else "none",
        ),
        (
            "Validation set",
            (
                f"<code>{_e(report.set_id)}</code>"
                + (f" — {_e(report.set_title)}" if report.set_title else "")
                if report.set_id
                else "none"
            ),
        ),
        ("Duration", _ms(report.duration_ms)),
    ]
    yield '<dl class="facts">'
    for label, value in facts:
        yield f"<dt>{label}</dt><dd>{value}</dd>"
    yield "</dl>"


def _artefact_cell(layer: LayerResult) -> str:
    art = layer.artefact
    if art is None:
        return "—"
    status = art.status.lower()
    if status == "unverified":
        mark = (
            '<span class="tag unverified" title="The installed file is not a release the gateway knows">'
            "⚠ unverified</span>"
        )
    else:
        css = "official" if status == "official" else "status-other"
        mark = f'<span class="tag artefact-status {css}">{_e(art.status)}</span>'
    return (
        f'<span class="artefact-title">{_e(art.title)}</span> '
        f'<span class="artefact-version">{_e(art.version)}</span> {mark}'
        f'<br><span class="meta">origin: {_e(art.origin)}</span>'
        f'<br><code class="sha">{_e(art.sha256)}</code>'
    )


def _layers(report: Report, index: int) -> Iterable[str]:
    yield f'<h3 id="doc-{index}-layers">Validation layers</h3>'
    if not report.layers:
        yield "<p>No validation layer ran.</p>"
        return
    yield '<table class="layers">'
    yield (
        '<thead><tr><th scope="col">Layer</th><th scope="col">Kind</th><th scope="col">Result</th>'
        '<th scope="col" class="num">Duration</th><th scope="col">Artefact</th></tr></thead>'
    )
    yield "<tbody>"
    for layer in report.layers:
        validity = layer.validity.value
        message = ""
        if layer.message:
            message = f'<span class="layer-message">{_e(layer.message)}</span>'
        tag = {
            Validity.VALID: "tag-valid",
            Validity.INVALID: "tag-invalid",
            Validity.ERROR: "tag-error",
            Validity.SKIPPED: "tag-skipped",
        }[layer.validity]
        yield (
            f'<tr class="layer layer-{validity}">'
            f'<th scope="row">{_e(layer.name)}</th>'
            f"<td>{_e(layer.kind)}</td>"
            f'<td><span class="tag {tag}">{validity}</span>{message}</td>'
            f'<td class="num">{_ms(layer.duration_ms)}</td>'
            f"<td>{_artefact_cell(layer)}</td>"
            "</tr>"
        )
    yield "</tbody></table>"


def _notes(report: Report, index: int) -> Iterable[str]:
    if not report.notes:
        return
    yield f'<h3 id="doc-{index}-notes">Notes</h3>'
    yield '<ul class="notes">'
    for note in report.notes:
        yield f"<li>{_e(note)}</li>"
    yield "</ul>"


def _item(item: Item, layer: LayerResult) -> str:
    level = item.level.value
    rule = f'<code class="rule">{_e(item.id)}</code>' if item.id else '<span class="rule">(no rule id)</span>'
    meta = [f"layer: {_e(layer.name)}"]
    if item.line is not None:
        meta.insert(0, f'<span class="line">line {_e(item.line)}</span>')
    also = ""
    if len(item.terms) > 1:
        also = f'<div class="also">Also concerns: {_e(", ".join(item.terms[1:]))}</div>'
    location = f'<code class="location">{_e(item.location)}</code>' if item.location else ""
    return (
        f'<li class="item item-{level}">'
        f'<div class="item-head"><span class="tag badge badge-{level}">{level}</span> {rule} '
        f'<span class="meta">{" · ".join(meta)}</span></div>'
        f'<p class="message">{_e(item.message)}</p>{also}{location}'
        "</li>"
    )


def _findings(report: Report, index: int) -> Iterable[str]:
    if report.unreadable:
        return
    yield f'<h3 id="doc-{index}-findings">Findings by business term</h3>'
    groups = _group(report)
    if not groups:
        yield '<p class="none">No findings.</p>'
        return
    for term, pairs in groups:
        slug = _NOT_ID.sub("_", term) if term is not None else "other"
        heading = _term_heading(term) if term is not None else OTHER
        blocking = sum(1 for item, _ in pairs if item.level in BLOCKING)
        yield f'<section class="term-group" id="doc-{index}-{_e(slug)}" data-term="{_e(slug)}">'
        yield f'<h4 class="term-heading">{_e(heading)}</h4>'
        yield (
            f'<p class="meta">{_plural(len(pairs), "finding")}, {blocking} blocking</p>'
            if len(pairs) > 1
            else ""
        )
        yield '<ol class="items">'
        for item, layer in pairs:
            yield _item(item, layer)
        yield "</ol>"
        yield "</section>"


def _document(report: Report, index: int) -> Iterable[str]:
    verdict = _verdict(report).lower()
    yield (
        f'<section class="document document-{verdict}" id="doc-{index}" '
        f'aria-labelledby="doc-{index}-heading">'
    )
    yield f'<h2 id="doc-{index}-heading">Document {index}: {_e(report.document)}</h2>'
    yield from _banner(report)
    yield from _facts(report)
    yield from _layers(report, index)
    yield from _notes(report, index)
    yield from _findings(report, index)
    yield "</section>"


# ---------------------------------------------------------------------- page


def render_html(
    reports: list[Report], *, title: str = "E-invoice validation report", generated_at: str | None = None
) -> str:
    """One self-contained HTML5 page (inline CSS, no scripts) for one or more reports."""
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<header id="top">',
        f"<h1>{_e(title)}</h1>",
    ]
    if generated_at is not None:
        stamp = _e(generated_at)
        parts.append(f'<p class="generated">Generated <time datetime="{stamp}">{stamp}</time></p>')
    parts.append("</header>")
    parts.append("<main>")
    parts.extend(_summary(reports))
    for index, report in enumerate(reports, start=1):
        parts.extend(_document(report, index))
    parts.append("</main>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(part for part in parts if part) + "\n"
