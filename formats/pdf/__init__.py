"""The readable invoice PDF (PDF/A-3b), rendered from the canonical invoice with ReportLab.

Public API: ``render_pdf`` and ``LANGUAGES``; the modules behind it are private.
"""

from formats.pdf.labels import LANGUAGES
from formats.pdf.render import render_pdf

__all__ = ["LANGUAGES", "render_pdf"]
