"""Which roots the gateway trusts when it verifies signatures: ``--trust`` or the environment.

The trust store is configuration, not input: the CLI takes ``--trust PEM_OR_DIR`` (repeatable),
the API and the CLI without ``--trust`` read ``GATEWAY_TRUST_STORE`` (paths separated like
``PATH``). Nothing configured means nothing is trusted: every signature then verifies as
intact but untrusted, and the report says so. A configured path that cannot be read is an
error, never silently an empty store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509

from formats.errors import GatewayError
from formats.signature.trust import TrustStore

__all__ = ["TRUST_STORE_ENV", "TrustConfigError", "load_trust_store", "trust_paths_from_env"]

TRUST_STORE_ENV = "GATEWAY_TRUST_STORE"


class TrustConfigError(GatewayError):
    """A configured trust store path cannot be read as certificates."""


def trust_paths_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    value = (os.environ if environ is None else environ).get(TRUST_STORE_ENV, "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def load_trust_store(paths: Sequence[Path]) -> TrustStore:
    """The roots of every PEM/DER file or folder in ``paths`` (an empty list: trust nothing)."""
    roots: list[x509.Certificate] = []
    for path in paths:
        if not path.exists():
            raise TrustConfigError(f"trust store {path}: no such file or folder")
        try:
            store = TrustStore.from_path(path)
        except OSError as exc:
            raise TrustConfigError(f"trust store {path}: cannot read it: {exc.strerror or exc}") from None
        except ValueError:
            raise TrustConfigError(f"trust store {path}: not PEM or DER certificates") from None
        if not store.roots:
            raise TrustConfigError(f"trust store {path}: no certificates in it")
        roots.extend(store.roots)
    return TrustStore(roots)
