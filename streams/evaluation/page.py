"""The evaluation page for quality departments, served by the worker at ``/evaluation``.

Rendered on the server as HTML with inline SVG charts (no script, no network), from the
k-anonymous month tables: the acceptance funnel of the chosen month, the trend over months,
and the month's table. Reads the compacted ``evaluation`` topic through a replicated view,
so every worker shows the figures of all partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape

from streams.evaluation.figures import BOUNDS_S, Figures, median_s
from streams.evaluation.report import HEADERS, Row, month_table, months, trend

FUNNEL: Final = (
    ("offers", "Offers sent"),
    ("answered", "Answered"),
    ("accepted", "Accepted"),
)
SERIES: Final = (("offers", "#1f5f8b"), ("answered", "#4f9d69"), ("accepted", "#d08a2e"))
CHART_W: Final = 640
BAR_H: Final = 34

_pages = Environment(
    loader=PackageLoader("streams.evaluation", "templates"),
    autoescape=select_autoescape(default=True),
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    color: str = "#1f5f8b"


def readable(seconds: float) -> str:
    """A median for people: the first bucket (up to 5 minutes) has no finer resolution."""
    if seconds < BOUNDS_S[0]:
        return "under 5 min"
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def funnel_bars(total: Figures | None) -> list[Bar]:
    if total is None:
        return []
    top = max(total.offers, 1)
    return [
        Bar(
            label=label,
            value=getattr(total, name),
            x=150,
            y=10 + i * (BAR_H + 12),
            width=max((CHART_W - 230) * getattr(total, name) / top, 2),
            height=BAR_H,
            color=SERIES[i][1],
        )
        for i, (name, label) in enumerate(FUNNEL)
    ]


def trend_bars(points: list[tuple[str, Figures | None]]) -> tuple[list[Bar], list[dict[str, Any]]]:
    """Grouped bars per month; suppressed months get a grey placeholder and a label."""
    height = 200
    top = max((f.offers for _, f in points if f is not None), default=1) or 1
    group = (CHART_W - 60) / max(len(points), 1)
    width = min(group / (len(SERIES) + 1), 40)
    bars: list[Bar] = []
    labels: list[dict[str, Any]] = []
    for i, (month, figures) in enumerate(points):
        left = 50 + i * group + (group - width * len(SERIES)) / 2
        labels.append({"x": 50 + i * group + group / 2, "month": month, "hidden": figures is None})
        for j, (name, color) in enumerate(SERIES):
            value = 0 if figures is None else getattr(figures, name)
            bar_h = 0 if figures is None else height * value / top
            bars.append(
                Bar(name, value, left + j * width, 20 + height - bar_h, width - 2, bar_h, color)
            )
    return bars, labels


def render(partials: list[Figures], month: str | None, k: int) -> str:
    available = months(partials)
    chosen = month if month in available else (available[-1] if available else None)
    rows: list[Row] = month_table(partials, chosen, k) if chosen else []
    total = rows[-1].figures if rows else None
    points = trend(partials, k)
    bars, labels = trend_bars(points)
    medians = {}
    if total is not None:
        for name in ("report_to_offer", "offer_to_answer"):
            value = median_s(getattr(total, name))
            medians[name] = None if value is None else readable(value)
    return _pages.get_template("evaluation.html").render(
        k=k,
        month=chosen,
        months=available,
        total=total,
        funnel=funnel_bars(total),
        funnel_height=10 + len(FUNNEL) * (BAR_H + 12),
        trend=bars,
        trend_labels=labels,
        series=SERIES,
        chart_width=CHART_W,
        headers=HEADERS,
        rows=[row.cells() for row in rows],
        medians=medians,
    )
