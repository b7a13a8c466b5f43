"""k-anonymity of the evaluation table: small cells are hidden, and no hidden cell can be
recovered from the totals and the visible parts."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.evaluation.anonymity import TOTAL, Key, suppress, table_keys
from streams.evaluation.figures import Figures, median_s, observe
from streams.evaluation.report import as_csv, as_text, month_table

G: Key = (TOTAL, TOTAL, TOTAL)


def rank(rows: list[list[Fraction]]) -> int:
    """Plain Gaussian elimination (a different route from the module's reduced form)."""
    matrix = [list(row) for row in rows]
    count = 0
    width = len(matrix[0]) if matrix else 0
    for col in range(width):
        pivot = next((r for r in range(count, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[count], matrix[pivot] = matrix[pivot], matrix[count]
        for r in range(count + 1, len(matrix)):
            factor = matrix[r][col] / matrix[count][col]
            matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[count], strict=True)]
        count += 1
    return count


def recoverable(people: dict[Key, int], hidden: dict[Key, bool]) -> list[Key]:
    """Hidden rows whose value the published rows and the table's sums pin down."""
    leaves = [key for key, count in people.items() if count > 0]
    keys, relations = table_keys(leaves)
    unknowns = [key for key in keys if hidden[key]]
    column = {key: i for i, key in enumerate(unknowns)}
    rows = []
    for relation in relations:
        row = [Fraction(0)] * len(unknowns)
        for sign, key in ((1, relation.total), *((-1, p) for p in relation.parts)):
            if key in column:
                row[column[key]] += sign
        rows.append(row)
    base = rank(rows) if unknowns else 0
    found = []
    for key in unknowns:
        unit = [Fraction(int(column[key] == i)) for i in range(len(unknowns))]
        if rank([*rows, unit]) == base:
            found.append(key)
    return found


def size(people: dict[Key, int], key: Key) -> int:
    return sum(
        count
        for leaf, count in people.items()
        if all(a in (TOTAL, b) for a, b in zip(key, leaf, strict=True))
    )


def test_a_cell_under_k_is_hidden_and_so_is_a_second_one_beside_it() -> None:
    people = {("A", "nurse", "emp"): 7, ("B", "nurse", "emp"): 2, ("C", "nurse", "emp"): 9}
    hidden = suppress(people, k=5)
    assert hidden[("B", "nurse", "emp")]
    assert hidden[("A", "nurse", "emp")]  # else B = total - A - C
    assert not hidden[("C", "nurse", "emp")]
    assert not hidden[G]
    assert hidden[("B", TOTAL, TOTAL)]  # the unit margin equals the hidden leaf
    assert recoverable(people, hidden) == []


def test_nothing_is_hidden_when_every_cell_is_large_enough() -> None:
    people = {("A", "nurse", "emp"): 5, ("B", "physician", "lege"): 6}
    assert not any(suppress(people, k=5).values())


def test_two_small_parts_whose_sum_is_small_are_not_enough() -> None:
    # 1 + 1 under a visible total would reveal that both are exactly one person
    people = {("A", "nurse", "emp"): 1, ("B", "nurse", "emp"): 1, ("C", "nurse", "emp"): 20}
    hidden = suppress(people, k=5)
    assert hidden[("C", "nurse", "emp")] or hidden[G]


def test_everything_is_hidden_when_the_month_is_small() -> None:
    people = {("A", "nurse", "emp"): 2, ("B", "nurse", "emp"): 2}
    assert all(suppress(people, k=5).values())


people_tables = st.dictionaries(
    st.tuples(
        st.sampled_from(["U1", "U2", "U3"]),
        st.sampled_from(["nurse", "physician", "midwife"]),
        st.sampled_from(["emp", "lege"]),
    ),
    st.integers(min_value=1, max_value=14),
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(people_tables, st.integers(min_value=2, max_value=6))
def test_no_suppressed_cell_can_be_derived(people: dict[Key, int], k: int) -> None:
    hidden = suppress(people, k)
    keys, relations = table_keys(list(people))
    assert set(hidden) == set(keys)
    for key in keys:  # primary suppression
        if size(people, key) < k:
            assert hidden[key], key
    assert recoverable(people, hidden) == []
    for relation in relations:  # hidden parts under a shown total are never a tiny sum
        parts = [size(people, p) for p in relation.parts if hidden[p]]
        if not hidden[relation.total] and parts:
            assert sum(parts) >= k
            assert len(parts) >= 2 or size(people, relation.total) == sum(parts)


def test_the_month_table_hides_figures_and_medians_of_small_cells() -> None:
    def cell(unit: str, people: int, partition: int = 0) -> Figures:
        return Figures(
            month="2026-11",
            unit=unit,
            profession="nurse",
            scheme="emp",
            partition=partition,
            people=people,
            offers=people,
            answered=people,
            accepted=1,
            report_to_offer=observe(
                Figures.model_fields["report_to_offer"].default, timedelta(hours=2)
            ),
        )

    partials = [cell("A", 6), cell("B", 2), cell("C", 4, 0), cell("C", 4, 1)]
    rows = month_table(partials, "2026-11", k=5)
    by_unit = {(r.unit, r.profession): r for r in rows}
    shown = by_unit[("C", "nurse")].figures
    assert shown is not None
    assert shown.people == 8  # two partitions added up
    assert median_s(shown.report_to_offer) is not None
    assert by_unit[("B", "nurse")].figures is None  # 2 people
    assert by_unit[("A", "nurse")].figures is None  # else B = total - A - C
    total = rows[-1]
    assert total.is_total and total.figures is not None and total.figures.people == 16
    text = as_text(rows, "2026-11", 5)
    assert "suppressed" in text and "fewer than 5 people" in text
    assert as_csv(rows).splitlines()[0].startswith("unit,profession,scheme,people,offers")
    assert month_table(partials, "2026-10", k=5) == []  # no figures: nothing hidden either


def test_median_is_read_from_the_histogram() -> None:
    histogram = Figures.model_fields["report_to_offer"].default
    for hours in (1, 2, 2, 3, 30):
        histogram = observe(histogram, timedelta(hours=hours))
    median = median_s(histogram)
    assert median is not None and 3600 < median <= 7200
    assert median_s(Figures.model_fields["report_to_offer"].default) is None
