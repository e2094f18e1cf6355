"""A small page layout engine on top of the ReportLab canvas.

Platypus costs twice the render time of the canvas (``pdfa.md``), and an invoice needs only
text, rules and shaded bands. Blocks are laid out top-down into per-page lists of drawing
operations first; only when the page count is known are they drawn, so every footer can
say "page x of y" without a second layout pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]

from formats.pdf.fonts import BOLD, REGULAR, fonts, string_width

PAGE_WIDTH: float = float(A4[0])
PAGE_HEIGHT: float = float(A4[1])
MARGIN_X = 40.0
TOP = PAGE_HEIGHT - 40.0
BOTTOM = 50.0  # the footer lives below this
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

Colour = tuple[float, float, float]
BLACK: Colour = (0.0, 0.0, 0.0)
GREY: Colour = (0.38, 0.38, 0.4)
RULE: Colour = (0.75, 0.75, 0.78)
SHADE: Colour = (0.93, 0.94, 0.96)
ACCENT: Colour = (0.1, 0.25, 0.45)
Align = Literal["left", "right"]


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    bold: bool
    size: float
    align: Align = "left"
    colour: Colour = BLACK


@dataclass(frozen=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.5
    colour: Colour = RULE


@dataclass(frozen=True)
class Band:
    x: float
    y: float
    width: float
    height: float
    colour: Colour = SHADE


@dataclass(frozen=True)
class Link:
    rect: tuple[float, float, float, float]
    url: str


Op = Text | Rule | Band | Link


@dataclass(frozen=True)
class Style:
    size: float = 8.5
    bold: bool = False
    colour: Colour = BLACK

    @property
    def leading(self) -> float:
        return self.size * 1.28


def wrap(text: str, width: float, style: Style) -> list[str]:
    """``text`` (already cleaned) broken into lines no wider than ``width``.

    Breaks at spaces; a word wider than the column (an IBAN, a URL) is cut where it must be.
    Newlines in the text start new lines.
    """
    lines: list[str] = []
    space = string_width(" ", style.bold, style.size)
    for paragraph in text.split("\n"):
        current = ""
        current_width = 0.0
        for word in paragraph.split(" "):
            if not word:
                continue
            word_width = string_width(word, style.bold, style.size)
            if current and current_width + space + word_width <= width:
                current += " " + word
                current_width += space + word_width
                continue
            if current:
                lines.append(current)
            while word_width > width and len(word) > 1:
                cut = _fit(word, width, style)
                lines.append(word[:cut])
                word = word[cut:]
                word_width = string_width(word, style.bold, style.size)
            current, current_width = word, word_width
        lines.append(current)
    return lines


def _fit(word: str, width: float, style: Style) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if string_width(word[:middle], style.bold, style.size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


@dataclass
class Column:
    """A table column: its header, width and alignment."""

    header: str
    width: float
    align: Align = "left"


@dataclass
class Cell:
    """Lines of one table cell, each with its style."""

    lines: list[tuple[str, Style]] = field(default_factory=list)

    def add(self, text: str, width: float, style: Style) -> None:
        for line in wrap(fonts().clean(text), width, style):
            self.lines.append((line, style))


PAD = 3.0  # vertical padding inside table rows


class Layout:
    """Pages of drawing operations, filled top-down."""

    def __init__(self, continuation: Callable[[Layout], None]) -> None:
        self.pages: list[list[Op]] = []
        self.y = TOP
        self._continuation = continuation
        self._table_header: Callable[[], None] | None = None
        self.new_page()

    @property
    def ops(self) -> list[Op]:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP
        if len(self.pages) > 1:
            self._continuation(self)
            if self._table_header is not None:
                self._table_header()

    def room(self) -> float:
        return self.y - BOTTOM

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` points fit on this one."""
        if height > self.room() and self.y < TOP - 1:
            self.new_page()

    def gap(self, height: float) -> None:
        self.y -= height

    def text(
        self, x: float, text: str, style: Style, align: Align = "left", *, baseline: float | None = None
    ) -> None:
        y = self.y - style.size if baseline is None else baseline
        self.ops.append(Text(x, y, fonts().clean(text), style.bold, style.size, align, style.colour))

    def paragraph(self, text: str, style: Style, x: float = MARGIN_X, width: float = CONTENT_WIDTH) -> None:
        """Wrapped text, flowing onto the next page when it must."""
        for line in wrap(fonts().clean(text), width, style):
            self.need(style.leading)
            self.ops.append(Text(x, self.y - style.size, line, style.bold, style.size, "left", style.colour))
            self.y -= style.leading

    def heading(self, text: str, follow: float = 40.0) -> None:
        """A section heading, kept on the page with at least ``follow`` points of what follows."""
        style = Style(9.5, True, ACCENT)
        self.need(style.leading + 4 + follow)
        self.text(MARGIN_X, text, style)
        self.y -= style.leading + 1
        self.ops.append(Rule(MARGIN_X, self.y, MARGIN_X + CONTENT_WIDTH, self.y, 0.8, ACCENT))
        self.y -= 4

    def rule(self, width: float = 0.5, colour: Colour = RULE) -> None:
        self.ops.append(Rule(MARGIN_X, self.y, MARGIN_X + CONTENT_WIDTH, self.y, width, colour))

    # ------------------------------------------------------------------ tables

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
        """A table whose header repeats on every page it flows onto; tall rows split."""
        header_style = Style(7.5, True, BLACK)

        def header() -> None:
            height = header_style.leading + 2 * PAD
            self.ops.append(Band(MARGIN_X, self.y - height, CONTENT_WIDTH, height))
            x = MARGIN_X
            for column in columns:
                cx = x + column.width - 3 if column.align == "right" else x + 3
                self.text(
                    cx, column.header, header_style, column.align, baseline=self.y - PAD - header_style.size
                )
                x += column.width
            self.y -= height

        first_row = _row_height(rows[0]) if rows else 0.0
        self.need(header_style.leading + 2 * PAD + min(first_row, 60.0))
        header()
        self._table_header = header
        try:
            for row in rows:
                self._row(columns, [list(cell.lines) for cell in row])
        finally:
            self._table_header = None

    def _row(self, columns: Sequence[Column], cells: list[list[tuple[str, Style]]]) -> None:
        height = max((sum(s.leading for _, s in lines) for lines in cells), default=0.0) + 2 * PAD
        if height > self.room():
            # a row taller than a whole page is split from here; any other moves on whole
            fresh_page_room = TOP - BOTTOM - 80
            if height <= fresh_page_room or self.room() < 60:
                self.new_page()
        while True:
            fit: list[list[tuple[str, Style]]] = []
            rest: list[list[tuple[str, Style]]] = []
            available = self.room() - 2 * PAD
            for lines in cells:
                used = 0.0
                count = 0
                for _, style in lines:
                    if used + style.leading > available:
                        break
                    used += style.leading
                    count += 1
                fit.append(lines[:count])
                rest.append(lines[count:])
            self._draw_row(columns, fit)
            if not any(rest):
                return
            self.new_page()
            cells = rest

    def _draw_row(self, columns: Sequence[Column], cells: list[list[tuple[str, Style]]]) -> None:
        top = self.y
        bottom = top
        x = MARGIN_X
        for column, lines in zip(columns, cells, strict=True):
            y = top - PAD
            for line, style in lines:
                cx = x + column.width - 3 if column.align == "right" else x + 3
                self.ops.append(
                    Text(cx, y - style.size, line, style.bold, style.size, column.align, style.colour)
                )
                y -= style.leading
            bottom = min(bottom, y - PAD)
            x += column.width
        self.y = bottom
        self.rule(0.4)


def _row_height(row: Sequence[Cell]) -> float:
    return max((sum(s.leading for _, s in cell.lines) for cell in row), default=0.0) + 2 * PAD


def draw(canvas: Any, ops: Sequence[Op]) -> None:
    """Draw one page's operations on the canvas, setting font and colour only on change."""
    font: tuple[bool, float] | None = None
    fill: Colour | None = None
    for op in ops:
        if isinstance(op, Text):
            if not op.text:
                continue
            if font != (op.bold, op.size):
                font = (op.bold, op.size)
                canvas.setFont(BOLD if op.bold else REGULAR, op.size)
            if fill != op.colour:
                fill = op.colour
                canvas.setFillColorRGB(*op.colour)
            if op.align == "right":
                canvas.drawRightString(op.x, op.y, op.text)
            else:
                canvas.drawString(op.x, op.y, op.text)
        elif isinstance(op, Rule):
            canvas.setStrokeColorRGB(*op.colour)
            canvas.setLineWidth(op.width)
            canvas.line(op.x1, op.y1, op.x2, op.y2)
        elif isinstance(op, Band):
            canvas.setFillColorRGB(*op.colour)
            fill = op.colour
            canvas.rect(op.x, op.y, op.width, op.height, stroke=0, fill=1)
        else:
            canvas.linkURL(op.url, op.rect, relative=0, thickness=0, F=4)
