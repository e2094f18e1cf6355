"""Suite-wide fixtures: tests never read or write the user's real rules store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files (tests/formats/ubl/golden/) instead of comparing with them",
    )


@pytest.fixture(autouse=True, scope="session")
def _isolated_rules_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("GATEWAY_RULES_DIR", str(tmp_path_factory.mktemp("user-rules")))
    yield
    mp.undo()


@pytest.fixture
def minimal_ubl() -> bytes:
    """A small EN 16931-valid UBL invoice written for these tests."""
    return (FIXTURES / "ubl-minimal.xml").read_bytes()
