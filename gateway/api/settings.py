"""API settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiSettings:
    max_upload_bytes: int = 100 * 1024 * 1024
    validate_jobs: int = 1
    validate_timeout: float = 300.0

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            max_upload_bytes=int(os.environ.get("GATEWAY_MAX_UPLOAD_BYTES", cls.max_upload_bytes)),
            validate_jobs=int(os.environ.get("GATEWAY_VALIDATE_JOBS", cls.validate_jobs)),
            validate_timeout=float(os.environ.get("GATEWAY_VALIDATE_TIMEOUT", cls.validate_timeout)),
        )
