"""Structured logs: one JSON object per line on stderr, with the ids that tie a line to an invoice.

Operators grep and ship these lines (Loki, CloudWatch, ELK), so every line carries
``timestamp`` (UTC, ISO 8601), ``level``, ``event`` and whatever context is bound at the time:
``invoice_id``, ``delivery_id``, ``tenant_id`` bound once with ``log_context(...)`` follow every
line a delivery writes, in the API, the in-process runner and the procrastinate worker alike.

The standard library's loggers (uvicorn, procrastinate, alembic) go through the same
formatter, so a worker's output is uniformly JSON rather than a mix of formats.

A redaction step runs last before rendering and drops every key that names secret material
(passwords, tokens, secrets, API or private keys, authorization headers), at any nesting
depth, and masks values that look like secrets whatever their key (``whsec_…`` webhook
secrets, PEM private keys). Logs outlive databases and travel further: a channel's settings
logged in passing must not leak its SFTP password.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["REDACTED", "configure", "get_logger", "is_secret_key", "log_context", "redact"]

REDACTED = "[redacted]"

# Names of secret material. "key" alone and anything ending in "_key"/"-key" counts (api_key,
# private_key, master_key…) except the few keys that are identifiers, not material.
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|authori[sz]ation|cookie|api[-_]?key|private|"
    r"(^|[-_])key$|^key[-_]|signature",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset({"idempotency_key", "sign_key", "queueing_lock", "webhook_id", "key_id"})
# Values that are secrets whatever their key says.
_SECRET_VALUE = re.compile(r"whsec_[A-Za-z0-9+/=]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def is_secret_key(name: str) -> bool:
    """Whether a log key names secret material (and so never reaches the output)."""
    return name.lower() not in _NOT_SECRET and _SECRET_NAME.search(name) is not None


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, Mapping):
        return {k: _scrub(v, depth + 1) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: drop secret-named keys (recursively) and mask secret-looking values."""
    for name in [k for k in event_dict if is_secret_key(str(k))]:
        del event_dict[name]
    for name, value in event_dict.items():
        event_dict[name] = _scrub(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.stdlib.ExtraAdder(),
    ]


class _StderrNow(logging.StreamHandler[IO[str]]):
    """A stream handler that writes to whatever ``sys.stderr`` is at emit time (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER_NAME = "gateway-structured"


def configure(json: bool = True, *, level: int | str = "INFO", stream: IO[str] | None = None) -> None:
    """Route structlog and the standard library's logging to one handler on stderr.

    ``json=False`` renders the same events for a human at a terminal (``gateway serve`` in a
    shell). ``stream`` replaces stderr (tests). Calling it again replaces the previous setup.
    """
    shared = _shared_processors()
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=False, default=str)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrNow()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "gateway", **context: Any) -> structlog.stdlib.BoundLogger:
    """A logger bound to ``context``; lines go wherever ``configure`` sent them."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger


@contextmanager
def log_context(**context: Any) -> Iterator[None]:
    """Bind ``invoice_id``/``delivery_id``/``tenant_id``… to every line logged inside the block
    (this thread or task only: contextvars), restoring the previous values afterwards."""
    clean = {k: v for k, v in context.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**clean):
        yield
