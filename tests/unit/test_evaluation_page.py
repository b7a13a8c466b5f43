"""The evaluation page in the reader's language, its CSV download, and how it tells a month
without figures from a month whose figures are hidden. Served by the real aiohttp app
(in-process), over figures held in a stand-in for the replicated view."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from schemas.codes import Language
from streams.evaluation.figures import Figures
from streams.evaluation.report import as_csv, as_text, month_table
from streams.evaluation.texts import negotiate
from streams.evaluation.web import HEADERS, evaluation_app

K = 3
FIGURES = [
    Figures(month="2026-03", unit="MED-1", profession="nurse", scheme="ordning", people=5,
            offers=5, answered=4, accepted=3, declined=1),
    Figures(month="2026-03", unit="MED-2", profession="nurse", scheme="ordning", people=4,
            offers=4, answered=2, accepted=1, later=1),
    Figures(month="2026-05", unit="MED-1", profession="nurse", scheme="ordning", people=2,
            offers=2, answered=1, accepted=1),
]  # fmt: skip
"""March shown, April without figures, May from fewer than K people."""


class View:
    def values(self) -> list[Figures]:
        return FIGURES


@pytest.fixture
async def client() -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(evaluation_app(View(), K, Language.NN))) as client:  # type: ignore[arg-type]
        yield client


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Language.NN),
        ("", Language.NN),
        ("de-DE,fr;q=0.8", Language.NN),
        ("en-GB,en;q=0.9,nb;q=0.8", Language.EN),
        ("en;q=0.5,nb;q=0.9", Language.NB),
        ("no;q=0.7,nn;q=0.8", Language.NN),
        ("nb-NO", Language.NB),
        ("no", Language.NB),
        ("sv,*;q=0.5", Language.NN),
        ("en;q=0,nb;q=0.1", Language.NB),  # q=0: not acceptable
        ("en;q=abc,nb;q=0.2", Language.NB),
        ("en;q=nan,nb;q=0.2", Language.NB),
        (",;;,=,en" + "x" * 5000, Language.NN),
    ],
)
def test_the_page_speaks_the_language_the_browser_prefers_most(
    header: str | None, expected: Language
) -> None:
    assert negotiate(header, Language.NN) is expected


async def test_the_page_follows_accept_language_and_lang_and_names_its_language(
    client: TestClient[object, object],
) -> None:
    answer = await client.get("/evaluation?month=2026-03", headers={"Accept-Language": "en"})
    page = await answer.text()
    assert answer.status == 200
    assert '<html lang="en">' in page
    assert "March 2026 at a glance" in page
    assert answer.headers["Vary"] == "Accept-Language"
    assert answer.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]

    page = await (await client.get("/evaluation?month=2026-03")).text()  # the settings' default
    assert '<html lang="nn">' in page
    assert "Mars 2026 i korte trekk" in page

    answer = await client.get("/evaluation?lang=nb", headers={"Accept-Language": "en"})
    page = await answer.text()
    assert '<html lang="nb">' in page
    assert 'href="?month=2026-03&amp;lang=nb"' in page  # the reader's choice is kept


async def test_no_data_and_hidden_read_differently_on_the_page_and_in_the_csv(
    client: TestClient[object, object],
) -> None:
    english = {"Accept-Language": "en"}
    hidden = await (await client.get("/evaluation?month=2026-05", headers=english)).text()
    assert "The figures for May 2026 are hidden" in hidden
    assert "No figures are recorded" not in hidden
    nothing = await (await client.get("/evaluation?month=2026-04", headers=english)).text()
    assert "No figures are recorded for April 2026" in nothing
    assert "are hidden" not in nothing
    assert 'id="figures"' not in nothing  # no table of zeros
    trend = hidden.split('id="trend-table"')[1]
    assert '<th scope="row">April 2026</th><td class="no-data">no data</td>' in trend
    assert '<th scope="row">May 2026</th><td class="suppressed">hidden</td>' in trend

    def rows(text: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(text)))[1:]

    may = rows(await (await client.get("/evaluation.csv?month=2026-05")).text())
    april = rows(await (await client.get("/evaluation.csv?month=2026-04")).text())
    assert may[-1][:4] == ["*", "*", "*", "suppressed"]
    assert april == [["*", "*", "*", *["no data"] * 9]]


async def test_the_csv_download_is_the_report_commands_csv(
    client: TestClient[object, object],
) -> None:
    answer = await client.get("/evaluation.csv?month=2026-03")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        answer.headers["Content-Disposition"]
        == 'attachment; filename="peer-support-evaluation-2026-03.csv"'
    )
    assert answer.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    assert await answer.text() == as_csv(month_table(FIGURES, "2026-03", K))
    elsewhere = await client.get("/table/evaluation/")  # aiohttp's own 404 too
    assert elsewhere.status == 404
    assert elsewhere.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    latest = await client.get("/evaluation.csv")  # no month: the latest with figures
    assert "2026-05.csv" in latest.headers["Content-Disposition"]
    assert as_text([], "2026-04", K).startswith("Evaluation 2026-04: no figures recorded")


@pytest.mark.parametrize("path", ["/evaluation", "/evaluation.csv"])
@pytest.mark.parametrize(
    "query",
    [
        "month=../../etc/passwd",
        "month=9999-99",
        "month=2026-13",
        "month=0000-01",
        "month=2026-1",
        "month=2026-07%0A",
        "month=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-07",  # full-width digits
        "month=%FF%FE",
        "month=%3Cscript%3E",
        "month=" + "2026-07" * 600,
        "lang=de",
        "lang=%3Cb%3E",
    ],
)
async def test_a_bad_query_gets_one_plain_line_and_never_its_value_back(
    client: TestClient[object, object], path: str, query: str
) -> None:
    answer = await client.get(f"{path}?{query}", headers={"Accept-Language": "en"})
    text = await answer.text()
    assert answer.status == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert text in ("month must be YYYY-MM, for example 2026-11\n", "lang must be nb, nn or en\n")
