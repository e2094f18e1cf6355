"""The ``folder`` channel: the documents of a delivery written into a local directory.

It is the channel that needs nothing outside the machine (a shared drive an ERP or a
scanner watches, or the demo), and the reference for what every connector promises:

* **Atomic.** Each document is written to ``.<name>.partial`` in the same folder, flushed
  to disk, then renamed over its final name (``os.replace``); a reader watching the folder
  never sees half a file, and a crash leaves only a hidden ``.partial`` behind.
* **Deterministic names.** ``<delivery id>-<document file name>``: the same delivery sent
  again (a retry after a crash between the rename and the status update) writes the same
  names with the same bytes, so the repeat is recognisable and harmless. A file already
  there with *different* bytes is never overwritten: that is a permanent error for an
  operator to look at.
* **Safe names.** Only ``[A-Za-z0-9._-]`` survive, no leading dot, no separator: nothing a
  client put in an invoice number can leave the folder.

Errors: a missing folder, a path that is not a folder, or a folder we may not write is
permanent (the settings must change); a full disk, an I/O error or anything else the
operating system reports is transient.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors.base import (
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["FolderConnector", "safe_name", "target_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 200
# errors that no retry will fix: the settings (or the folder's permissions) must change
_PERMANENT_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR}
)


def safe_name(value: str, fallback: str = "document") -> str:
    """``value`` reduced to a harmless single path component (no separator, no leading dot)."""
    cleaned = _UNSAFE.sub("_", value.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    cleaned = cleaned.strip("_") or fallback
    if len(cleaned) > MAX_NAME:  # keep the extension, which tells readers what the file is
        _stem, dot, ext = cleaned.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        cleaned = cleaned[: MAX_NAME - len(ext) - 1] + ("." + ext if ext else "")
    return cleaned


def target_name(delivery_id: str, filename: str) -> str:
    """The final name of one document of one delivery: stable across attempts."""
    return safe_name(f"{safe_name(delivery_id, 'delivery')}-{safe_name(filename)}")


def _error(action: str, path: Path, exc: OSError) -> PermanentDeliveryError | TransientDeliveryError:
    reason = exc.strerror or type(exc).__name__
    code = errno.errorcode.get(exc.errno or 0, "OSError")
    message = f"cannot {action} {path}: {reason}"
    if exc.errno in _PERMANENT_ERRNOS:
        return PermanentDeliveryError(message, raw_code=code)
    return TransientDeliveryError(message, raw_code=code)


class FolderConnector:
    """Writes documents into ``settings["path"]``; see the module docstring for the promises."""

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        raw = settings.get("path")
        if not isinstance(raw, str) or not raw.strip():
            raise PermanentDeliveryError("the folder channel has no 'path' setting", raw_code="SETTINGS")
        folder = Path(raw)
        if not folder.is_dir():
            what = "does not exist" if not folder.exists() else "is not a folder"
            raise PermanentDeliveryError(f"the delivery folder {folder} {what}", raw_code="ENOENT")
        if not documents:
            raise PermanentDeliveryError("the delivery has no documents to write", raw_code="EMPTY")
        names = [target_name(delivery_id, doc.filename) for doc in documents]
        if len(set(names)) != len(names):
            raise PermanentDeliveryError(
                f"two documents of the delivery would have the same file name: {', '.join(names)}",
                raw_code="NAMES",
            )
        written: list[dict[str, Any]] = []
        for doc, name in zip(documents, names, strict=True):
            target = folder / name
            outcome = self._write(target, doc.content)
            written.append(
                {
                    "path": str(target),
                    "sha256": hashlib.sha256(doc.content).hexdigest(),
                    "size": len(doc.content),
                    "kind": doc.kind,
                    "outcome": outcome,
                }
            )
        self._sync_dir(folder)
        manifest = json.dumps({"folder": str(folder), "files": written}, indent=1).encode("utf-8")
        return DeliveryResult(
            status="delivered",
            remote_reference="\n".join(item["path"] for item in written),
            raw_code="written",
            sent=manifest,
            details={"files": written},
        )

    @staticmethod
    def _write(target: Path, content: bytes) -> str:
        """Write ``content`` at ``target`` atomically; ``"unchanged"`` if it is already there."""
        try:
            if target.is_file():
                if target.read_bytes() == content:
                    return "unchanged"
                raise PermanentDeliveryError(
                    f"{target} already exists with different content; not overwritten",
                    raw_code="EEXIST",
                )
            if target.exists():
                raise PermanentDeliveryError(f"{target} exists and is not a file", raw_code="EEXIST")
        except OSError as exc:
            raise _error("read", target, exc) from None
        partial = target.with_name(f".{target.name}.partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise _error("write", target, exc) from None
        return "written"

    @staticmethod
    def _sync_dir(folder: Path) -> None:
        """Make the renames durable: a crash after ``delivered`` must not lose the files."""
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return  # not supported here (e.g. some network file systems); the data is synced
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
