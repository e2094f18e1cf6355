"""API settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.truststore import trust_paths_from_env


@dataclass(frozen=True)
class ApiSettings:
    max_upload_bytes: int = 100 * 1024 * 1024
    validate_jobs: int = 1
    validate_timeout: float = 300.0
    # Roots ``POST /v1/verify`` trusts (GATEWAY_TRUST_STORE): PEM/DER files or folders.
    trust_store: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            max_upload_bytes=int(os.environ.get("GATEWAY_MAX_UPLOAD_BYTES", cls.max_upload_bytes)),
            validate_jobs=int(os.environ.get("GATEWAY_VALIDATE_JOBS", cls.validate_jobs)),
            validate_timeout=float(os.environ.get("GATEWAY_VALIDATE_TIMEOUT", cls.validate_timeout)),
            trust_store=tuple(trust_paths_from_env()),
        )
