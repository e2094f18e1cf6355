"""The ``gateway`` command line.

Exit codes, for every command: 0 all good; 1 an invoice has problems; 2 usage error or
unreadable input; 3 an internal error (a bug: please report it with ``GATEWAY_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from formats.errors import InvoiceInputError
from formats.invoice import CheckResult, RoundingRule, check_invoice, dump_json
from gateway import __version__
from gateway.cli_convert import register as register_convert
from gateway.cli_io import emit
from gateway.cli_service import register as register_service
from gateway.cli_signing import register as register_signing
from gateway.cli_validation import register as register_validation
from gateway.schema_files import write_or_check_schemas

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="gateway",
    help="E-invoicing interchange gateway: check, calculate and convert EN 16931 invoices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


RoundingOption = Annotated[
    RoundingRule,
    typer.Option("--rounding", help="When VAT is rounded: per category on totals (EN 16931) or per line."),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"gateway {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """E-invoicing interchange gateway."""


def _expand(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def _read(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvoiceInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _print_problems(console: Console, result: CheckResult) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("level", "path", "term", "rule"):
        table.add_column(column, no_wrap=True)  # whole paths, so they can be searched for
    table.add_column("message", overflow="fold")
    for p in result.problems:
        style = "red" if p.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{p.severity}[/]", escape(p.path), p.term or "", p.rule or "", escape(p.message)
        )
    console.print(table)


@app.command()
def check(
    files: Annotated[
        list[Path], typer.Argument(help="Invoice JSON files or folders ('-' reads standard input).")
    ],
    rounding: RoundingOption = RoundingRule.TOTALS,
    output: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.TEXT,
) -> None:
    """Parse, calculate and check invoices; report every problem with its JSON path and BT."""
    reports: list[dict[str, Any]] = []
    worst = EXIT_OK
    paths = list(_expand(files))
    if not paths:
        err.print("[red]error:[/] no invoice files found")
        raise typer.Exit(EXIT_INPUT)
    for path in paths:
        try:
            result = check_invoice(_read(path), rounding)
        except InvoiceInputError as exc:
            worst = max(worst, EXIT_INPUT)
            reports.append({"file": str(path), "ok": False, "error": str(exc), "problems": []})
            if output is OutputFormat.TEXT:
                err.print(f"[red]✗[/] {escape(str(path))}: unreadable: {escape(str(exc))}")
            continue
        if not result.ok:
            worst = max(worst, EXIT_PROBLEMS)
        reports.append(
            {"file": str(path), "ok": result.ok, "problems": [p.as_dict() for p in result.problems]}
        )
        if output is OutputFormat.TEXT:
            _report_text(path, result)
    if output is OutputFormat.JSON:
        out.print_json(data=reports if len(reports) > 1 else reports[0])
    elif len(paths) > 1:
        good = sum(1 for r in reports if r["ok"])
        out.print(f"{good} of {len(paths)} invoice(s) passed")
    raise typer.Exit(worst)


def _report_text(path: Path, result: CheckResult) -> None:
    if result.ok:
        totals = result.calculated.totals if result.calculated else None
        due = (
            f" — amount due {totals.amount_due} {result.calculated.currency_code}"
            if (totals and result.calculated)
            else ""
        )
        out.print(f"[green]✓[/] {escape(str(path))}{due}")
    else:
        errors = sum(1 for p in result.problems if p.severity == "error")
        out.print(f"[red]✗[/] {escape(str(path))}: {errors} error(s)")
    if result.problems:
        _print_problems(out, result)


@app.command()
def calculate(
    file: Annotated[Path, typer.Argument(help="Invoice JSON file ('-' reads standard input).")],
    rounding: RoundingOption = RoundingRule.TOTALS,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the invoice here, not stdout.")
    ] = None,
) -> None:
    """Print the invoice with every derived term (line nets, VAT breakdown, totals) filled.

    Where the input supplies a derived value that disagrees with the calculation, the
    disagreements are listed on standard error and the exit code is 1: nothing is
    silently overwritten.
    """
    try:
        result = check_invoice(_read(file), rounding)
    except InvoiceInputError as exc:
        err.print(f"[red]error:[/] {escape(str(file))}: {escape(str(exc))}")
        raise typer.Exit(EXIT_INPUT) from None
    if result.calculated is None:
        err.print(f"[red]✗[/] {escape(str(file))} cannot be calculated:")
        _print_problems(err, result)
        raise typer.Exit(EXIT_PROBLEMS)
    emit(dump_json(result.calculated), output, err)
    if result.problems:
        _print_problems(err, result)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_PROBLEMS)


@app.command()
def schema(
    check_only: Annotated[bool, typer.Option("--check", help="Only compare; exit 1 on drift.")] = False,
) -> None:
    """Write the canonical invoice's JSON Schema into schemas/ (or check it is current)."""
    drifted = write_or_check_schemas(check_only=check_only)
    for name in drifted:
        verb = "out of date" if check_only else "written"
        out.print(f"{name}: {verb}")
    if check_only and drifted:
        raise typer.Exit(EXIT_PROBLEMS)


register_validation(app, out, err)
register_convert(app, out, err)
register_signing(app, out, err)
register_service(app, out, err)


def main() -> None:
    """Console entry point: map every failure onto the documented exit codes."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("GATEWAY_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(set GATEWAY_DEBUG=1 for the traceback)"
        )
        sys.exit(EXIT_INTERNAL)
