"""Connectors: transport only (folder, SFTP, email, SAP Ariba, HTTP), behind one small protocol.

``connectors.base`` defines the protocol and the two error kinds; each module implements it
for one channel type. ``default_connectors()`` maps the channel types the recipient registry
knows to a connector each; a connector keeps its own connection pool, so one instance per
process serves every delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector

__all__ = ["CHANNEL_TYPES", "default_connectors"]

CHANNEL_TYPES = ("folder", "sftp", "email", "ariba", "http")


def default_connectors() -> dict[str, Connector]:
    """One connector per channel type (imported here, so a process that delivers nothing pays nothing)."""
    from connectors.ariba import AribaConnector
    from connectors.email import EmailConnector
    from connectors.folder import FolderConnector
    from connectors.http import HttpConnector
    from connectors.sftp import SftpConnector

    return {
        "folder": FolderConnector(),
        "sftp": SftpConnector(),
        "email": EmailConnector(),
        "ariba": AribaConnector(),
        "http": HttpConnector(),
    }
