"""The ``gateway`` command line, run as a user runs it: a subprocess, exit codes, output."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.cli_env import cli_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/de-domestic-b2b.json"
EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2

INVOICE: dict[str, Any] = {
    "number": "CLI-1",
    "issue_date": "2026-01-15",
    "type_code": "380",
    "currency_code": "EUR",
    "due_date": "2026-02-14",
    "seller": {"name": "Seller GmbH", "vat_identifier": "DE123456789", "address": {"country_code": "DE"}},
    "buyer": {"name": "Buyer AG", "address": {"country_code": "DE"}},
    "lines": [
        {
            "id": "1",
            "quantity": "1",
            "unit_code": "C62",
            "price": {"net_amount": "100.00"},
            "vat": {"category_code": "S", "rate": "19"},
            "item": {"name": "Widget"},
        }
    ],
}


def gateway(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        cwd=REPO,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env=cli_env(),
        check=False,
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr


def write(tmp_path: Path, data: dict[str, Any], name: str = "invoice.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def invoice() -> dict[str, Any]:
    return copy.deepcopy(INVOICE)


# ---------------------------------------------------------------- basics


def test_help():
    done = gateway("--help")
    assert done.returncode == EXIT_OK
    for command in ("check", "calculate", "schema"):
        assert command in done.stdout


@pytest.mark.parametrize("args", [(), ("check",)], ids=["nothing", "check without files"])
def test_missing_arguments_are_a_usage_error(args):
    done = gateway(*args)
    assert done.returncode == EXIT_INPUT
    assert "Usage" in done.stdout + done.stderr
    no_traceback(done)


def test_version():
    done = gateway("--version")
    assert done.returncode == EXIT_OK
    assert done.stdout.startswith("gateway ")


def test_unknown_command_is_a_usage_error():
    done = gateway("frobnicate")
    assert done.returncode == EXIT_INPUT
    no_traceback(done)


# ---------------------------------------------------------------- check


def test_check_the_example():
    done = gateway("check", EXAMPLE)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "de-domestic-b2b.json" in done.stdout
    assert "7438.03" in done.stdout


def test_check_every_example_in_a_folder():
    done = gateway("check", "examples")
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    count = len(list((REPO / "examples").rglob("*.json")))
    assert f"{count} of {count} invoice(s) passed" in done.stdout


def test_check_reads_standard_input():
    done = gateway("check", "-", stdin=(REPO / EXAMPLE).read_bytes())
    assert done.returncode == EXIT_OK, done.stdout + done.stderr


def test_check_an_invoice_with_problems(tmp_path, invoice):
    invoice["lines"][0]["unit_code"] = "ZZZ"
    done = gateway("check", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    assert "$.lines[0].unit_code" in done.stdout
    assert "BT-130" in done.stdout
    assert "BR-CL-23" in done.stdout
    no_traceback(done)


def test_check_reports_a_rule_with_path_and_term(tmp_path, invoice):
    del invoice["due_date"]
    done = gateway("check", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    assert "$.due_date" in done.stdout
    assert "BT-9" in done.stdout
    assert "BR-CO-25" in done.stdout


def test_check_prints_a_long_path_on_one_line(tmp_path, invoice):
    invoice["lines"][0]["item"]["classifications"] = [{"value": "x", "scheme": "QQQ"}]
    done = gateway("check", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    assert "$.lines[0].item.classifications[0].scheme" in done.stdout


def test_check_malformed_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "number": "1",\n  "lines": [\n}\n', encoding="utf-8")
    done = gateway("check", path)
    assert done.returncode == EXIT_INPUT
    assert "line 4" in done.stderr
    assert "broken.json" in done.stderr
    no_traceback(done)


def test_check_missing_file(tmp_path):
    done = gateway("check", tmp_path / "nope.json")
    assert done.returncode == EXIT_INPUT
    assert "nope.json" in done.stderr
    no_traceback(done)


def test_check_not_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"number": "Müller"}'.encode("latin-1"))
    done = gateway("check", path)
    assert done.returncode == EXIT_INPUT
    assert "UTF-8" in done.stderr
    no_traceback(done)


def test_check_empty_folder(tmp_path):
    done = gateway("check", tmp_path)
    assert done.returncode == EXIT_INPUT
    no_traceback(done)


def test_check_worst_exit_code_wins(tmp_path, invoice):
    good = write(tmp_path, invoice, "good.json")
    invoice["currency_code"] = "EUX"
    bad = write(tmp_path, invoice, "bad.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert gateway("check", good, bad).returncode == EXIT_PROBLEMS
    assert gateway("check", good, bad, broken).returncode == EXIT_INPUT


def test_check_json_format(tmp_path, invoice):
    invoice["currency_code"] = "EUX"
    done = gateway("check", "--format", "json", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    report = json.loads(done.stdout)
    assert report["ok"] is False
    [problem] = report["problems"]
    assert problem == {
        "path": "$.currency_code",
        "message": "BR-CL-04: 'EUX' is not a valid ISO 4217 alpha-3 currency code",
        "term": "BT-5",
        "rule": "BR-CL-04",
        "severity": "error",
    }


def test_check_json_format_for_several_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[", encoding="utf-8")
    done = gateway("check", "--format", "json", EXAMPLE, broken)
    assert done.returncode == EXIT_INPUT
    reports = json.loads(done.stdout)
    assert [r["ok"] for r in reports] == [True, False]
    assert "not valid JSON" in reports[1]["error"]
    no_traceback(done)


def test_check_with_line_rounding(tmp_path, invoice):
    invoice["lines"] = [
        {**INVOICE["lines"][0], "id": str(i), "price": {"net_amount": "0.10"}} for i in range(1, 11)
    ]
    invoice["totals"] = {"vat_total": "0.20", "amount_due": "1.20"}
    path = write(tmp_path, invoice)
    assert gateway("check", path).returncode == EXIT_PROBLEMS
    assert gateway("check", "--rounding", "line", path).returncode == EXIT_OK


# ---------------------------------------------------------------- calculate


def test_calculate_prints_the_calculated_invoice():
    done = gateway("calculate", EXAMPLE)
    assert done.returncode == EXIT_OK, done.stderr
    data = json.loads(done.stdout)
    assert data["totals"]["amount_due"] == "7438.03"
    assert data["number"] == "RE-2026-10042"
    assert [line["net_amount"] for line in data["lines"]] == ["5000.00", "1187.50", "70.00"]


def test_calculate_output_checks_clean(tmp_path):
    done = gateway("calculate", EXAMPLE, "-o", tmp_path / "out.json")
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout == ""
    again = gateway("check", tmp_path / "out.json")
    assert again.returncode == EXIT_OK, again.stdout
    assert "7438.03" in again.stdout


def test_calculate_with_a_disagreeing_total(tmp_path, invoice):
    invoice["totals"] = {"amount_due": "100.00"}
    done = gateway("calculate", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    assert "BT-115" in done.stderr
    assert "100.00" in done.stderr
    assert "119.00" in done.stderr
    assert json.loads(done.stdout)["totals"]["amount_due"] == "119.00"
    no_traceback(done)


def test_calculate_an_invoice_that_cannot_be_calculated(tmp_path, invoice):
    del invoice["lines"][0]["vat"]["rate"]
    done = gateway("calculate", write(tmp_path, invoice))
    assert done.returncode == EXIT_PROBLEMS
    assert done.stdout == ""
    assert "$.lines[0].vat.rate" in done.stderr
    assert "BT-152" in done.stderr
    no_traceback(done)


def test_calculate_malformed_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"number": "1",\n "x": }', encoding="utf-8")
    done = gateway("calculate", path)
    assert done.returncode == EXIT_INPUT
    assert "line 2" in done.stderr
    no_traceback(done)


def test_calculate_to_an_unwritable_output(tmp_path):
    done = gateway("calculate", EXAMPLE, "-o", tmp_path / "no such folder" / "out.json")
    assert done.returncode == EXIT_INPUT
    assert "internal error" not in done.stderr


def test_calculate_missing_file(tmp_path):
    done = gateway("calculate", tmp_path / "nope.json")
    assert done.returncode == EXIT_INPUT
    no_traceback(done)


# ---------------------------------------------------------------- schema


def test_schema_is_current():
    done = gateway("schema", "--check")
    assert done.returncode == EXIT_OK, done.stdout
