"""formats.invoice's public API, and the dependency direction formats → never gateway."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import formats.invoice

REPO = Path(__file__).resolve().parents[2]
LOWER_FLOORS = ["formats", "connectors", "schemas"]


def test_all_names_exist():
    missing = [name for name in formats.invoice.__all__ if not hasattr(formats.invoice, name)]
    assert missing == []


def test_all_has_no_duplicates():
    names = formats.invoice.__all__
    assert len(names) == len(set(names))


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from formats.invoice import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(formats.invoice.__all__)


def test_every_public_name_is_in_all():
    public = {
        name
        for name, value in vars(formats.invoice).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(formats.invoice.__all__)


@pytest.mark.parametrize(
    "name",
    ["Invoice", "calculate", "check_invoice", "compare_totals", "load_json", "RoundingRule", "TERMS"],
)
def test_core_names_are_exported(name):
    assert name in formats.invoice.__all__


def test_exported_objects_are_the_real_ones():
    from formats.invoice.calculate import calculate
    from formats.invoice.check import check_invoice
    from formats.invoice.model import Invoice

    assert formats.invoice.calculate is calculate
    assert formats.invoice.check_invoice is check_invoice
    assert formats.invoice.Invoice is Invoice


def _sources(floor: str) -> list[Path]:
    return sorted(p for p in (REPO / floor).rglob("*.py") if ".venv" not in p.parts)


_DYNAMIC_IMPORTS = {"import_module", "__import__"}


def _dynamic_import(node: ast.AST) -> str | None:
    """The module named by ``importlib.import_module("x")`` or ``__import__("x")``."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    name = getattr(node.func, "attr", getattr(node.func, "id", ""))
    first = node.args[0]
    if name in _DYNAMIC_IMPORTS and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (module := _dynamic_import(node)) is not None:
            found.append((getattr(node, "lineno", 0), module))
    return found


def test_the_scan_sees_the_formats_sources():
    files = {p.relative_to(REPO).as_posix() for p in _sources("formats")}
    assert "formats/invoice/model.py" in files
    assert "formats/errors.py" in files


@pytest.mark.parametrize("floor", LOWER_FLOORS)
def test_lower_floors_never_import_gateway(floor):
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in _sources(floor)
        for line, module in _imported_modules(path)
        if module == "gateway" or module.startswith("gateway.")
    ]
    assert offenders == []


def test_importing_formats_does_not_load_gateway():
    code = (
        "import sys, formats.invoice, formats.errors\n"
        "print(any(m == 'gateway' or m.startswith('gateway.') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_submodules_import_cleanly():
    for name in [
        "calculate",
        "check",
        "codes",
        "compare",
        "load",
        "model",
        "problems",
        "rules",
        "terms",
        "types",
    ]:
        module = importlib.import_module(f"formats.invoice.{name}")
        assert module.__doc__, name
