"""The Validate page's report cache: bounded, and a token only works for its own tenant."""

from __future__ import annotations

import time

from gateway.web.validate import ReportCache
from schemas.report import Report


def test_a_token_is_found_only_with_its_tenant():
    cache = ReportCache()
    report = Report(document="a.xml")
    token = cache.put("ten_a", report)
    assert cache.get("ten_a", token) is report
    assert cache.get("ten_b", token) is None
    assert cache.get("ten_a", "guessed") is None
    assert len(token) >= 22  # 128 random bits, URL-safe
    assert cache.put("ten_a", report) != token


def test_bounded_per_tenant_and_in_total():
    cache = ReportCache(per_tenant=2, total=3)
    a = [cache.put("ten_a", Report(document=f"a{n}")) for n in range(3)]
    assert cache.get("ten_a", a[0]) is None  # the oldest of ten_a went
    assert cache.get("ten_a", a[1]) is not None
    assert cache.get("ten_a", a[2]) is not None
    b = [cache.put("ten_b", Report(document=f"b{n}")) for n in range(2)]
    assert len(cache) == 3
    assert cache.get("ten_a", a[1]) is None  # the oldest overall went
    assert all(cache.get("ten_b", t) is not None for t in b)


def test_reports_expire():
    cache = ReportCache(ttl=0.05)
    token = cache.put("ten_a", Report(document="a.xml"))
    deadline = time.monotonic() + 5
    while cache.get("ten_a", token) is not None:
        assert time.monotonic() < deadline, "the report never expired"
        time.sleep(0.02)
    assert len(cache) == 0
