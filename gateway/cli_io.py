"""Output helpers shared by the CLI commands."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

EXIT_INPUT = 2


def emit(text: str, output: Path | None, err: Console) -> None:
    """Write ``text`` to ``output`` (or standard output); an unwritable path exits 2."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write {escape(str(output))}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INPUT) from None
