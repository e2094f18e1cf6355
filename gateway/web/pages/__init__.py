"""The dashboard's pages: every module here exposes ``router`` and is included under ``/ui``."""
