"""The official rule packs for the Factur-X validation tests (skipped without the shared corpus)."""

from __future__ import annotations

import pytest

from schemas.artefacts import RuleStore
from schemas.engine import Engine
from tests.schemas.conformance.corpus import CORPUS, MISSING, available


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine whose store holds the corpus rule packs (CEN, XRechnung, CII D16B XSD)."""
    if not available():
        pytest.skip(MISSING)
    store = RuleStore(tmp_path_factory.mktemp("facturx-rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled", CORPUS / "xsd" / "cii-d16b"):
        result = store.install(pack)
        assert result.installed, f"nothing installed from {pack}: {result.skipped}"
    return Engine(store=store)
