"""The service from the command line: serve, worker, tenant, recipient, submit, status, demo.

With no configuration everything runs on the embedded default: SQLite in WAL mode under
``GATEWAY_HOME`` (default ``./.gateway``), migrated on start, and a master key created once
in ``GATEWAY_HOME/master.key`` (0600) when ``GATEWAY_MASTER_KEY`` is not set. With
``GATEWAY_DATABASE_URL`` pointing at PostgreSQL, ``serve`` only answers the API and
``gateway worker`` processes (any number, on any machine) run the deliveries.

``submit`` and ``status`` work on the local store directly (the same pipeline as
``POST /v1/invoices``; ``submit --batch FILE|DIR`` submits many with a progress bar); the
tenant is ``--tenant``, else ``GATEWAY_TENANT``, else the only
one there is. Exit codes: 0 done, 1 the invoice was refused (its problems are listed) or a
delivery failed, 2 usage or unreadable input.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gateway.secretbox import SecretBox
    from gateway.store import Store
    from gateway.store.models import Invoice, Tenant

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2
MASTER_KEY_FILE = "master.key"
DEMO_TENANT = "demo"
DEMO_RECIPIENT = "demo-buyer"
DEMO_FORMATS = [{"kind": "ubl", "profile": "en16931"}, {"kind": "facturx", "profile": "en16931"}]


# ---------------------------------------------------------------- shared set-up


def open_store() -> Store:
    """The configured store, migrated to the newest schema."""
    from gateway.store import Store
    from gateway.store.migrate import migrate

    store = Store.open()
    migrate(store)
    return store


def master_box(store: Store) -> SecretBox:
    """``GATEWAY_MASTER_KEY``; on the embedded default, a key kept in ``GATEWAY_HOME``.

    A PostgreSQL deployment is shared by several machines: they must be given the same key
    explicitly, so no file is created for it.
    """
    from gateway.secretbox import MASTER_KEY_ENV, SecretBox, generate_master_key
    from gateway.store import gateway_home

    if os.environ.get(MASTER_KEY_ENV, "").strip() or not store.is_sqlite:
        return SecretBox.from_env()
    path = gateway_home() / MASTER_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_master_key() + "\n")
    os.environ[MASTER_KEY_ENV] = path.read_text().strip()  # the key vault reads it from here too
    return SecretBox.from_env()


def _tenant(s: Session, name: str | None, err: Console) -> Tenant:
    from sqlalchemy import select

    from gateway.store import repository
    from gateway.store.models import Tenant

    name = name or os.environ.get("GATEWAY_TENANT") or None
    if name is not None:
        tenant = repository.get_tenant_by_name(s, name)
        if tenant is None:
            err.print(
                f"[red]error:[/] no tenant named {escape(name)!r}; create it: gateway tenant create NAME"
            )
            raise typer.Exit(EXIT_INPUT)
        return tenant
    tenants = list(s.scalars(select(Tenant).limit(2)))
    if len(tenants) != 1:
        err.print("[red]error:[/] say which tenant: --tenant NAME (or GATEWAY_TENANT)")
        raise typer.Exit(EXIT_INPUT)
    return tenants[0]


def _context(box: SecretBox) -> Any:
    from gateway.keystore import KeyVault
    from gateway.pipeline import PipelineContext
    from schemas.engine import Engine

    return PipelineContext(engine=Engine(), box=box, vault=KeyVault(box=box))


def _connectors() -> dict[str, Any]:
    from connectors import default_connectors

    return dict(default_connectors())


def _deliver_now(store: Store, box: SecretBox, *, seconds: float = 30.0) -> None:
    """SQLite: run what is due in this process until nothing is (bounded); PostgreSQL: workers do."""
    from gateway.runner import due_deliveries, run_due_once

    if not store.is_sqlite:
        return
    deadline = time.monotonic() + seconds
    while due_deliveries(store) and time.monotonic() < deadline:
        run_due_once(store, _connectors(), box)


def _status_table(invoices: list[Invoice]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("invoice", "number", "buyer", "due", "status", "deliveries"):
        table.add_column(column, overflow="fold")
    for invoice in invoices:
        deliveries = ", ".join(f"{d.channel_name}: {d.status}" for d in invoice.deliveries)
        due = f"{invoice.amount_due or ''} {invoice.currency or ''}".strip()
        style = {"delivered": "green", "failed": "red", "invalid": "red"}.get(invoice.status, "yellow")
        table.add_row(
            invoice.id,
            escape(invoice.number),
            escape(invoice.buyer_name or ""),
            due,
            f"[{style}]{invoice.status}[/]",
            escape(deliveries),
        )
    return table


def _print_refusal(err: Console, name: str, report: dict[str, Any] | None) -> None:
    err.print(f"[red]✗[/] {escape(name)} was refused; nothing was stored:")
    report = report or {}
    for problem in report.get("problems", []):
        err.print(
            f"  [red]error[/] {escape(str(problem.get('path', '')))}: {escape(str(problem.get('message')))}"
        )
    for document in report.get("documents", []):
        for layer in document.get("layers", []):
            for item in layer.get("items", []):
                if item.get("level") in ("fatal", "error"):
                    err.print(
                        f"  [red]{item.get('level')}[/] {escape(str(item.get('id') or ''))} "
                        f"{escape(str(item.get('message', ''))[:200])}"
                    )


def _batch_items(path: Path, err: Console) -> tuple[list[tuple[str, bytes, str]], str | None]:
    """``([(name, body, content type)], recipient named in the file)`` of ``--batch``."""
    from gateway.batches import BatchInputError, parse_batch

    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                err.print(f"[red]error:[/] {escape(str(path))} holds no invoice file")
                raise typer.Exit(EXIT_INPUT)
            return [(p.name, p.read_bytes(), "") for p in files], None
        data = path.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {escape(str(path))}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INPUT) from None
    kind = "application/x-ndjson" if path.suffix.lower() in (".ndjson", ".jsonl") else ""
    try:
        parsed = parse_batch(data, kind)
    except BatchInputError as exc:
        err.print(f"[red]error:[/] {escape(str(path))}: {escape(str(exc))}")
        raise typer.Exit(EXIT_INPUT) from None
    items = [(f"{path.name}[{i}]", body, "application/json") for i, body in enumerate(parsed.items)]
    return items, parsed.recipient


def _submit_batch(
    out: Console, err: Console, path: Path, recipient: str, tenant: str | None, wait: float
) -> None:
    """``submit --batch``: every item through the local pipeline with a progress bar, then a summary.

    Each item's Idempotency-Key is derived from its bytes and the recipient, so running the
    same batch again after an interruption replays what was stored instead of duplicating it.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.batches import summarize_report
    from gateway.pipeline import IdempotencyConflict, InputError, RecipientNotFound, submit_to_store
    from gateway.store import repository

    items, named = _batch_items(path, err)
    store = open_store()
    box = master_box(store)
    context = _context(box)
    with store.session() as s:
        owner = _tenant(s, tenant, err)
        tenant_id = owner.id
        recipient_id = recipient
        if not recipient.startswith("rcp_"):
            found = [r for r in repository.list_recipients(s, tenant_id) if r.name == recipient]
            recipient_id = found[0].id if found else recipient
        if repository.get_recipient(s, tenant_id, recipient_id) is None:
            err.print(f"[red]error:[/] no recipient {escape(recipient)!r} for this tenant")
            raise typer.Exit(EXIT_INPUT)
    if named is not None and named not in (recipient, recipient_id):
        err.print(
            f"[red]error:[/] {escape(str(path))} names recipient {escape(named)!r}, not {escape(recipient)!r}"
        )
        raise typer.Exit(EXIT_INPUT)
    accepted: list[tuple[str, str]] = []
    refused: list[tuple[str, list[dict[str, Any]]]] = []
    columns = (TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("submit", total=len(items))
        for name, body, content_type in items:
            key = "cli-batch:" + hashlib.sha256(recipient_id.encode() + b"\x00" + body).hexdigest()
            try:
                outcome = submit_to_store(
                    store,
                    tenant_id,
                    body,
                    content_type,
                    recipient_id=recipient_id,
                    inline_recipient=None,
                    idempotency_key=key,
                    ctx=context,
                )
            except (InputError, IdempotencyConflict, RecipientNotFound) as exc:
                refused.append((name, [{"location": None, "message": str(exc)}]))
            else:
                if outcome.accepted and outcome.invoice is not None:
                    accepted.append((name, outcome.invoice.id))
                else:
                    refused.append((name, summarize_report(outcome.report)))
            progress.advance(task)
    _deliver_now(store, box, seconds=wait)
    with store.session() as s:
        statuses = {}
        for _, invoice_id in accepted:
            invoice = repository.get_invoice(s, tenant_id, invoice_id)
            statuses[invoice_id] = invoice.status if invoice is not None else "missing"
    delivered = sum(status == "delivered" for status in statuses.values())
    failed = sum(status == "failed" for status in statuses.values())
    out.print(
        f"{len(items)} invoices: {len(accepted)} accepted, {delivered} delivered, "
        f"{len(refused)} refused" + (f", {failed} failed" if failed else "")
    )
    for name, problems in refused:
        out.print(f"[red]✗[/] {escape(name)} refused:")
        for problem in problems[:5]:
            where = f"{problem.get('location')}: " if problem.get("location") else ""
            rule = f" [{problem['rule']}]" if problem.get("rule") else ""
            out.print(f"  {escape(where + str(problem.get('message', '')) + rule)}")
    raise typer.Exit(EXIT_PROBLEMS if refused or failed else EXIT_OK)


# ---------------------------------------------------------------- commands


def register(app: typer.Typer, out: Console, err: Console) -> None:
    tenant_app = typer.Typer(help="Tenants and their API keys.", no_args_is_help=True)
    recipient_app = typer.Typer(help="The recipient registry.", no_args_is_help=True)
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(recipient_app, name="recipient")

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    ) -> None:
        """Run the API (OpenAPI at /docs) and, on the embedded SQLite store, the deliveries too."""
        import uvicorn

        from gateway.api import create_app
        from gateway.logging import configure
        from gateway.metrics import bind_store

        configure(json=True)
        store = open_store()
        box = master_box(store)
        bind_store(store)
        if not store.is_sqlite:
            from gateway.jobs import use_database

            use_database(store.url)
        where = "SQLite at " + store.url.removeprefix("sqlite:///") if store.is_sqlite else "PostgreSQL"
        who = "in this process" if store.is_sqlite else "by gateway worker processes"
        err.print(f"gateway: {where}; API on http://{host}:{port} (deliveries {who})")
        uvicorn.run(create_app(store=store, box=box), host=host, port=port, log_config=None)

    @app.command()
    def worker(
        concurrency: Annotated[
            int, typer.Option(min=1, max=64, help="Jobs run at once in each process (threads).")
        ] = 2,
        processes: Annotated[
            int,
            typer.Option(
                min=1,
                max=256,
                help="Worker processes on this machine (CPU-bound work scales with processes); "
                "a process that dies is restarted.",
            ),
        ] = 1,
        metrics_port: Annotated[
            int | None,
            typer.Option(
                help="Expose each process's Prometheus series on 127.0.0.1:PORT (PORT+1, … for the next)."
            ),
        ] = None,
    ) -> None:
        """Run jobs (batch invoices, deliveries) from PostgreSQL (GATEWAY_DATABASE_URL) until interrupted."""
        from gateway.jobs import JobsUnavailable, run_worker
        from gateway.logging import configure

        configure(json=True)
        store = open_store()
        if store.is_sqlite:
            err.print(
                "[red]error:[/] `gateway worker` runs jobs on PostgreSQL: set GATEWAY_DATABASE_URL "
                "(with SQLite, `gateway serve` delivers in-process)"
            )
            raise typer.Exit(EXIT_INPUT)
        if processes > 1:
            from gateway.workers import supervise

            master_box(store)  # a missing master key fails here, once, not in every child
            store.dispose()
            raise typer.Exit(supervise(processes, concurrency, metrics_port=metrics_port))
        try:
            run_worker(concurrency, store=store, box=master_box(store), metrics_port=metrics_port)
        except JobsUnavailable as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(EXIT_INPUT) from None

    @tenant_app.command("create")
    def tenant_create(name: Annotated[str, typer.Argument(help="The tenant's unique name.")]) -> None:
        """Create a tenant and print its first API key (shown once: keep it)."""
        from gateway.store import repository

        store = open_store()
        with store.session() as s:
            if repository.get_tenant_by_name(s, name) is not None:
                err.print(f"[red]error:[/] a tenant named {escape(name)!r} exists already")
                raise typer.Exit(EXIT_INPUT)
            tenant, key = repository.create_tenant(s, name)
        err.print(f"tenant {escape(name)} created ({tenant.id}); its API key, shown once:")
        out.print(key, markup=False, highlight=False)

    @recipient_app.command("create")
    def recipient_create(
        file: Annotated[Path, typer.Argument(help="The recipient as JSON (the POST /v1/recipients body).")],
        tenant: Annotated[str | None, typer.Option(help="Tenant name.")] = None,
    ) -> None:
        """Add a recipient (buyer, formats, channels) from a JSON file; prints its id."""
        from pydantic import ValidationError

        from gateway.recipients import RecipientIn
        from gateway.store import repository

        try:
            data = RecipientIn.model_validate_json(file.read_bytes())
        except OSError as exc:
            err.print(f"[red]error:[/] cannot read {escape(str(file))}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_INPUT) from None
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"])
                err.print(f"[red]error:[/] {escape(where)}: {escape(problem['msg'])}")
            raise typer.Exit(EXIT_INPUT) from None
        store = open_store()
        box = master_box(store)
        with store.session() as s:
            owner = _tenant(s, tenant, err)
            try:
                recipient = repository.create_recipient(s, owner.id, data, box)
            except repository.Conflict as exc:
                err.print(f"[red]error:[/] {escape(str(exc))}")
                raise typer.Exit(EXIT_INPUT) from None
        out.print(recipient.id, markup=False, highlight=False)

    @app.command()
    def submit(
        file: Annotated[
            Path | None, typer.Argument(help="Canonical JSON invoice, UBL/CII XML or Factur-X PDF.")
        ] = None,
        recipient: Annotated[str, typer.Option(help="Recipient id (rcp_…) or name.")] = "",
        tenant: Annotated[str | None, typer.Option(help="Tenant name.")] = None,
        idempotency_key: Annotated[str | None, typer.Option(help="Submit safely more than once.")] = None,
        wait: Annotated[
            float, typer.Option(help="SQLite: deliver in this process for up to this many seconds.")
        ] = 30.0,
        batch: Annotated[
            Path | None,
            typer.Option(
                help="Many invoices: a JSON array / NDJSON file, or a folder of invoice files "
                "(each submitted once: a rerun replays what was stored)."
            ),
        ] = None,
    ) -> None:
        """Submit an invoice (the same pipeline as POST /v1/invoices) and show its status."""
        from gateway.pipeline import IdempotencyConflict, InputError, RecipientNotFound, submit
        from gateway.store import repository

        if not recipient:
            err.print("[red]error:[/] say who receives the invoice: --recipient ID|NAME")
            raise typer.Exit(EXIT_INPUT)
        if (file is None) == (batch is None):
            err.print("[red]error:[/] give one invoice FILE or --batch FILE|DIR")
            raise typer.Exit(EXIT_INPUT)
        if batch is not None:
            _submit_batch(out, err, batch, recipient, tenant, wait)
        assert file is not None
        try:
            body = file.read_bytes()
        except OSError as exc:
            err.print(f"[red]error:[/] cannot read {escape(str(file))}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_INPUT) from None
        store = open_store()
        box = master_box(store)
        context = _context(box)
        with store.session() as s:
            owner = _tenant(s, tenant, err)
            recipient_id = recipient
            if not recipient.startswith("rcp_"):
                found = [r for r in repository.list_recipients(s, owner.id) if r.name == recipient]
                recipient_id = found[0].id if found else recipient
            try:
                outcome = submit(
                    s,
                    owner.id,
                    body,
                    "",
                    recipient_id=recipient_id,
                    inline_recipient=None,
                    idempotency_key=idempotency_key,
                    ctx=context,
                )
            except RecipientNotFound:
                err.print(f"[red]error:[/] no recipient {escape(recipient)!r} for this tenant")
                raise typer.Exit(EXIT_INPUT) from None
            except (InputError, IdempotencyConflict) as exc:
                err.print(f"[red]error:[/] {escape(str(exc))}")
                raise typer.Exit(EXIT_INPUT) from None
            if not outcome.accepted or outcome.invoice is None:
                _print_refusal(err, str(file), outcome.report)
                raise typer.Exit(EXIT_PROBLEMS)
            invoice_id, tenant_id = outcome.invoice.id, owner.id
        _deliver_now(store, box, seconds=wait)
        with store.session() as s:
            invoice = repository.get_invoice(s, tenant_id, invoice_id)
            assert invoice is not None
            out.print(_status_table([invoice]))
            failed = invoice.status == "failed"
        raise typer.Exit(EXIT_PROBLEMS if failed else EXIT_OK)

    @app.command()
    def status(
        invoice_id: Annotated[str, typer.Argument(help="The invoice id (inv_…).")],
        tenant: Annotated[str | None, typer.Option(help="Tenant name.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the timeline as JSON.")] = False,
    ) -> None:
        """An invoice's status on both axes, its deliveries and every event."""
        from gateway.store import repository

        store = open_store()
        with store.session() as s:
            owner = _tenant(s, tenant, err)
            invoice = repository.get_invoice(s, owner.id, invoice_id)
            if invoice is None:
                err.print(f"[red]error:[/] no invoice {escape(invoice_id)!r} for this tenant")
                raise typer.Exit(EXIT_INPUT)
            events = repository.list_events(s, owner.id, invoice.id)
            if as_json:
                payload = {
                    "id": invoice.id,
                    "status": invoice.status,
                    "business_status": invoice.business_status,
                    "deliveries": [
                        {"id": d.id, "channel": d.channel_name, "status": d.status, "attempts": d.attempts}
                        for d in invoice.deliveries
                    ],
                    "events": [
                        {
                            "at": e.created_at.isoformat(),
                            "delivery": e.delivery_id,
                            "axis": e.axis,
                            "status": e.status,
                            "source": e.source,
                            "reason": e.reason,
                        }
                        for e in events
                    ],
                }
                sys.stdout.write(json.dumps(payload, indent=2) + "\n")
                return
            out.print(_status_table([invoice]))
            timeline = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            for column in ("at", "delivery", "status", "source", "reason"):
                timeline.add_column(column, overflow="fold")
            for e in events:
                timeline.add_row(
                    f"{e.created_at:%Y-%m-%d %H:%M:%S}",
                    e.delivery_id or "",
                    f"{e.axis}: {e.status}",
                    escape(e.source),
                    escape(e.reason or ""),
                )
            out.print(timeline)

    @app.command()
    def demo(
        outbox: Annotated[
            Path | None, typer.Option(help="Folder the demo buyer receives in (default GATEWAY_HOME/outbox).")
        ] = None,
    ) -> None:
        """Submit every example invoice to a folder channel on the embedded store and show the statuses."""
        from gateway.pipeline import submit
        from gateway.recipients import RecipientIn
        from gateway.store import gateway_home, repository

        examples = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))
        if not examples:
            err.print("[red]error:[/] the examples/ folder is not there (run from a source checkout)")
            raise typer.Exit(EXIT_INPUT)
        store = open_store()
        box = master_box(store)
        folder = (outbox or gateway_home() / "outbox").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        context = _context(box)
        ids: list[str] = []
        with store.session() as s:
            owner = repository.get_tenant_by_name(s, DEMO_TENANT)
            if owner is None:
                owner, key = repository.create_tenant(s, DEMO_TENANT)
                err.print(f"tenant {DEMO_TENANT!r} created; its API key (shown once): {key}")
            buyer = next(
                (r for r in repository.list_recipients(s, owner.id) if r.name == DEMO_RECIPIENT), None
            )
            if buyer is None:
                buyer = repository.create_recipient(
                    s,
                    owner.id,
                    RecipientIn.model_validate(
                        {
                            "name": DEMO_RECIPIENT,
                            "buyer": {"name": "Demo buyer"},
                            "formats": DEMO_FORMATS,
                            "channels": [
                                {"type": "folder", "name": "outbox", "settings": {"path": str(folder)}}
                            ],
                        }
                    ),
                    box,
                )
            tenant_id, recipient_id = owner.id, buyer.id
        refused = 0
        for path in examples:
            with store.session() as s:
                outcome = submit(
                    s,
                    tenant_id,
                    path.read_bytes(),
                    "application/json",
                    recipient_id=recipient_id,
                    inline_recipient=None,
                    # a second demo run replays the first instead of storing the examples again
                    idempotency_key=f"demo:{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}",
                    ctx=context,
                )
                if outcome.accepted and outcome.invoice is not None:
                    ids.append(outcome.invoice.id)
                else:
                    refused += 1
                    _print_refusal(err, path.name, outcome.report)
        _deliver_now(store, box)
        with store.session() as s:
            invoices = [i for i in (repository.get_invoice(s, tenant_id, x) for x in ids) if i is not None]
            out.print(_status_table(invoices))
            delivered = sum(1 for i in invoices if i.status == "delivered")
        out.print(f"{delivered} of {len(examples)} example invoices delivered to {folder}")
        raise typer.Exit(EXIT_OK if delivered == len(examples) and not refused else EXIT_PROBLEMS)
