"""``gateway convert``: canonical JSON ↔ UBL 2.1.

The input kind is told from the content, never from the file name: a JSON object is a
canonical invoice; an XML document whose root is a UBL 2.1 ``Invoice`` or ``CreditNote``
is UBL. CII, ZUGFeRD 1 and PDF inputs are recognised and refused (exit 2) until their
readers exist.

Exit codes: 0 converted (for ``--to json``, also when some UBL content could not be
carried into the canonical invoice: each loss is listed on standard error as a warning;
``--strict`` makes that exit 1); 1 the invoice has problems (model errors, totals that
disagree, a term the profile requires is missing); 2 usage error or unreadable input
(not JSON or XML, malformed, an unsupported syntax, a UBL element that cannot be read).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from formats.errors import InvoiceInputError, InvoiceProblems, ParseError, SerializeError
from formats.invoice import Invoice, Problem, RoundingRule, dump_json, load_json, parse_invoice
from formats.ubl import PROFILES, Profile, to_xml
from formats.ubl.read import from_xml
from schemas.sets import NAMESPACES, ROOT_NAMES, Syntax
from schemas.xmlsafe import XmlInputError, parse_xml

if TYPE_CHECKING:
    from formats.ubl.read import Loss

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2
SUPPORTED = "canonical invoice JSON, or UBL 2.1 Invoice/CreditNote XML"
_NOT_YET = {
    Syntax.CII: "a UN/CEFACT CII (Factur-X/ZUGFeRD 2, XRechnung CII) document",
    Syntax.ZUGFERD1: "a ZUGFeRD 1.0 document",
}


class Target(StrEnum):
    UBL = "ubl"
    JSON = "json"


class ProfileName(StrEnum):
    EN16931 = "en16931"
    PEPPOL = "peppol"
    XRECHNUNG = "xrechnung"


assert {p.value for p in ProfileName} == set(PROFILES), "ProfileName must list formats.ubl.PROFILES"


class _Refused(Exception):
    """The input cannot be converted: the message for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Read:
    kind: Literal["json", "ubl"]
    invoice: Invoice
    losses: Sequence[Loss] = ()


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add ``convert`` to the main CLI."""

    @app.command()
    def convert(
        file: Annotated[
            Path, typer.Argument(help="Canonical invoice JSON or UBL 2.1 XML ('-' reads standard input).")
        ],
        to: Annotated[Target, typer.Option("--to", help="Output format.", case_sensitive=False)],
        profile_name: Annotated[
            ProfileName | None,
            typer.Option(
                "--profile", help="UBL profile (with --to ubl; default en16931).", case_sensitive=False
            ),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write the result here, not stdout.")
        ] = None,
        rounding: Annotated[
            RoundingRule | None,
            typer.Option(
                "--rounding",
                help="When VAT is rounded, for --to ubl: per category on totals (EN 16931) or per line.",
            ),
        ] = None,
        strict: Annotated[
            bool,
            typer.Option("--strict", help="Exit 1 when UBL content could not be carried into the JSON."),
        ] = False,
    ) -> None:
        """Convert an invoice: canonical JSON → UBL 2.1 (in a profile), or UBL → canonical JSON.

        --to ubl calculates and checks the invoice first; if it fails, nothing is written (exit 1).

        --to json lists on standard error, as warnings, the UBL content it could not carry over.
        """
        name = "standard input" if str(file) == "-" else str(file)
        if to is Target.JSON and (profile_name is not None or rounding is not None):
            err.print("[red]error:[/] --profile and --rounding apply to --to ubl only")
            raise typer.Exit(EXIT_INPUT)
        try:
            read = _read_invoice(file)
        except _Refused as exc:
            err.print(f"[red]error:[/] {escape(name)}: {escape(str(exc))}")
            raise typer.Exit(exc.code) from None
        except InvoiceProblems as exc:
            err.print(f"[red]✗[/] {escape(name)} is not a valid invoice:")
            _print_problems(err, exc.problems)
            raise typer.Exit(EXIT_PROBLEMS) from None
        _print_losses(err, name, read.losses)
        if to is Target.UBL:
            profile = PROFILES[(profile_name or ProfileName.EN16931).value]
            data = _write_ubl(
                err, name, read.invoice, profile, rounding or RoundingRule.TOTALS, received=read.kind == "ubl"
            )
        else:
            if read.kind == "json":
                err.print(
                    f"[red]error:[/] {escape(name)} is already canonical JSON; "
                    "`gateway calculate` completes it, --to ubl converts it"
                )
                raise typer.Exit(EXIT_INPUT)
            data = dump_json(read.invoice).encode("utf-8")
        _emit_bytes(data, output, err)
        raise typer.Exit(EXIT_PROBLEMS if strict and read.losses else EXIT_OK)


# ---------------------------------------------------------------- reading


def _read_bytes(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot read the file: {exc.strerror or exc}") from None


def _read_invoice(path: Path) -> _Read:
    """Read JSON or UBL, told apart by content; raise ``_Refused`` or ``InvoiceProblems``."""
    data = _read_bytes(path)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
    if start.startswith(b"%PDF-"):
        raise _Refused(f"PDF (Factur-X/ZUGFeRD) input is not supported yet; convert reads {SUPPORTED}")
    if start.startswith(b"<"):
        return _read_xml(data)
    if start.startswith((b"{", b"[")) or not start:
        try:
            return _Read("json", parse_invoice(load_json(data)))
        except InvoiceInputError as exc:
            raise _Refused(str(exc)) from None
    raise _Refused(f"the input is neither JSON nor XML; convert reads {SUPPORTED}")


def _read_xml(data: bytes) -> _Read:
    try:
        root = parse_xml(data).getroot()
    except XmlInputError as exc:
        raise _Refused(str(exc)) from None
    qname = etree.QName(root)
    namespace, local = qname.namespace or "", qname.localname
    syntax = NAMESPACES.get(namespace)
    if syntax is None or ROOT_NAMES[syntax] != local:
        raise _Refused(f"the XML root is {{{namespace}}}{local}, not an invoice; convert reads {SUPPORTED}")
    if syntax in _NOT_YET:
        raise _Refused(
            f"this is {_NOT_YET[syntax]}: CII input is not supported yet; convert reads {SUPPORTED}"
        )
    try:
        invoice, losses = from_xml(data)
    except ParseError as exc:
        raise _Refused(f"cannot read the UBL: {exc}") from None
    return _Read("ubl", invoice, losses)


# ---------------------------------------------------------------- writing


def _write_ubl(
    err: Console, name: str, invoice: Invoice, profile: Profile, rounding: RoundingRule, *, received: bool
) -> bytes:
    """``received``: a UBL document from a third party keeps the amounts it states."""
    try:
        return to_xml(invoice, profile, rounding, keep_supplied=received)
    except SerializeError as exc:
        headline = str(exc).split(": ", 1)[0] if exc.problems else str(exc)
        err.print(f"[red]✗[/] {escape(name)}: {escape(headline)}")
        _print_problems(err, exc.problems)
        raise typer.Exit(EXIT_PROBLEMS) from None


def _emit_bytes(data: bytes, output: Path | None, err: Console) -> None:
    """Write ``data`` to ``output`` (or standard output) unchanged; an unwritable path exits 2."""
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write {escape(str(output))}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INPUT) from None


# ---------------------------------------------------------------- reporting


def _print_problems(console: Console, problems: Sequence[Problem]) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("level", "path", "term", "rule"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", overflow="fold")
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{p.severity}[/]", escape(p.path), p.term or "", p.rule or "", escape(p.message)
        )
    console.print(table)


def _print_losses(console: Console, name: str, losses: Sequence[Loss]) -> None:
    """One line per loss (element path, line, value, reason), so each can be searched for."""
    if not losses:
        return
    console.print(
        f"[yellow]warning:[/] {escape(name)}: {len(losses)} value(s) in the UBL are not in the "
        "canonical invoice:"
    )
    for loss in losses:
        value = loss.value if len(loss.value) <= 80 else loss.value[:77] + "…"
        where = f" (line {loss.line})" if loss.line is not None else ""
        console.print(
            f"  [yellow]warning[/] {escape(loss.path)}{where}: {escape(repr(value))} — {escape(loss.reason)}",
        )


__all__ = ["register"]
