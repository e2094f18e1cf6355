"""The in-process runner: due deliveries run in the background, stalled ones come back, none twice."""

# The shared fixtures are imported by name (pytest finds them in the module): F401/F811 are expected.
# ruff: noqa: F401, F811

from __future__ import annotations

import time
from datetime import timedelta

from connectors.base import TransientDeliveryError
from gateway.runner import InProcessRunner, due_deliveries, recover_stalled, run_due_once
from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store.models import utcnow
from tests.gateway.delivery_env import (
    FakeConnector,
    box,
    delivery,
    make_delivery,
    store,
    store_templates,
    tenant_id,
    transport_events,
)


def _wait(predicate: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_the_runner_delivers_in_the_background_and_stops_promptly(
    store: Store,
    tenant_id: str,
    box: SecretBox,
) -> None:
    ids = [make_delivery(store, tenant_id) for _ in range(6)]
    fake = FakeConnector()
    runner = InProcessRunner(store, {"fake": fake}, box, poll_interval=0.05, concurrency=3)
    runner.start()
    try:
        assert _wait(lambda: all(delivery(store, i).status == "delivered" for i in ids))
    finally:
        started = time.monotonic()
        assert runner.stop(timeout=5)
        assert time.monotonic() - started < 5
    assert sorted(call[0] for call in fake.calls) == sorted(ids)
    assert not runner.running


def test_two_runners_on_one_database_send_each_delivery_once(
    store: Store,
    tenant_id: str,
    box: SecretBox,
) -> None:
    ids = [make_delivery(store, tenant_id) for _ in range(12)]
    fake = FakeConnector(delay=0.02)
    runners = [
        InProcessRunner(store, {"fake": fake}, box, poll_interval=0.02, concurrency=3) for _ in range(2)
    ]
    for r in runners:
        r.start()
    try:
        assert _wait(lambda: all(delivery(store, i).status == "delivered" for i in ids), 30)
    finally:
        for r in runners:
            r.stop(timeout=5)
    sent = [call[0] for call in fake.calls]
    assert sorted(sent) == sorted(ids)  # each exactly once
    assert all(delivery(store, i).attempts == 1 for i in ids)


def test_a_retrying_delivery_waits_until_it_is_due(store: Store, tenant_id: str, box: SecretBox) -> None:
    later = utcnow() + timedelta(minutes=5)
    waiting = make_delivery(store, tenant_id, status="retrying", attempts=1, next_attempt_at=later)
    due = make_delivery(store, tenant_id, status="retrying", attempts=1, next_attempt_at=utcnow())
    assert due_deliveries(store) == [due]
    fake = FakeConnector()
    assert run_due_once(store, {"fake": fake}, box) == {due: "delivered"}
    assert delivery(store, waiting).status == "retrying"
    after = later + timedelta(seconds=1)
    assert run_due_once(store, {"fake": fake}, box, now=lambda: after) == {waiting: "delivered"}


def test_a_stalled_sending_delivery_is_recovered_and_sent_again(
    store: Store,
    tenant_id: str,
    box: SecretBox,
) -> None:
    """A worker died mid-send: the delivery is ``sending`` with no progress for too long."""
    stalled = make_delivery(
        store, tenant_id, status="sending", attempts=1, updated_at=utcnow() - timedelta(hours=1)
    )
    busy = make_delivery(store, tenant_id, status="sending", attempts=1)  # a live attempt: left alone
    fake = FakeConnector()
    results = run_due_once(store, {"fake": fake}, box, stall_timeout=60)
    assert results == {stalled: "delivered"}
    assert [call[0] for call in fake.calls] == [stalled]
    d = delivery(store, stalled)
    assert d.attempts == 2
    assert transport_events(store, tenant_id, stalled) == [
        ("sending", "queued"),
        ("queued", "sending"),
        ("sending", "delivered"),
    ]
    assert delivery(store, busy).status == "sending"
    assert recover_stalled(store, stall_timeout=60) == []


def test_the_runner_retries_transient_failures_by_itself(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    did = make_delivery(store, tenant_id)
    fake = FakeConnector([TransientDeliveryError("connection reset")])
    runner = InProcessRunner(store, {"fake": fake}, box, poll_interval=0.05, concurrency=1)
    with runner:
        # full jitter on attempt 1 waits between 0 and 2 s
        assert _wait(lambda: delivery(store, did).status == "delivered", 10)
    assert len(fake.calls) == 2
    assert delivery(store, did).attempts == 2
