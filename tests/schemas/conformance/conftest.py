"""Fixtures of the conformance suite: the official rule packs installed once per session.

The suite runs over the official test data in ``../shared/corpus`` (a sibling of the repo);
without it every test in this folder is skipped, with the reason saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.artefacts import RuleStore
from schemas.engine import Engine
from tests.schemas.conformance.corpus import CORPUS, MISSING, available

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if available():
        return
    skip = pytest.mark.skip(reason=MISSING)
    for item in items:
        if Path(item.path).resolve().is_relative_to(HERE):
            item.add_marker(skip, append=False)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> RuleStore:
    if not available():
        pytest.skip(MISSING)
    rules = RuleStore(tmp_path_factory.mktemp("rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled", CORPUS / "xsd" / "cii-d16b"):
        result = rules.install(pack)
        assert result.installed, f"nothing installed from {pack}: {result.skipped}"
    return rules


@pytest.fixture(scope="session")
def engine(store: RuleStore) -> Engine:
    return Engine(store=store)
