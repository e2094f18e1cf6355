"""API settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.truststore import trust_paths_from_env

RUNNER_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class ApiSettings:
    max_upload_bytes: int = 100 * 1024 * 1024
    validate_jobs: int = 1
    validate_timeout: float = 300.0
    # Roots ``POST /v1/verify`` trusts (GATEWAY_TRUST_STORE): PEM/DER files or folders.
    trust_store: tuple[Path, ...] = ()
    # Largest ``POST /v1/invoices`` body (GATEWAY_MAX_INVOICE_BYTES): a Factur-X PDF with
    # attachments fits; anything larger is refused while it streams in (413).
    max_invoice_bytes: int = 20 * 1024 * 1024
    # GATEWAY_DATABASE_URL; None: ``Store.open()`` (SQLite under GATEWAY_HOME)
    database_url: str | None = None
    # GATEWAY_RUNNER: run the deliveries in this process. ``auto``: on SQLite only (PostgreSQL
    # has ``gateway worker`` processes); ``on``/``off`` force it.
    runner: str = "auto"
    # Largest page ``GET /v1/invoices`` returns, whatever ``limit`` asks.
    max_page: int = 200

    def __post_init__(self) -> None:
        if self.runner not in RUNNER_MODES:
            raise ValueError(f"GATEWAY_RUNNER must be one of {', '.join(RUNNER_MODES)}, not {self.runner!r}")

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            max_upload_bytes=int(os.environ.get("GATEWAY_MAX_UPLOAD_BYTES", cls.max_upload_bytes)),
            validate_jobs=int(os.environ.get("GATEWAY_VALIDATE_JOBS", cls.validate_jobs)),
            validate_timeout=float(os.environ.get("GATEWAY_VALIDATE_TIMEOUT", cls.validate_timeout)),
            trust_store=tuple(trust_paths_from_env()),
            max_invoice_bytes=int(os.environ.get("GATEWAY_MAX_INVOICE_BYTES", cls.max_invoice_bytes)),
            database_url=os.environ.get("GATEWAY_DATABASE_URL") or None,
            runner=os.environ.get("GATEWAY_RUNNER", cls.runner).strip().lower(),
        )
