"""Charts drawn on the server: a horizontal bar chart as inline SVG, with its data as a table.

No script and no external asset: the SVG is part of the page (``role="img"`` named by its
``<title>``, summarised by its ``<desc>``; each bar has its own ``<title>`` for a pointer's
tooltip), and the same numbers follow in a ``<table>`` inside ``<details>``, which a screen
reader reads and anyone can open. Every text is escaped here (the labels are tenant data:
channel names, error codes).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "bar_chart"]

_WIDTH = 640
_ROW = 26
_BAR = 18
_LABEL_WIDTH = 250
_VALUE_WIDTH = 70
_MAX_LABEL = 38
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str | None = None  # how the value is shown (default: the number)

    @property
    def shown(self) -> str:
        if self.text is not None:
            return self.text
        return f"{self.value:g}" if self.value != int(self.value) else str(int(self.value))


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    label_header: str = "Label",
    value_header: str = "Count",
    empty: str = "Nothing to show.",
) -> Markup:
    """A ``<figure>`` with the SVG chart and its data table; a sentence when there is no data."""
    fig_id = f"chart-{next(_ids)}"
    if not bars:
        return Markup(
            '<figure class="chart" id="{}"><figcaption>{}</figcaption><p class="empty">{}</p></figure>'
        ).format(fig_id, title, empty)
    top = max((b.value for b in bars), default=0.0) or 1.0
    span = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = _ROW * len(bars) + 8
    largest = max(bars, key=lambda b: b.value)
    summary = f"{len(bars)} bars; largest: {largest.label} with {largest.shown}."
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="{w}" '
            'height="{h}" aria-labelledby="{i}-title {i}-desc">'
            '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>'
        ).format(w=_WIDTH, h=height, i=fig_id, t=title, d=summary)
    ]
    for row, bar in enumerate(bars):
        y = 4 + row * _ROW
        width = max(1.0, span * (bar.value / top)) if bar.value > 0 else 0.0
        parts.append(
            Markup(
                "<g><title>{label}: {shown}</title>"
                '<text x="{lx}" y="{ty}" text-anchor="end">{short}</text>'
                '<rect class="bar" x="{bx}" y="{y}" width="{bw:.1f}" height="{bh}"></rect>'
                '<text x="{vx:.1f}" y="{ty}">{shown}</text></g>'
            ).format(
                label=bar.label,
                shown=bar.shown,
                lx=_LABEL_WIDTH - 8,
                ty=y + _BAR - 4,
                short=_short(bar.label),
                bx=_LABEL_WIDTH,
                y=y,
                bw=width,
                bh=_BAR,
                vx=_LABEL_WIDTH + width + 6,
            )
        )
    parts.append(Markup("</svg>"))
    rows = Markup("").join(
        Markup('<tr><th scope="row">{}</th><td class="num">{}</td></tr>').format(b.label, b.shown)
        for b in bars
    )
    table = Markup(
        "<details><summary>Data table: {t}</summary><table><caption>{t}</caption>"
        '<thead><tr><th scope="col">{lh}</th><th scope="col" class="num">{vh}</th></tr></thead>'
        "<tbody>{rows}</tbody></table></details>"
    ).format(t=title, lh=label_header, vh=value_header, rows=rows)
    return Markup('<figure class="chart" id="{}"><figcaption>{}</figcaption>{}{}</figure>').format(
        fig_id, escape(title), Markup("").join(parts), table
    )
