"""Small charts for the data-quality dashboard, drawn on the server as inline SVG.

No script and no style sheet: the page's Content-Security-Policy allows neither inline scripts nor inline styles, and
SVG presentation attributes (fill, font-size) are neither. Each chart says in words what it shows (its <title> and
<desc>, read by screen readers) and writes every number beside its bar, so nothing is told by colour alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
LABEL_WIDTH = 64  # the site code
BAR_WIDTH = 280  # the longest bar
TEXT_X = LABEL_WIDTH + BAR_WIDTH + 12  # every number is written in one column after the bars
ROW_GAP = 10
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12"'
INK, MUTED, LINE = "#1d2733", "#5b6776", "#d6dde6"


@dataclass(frozen=True)
class Series:
    """One measure of the chart: its name as people read it and its fill (lighter to darker in stacking order, so
    that the segments stay apart in grey too)."""

    label: str
    colour: str


@dataclass(frozen=True)
class Row:
    """One bar (or group of bars): a site's code and its values, in the order of the series (None: no value)."""

    label: str
    values: tuple[float | int | None, ...]


def number(value: float | int | None, *, decimals: int = 1) -> str:
    """A count or a number of days as people read it in the current language (grouped thousands, at most
    `decimals` decimals, none when the value is whole); a dash for no value."""
    if value is None:
        return "—"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    places = 0 if rounded == rounded.to_integral_value() else decimals
    return formats.number_format(rounded, places, use_l10n=True, force_grouping=True)


def stacked_bars(*, chart_id: str, title: str, description: str, series: Sequence[Series],
                 rows: Sequence[Row]) -> SafeString:
    """One horizontal bar per row, its values stacked in series order; after the bar, each value by its name."""
    total = max((sum(v or 0 for v in row.values) for row in rows), default=0)
    bar_height, top = 18, 30
    parts = [_legend(series)]
    for index, row in enumerate(rows):
        y = top + index * (bar_height + ROW_GAP)
        parts.append(_row_label(row.label, y + bar_height / 2))
        x = float(LABEL_WIDTH)
        for item, value in zip(series, row.values, strict=True):
            width = _length(value or 0, total)
            if width:
                words = f"{row.label} · {item.label}: {number(value)}"
                parts.append(_rect(x, y, width, bar_height, item.colour, words))
                x += width
        parts.append(_text(TEXT_X, y + bar_height / 2, " · ".join(
            f"{item.label}: {number(value)}" for item, value in zip(series, row.values, strict=True))))
    height = top + len(rows) * (bar_height + ROW_GAP)
    return _svg(chart_id, title, description, height, parts)


def grouped_bars(*, chart_id: str, title: str, description: str, series: Sequence[Series],
                 rows: Sequence[Row], empty: str) -> SafeString:
    """For each row, one thin bar per series, each with its value written after it (`empty` when a row has none)."""
    largest = max((v for row in rows for v in row.values if v is not None), default=0)
    bar_height, top = 10, 30
    group = bar_height * len(series) + 2 * (len(series) - 1)
    parts = [_legend(series)]
    for index, row in enumerate(rows):
        y = top + index * (group + ROW_GAP)
        parts.append(_row_label(row.label, y + group / 2))
        if all(value is None for value in row.values):
            parts.append(_text(TEXT_X, y + group / 2, empty, fill=MUTED))
            continue
        for position, (item, value) in enumerate(zip(series, row.values, strict=True)):
            bar_y = y + position * (bar_height + 2)
            words = f"{item.label}: {number(value)}"
            width = _length(value or 0, largest)
            if width:
                parts.append(_rect(LABEL_WIDTH, bar_y, width, bar_height, item.colour, f"{row.label} · {words}"))
            parts.append(_text(TEXT_X, bar_y + bar_height / 2, words))
    height = top + len(rows) * (group + ROW_GAP)
    return _svg(chart_id, title, description, height, parts)


def _length(value: float, largest: float) -> float:
    """The bar's length; a value above zero always shows (at least 2 px)."""
    if not largest or value <= 0:
        return 0.0
    return round(max(2.0, BAR_WIDTH * value / largest), 1)


def _svg(chart_id: str, title: str, description: str, height: float, parts: list[str]) -> SafeString:
    chart_id = escape(chart_id)
    axis = (f'<line x1="{LABEL_WIDTH}" y1="24" x2="{LABEL_WIDTH}" y2="{height - ROW_GAP / 2:g}" stroke="{LINE}" '
            'stroke-width="1"/>')
    return mark_safe(  # noqa: S308 - every text below went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {height:g}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        f'{axis}{"".join(parts)}</svg>')


def _legend(series: Sequence[Series]) -> str:
    parts, x = [], float(LABEL_WIDTH)
    for item in series:
        parts.append(f'<rect x="{x:g}" y="4" width="12" height="12" fill="{escape(item.colour)}" stroke="{INK}" '
                     'stroke-width="0.5"/>')
        parts.append(f'<text x="{x + 16:g}" y="10" dominant-baseline="middle" {FONT} fill="{INK}">'
                     f"{escape(item.label)}</text>")
        x += 16 + 8 * len(item.label) + 18
    return f'<g aria-hidden="true">{"".join(parts)}</g>'


def _row_label(label: str, middle: float) -> str:
    return (f'<text x="{LABEL_WIDTH - 8}" y="{middle:g}" text-anchor="end" dominant-baseline="middle" {FONT} '
            f'font-weight="600" fill="{INK}">{escape(label)}</text>')


def _rect(x: float, y: float, width: float, height: float, colour: str, words: str) -> str:
    # A white edge keeps neighbouring segments apart whatever their colours.
    return (f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" fill="{escape(colour)}" '
            f'stroke="#ffffff" stroke-width="1"><title>{escape(words)}</title></rect>')


def _text(x: float, middle: float, words: str, *, fill: str = INK) -> str:
    return f'<text x="{x:g}" y="{middle:g}" dominant-baseline="middle" {FONT} fill="{fill}">{escape(words)}</text>'
