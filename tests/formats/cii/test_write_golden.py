"""Golden files: the CII the writer gives for every example in every profile, byte for byte.

``golden/<example>.<profile>.xml`` is what ``to_xml(..., omit_unsupported=True)`` wrote when
the file was last accepted (an example that does not fit a profile is written without the
terms the profile cannot carry). Any change in the output fails here, with a diff; when the
change is deliberate, rewrite the files and review the diff::

    .venv/bin/pytest tests/formats/cii --update-golden

These tests need only the writer, not the official rule packs.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from formats.cii import PROFILES, Profile, to_xml
from formats.invoice import load_json, parse_invoice

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [pytest.param(path, p, id=f"{path.stem}.{p.name}") for path in EXAMPLES for p in PROFILES.values()]
HOW_TO_UPDATE = "if the change is intended: .venv/bin/pytest tests/formats/cii --update-golden"


def golden_path(example: Path, profile: Profile) -> Path:
    return GOLDEN / f"{example.stem}.{profile.name}.xml"


def _diff(expected: bytes, actual: bytes, name: str, limit: int = 60) -> str:
    lines = list(
        difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(),
            actual.decode("utf-8", "replace").splitlines(),
            f"golden/{name}",
            "to_xml()",
            lineterm="",
        )
    )
    shown = "\n".join(line[:200] for line in lines[:limit])
    more = f"\n… {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return shown + more


@pytest.mark.parametrize(("path", "profile"), CASES)
def test_output_matches_golden_file(path: Path, profile: Profile, update_golden: bool) -> None:
    actual = to_xml(parse_invoice(load_json(path.read_bytes())), profile, omit_unsupported=True)
    golden = golden_path(path, profile)
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        if not golden.is_file() or golden.read_bytes() != actual:
            golden.write_bytes(actual)
    if not golden.is_file():
        pytest.fail(f"{golden.name} is missing; {HOW_TO_UPDATE}")
    expected = golden.read_bytes()
    if actual != expected:
        pytest.fail(
            f"to_xml() no longer gives {golden.name}; {HOW_TO_UPDATE}\n"
            + _diff(expected, actual, golden.name),
            pytrace=False,
        )


def test_no_stale_golden_files(update_golden: bool) -> None:
    wanted = {golden_path(path, p).name for path in EXAMPLES for p in PROFILES.values()}
    present = {f.name for f in GOLDEN.glob("*.xml")} if GOLDEN.is_dir() else set()
    if update_golden:
        for name in present - wanted:
            (GOLDEN / name).unlink()
        present &= wanted
    assert present - wanted == set(), f"golden files with no example or profile; {HOW_TO_UPDATE}"
