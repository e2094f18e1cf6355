"""The REST API (FastAPI). ``create_app()`` builds it; ``gateway serve`` runs it."""

from gateway.api.app import create_app

__all__ = ["create_app"]
