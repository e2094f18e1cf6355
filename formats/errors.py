"""The gateway's one exception tree.

Every error the gateway raises on purpose is a ``GatewayError``. It lives here, on the
lowest floor, so that formats, connectors and schemas can raise it without importing
the service; ``gateway.errors`` re-exports it. Third-party errors are mapped into this
tree where they cross our boundary (``raise ParseError(...) from exc``).

    GatewayError
    ├── ArtefactError          an official artefact (XSLT, XSD) is missing or altered
    ├── InvoiceInputError      an input document could not be read at all
    ├── InvoiceProblems        the invoice was read but breaks rules; carries the problems
    ├── ParseError             an XML invoice cannot be read into the canonical invoice
    ├── SerializeError         the invoice cannot be written in the chosen format/profile
    └── SigningError           a document cannot be signed: the key, certificate or document
                               is not fit (wrong password, expired, mismatched, already signed)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from formats.invoice.problems import Problem


class GatewayError(Exception):
    """Root of every error the gateway raises deliberately."""


class ArtefactError(GatewayError):
    """An official artefact the gateway reads at run time is missing or not as expected."""


class InvoiceInputError(GatewayError):
    """The input could not be read as an invoice (not JSON, too large, not an object)."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{message}{where}")


class InvoiceProblems(GatewayError):
    """The invoice was read but has problems; ``problems`` lists each with its path and BT."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        summary = f"{len(self.problems)} problem(s)"
        if first is not None:
            summary += f"; first: {first.path}: {first.message}"
        super().__init__(summary)


class ParseError(GatewayError):
    """An XML invoice cannot be read: names the element path and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        where = "".join([f" at {path}" if path else "", f" (line {line})" if line is not None else ""])
        super().__init__(f"{message}{where}")


class SerializeError(GatewayError):
    """The invoice cannot be expressed in the chosen format or profile.

    ``problems`` name each business term and rule; nothing is written when this is raised.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        self.problems = list(problems)
        details = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{message}: {details}{more}" if details else message)


class SigningError(GatewayError):
    """A document cannot be signed with this key and certificate; nothing was written.

    The message says what is wrong (a wrong password, a certificate expired or not yet
    valid, a key that does not match the certificate, a document already signed…) and never
    contains key material or a password.
    """
