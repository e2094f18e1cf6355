"""The gateway's exception tree, re-exported from ``formats.errors`` where it lives."""

from formats.errors import (
    ArtefactError,
    GatewayError,
    InvoiceInputError,
    InvoiceProblems,
    ParseError,
    SerializeError,
)

__all__ = [
    "ArtefactError",
    "GatewayError",
    "InvoiceInputError",
    "InvoiceProblems",
    "ParseError",
    "SerializeError",
]
