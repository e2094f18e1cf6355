"""Fixtures of the UBL writer tests: ``--update-golden`` and the official rule packs.

The golden-file tests need nothing but the writer. The validation tests need the Peppol and
XRechnung rule packs from the official test data in ``../shared/corpus`` (a sibling of the
repository); without it they are skipped, with the reason the conformance suite gives.

Rewrite the golden files after a deliberate change to the writer or to an example::

    .venv/bin/pytest --update-golden

(the option itself is declared in ``tests/conftest.py``, so every pytest run knows it).
"""

from __future__ import annotations

import pytest

from schemas.artefacts import RuleStore
from schemas.engine import Engine
from tests.schemas.conformance.corpus import CORPUS, MISSING, available

UPDATE_GOLDEN = "--update-golden"


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite the golden files."""
    return bool(request.config.getoption(UPDATE_GOLDEN, default=False))


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine whose store holds the corpus rule packs (CEN, Peppol BIS 3.0, XRechnung)."""
    if not available():
        pytest.skip(MISSING)
    store = RuleStore(tmp_path_factory.mktemp("ubl-rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled"):
        result = store.install(pack)
        assert result.installed, f"nothing installed from {pack}: {result.skipped}"
    return Engine(store=store)
