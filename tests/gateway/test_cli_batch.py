"""``gateway submit --batch FILE|DIR``: many invoices through the local pipeline, a progress bar,
a summary, and an exit code saying whether every invoice was accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gateway.test_cli_service import EXAMPLES, REPO, folder_recipient, gateway, no_traceback

EXAMPLE = REPO / "examples" / "de-domestic-b2b.json"


def setup_home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    assert gateway(home, "tenant", "create", "acme").returncode == 0
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    created = gateway(home, "recipient", "create", folder_recipient(tmp_path / "r.json", outbox))
    assert created.returncode == 0, created.stderr
    return home, outbox


def invoice(number: str, *, valid: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    data["number"] = number
    if not valid:
        data["totals"] = {"amount_due": "1.00"}  # disagrees with the lines
    return data


def test_a_folder_of_invoices_is_delivered_and_a_rerun_duplicates_nothing(tmp_path: Path) -> None:
    assert EXAMPLES, "the examples folder is empty"
    home, outbox = setup_home(tmp_path)
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(5):
        (folder / f"inv-{i}.json").write_text(json.dumps(invoice(f"F-{i}")))
    done = gateway(home, "submit", "--batch", folder, "--recipient", "acme-buyer")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 invoices: 5 accepted, 5 delivered, 0 refused" in done.stdout
    assert "5/5" in done.stderr  # the progress bar
    assert len(list(outbox.iterdir())) == 5
    again = gateway(home, "submit", "--batch", folder, "--recipient", "acme-buyer")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(list(outbox.iterdir())) == 5  # replayed, not sent twice


def test_one_refused_invoice_is_named_and_exits_1(tmp_path: Path) -> None:
    home, outbox = setup_home(tmp_path)
    batch = tmp_path / "run.ndjson"
    lines = [json.dumps(invoice(f"N-{i}", valid=i != 2)) for i in range(4)]
    batch.write_text("\n".join(lines) + "\n")
    done = gateway(home, "submit", "--batch", batch, "--recipient", "acme-buyer")
    no_traceback(done)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 invoices: 3 accepted, 3 delivered, 1 refused" in done.stdout
    assert "run.ndjson[2] refused" in done.stdout
    assert len(list(outbox.iterdir())) == 3


def test_unreadable_batches_exit_2(tmp_path: Path) -> None:
    home, _ = setup_home(tmp_path)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    done = gateway(home, "submit", "--batch", empty, "--recipient", "acme-buyer")
    no_traceback(done)
    assert done.returncode == 2
    assert "no invoice" in done.stderr
    missing = gateway(home, "submit", "--batch", tmp_path / "nope.json", "--recipient", "acme-buyer")
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    one = tmp_path / "one.json"
    one.write_text(json.dumps([invoice("X-1")]))
    nobody = gateway(home, "submit", "--batch", one, "--recipient", "nobody")
    assert nobody.returncode == 2
    assert "no recipient 'nobody'" in nobody.stderr
