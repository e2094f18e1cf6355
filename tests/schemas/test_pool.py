"""Supervised validator processes: crashes, hangs and memory growth never read as valid."""

from __future__ import annotations

import pytest

from schemas.pool import ValidatorPool
from schemas.report import Validity


@pytest.fixture
def rules_dir(tmp_path):
    return str(tmp_path / "rules")


def test_pool_matches_the_engine(minimal_ubl, rules_dir):
    with ValidatorPool(2, rules_dir=rules_dir) as pool:
        futures = [pool.submit(minimal_ubl, f"doc-{i}") for i in range(6)]
        reports = [f.result(timeout=120) for f in futures]
    assert all(r.valid for r in reports)
    assert [r.document for r in reports] == [f"doc-{i}" for i in range(6)]


def test_crash_is_retried_once_then_reported(minimal_ubl, rules_dir, monkeypatch):
    monkeypatch.setenv("GATEWAY_FAULT_INJECTION", "crash:victim")
    with ValidatorPool(1, rules_dir=rules_dir) as pool:
        bad = pool.submit(minimal_ubl, "victim")
        good = pool.submit(minimal_ubl, "bystander")
        crashed, survivor = bad.result(timeout=120), good.result(timeout=120)
        assert pool.stats.crashes == 2
    assert not crashed.valid
    assert crashed.layers[-1].validity is Validity.ERROR
    assert "stopped unexpectedly" in (crashed.layers[-1].message or "")
    assert survivor.valid


def test_a_single_crash_is_recovered(minimal_ubl, rules_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("GATEWAY_FAULT_INJECTION", f"crash-once:victim:{tmp_path / 'crashed'}")
    with ValidatorPool(1, rules_dir=rules_dir) as pool:
        report = pool.validate(minimal_ubl, "victim")
        assert pool.stats.crashes == 1
    assert report.valid


def test_hang_is_stopped_by_the_timeout(minimal_ubl, rules_dir, monkeypatch):
    monkeypatch.setenv("GATEWAY_FAULT_INJECTION", "hang:sleeper")
    with ValidatorPool(1, rules_dir=rules_dir, timeout=5) as pool:
        stuck = pool.submit(minimal_ubl, "sleeper")
        after = pool.submit(minimal_ubl, "next")
        report = stuck.result(timeout=120)
        assert after.result(timeout=120).valid
        assert pool.stats.timeouts == 1
    assert not report.valid
    assert "longer than 5 s" in (report.layers[-1].message or "")


def test_memory_bound_recycles_workers(minimal_ubl, rules_dir):
    with ValidatorPool(1, rules_dir=rules_dir, max_rss_mb=1) as pool:
        reports = [pool.validate(minimal_ubl, f"doc-{i}") for i in range(3)]
        assert pool.stats.recycled == 3
        assert pool.stats.started_workers >= 3
    assert all(r.valid for r in reports)


def test_oversize_file_is_refused_without_reading_it(tmp_path, rules_dir):
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:  # a sparse 200 MB file: nothing is written to disk
        handle.truncate(200 * 1024 * 1024)
    with ValidatorPool(1, rules_dir=rules_dir) as pool:
        report = pool.validate(huge, "huge.xml")
    assert report.unreadable
    assert "limit is" in (report.error or "")


def test_closed_pool_refuses_work(minimal_ubl, rules_dir):
    pool = ValidatorPool(1, rules_dir=rules_dir)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(minimal_ubl, "x")
