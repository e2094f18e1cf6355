"""The two embedded fonts, registered once per process, and what they can show.

PDF/A forbids unembedded fonts, so every string goes through ReportLab ``TTFont`` objects
(embedded as subsets). DejaVu Sans covers Latin, Greek and Cyrillic; where it is not
installed, ReportLab's bundled Vera fonts (Latin-1 and a few more) take its place.

A character the font has no glyph for would be drawn as ``.notdef`` (an empty box that
PDF/A forbids referencing, ISO 19005-3 6.2.11.8). ``FontSet.clean`` replaces it before
anything is drawn: the text is first composed (NFC, so ``e`` + combining acute becomes
``é``); a character still missing is replaced by its compatibility form when the font has
that (``ﬁ`` → ``fi``), otherwise by a visible replacement mark (U+FFFD, or ``?``), so the
reader sees that something was left out and the rest of the text is still drawn.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR = "Invoice-Regular"
BOLD = "Invoice-Bold"
# Whitespace and controls that mean a line or word break, mapped before the glyph check.
_SPACES = {"\t": " ", "\r": " ", "\u2028": " ", "\u2029": " ", "\u200b": ""}


def _font_files() -> tuple[Path, Path, str]:
    regular = DEJAVU_DIR / "DejaVuSans.ttf"
    bold = DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        return regular, bold, "DejaVu Sans"
    fonts = resources.files("reportlab") / "fonts"
    return Path(str(fonts / "Vera.ttf")), Path(str(fonts / "VeraBd.ttf")), "Bitstream Vera Sans"


@dataclass
class FontSet:
    """The registered regular and bold fonts, and the characters both can show."""

    family: str
    covered: frozenset[int]
    replacement: str
    _cache: dict[str, str] = field(default_factory=dict, repr=False)

    def clean(self, text: str) -> str:
        """``text`` with every character the fonts cannot show replaced (see the module doc)."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        out: list[str] = []
        for char in unicodedata.normalize("NFC", text):
            char = _SPACES.get(char, char)
            if not char or ord(char) in self.covered:
                out.append(char)
                continue
            if unicodedata.category(char) in ("Cc", "Cf", "Mn"):
                continue  # invisible controls and stray combining marks: nothing to show
            decomposed = unicodedata.normalize("NFKC", char)
            if decomposed != char and all(ord(c) in self.covered for c in decomposed):
                out.append(decomposed)
            else:
                out.append(self.replacement)
        result = "".join(out)
        if len(self._cache) < 4096:
            self._cache[text] = result
        return result


_lock = threading.Lock()
_fonts: FontSet | None = None


def fonts() -> FontSet:
    """Register the fonts with ReportLab on first use (about 15 ms), then reuse them."""
    global _fonts
    if _fonts is not None:
        return _fonts
    with _lock:
        if _fonts is None:
            regular_path, bold_path, family = _font_files()
            regular = TTFont(REGULAR, str(regular_path))
            bold = TTFont(BOLD, str(bold_path))
            pdfmetrics.registerFont(regular)
            pdfmetrics.registerFont(bold)
            covered = frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)
            replacement = next((c for c in ("\ufffd", "?") if ord(c) in covered), "?")
            # the newline is handled by the wrapping code, never drawn
            _fonts = FontSet(family, covered | {ord("\n")}, replacement)
    return _fonts


def string_width(text: str, bold: bool, size: float) -> float:
    """Width of ``text`` in points, in the regular or bold font."""
    return float(pdfmetrics.stringWidth(text, BOLD if bold else REGULAR, size))
