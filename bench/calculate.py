"""Benchmark: check + calculate throughput on the 500-line example invoice.

Prints lines/s for the whole `check_invoice` path (read JSON, validate the model,
calculate, compare, rules), and, measured in the same run as the anchor, the floor any
pydantic-based path pays: `json.loads` + `Invoice.model_validate` alone.

    .venv/bin/python -m bench.calculate [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from formats.invoice import Invoice, RoundingRule, calculate, check_invoice

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "large-500-lines.json"


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (code lists, pydantic schema build)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    data = EXAMPLE.read_bytes()
    lines = len(json.loads(data)["lines"])

    def anchor() -> object:
        return Invoice.model_validate(json.loads(data, parse_float=Decimal, parse_int=Decimal))

    invoice = Invoice.model_validate(json.loads(data, parse_float=Decimal, parse_int=Decimal))
    results = {
        "anchor: json.loads + model_validate": _median_seconds(anchor, args.repeat),
        "calculate (totals)": _median_seconds(lambda: calculate(invoice), args.repeat),
        "calculate (line)": _median_seconds(lambda: calculate(invoice, RoundingRule.LINE), args.repeat),
        "check_invoice (whole path)": _median_seconds(lambda: check_invoice(data), args.repeat),
    }
    base = results["anchor: json.loads + model_validate"]
    print(f"{EXAMPLE.name}: {lines} lines, {len(data)} bytes, median of {args.repeat}")
    for name, seconds in results.items():
        print(
            f"  {name:38s} {seconds * 1000:8.1f} ms  {lines / seconds:10.0f} lines/s"
            f"  ratio vs anchor {seconds / base:5.2f}x"
        )


if __name__ == "__main__":
    main()
