"""A month's evaluation table, k-anonymous, as rows, plain text or CSV; and month trends."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from streams.evaluation.anonymity import TOTAL, Key, suppress
from streams.evaluation.figures import COUNTS, Figures, combine, median_s, people_of

HEADERS = (
    "unit",
    "profession",
    "scheme",
    *COUNTS,
    "median_report_to_offer_h",
    "median_offer_to_answer_h",
)
SUPPRESSED = "suppressed"
NO_DATA = "no data"
"""Marks every cell of a month without any figures: unlike ``suppressed``, nothing is hidden."""


@dataclass(frozen=True)
class Row:
    unit: str
    profession: str
    scheme: str
    figures: Figures | None  # None: suppressed

    @property
    def is_total(self) -> bool:
        return (self.unit, self.profession, self.scheme) == (TOTAL, TOTAL, TOTAL)

    def cells(self) -> list[str]:
        labels = [self.unit, self.profession, self.scheme]
        if self.figures is None:
            return [*labels, *([SUPPRESSED] * (len(HEADERS) - 3))]
        hours = [median_s(self.figures.report_to_offer), median_s(self.figures.offer_to_answer)]
        return [
            *labels,
            *(str(getattr(self.figures, name)) for name in COUNTS),
            *("" if value is None else f"{value / 3600:.2f}" for value in hours),
        ]


def month_table(partials: Iterable[Figures], month: str, k: int) -> list[Row]:
    """Leaves, then margins per unit, profession and scheme, then the total (last); no rows
    for a month without figures, which is not the same as one whose figures are hidden.
    Each row's people are counted once: someone who changed unit within the month is in
    both units' rows and once in the total (:func:`streams.evaluation.figures.people_of`)."""
    leaves: dict[Key, Figures] = {
        cell[1:]: figures for cell, figures in combine(partials).items() if cell[0] == month
    }
    if not leaves:
        return []

    def parts_of(key: Key) -> list[Figures]:
        return [
            f
            for leaf, f in leaves.items()
            if all(a in (TOTAL, b) for a, b in zip(key, leaf, strict=True))
        ]

    counted = {key: figures.people for key, figures in leaves.items()}
    people = {key: people_of(key, parts_of(key), TOTAL) for key in suppress(counted, k)}
    hidden = suppress(counted, k, people)
    rows: list[Row] = []
    for key, is_hidden in hidden.items():
        total = Figures(month=month, unit="x", profession="x", scheme="x")
        for part in parts_of(key):
            total = total.plus(part)
        shown = (
            None
            if is_hidden
            else total.model_copy(
                update={
                    "unit": key[0],
                    "profession": key[1],
                    "scheme": key[2],
                    "people": people[key],
                }
            )
        )
        rows.append(Row(*key, figures=shown))
    return rows


def months(partials: Iterable[Figures]) -> list[str]:
    return sorted({partial.month for partial in partials})


def trend(partials: Iterable[Figures], k: int) -> list[tuple[str, Figures | None]]:
    """The month's total row for every month with figures (``None`` when under k people)."""
    cached = list(partials)
    return [(month, month_table(cached, month, k)[-1].figures) for month in months(cached)]


def as_text(rows: list[Row], month: str, k: int) -> str:
    if not rows:
        return f"Evaluation {month}: no figures recorded for this month ({NO_DATA})\n"
    widths = [max(len(h), *(len(r.cells()[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = [
        f"Evaluation {month} (cells from fewer than {k} people are suppressed; * = all)",
        "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)),
    ]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row.cells(), widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def as_csv(rows: list[Row]) -> str:
    """One header line, then one line a row; a month without figures is one total row marked
    ``no data`` throughout, so a spreadsheet never reads it as hidden or as zero."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(row.cells() for row in rows)
    if not rows:
        writer.writerow([TOTAL, TOTAL, TOTAL, *([NO_DATA] * (len(HEADERS) - 3))])
    return out.getvalue()


__all__ = [
    "HEADERS",
    "NO_DATA",
    "SUPPRESSED",
    "Row",
    "as_csv",
    "as_text",
    "month_table",
    "months",
    "trend",
]
