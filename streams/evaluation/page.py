"""The evaluation page for quality departments, served by the worker at ``/evaluation``.

Rendered on the server as HTML with inline SVG charts (no script, no network), from the
k-anonymous month tables: the acceptance funnel of the chosen month, the trend over months,
and the month's table. Reads the compacted ``evaluation`` topic through a replicated view,
so every worker shows the figures of all partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from babel.numbers import format_percent
from jinja2 import Environment, PackageLoader, select_autoescape

from schemas.codes import Language
from streams.evaluation.anonymity import TOTAL
from streams.evaluation.figures import BOUNDS_S, Figures, median_s
from streams.evaluation.report import HEADERS, Row, month_table, months, trend
from streams.evaluation.texts import NAMES, WORDS, decimal, month_name, say

FUNNEL: Final = ("offers", "answered", "accepted")
SERIES: Final = (("offers", "#1f5f8b"), ("answered", "#2f7a4a"), ("accepted", "#a8641a"))
"""Bar colours with at least 3:1 contrast on white (WCAG 1.4.11, non-text contrast)."""
CHART_W: Final = 640
BAR_H: Final = 34
SHOWN, SUPPRESSED, NO_DATA = "shown", "suppressed", "no-data"

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
    share: str = ""


@dataclass(frozen=True)
class Point:
    """One month of the trend: its figures, or why there are none to show."""

    month: str
    name: str
    state: str
    figures: Figures | None


def readable(seconds: float, language: Language = Language.EN) -> str:
    """A median for people: the first bucket (up to 5 minutes) has no finer resolution."""
    words = WORDS[language]
    if seconds < BOUNDS_S[0]:
        return words["under_5_min"]
    if seconds < 3600:
        return words["minutes"].format(n=max(round(seconds / 60), 1))
    if seconds < 48 * 3600:
        return words["hours"].format(n=decimal(seconds / 3600, "0.0", language))
    return words["days"].format(n=decimal(seconds / 86400, "0.0", language))


def funnel_bars(total: Figures | None, language: Language = Language.EN) -> list[Bar]:
    if total is None:
        return []
    top = max(total.offers, 1)
    return [
        Bar(
            label=WORDS[language][name],
            value=getattr(total, name),
            x=150,
            y=10 + i * (BAR_H + 12),
            width=max((CHART_W - 230) * getattr(total, name) / top, 2),
            height=BAR_H,
            color=SERIES[i][1],
            share=format_percent(getattr(total, name) / top, locale=language.value)
            if i and total.offers
            else "",
        )
        for i, name in enumerate(FUNNEL)
    ]


def calendar(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``: a gap in the figures is a month of its own."""
    year, month = map(int, first.split("-"))
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def trend_points(partials: list[Figures], k: int, language: Language) -> list[Point]:
    shown = dict(trend(partials, k))
    if not shown:
        return []
    return [
        Point(
            month,
            month_name(month, language),
            NO_DATA if month not in shown else SHOWN if shown[month] else SUPPRESSED,
            shown.get(month),
        )
        for month in calendar(min(shown), max(shown))
    ]


def trend_bars(points: list[Point]) -> tuple[list[Bar], list[dict[str, Any]]]:
    """Grouped bars per month; a month without bars is labelled hidden or without data."""
    height = 200
    top = max((p.figures.offers for p in points if p.figures is not None), default=1) or 1
    group = (CHART_W - 60) / max(len(points), 1)
    width = min(group / (len(SERIES) + 1), 40)
    bars: list[Bar] = []
    labels: list[dict[str, Any]] = []
    for i, point in enumerate(points):
        left = 50 + i * group + (group - width * len(SERIES)) / 2
        labels.append({"x": 50 + i * group + group / 2, "month": point.month, "state": point.state})
        if point.figures is None:
            continue
        for j, (name, color) in enumerate(SERIES):
            value = getattr(point.figures, name)
            bar_h = height * value / top
            bars.append(
                Bar(name, value, left + j * width, 20 + height - bar_h, width - 2, bar_h, color)
            )
    return bars, labels


def table_cells(row: Row, language: Language) -> list[tuple[str, str]]:
    """A row as the page shows it: (text, marking) per cell, in the page's language."""
    words = WORDS[language]
    labels = [(words["all"] if value == TOTAL else value, "") for value in row.cells()[:3]]
    if row.figures is None:
        return [*labels, *[(words["suppressed"], SUPPRESSED)] * (len(HEADERS) - 3)]
    counts = [
        (decimal(getattr(row.figures, name), "#,##0", language), "") for name in HEADERS[3:-2]
    ]
    hours = [median_s(row.figures.report_to_offer), median_s(row.figures.offer_to_answer)]
    return [
        *labels,
        *counts,
        *(
            ("–" if value is None else decimal(value / 3600, "0.00", language), "")
            for value in hours
        ),
    ]


def link(month: str | None, lang: Language | None) -> str:
    """A query string keeping the language only when the reader chose it on the page."""
    query = {"month": month} if month else {}
    if lang is not None:
        query["lang"] = lang.value
    return "?" + urlencode(query) if query else "?"


def render(
    partials: list[Figures],
    month: str | None,
    k: int,
    language: Language = Language.EN,
    chosen_language: Language | None = None,
) -> str:
    """The page for ``month`` (the latest with figures when ``None``); ``chosen_language`` is
    the one picked with ``?lang=``, carried on in the page's links."""
    available = months(partials)
    chosen = month or (available[-1] if available else None)
    rows: list[Row] = month_table(partials, chosen, k) if chosen else []
    state = NO_DATA if not rows else SHOWN if rows[-1].figures else SUPPRESSED
    total = rows[-1].figures if rows else None
    points = trend_points(partials, k, language)
    bars, labels = trend_bars(points)
    medians = {}
    if total is not None:
        for name in ("report_to_offer", "offer_to_answer"):
            value = median_s(getattr(total, name))
            medians[name] = None if value is None else readable(value, language)
    shown_month = month_name(chosen, language) if chosen else ""

    def t(name: str, **values: object) -> str:
        return say(language, name, k=k, month=shown_month, **values)

    return _pages.get_template("evaluation.html").render(
        t=t,
        words=WORDS[language],
        language=language.value,
        languages=[(lang, NAMES[lang], link(chosen if month else None, lang)) for lang in Language],
        k=k,
        month=chosen,
        month_label=shown_month,
        state=state,
        months=[(m, month_name(m, language), link(m, chosen_language)) for m in available],
        csv_link="evaluation.csv" + link(chosen, None),
        total=total,
        funnel=funnel_bars(total, language),
        funnel_height=10 + len(FUNNEL) * (BAR_H + 12),
        trend=bars,
        trend_labels=labels,
        points=points,
        series=SERIES,
        chart_width=CHART_W,
        headers=[WORDS[language][f"h_{name}"] for name in HEADERS],
        rows=[table_cells(row, language) for row in rows],
        medians=medians,
    )
