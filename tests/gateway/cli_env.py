"""The environment the CLI tests run ``python -m gateway`` in."""

from __future__ import annotations

import os

_TERMINAL = {"FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "GATEWAY_DEBUG"}


def cli_env(*, columns: int | None = None, **extra: str) -> dict[str, str]:
    """The user's environment without what would make rich colour or resize the output.

    ``columns`` fixes the width (wide enough keeps problem tables on one line each, so the
    assertions can search them); ``extra`` adds variables such as ``GATEWAY_RULES_DIR``.
    """
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL}
    env["NO_COLOR"] = "1"
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return {**env, **extra}
