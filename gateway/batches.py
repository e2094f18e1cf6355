"""Batch submission: many invoices for one recipient, recorded at once, submitted in the background.

A batch is stored whole before anyone is told it was accepted (``create_batch``: one row per
invoice, its bytes kept), then each item goes through the same pipeline as
``POST /v1/invoices`` (``pipeline.submit_to_store``) with the Idempotency-Key
``batch:<batch id>:<position>``. That key is what makes the work safe to repeat: a process
that dies half-way, a second API process resuming the same batch, or a retry after a
database outage replays the invoices already stored instead of storing them twice.

``BatchRunner`` is the executor (daemon threads in the API process): it submits the pending
items of the batches it is given, and on its first use resumes every batch left unfinished
by an earlier process. Progress is read from the items (``batch_progress``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from formats.errors import GatewayError
from gateway import pipeline
from gateway.store import Store, repository
from gateway.store.models import Batch, BatchItem, utcnow

__all__ = [
    "MAX_ITEMS",
    "BatchConflict",
    "BatchInputError",
    "BatchRunner",
    "ParsedBatch",
    "batch_progress",
    "create_batch",
    "item_key",
    "parse_batch",
    "process_item",
    "process_span",
    "summarize_report",
]

MAX_ITEMS = 10_000
# an item that keeps failing for a reason other than its content (a bug, not an outage that
# ends) is refused after this many attempts instead of keeping its batch pending for ever
MAX_ATTEMPTS = 5
MAX_PROBLEMS = 20  # per refused item, in the progress report
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
JSON_ITEM = "application/json"
log = logging.getLogger("gateway.batches")


class BatchInputError(GatewayError):
    """The batch cannot be read; ``status`` is the HTTP answer (413 over the limit, else 422)."""

    def __init__(self, message: str, location: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.location = location
        self.status = status


class BatchConflict(GatewayError):
    """The Idempotency-Key names an earlier batch with other content."""

    def __init__(self, key: str, batch_id: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was used for batch {batch_id} with other content; use a new key"
        )
        self.batch_id = batch_id


def item_key(batch_id: str, position: int) -> str:
    return f"batch:{batch_id}:{position}"


# ---------------------------------------------------------------- reading


@dataclass
class ParsedBatch:
    recipient: str | None  # named in the JSON body, if it was
    items: list[bytes]  # each invoice as canonical JSON bytes, numbers as written


def _dump(value: Any) -> str:
    """JSON text keeping numbers exactly as they came (parsed as Decimal)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + _dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _items(values: Iterable[Any], where: Callable[[int], str]) -> list[bytes]:
    items: list[bytes] = []
    for index, value in enumerate(values):
        if len(items) >= MAX_ITEMS:
            raise BatchInputError(f"a batch holds at most {MAX_ITEMS} invoices", "invoices", status=413)
        if not isinstance(value, dict):
            raise BatchInputError(f"{where(index)} is not a JSON object (a canonical invoice)", where(index))
        items.append(_dump(value).encode("utf-8"))
    if not items:
        raise BatchInputError("the batch holds no invoice", "invoices")
    return items


def parse_batch(body: bytes, content_type: str = "") -> ParsedBatch:
    """A JSON object ``{"recipient": …, "invoices": [...]}``, a bare JSON array of invoices,
    or NDJSON (one invoice a line: ``application/x-ndjson``, or a body whose lines are objects)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"the batch is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise BatchInputError("the request body is empty: send the invoices")
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in NDJSON_TYPES:
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            if media in ("", "application/json") and text.lstrip().startswith("{") and "\n" in text.strip():
                return _ndjson(text)  # several objects, one a line, sent as JSON
            raise BatchInputError(
                f"the batch is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        if isinstance(data, list):
            return ParsedBatch(None, _items(data, lambda i: f"invoices[{i}]"))
        if isinstance(data, dict) and "invoices" in data:
            extra = sorted(set(data) - {"recipient", "invoices"})
            if extra:
                raise BatchInputError(
                    f"a batch has only 'recipient' and 'invoices'; unexpected: {', '.join(extra)}", extra[0]
                )
            recipient = data.get("recipient")
            if recipient is not None and not isinstance(recipient, str):
                raise BatchInputError("'recipient' is a recipient id (rcp_…)", "recipient")
            invoices = data["invoices"]
            if not isinstance(invoices, list):
                raise BatchInputError("'invoices' must be a JSON array of invoices", "invoices")
            return ParsedBatch(recipient, _items(invoices, lambda i: f"invoices[{i}]"))
        raise BatchInputError(
            'send {"recipient": "rcp_…", "invoices": [...]}, a JSON array of invoices, or NDJSON'
        )
    return _ndjson(text)


def _ndjson(text: str) -> ParsedBatch:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    values: list[Any] = []
    for number, line in lines:
        if len(values) >= MAX_ITEMS:
            raise BatchInputError(f"a batch holds at most {MAX_ITEMS} invoices", "invoices", status=413)
        try:
            values.append(_loads(line))
        except json.JSONDecodeError as exc:
            raise BatchInputError(f"line {number} is not JSON: {exc.msg}", f"line {number}") from None
    return ParsedBatch(None, _items(values, lambda i: f"line {lines[i][0]}"))


def request_sha256(recipient_id: str, items: Sequence[bytes]) -> str:
    digest = hashlib.sha256(recipient_id.encode("utf-8"))
    for item in items:
        digest.update(b"\x00" + hashlib.sha256(item).digest())
    return digest.hexdigest()


# ---------------------------------------------------------------- recording


def create_batch(
    s: Session,
    tenant_id: str,
    recipient_id: str,
    items: Sequence[bytes],
    *,
    idempotency_key: str | None = None,
    content_type: str = JSON_ITEM,
) -> tuple[Batch, bool]:
    """``(batch, replay)``: the batch and its items stored in the caller's transaction, or the
    earlier batch with this key (``BatchConflict`` if its content differs)."""
    fingerprint = request_sha256(recipient_id, items)
    if idempotency_key is not None:
        previous = _by_key(s, tenant_id, idempotency_key)
        if previous is not None:
            return _replay(previous, fingerprint, idempotency_key), True
    batch = Batch(
        tenant_id=tenant_id,
        recipient_id=recipient_id,
        idempotency_key=idempotency_key,
        request_sha256=fingerprint,
        total=len(items),
    )
    try:
        with s.begin_nested():
            s.add(batch)
            s.flush()
            now = utcnow()
            s.execute(
                insert(BatchItem),
                [
                    {
                        "batch_id": batch.id,
                        "position": position,
                        "tenant_id": tenant_id,
                        "content_type": content_type,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "updated_at": now,
                    }
                    for position, body in enumerate(items)
                ],
            )
    except IntegrityError:
        if idempotency_key is None:
            raise
        winner = _by_key(s, tenant_id, idempotency_key)
        if winner is None:
            raise
        return _replay(winner, fingerprint, idempotency_key), True
    return batch, False


def _by_key(s: Session, tenant_id: str, key: str) -> Batch | None:
    found: Batch | None = s.scalar(
        select(Batch).where(Batch.tenant_id == tenant_id, Batch.idempotency_key == key)
    )
    return found


def _replay(previous: Batch, fingerprint: str, key: str) -> Batch:
    if previous.request_sha256 != fingerprint:
        raise BatchConflict(key, previous.id)
    return previous


def get_batch(s: Session, tenant_id: str, batch_id: str) -> Batch | None:
    return repository.get_owned(s, Batch, tenant_id, batch_id)


def pending_positions(s: Session, batch_id: str) -> list[int]:
    return list(
        s.scalars(
            select(BatchItem.position)
            .where(BatchItem.batch_id == batch_id, BatchItem.status == "pending")
            .order_by(BatchItem.position)
        )
    )


def unfinished_batches(s: Session) -> list[tuple[str, str]]:
    """``(tenant id, batch id)`` of every batch with items still pending, oldest first."""
    rows = s.execute(
        select(Batch.tenant_id, Batch.id)
        .where(Batch.id.in_(select(BatchItem.batch_id).where(BatchItem.status == "pending")))
        .order_by(Batch.created_at)
    )
    return [(tenant_id, batch_id) for tenant_id, batch_id in rows]


def batch_progress(s: Session, tenant_id: str, batch_id: str) -> dict[str, Any] | None:
    """What ``GET /v1/batches/{id}`` answers; None when the tenant has no such batch."""
    batch = get_batch(s, tenant_id, batch_id)
    if batch is None:
        return None
    counts = dict(
        s.execute(
            select(BatchItem.status, func.count())
            .where(BatchItem.batch_id == batch.id)
            .group_by(BatchItem.status)
        ).all()
    )
    invoices = [
        {"index": position, "invoice": invoice_id}
        for position, invoice_id in s.execute(
            select(BatchItem.position, BatchItem.invoice_id)
            .where(BatchItem.batch_id == batch.id, BatchItem.status == "accepted")
            .order_by(BatchItem.position)
        )
    ]
    refusals = [
        {"index": position, "problems": problems or []}
        for position, problems in s.execute(
            select(BatchItem.position, BatchItem.problems)
            .where(BatchItem.batch_id == batch.id, BatchItem.status == "refused")
            .order_by(BatchItem.position)
        )
    ]
    pending = int(counts.get("pending", 0))
    return {
        "id": batch.id,
        "recipient": batch.recipient_id,
        "status": "running" if pending else "done",
        "total": batch.total,
        "accepted": int(counts.get("accepted", 0)),
        "refused": int(counts.get("refused", 0)),
        "pending": pending,
        "created_at": batch.created_at.isoformat(),
        "invoices": invoices,
        "refusals": refusals,
        "links": {"self": f"/v1/batches/{batch.id}"},
    }


# ---------------------------------------------------------------- submitting


def summarize_report(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The blocking problems of a validation report, short: ``{location, rule, message}``."""
    summary: list[dict[str, Any]] = []
    report = report or {}
    for problem in report.get("problems", []):
        summary.append(
            {
                "location": problem.get("path"),
                "rule": problem.get("rule") or problem.get("term"),
                "message": str(problem.get("message", "")),
            }
        )
    for document in report.get("documents", []):
        for layer in document.get("layers", []):
            for item in layer.get("items", []):
                if item.get("level") in ("fatal", "error"):
                    summary.append(
                        {
                            "location": item.get("location"),
                            "rule": item.get("id"),
                            "message": str(item.get("message", ""))[:500],
                        }
                    )
    if not summary:
        summary.append({"location": None, "rule": None, "message": "the invoice is not valid"})
    return summary[:MAX_PROBLEMS]


def _problem(message: str) -> list[dict[str, Any]]:
    return [{"location": None, "rule": None, "message": message}]


def _mark(
    s: Session,
    batch_id: str,
    position: int,
    status: str,
    invoice_id: str | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> None:
    """The item's outcome, in the caller's session; an item already decided is left alone."""
    s.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch_id, BatchItem.position == position)
        .where(BatchItem.status == "pending")
        .values(status=status, invoice_id=invoice_id, problems=problems, updated_at=utcnow())
    )


def _record(
    store: Store,
    batch_id: str,
    position: int,
    status: str,
    invoice_id: str | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> None:
    with store.session() as s:
        _mark(s, batch_id, position, status, invoice_id, problems)


def _outcome(
    outcome: pipeline.SubmitOutcome | GatewayError,
) -> tuple[str, str | None, list[dict[str, Any]] | None]:
    """``(status, invoice id, problems)`` of an item from what the pipeline answered."""
    if isinstance(outcome, GatewayError):
        return "refused", None, _problem(str(outcome))
    if outcome.accepted and outcome.invoice is not None:
        return "accepted", outcome.invoice.id, None
    return "refused", None, summarize_report(outcome.report)


def process_item(
    store: Store, ctx: pipeline.PipelineContext, tenant_id: str, batch_id: str, position: int
) -> str:
    """Submit one pending item through the pipeline and record its outcome; returns the item's
    status (``pending`` again when it could not be decided: it will be tried again).

    The attempt is counted (and committed) *before* the pipeline runs, so an item whose
    processing kills its process each time (a parser or Saxon crash, the OOM killer) is
    refused after ``MAX_ATTEMPTS`` instead of taking down every worker that picks it up.
    """
    with store.session() as s:
        row = s.execute(
            select(
                BatchItem.body,
                BatchItem.content_type,
                BatchItem.status,
                BatchItem.attempts,
                Batch.recipient_id,
            )
            .join(Batch, Batch.id == BatchItem.batch_id)
            .where(
                BatchItem.batch_id == batch_id,
                BatchItem.position == position,
                BatchItem.tenant_id == tenant_id,
            )
        ).one_or_none()
    if row is None:
        return "missing"
    body, content_type, status, attempts, recipient_id = row
    if status != "pending":
        return str(status)
    if attempts >= MAX_ATTEMPTS:
        message = (
            f"the invoice could not be processed in {attempts} attempts (internal error or the "
            "process stopped each time; the server log has the details)"
        )
        _record(store, batch_id, position, "refused", problems=_problem(message))
        return "refused"
    with store.session() as s:
        s.execute(
            update(BatchItem)
            .where(BatchItem.batch_id == batch_id, BatchItem.position == position)
            .where(BatchItem.status == "pending")
            .values(attempts=BatchItem.attempts + 1, updated_at=utcnow())
        )
    outcome: pipeline.SubmitOutcome | GatewayError
    try:
        outcome = pipeline.submit_to_store(
            store,
            tenant_id,
            body,
            content_type,
            recipient_id=recipient_id,
            inline_recipient=None,
            idempotency_key=item_key(batch_id, position),
            ctx=ctx,
        )
    except (pipeline.RecipientNotFound, pipeline.InputError, pipeline.IdempotencyConflict) as exc:
        outcome = exc
    except Exception:
        log.exception(
            "batch %s item %s could not be submitted (attempt %s)", batch_id, position, attempts + 1
        )
        return "pending"
    decided, invoice_id, problems = _outcome(outcome)
    _record(store, batch_id, position, decided, invoice_id, problems)
    return decided


def process_span(
    store: Store, ctx: pipeline.PipelineContext, tenant_id: str, batch_id: str, start: int, stop: int
) -> dict[str, int]:
    """Submit the pending items ``start``..``stop - 1`` of a batch; counts by outcome.

    First run of a span (no item tried yet): the attempt of every pending item is counted in
    one statement, the invoices are checked one after the other, and stored with their
    items' outcomes in one transaction (``pipeline.submit_many_to_store``): a few statements
    and one commit per invoice fewer than one at a time, which is most of what a batch costs
    besides validation. A span tried before (its worker died, or the transaction failed) goes
    item by item (``process_item``), so one invoice that kills its worker every time is
    refused on its own after ``MAX_ATTEMPTS``, not its neighbours.
    """
    with store.session() as s:
        rows = s.execute(
            select(BatchItem.position, BatchItem.attempts, Batch.recipient_id)
            .join(Batch, Batch.id == BatchItem.batch_id)
            .where(
                BatchItem.batch_id == batch_id,
                BatchItem.tenant_id == tenant_id,
                BatchItem.status == "pending",
                BatchItem.position >= start,
                BatchItem.position < stop,
            )
            .order_by(BatchItem.position)
        ).all()
    counts: dict[str, int] = {}
    if not rows:
        return counts
    if any(attempts for _, attempts, _ in rows):
        for position, _, _ in rows:
            status = process_item(store, ctx, tenant_id, batch_id, position)
            counts[status] = counts.get(status, 0) + 1
        return counts
    recipient_id = rows[0][2]
    with store.session() as s:
        claimed = s.execute(
            update(BatchItem)
            .where(
                BatchItem.batch_id == batch_id,
                BatchItem.status == "pending",
                BatchItem.attempts == 0,
                BatchItem.position >= start,
                BatchItem.position < stop,
            )
            .values(attempts=BatchItem.attempts + 1, updated_at=utcnow())
            .returning(BatchItem.position, BatchItem.body, BatchItem.content_type)
        ).all()
    claimed = sorted(claimed, key=lambda row: row[0])
    submissions = [
        pipeline.Submission(bytes(body), content_type, item_key(batch_id, position))
        for position, body, content_type in claimed
    ]

    def record(s: Session, index: int, outcome: pipeline.SubmitOutcome | GatewayError) -> None:
        status, invoice_id, problems = _outcome(outcome)
        _mark(s, batch_id, claimed[index][0], status, invoice_id, problems)
        counts[status] = counts.get(status, 0) + 1

    try:
        pipeline.submit_many_to_store(
            store, tenant_id, submissions, recipient_id=recipient_id, ctx=ctx, record=record
        )
    except pipeline.RecipientNotFound as exc:
        for position, _, _ in claimed:
            _record(store, batch_id, position, "refused", problems=_problem(str(exc)))
        return {"refused": len(claimed)}
    return counts


class BatchRunner:
    """Daemon threads submitting the pending items of the batches given to ``schedule``.

    ``context`` is called once, in a worker thread, for the pipeline context (the API's
    validator pool); ``on_accepted`` after each accepted item (wakes the delivery runner).
    Threads are daemons: a process that exits mid-batch leaves items pending, and the next
    runner (``resume``) or a progress read picks them up.
    """

    def __init__(
        self,
        store: Store,
        context: Callable[[], pipeline.PipelineContext],
        *,
        workers: int = 1,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._context_fn = context
        self._context: pipeline.PipelineContext | None = None
        self._on_accepted = on_accepted
        self._queue: queue.Queue[tuple[str, str, int] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._remaining: dict[str, int] = {}  # batch id → items queued and not yet done
        self._threads = [
            threading.Thread(target=self._work, name=f"batch-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def scheduled(self, batch_id: str) -> bool:
        with self._lock:
            return batch_id in self._remaining

    def schedule(self, tenant_id: str, batch_id: str) -> int:
        """Queue the batch's pending items (once per process at a time); how many were queued."""
        with self._lock:
            if batch_id in self._remaining:
                return 0
            self._remaining[batch_id] = 0
        with self.store.session() as s:
            positions = pending_positions(s, batch_id)
        with self._lock:
            self._remaining[batch_id] = len(positions)
            if not positions:
                del self._remaining[batch_id]
                self._idle.notify_all()
        for position in positions:
            self._queue.put((tenant_id, batch_id, position))
        return len(positions)

    def resume(self) -> int:
        """Schedule every batch an earlier process left unfinished; how many batches."""
        with self.store.session() as s:
            found = unfinished_batches(s)
        for tenant_id, batch_id in found:
            self.schedule(tenant_id, batch_id)
        return len(found)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._remaining, timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the items being submitted, leave the queued ones pending (the next process
        resumes them), and join the threads (up to ``timeout`` each)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:  # stop()
                return
            tenant_id, batch_id, position = task
            try:
                if self._context is None:
                    self._context = self._context_fn()
                status = process_item(self.store, self._context, tenant_id, batch_id, position)
                if status == "accepted" and self._on_accepted is not None:
                    self._on_accepted()
            except Exception:  # the database is down, the context cannot be built: stays pending
                log.exception("batch %s item %s left pending", batch_id, position)
            finally:
                with self._lock:
                    left = self._remaining.get(batch_id, 1) - 1
                    if left <= 0:
                        self._remaining.pop(batch_id, None)
                        self._idle.notify_all()
                    else:
                        self._remaining[batch_id] = left
