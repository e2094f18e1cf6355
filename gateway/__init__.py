"""The gateway service: CLI today; API, pipeline, store and delivery tracking to come."""

__version__ = "0.1.0"
