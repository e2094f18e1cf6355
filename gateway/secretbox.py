"""Authenticated encryption of small secrets at rest, independent of where they are stored.

The key vault keeps its records in files today and will keep them in the database later
(issue 7); both need the same thing: AES-256-GCM under one 32-byte master key, a fresh
random 96-bit nonce per sealed value (never reused with the same key), and associated
data that binds each ciphertext to where it belongs, so a value copied to another tenant,
another key name or another field fails to open instead of being used there.

The master key comes from the environment (``GATEWAY_MASTER_KEY``, base64 of 32 bytes).
There is deliberately no default and no fallback: a gateway without a master key cannot
store or use signing keys, and says which variable to set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from formats.errors import GatewayError

__all__ = ["MASTER_KEY_ENV", "SecretBox", "SecretBoxError", "generate_master_key"]

MASTER_KEY_ENV = "GATEWAY_MASTER_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION = b"\x01"  # first byte of every sealed value: lets the format evolve


class SecretBoxError(GatewayError):
    """The master key is missing or malformed, or a sealed value does not open.

    Messages name the environment variable or the record, never a key or plaintext.
    """


def generate_master_key() -> str:
    """A fresh master key, base64-encoded, as ``GATEWAY_MASTER_KEY`` expects it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


class SecretBox:
    """Seal and open byte strings with AES-256-GCM; ``aad`` says where the value belongs."""

    __slots__ = ("_aead", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretBoxError(f"the master key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        # Identifies the key (for caches keyed on it) without revealing it: a one-way hash
        # under a fixed label, never usable to decrypt.
        self.key_id = hashlib.sha256(b"einvoice-gateway secretbox key id\x00" + key).hexdigest()[:16]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecretBox:
        """The box under ``GATEWAY_MASTER_KEY``; ``SecretBoxError`` naming it if absent or bad."""
        env = os.environ if environ is None else environ
        value = env.get(MASTER_KEY_ENV, "").strip()
        if not value:
            raise SecretBoxError(
                f"{MASTER_KEY_ENV} is not set: the key vault needs a 32-byte master key, base64-encoded "
                "(create one with `gateway keys master-key` and keep it in your secret manager)"
            )
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SecretBoxError(f"{MASTER_KEY_ENV} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise SecretBoxError(
                f"{MASTER_KEY_ENV} must decode to {KEY_BYTES} bytes (AES-256), not {len(key)}"
            )
        return cls(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``version || nonce || ciphertext+tag``; a new random nonce every call."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _VERSION + aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """The plaintext, or ``SecretBoxError`` if the key, the ``aad`` or the bytes differ."""
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SecretBoxError("the sealed value is truncated or of an unknown format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _VERSION + aad)
        except InvalidTag:
            raise SecretBoxError(
                "the sealed value does not open: a different master key, or it was moved or altered"
            ) from None

    def __repr__(self) -> str:  # the key never appears, only its one-way id
        return f"SecretBox(key_id={self.key_id!r})"
