"""``gateway validate`` and ``gateway rules``: the compliance team's commands.

Exit codes of ``validate``: 0 every document valid; 1 at least one invalid (or a layer
could not run); 2 usage error, or at least one document unreadable (not XML, truncated,
hostile, a PDF without an invoice, encrypted).
"""

from __future__ import annotations

import glob
import os
from concurrent.futures import as_completed
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from formats.errors import ArtefactError
from gateway.cli_io import emit
from schemas.artefacts import KNOWN_BY_KEY, RuleStore, Status, resolve, sha256_file
from schemas.pool import ValidatorPool
from schemas.render import to_json, to_svrl
from schemas.render_html import render_html
from schemas.report import BLOCKING, Level, Report, Validity
from schemas.sets import SETS, find_set

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, 1, 2
DOCUMENT_SUFFIXES = {".xml", ".pdf"}


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"
    SVRL = "svrl"


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add ``validate`` and the ``rules`` group to the main CLI."""
    rules = typer.Typer(help="Install and list the official validation rule packs.", no_args_is_help=True)
    app.add_typer(rules, name="rules")

    @app.command()
    def validate(
        inputs: Annotated[
            list[str],
            typer.Argument(help="XML or PDF files, folders (searched for *.xml and *.pdf) or glob patterns."),
        ],
        set_id: Annotated[
            str | None,
            typer.Option("--set", help="Force a validation set (see `gateway rules list`); default: detect."),
        ] = None,
        output_format: Annotated[
            ReportFormat, typer.Option("--format", help="Report format.")
        ] = ReportFormat.TEXT,
        jobs: Annotated[
            int | None,
            typer.Option(
                "--jobs",
                "-j",
                min=1,
                max=64,
                help="Validator processes (default: one per core, at most one per document).",
            ),
        ] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    ) -> None:
        """Validate e-invoices: XSD plus the official EN 16931, Peppol, XRechnung and Factur-X rules."""
        if set_id is not None and find_set(set_id) is None:
            err.print(f"[red]error:[/] unknown validation set {escape(set_id)!r}; see `gateway rules list`")
            raise typer.Exit(EXIT_INPUT)
        paths, missing = _expand(inputs)
        for name in missing:
            err.print(f"[red]error:[/] {escape(name)}: no such file, folder or matching pattern")
        if not paths:
            if not missing:
                err.print("[red]error:[/] no XML or PDF documents found")
            raise typer.Exit(EXIT_INPUT)
        if output_format is ReportFormat.SVRL and len(paths) != 1:
            err.print("[red]error:[/] --format svrl reports one document at a time")
            raise typer.Exit(EXIT_INPUT)
        workers = jobs or os.cpu_count() or 1
        reports = _run(paths, set_id, workers, keep_svrl=output_format is ReportFormat.SVRL, err=err)
        if output_format is ReportFormat.TEXT:
            for report in reports:
                _print_text(out, report)
            if len(reports) > 1:
                valid = sum(1 for r in reports if r.valid)
                out.print(f"{valid} of {len(reports)} document(s) valid")
        else:
            rendered = {
                ReportFormat.JSON: lambda: to_json(reports),
                ReportFormat.HTML: lambda: render_html(reports),
                ReportFormat.SVRL: lambda: to_svrl(reports[0]),
            }[output_format]()
            emit(rendered, output, err)
        if missing or any(r.unreadable for r in reports):
            raise typer.Exit(EXIT_INPUT)
        raise typer.Exit(EXIT_OK if all(r.valid for r in reports) else EXIT_INVALID)

    @rules.command("install")
    def rules_install(
        path: Annotated[Path, typer.Argument(help="A rule pack: a folder or the release zip.")],
        accept_unverified: Annotated[
            bool,
            typer.Option(
                "--accept-unverified",
                help="Also install files whose SHA-256 is not a release the gateway knows.",
            ),
        ] = False,
    ) -> None:
        """Install an official rule pack (CEN EN 16931, Peppol BIS 3.0, XRechnung, CII XSD)."""
        store = RuleStore()
        try:
            result = store.install(path, accept_unverified=accept_unverified)
        except ArtefactError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(EXIT_INPUT) from None
        for entry in result.installed:
            mark = "[green]official[/]" if entry.status is Status.OFFICIAL else "[yellow]unverified[/]"
            out.print(f"installed {entry.key} {entry.version} ({mark}) from {escape(entry.path)}")
        for skipped in result.skipped:
            out.print(f"[yellow]skipped[/] {escape(skipped)} (use --accept-unverified to install)")
        out.print(f"rules store: {store.root}")

    @rules.command("list")
    def rules_list() -> None:
        """List the validation sets, the artefact each layer uses, and the installed files."""
        store = RuleStore()
        for validation_set in SETS:
            status = "" if validation_set.status == "current" else f" [{validation_set.status}]"
            out.print(f"[bold]{validation_set.id}[/]{status} — {escape(validation_set.title)}")
            for layer in validation_set.layers:
                out.print(
                    f"  {escape(layer.name)}: {_layer_state(layer.artefacts, store, layer.install_hint)}"
                )
        entries = store.entries()
        out.print(f"rules store: {store.root} ({len(entries)} installed artefact(s))")
        for entry in entries:
            path = store.root / entry.path
            state = (
                "missing"
                if not path.exists()
                else ("ok" if sha256_file(path) == entry.sha256 else "[red]CHANGED: refused[/]")
            )
            title = KNOWN_BY_KEY[entry.key].title if entry.key in KNOWN_BY_KEY else entry.key
            out.print(
                f"  {entry.key}: {title} {entry.version} [{entry.status.value}] "
                f"sha256 {entry.sha256[:16]}… {state}"
            )


def _layer_state(keys: tuple[str, ...], store: RuleStore, hint: str) -> str:
    for key in keys:
        try:
            found = resolve(key, store)
        except ArtefactError as exc:
            return f"[red]refused[/] — {escape(str(exc))}"
        if found is not None:
            mark = "[green]official[/]" if found.status is Status.OFFICIAL else "[yellow]unverified[/]"
            return f"{key} {found.version} {mark} ({found.origin})"
    return f"[red]not installed[/] — {escape(hint)}"


def _expand(inputs: list[str]) -> tuple[list[Path], list[str]]:
    paths: list[Path] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES
            )
        elif path.is_file():
            paths.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                paths += matches
            else:
                missing.append(item)
    return list(dict.fromkeys(paths)), missing


def _run(paths: list[Path], set_id: str | None, jobs: int, *, keep_svrl: bool, err: Console) -> list[Report]:
    reports: list[Report | None] = [None] * len(paths)
    with (
        ValidatorPool(min(jobs, len(paths)), keep_svrl=keep_svrl) as pool,
        Progress(
            TextColumn("validating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=len(paths) < 2 or not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("validate", total=len(paths))
        futures = {pool.submit(path.resolve(), str(path), set_id): i for i, path in enumerate(paths)}
        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            progress.advance(task)
    return [r for r in reports if r is not None]


def _print_text(out: Console, report: Report) -> None:
    name = escape(report.document)
    if report.unreadable:
        out.print(f"[red]✗ {name}: unreadable[/] — {escape(report.error or '')}")
        return
    counts = f"{report.count(Level.FATAL, Level.ERROR)} error(s), {report.count(Level.WARNING)} warning(s)"
    verdict = "[green]✓ valid[/]" if report.valid else "[red]✗ invalid[/]"
    embedded = f" (embedded {escape(report.embedded)})" if report.embedded else ""
    out.print(
        f"{verdict} {name}{embedded} — {escape(report.set_id or '')}: {counts}, {report.duration_ms:.0f} ms"
    )
    for layer in report.layers:
        if layer.validity in (Validity.ERROR, Validity.SKIPPED):
            style = "red" if layer.validity is Validity.ERROR else "dim"
            out.print(f"  [{style}]{layer.name}: {layer.validity.value}[/] — {escape(layer.message or '')}")
    items = report.items()
    if items:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("level", "rule", "line", "terms"):
            table.add_column(column, no_wrap=True)
        table.add_column("message", overflow="fold")
        for item in items:
            style = "red" if item.level in BLOCKING else ("yellow" if item.level is Level.WARNING else "dim")
            table.add_row(
                f"[{style}]{item.level.value}[/]",
                escape(item.id or ""),
                str(item.line or ""),
                ", ".join(item.terms[:3]),
                escape(item.message),
            )
        out.print(table)
    for note in report.notes:
        out.print(f"  [dim]note: {escape(note)}[/]")


__all__ = ["register"]
