"""k-anonymity for a month's table of figures: hide every cell built from fewer than k
people, and enough others that no hidden cell can be worked out from what is shown.

The published table has leaves (unit × profession × scheme), margins (per unit, per
profession, per scheme) and the month's total. Each margin is the sum of its leaves and the
total is the sum of each margin family, so the table is a set of linear relations
``total = part + part + …``. Hiding only the small cells would let a reader subtract the
visible parts from a visible total. So, after the primary suppression (``people < k``):

1. in every relation, a single hidden member is joined by the smallest visible member, and
   hidden parts under a visible total must add up to at least k people (else their sum, a
   small number, is disclosed);
2. a hidden cell that the relations together still pin down (exact linear algebra over the
   rationals: it is determined iff the reduced row echelon form of the relations over the
   hidden cells has a row with that cell alone) makes one more member of its relations
   hidden (or, when those are all hidden, the smallest visible cell related to a hidden
   one); repeat until nothing changes.

A row's size is the number of people it is built from, each counted once (``sizes``):
someone who changed unit within a month is in two leaves but once in a margin, so a margin
may be smaller than the sum of its leaves, and is judged by its own size. The relations
still hold for every other count, so the differencing rules above apply as they are;
without ``sizes``, a margin's size is the sum of its leaves (never smaller than the truth).

Pure and deterministic: the same figures always give the same table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

TOTAL: Final = "*"
"""The value of a dimension in a margin row: every unit, profession or scheme."""

Key = tuple[str, str, str]  # unit, profession, scheme (TOTAL in margins)


@dataclass(frozen=True)
class Relation:
    total: Key
    parts: tuple[Key, ...]

    @property
    def members(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def table_keys(leaves: Sequence[Key]) -> tuple[list[Key], list[Relation]]:
    """Every published row (leaves, margins, total) and the relations between them."""
    relations: list[Relation] = []
    keys: list[Key] = sorted(set(leaves))
    grand: Key = (TOTAL, TOTAL, TOTAL)
    margins: list[Key] = []
    for axis in range(3):
        values = sorted({leaf[axis] for leaf in leaves})
        family: list[Key] = []
        for value in values:
            margin = tuple(value if i == axis else TOTAL for i in range(3))
            parts = tuple(leaf for leaf in keys if leaf[axis] == value)
            relations.append(Relation(margin, parts))  # type: ignore[arg-type]
            family.append(margin)  # type: ignore[arg-type]
        relations.append(Relation(grand, tuple(family)))
        margins.extend(family)
    relations.append(Relation(grand, tuple(keys)))
    return [*keys, *dict.fromkeys(margins), grand], [r for r in relations if r.parts]


def determined(hidden: set[Key], relations: Sequence[Relation]) -> set[Key]:
    """The hidden cells whose value the visible cells and the relations fix exactly."""
    unknowns = sorted(hidden)
    column = {key: i for i, key in enumerate(unknowns)}
    rows: list[list[Fraction]] = []
    for relation in relations:
        row = [Fraction(0)] * len(unknowns)
        for sign, key in ((1, relation.total), *((-1, part) for part in relation.parts)):
            if key in column:
                row[column[key]] += sign
        if any(row):
            rows.append(row)
    reduced = _rref(rows, len(unknowns))
    found: set[Key] = set()
    for row in reduced:
        nonzero = [i for i, value in enumerate(row) if value]
        if len(nonzero) == 1:
            found.add(unknowns[nonzero[0]])
    return found


def _rref(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    matrix = [list(row) for row in rows]
    pivot_row = 0
    for col in range(width):
        pivot = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col]), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [value / lead for value in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col]:
                factor = matrix[r][col]
                matrix[r] = [
                    a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)
                ]
        pivot_row += 1
    return matrix[:pivot_row]


def suppress(
    people: Mapping[Key, int], k: int, sizes: Mapping[Key, int] | None = None
) -> dict[Key, bool]:
    """Which rows to hide, given how many people each leaf (unit, profession, scheme) is
    built from, and optionally each margin's and the total's own count of people. Returns
    every published row (leaves, margins, total) → hidden?"""
    leaves = [key for key, count in people.items() if count > 0]
    keys, relations = table_keys(leaves)
    size: dict[Key, int] = {key: 0 for key in keys}
    for leaf in leaves:
        size[leaf] = people[leaf]
    for relation in relations[:-1]:
        if relation.total != (TOTAL, TOTAL, TOTAL):
            size[relation.total] = sum(size[part] for part in relation.parts)
    size[(TOTAL, TOTAL, TOTAL)] = sum(size[leaf] for leaf in leaves)
    for key, count in (sizes or {}).items():
        if key in size and TOTAL in key:
            size[key] = min(size[key], count)
    hidden = {key for key in keys if size[key] < k}

    def order(key: Key) -> tuple[int, int, Key]:
        return (size[key], 1 if TOTAL in key else 0, key)

    def hide_one_more(relation: Relation) -> bool:
        visible = [key for key in relation.parts if key not in hidden] or (
            [relation.total] if relation.total not in hidden else []
        )
        if not visible:
            return False
        hidden.add(min(visible, key=order))
        return True

    changed = True
    while changed:
        changed = False
        for relation in relations:
            members = [key for key in relation.members if key in hidden]
            hidden_parts = sum(size[key] for key in relation.parts if key in hidden)
            small_sum = relation.total not in hidden and 0 < hidden_parts < k
            if (len(members) == 1 or small_sum) and hide_one_more(relation):
                changed = True
        if changed:
            continue
        pinned = sorted(determined(hidden, relations))
        if pinned:
            target = pinned[0]
            changed = any(
                target in relation.members and hide_one_more(relation) for relation in relations
            )
            if not changed:  # pinned through other relations: widen, smallest first
                near = [
                    key
                    for relation in relations
                    if any(member in hidden for member in relation.members)
                    for key in relation.members
                    if key not in hidden
                ]
                rest = near or [key for key in keys if key not in hidden]
                if rest:
                    hidden.add(min(rest, key=order))
                    changed = True
    return {key: key in hidden for key in keys}
