"""``gateway convert``: canonical JSON, UBL 2.1, CII, Factur-X / ZUGFeRD PDF and the readable PDF.

The input kind is told from the content, never from the file name: a JSON object is a
canonical invoice; an XML document whose root is a UBL 2.1 ``Invoice`` or ``CreditNote``
is UBL; a ``rsm:CrossIndustryInvoice`` is CII (Factur-X, ZUGFeRD 2.x, XRechnung CII); a
PDF is opened as Factur-X / ZUGFeRD / XRechnung-in-PDF and its embedded XML read. ZUGFeRD
1.0 is recognised and refused as such.

Targets: ``ubl`` (profiles en16931, peppol, xrechnung), ``cii`` and ``facturx`` (profiles
minimum, basicwl, basic, en16931, extended, xrechnung), ``pdf`` (the readable PDF/A-3
without XML) and ``json``. A document received from a third party (UBL, CII, PDF) keeps
the amounts it states; a CII or Factur-X input is written in its own profile unless
``--profile`` says otherwise.

Exit codes: 0 converted (for ``--to json``, also when some content could not be carried
into the canonical invoice: each loss is listed on standard error as a warning;
``--strict`` makes that exit 1); 1 the invoice has problems (model errors, totals that
disagree, a term the profile requires is missing or cannot carry); 2 usage error or
unreadable input (not JSON, XML or PDF, malformed, an unsupported syntax, an element that
cannot be read, a PDF without an invoice inside).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer
from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from formats import cii, ubl
from formats.errors import InvoiceInputError, InvoiceProblems, ParseError, SerializeError
from formats.invoice import Invoice, Problem, RoundingRule, dump_json, load_json, parse_invoice
from formats.invoice.loss import Loss
from formats.pdf import LANGUAGES
from schemas.sets import NAMESPACES, ROOT_NAMES, Syntax
from schemas.xmlsafe import XmlInputError, parse_xml

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2
SUPPORTED = "canonical invoice JSON, UBL 2.1 or CII XML, or a Factur-X/ZUGFeRD PDF"


class Target(StrEnum):
    UBL = "ubl"
    CII = "cii"
    FACTURX = "facturx"
    PDF = "pdf"
    JSON = "json"


PROFILE_NAMES = {
    Target.UBL: tuple(ubl.PROFILES),
    Target.CII: tuple(cii.PROFILES),
    Target.FACTURX: tuple(cii.PROFILES),
}

ProfileName = StrEnum(  # type: ignore[misc]
    "ProfileName", {name.upper(): name for names in PROFILE_NAMES.values() for name in names}
)


class _Refused(Exception):
    """The input cannot be converted: the message for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Read:
    kind: Literal["json", "ubl", "cii", "pdf"]
    invoice: Invoice
    losses: Sequence[Loss] = ()

    @property
    def received(self) -> bool:
        """A document from a third party: its stated amounts are kept as stated."""
        return self.kind != "json"


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add ``convert`` to the main CLI."""

    @app.command()
    def convert(
        file: Annotated[
            Path,
            typer.Argument(
                help="Canonical invoice JSON, UBL or CII XML, or a Factur-X/ZUGFeRD PDF "
                "('-' reads standard input)."
            ),
        ],
        to: Annotated[Target, typer.Option("--to", help="Output format.", case_sensitive=False)],
        profile_name: Annotated[
            ProfileName | None,
            typer.Option(
                "--profile",
                help="Profile: for ubl en16931|peppol|xrechnung (default en16931); for cii and facturx "
                "minimum|basicwl|basic|en16931|extended|xrechnung (default: the input's own, else en16931).",
                case_sensitive=False,
            ),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write the result here, not stdout.")
        ] = None,
        rounding: Annotated[
            RoundingRule | None,
            typer.Option(
                "--rounding",
                help="When VAT is rounded: per category on totals (EN 16931) or per line.",
            ),
        ] = None,
        language: Annotated[
            str | None,
            typer.Option(
                "--language",
                help=f"Language of the readable PDF (facturx, pdf): {', '.join(LANGUAGES)}; "
                "default from the seller's country.",
            ),
        ] = None,
        omit_unsupported: Annotated[
            bool,
            typer.Option(
                "--omit-unsupported",
                help="cii/facturx: leave out the business terms the profile cannot carry "
                "(the PDF still shows them) instead of refusing.",
            ),
        ] = False,
        strict: Annotated[
            bool,
            typer.Option("--strict", help="Exit 1 when input content could not be carried over."),
        ] = False,
    ) -> None:
        """Convert an invoice between canonical JSON, UBL, CII, Factur-X and the readable PDF.

        Writing calculates and checks the invoice first; if it fails, nothing is written (exit 1).

        Content of the input that the canonical invoice cannot hold is listed on standard
        error, as warnings.
        """
        name = "standard input" if str(file) == "-" else str(file)
        _check_usage(err, to, profile_name, rounding, language, omit_unsupported)
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
        if to is Target.JSON:
            if read.kind == "json":
                err.print(
                    f"[red]error:[/] {escape(name)} is already canonical JSON; "
                    "`gateway calculate` completes it, --to ubl/cii/facturx/pdf converts it"
                )
                raise typer.Exit(EXIT_INPUT)
            data = dump_json(read.invoice).encode("utf-8")
        else:
            data = _write(
                err,
                name,
                read,
                to,
                profile_name.value if profile_name else None,
                rounding or RoundingRule.TOTALS,
                language=language,
                omit_unsupported=omit_unsupported,
            )
        _emit_bytes(data, output, err)
        raise typer.Exit(EXIT_PROBLEMS if strict and read.losses else EXIT_OK)


def _check_usage(
    err: Console,
    to: Target,
    profile_name: StrEnum | None,
    rounding: RoundingRule | None,
    language: str | None,
    omit_unsupported: bool,
) -> None:
    problems = []
    if to is Target.JSON and (profile_name or rounding or language or omit_unsupported):
        problems.append(
            "--profile, --rounding, --language and --omit-unsupported apply when writing a format"
        )
    if profile_name is not None and to in PROFILE_NAMES and profile_name.value not in PROFILE_NAMES[to]:
        problems.append(
            f"--profile {profile_name.value} is not a {to.value} profile; "
            f"choose one of {', '.join(PROFILE_NAMES[to])}"
        )
    if profile_name is not None and to is Target.PDF:
        problems.append("--profile does not apply to --to pdf (the readable PDF has no XML)")
    if language is not None and language not in LANGUAGES:
        problems.append(f"--language {language} is not available; choose one of {', '.join(LANGUAGES)}")
    if language is not None and to not in (Target.FACTURX, Target.PDF):
        problems.append("--language applies to --to facturx and --to pdf")
    if omit_unsupported and to not in (Target.CII, Target.FACTURX):
        problems.append("--omit-unsupported applies to --to cii and --to facturx")
    for problem in problems:
        err.print(f"[red]error:[/] {escape(problem)}")
    if problems:
        raise typer.Exit(EXIT_INPUT)


# ---------------------------------------------------------------- reading


def _read_bytes(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot read the file: {exc.strerror or exc}") from None


def _read_invoice(path: Path) -> _Read:
    """Read JSON, XML or PDF, told apart by content; raise ``_Refused`` or ``InvoiceProblems``."""
    data = _read_bytes(path)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
    if start.startswith(b"%PDF-") or data[:1024].find(b"%PDF-") >= 0:
        return _read_pdf(data)
    if start.startswith(b"<"):
        return _read_xml(data)
    if start.startswith((b"{", b"[")) or not start:
        try:
            return _Read("json", parse_invoice(load_json(data)))
        except InvoiceInputError as exc:
            raise _Refused(str(exc)) from None
    raise _Refused(f"the input is neither JSON, XML nor PDF; convert reads {SUPPORTED}")


def _read_pdf(data: bytes) -> _Read:
    from formats.facturx import from_pdf

    try:
        invoice, losses = from_pdf(data)
    except (InvoiceInputError, ParseError) as exc:
        raise _Refused(f"cannot read the PDF: {exc}") from None
    return _Read("pdf", invoice, losses)


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
    if syntax is Syntax.ZUGFERD1:
        raise _Refused(
            "this is a ZUGFeRD 1.0 document, which the gateway does not read; ask the sender "
            "for ZUGFeRD 2.x / Factur-X"
        )
    kind: Literal["ubl", "cii"] = "cii" if syntax is Syntax.CII else "ubl"
    from formats.cii.read import from_xml as read_cii
    from formats.ubl.read import from_xml as read_ubl

    try:
        invoice, losses = (read_cii if kind == "cii" else read_ubl)(data)
    except ParseError as exc:
        raise _Refused(f"cannot read the {kind.upper()}: {exc}") from None
    return _Read(kind, invoice, losses)


# ---------------------------------------------------------------- writing


def _cii_profile(read: _Read, name: str | None) -> cii.Profile:
    """``--profile``, else the profile a CII / Factur-X input declares, else EN 16931."""
    if name is not None:
        return cii.profile(name)
    spec = read.invoice.process_control.specification_identifier
    if read.kind in ("cii", "pdf") and spec:
        return cii.profile_for_guideline(spec) or cii.EN16931
    return cii.EN16931


def _write(
    err: Console,
    name: str,
    read: _Read,
    to: Target,
    profile_name: str | None,
    rounding: RoundingRule,
    *,
    language: str | None,
    omit_unsupported: bool,
) -> bytes:
    """The invoice in ``to``; a problem is printed and exits 1 before anything is written."""
    from formats import facturx

    invoice, received = read.invoice, read.received
    try:
        if to is Target.UBL:
            profile = ubl.PROFILES[profile_name or "en16931"]
            return ubl.to_xml(invoice, profile, rounding, keep_supplied=received)
        if to is Target.CII:
            return cii.to_xml(
                invoice,
                _cii_profile(read, profile_name),
                rounding,
                keep_supplied=received,
                omit_unsupported=omit_unsupported,
            )
        if to is Target.FACTURX:
            return facturx.to_facturx(
                invoice,
                _cii_profile(read, profile_name),
                language=language,
                rounding=rounding,
                keep_supplied=received,
                omit_unsupported=omit_unsupported,
            )
        return facturx.to_pdf(invoice, language=language)
    except SerializeError as exc:
        headline = str(exc).split(": ", 1)[0] if exc.problems else str(exc)
        err.print(f"[red]✗[/] {escape(name)}: {escape(headline)}")
        _print_problems(err, exc.problems)
        raise typer.Exit(EXIT_PROBLEMS) from None
    except InvoiceProblems as exc:
        err.print(f"[red]✗[/] {escape(name)} cannot be written:")
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
        f"[yellow]warning:[/] {escape(name)}: {len(losses)} value(s) in the input are not in the "
        "canonical invoice:"
    )
    for loss in losses:
        value = loss.value if len(loss.value) <= 80 else loss.value[:77] + "…"
        where = f" (line {loss.line})" if loss.line is not None else ""
        console.print(
            f"  [yellow]warning[/] {escape(loss.path)}{where}: {escape(repr(value))} — {escape(loss.reason)}",
        )


__all__ = ["register"]
