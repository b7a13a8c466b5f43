"""The words of the evaluation page in Bokmål, Nynorsk and English.

The page is read by quality departments, who report in their own written standard; the CSV
download keeps the column names of ``peer-support report --csv`` so that spreadsheets and
scripts read every language's download alike.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

from babel.dates import format_date
from babel.numbers import format_decimal

from schemas.codes import Language

NAMES: Final[dict[Language, str]] = {
    Language.NB: "Bokmål",
    Language.NN: "Nynorsk",
    Language.EN: "English",
}

WORDS: Final[dict[Language, dict[str, str]]] = {
    Language.NB: {
        "title": "Kollegastøtte etter uønskede hendelser: evaluering",
        "lead": "Hvor mange ansatte som fikk tilbud om kollegastøtte etter en avviksmelding, "
        "hvor mange som svarte og hvor mange som takket ja. Bare antall, ingen personer: et "
        "tall bygd på færre enn {k} personer vises som «skjult», og det samme gjør tall det "
        "kunne regnes ut fra.",
        "empty": "Ingen tall ennå: de kommer når de første tilbudene er sendt.",
        "language": "Språk",
        "months": "Måneder",
        "month": "Måned:",
        "glance": "{month} i korte trekk",
        "offers": "Tilbud sendt",
        "answered": "Besvart",
        "accepted": "Takket ja",
        "declined": "Takket nei",
        "reminders": "Påminnelser sendt",
        "median_report_to_offer": "Median fra melding til tilbud",
        "median_offer_to_answer": "Median fra tilbud til svar",
        "funnel": "Fra tilbud til ja, {month}",
        "suppressed_month": "Tallene for {month} er skjult: de bygger på færre enn {k} "
        "personer, og å vise dem kunne gjøre det mulig å kjenne igjen noen.",
        "no_data_month": "Ingen tall er registrert for {month}: ingen tilbud ble sendt den "
        "måneden, eller måneden er eldre enn tallene tas vare på.",
        "trend": "Utvikling over måneder",
        "trend_label": "Tilbud sendt, besvart og takket ja per måned",
        "trend_table": "Utviklingen som tabell",
        "table": "Tall per enhet, yrke og ordning, {month}",
        "note": "«alle» betyr alle enheter, yrker eller ordninger. Tider er medianer i timer, "
        "anslått fra grupperte varigheter.",
        "suppressed": "skjult",
        "no_data": "ingen tall",
        "all": "alle",
        "csv": "Last ned tabellen for {month} som CSV",
        "under_5_min": "under 5 min",
        "minutes": "{n} min",
        "hours": "{n} t",
        "days": "{n} døgn",
        "bad_month": "month må være ÅÅÅÅ-MM, for eksempel 2026-11",
        "bad_lang": "lang må være nb, nn eller en",
        "h_month": "Måned",
        "h_unit": "Enhet",
        "h_profession": "Yrke",
        "h_scheme": "Ordning",
        "h_people": "Personer",
        "h_offers": "Tilbud",
        "h_answered": "Besvart",
        "h_accepted": "Ja",
        "h_declined": "Nei",
        "h_later": "Senere",
        "h_reminders": "Påminnelser",
        "h_median_report_to_offer_h": "Median melding → tilbud (t)",
        "h_median_offer_to_answer_h": "Median tilbud → svar (t)",
    },
    Language.NN: {
        "title": "Kollegastøtte etter uønskte hendingar: evaluering",
        "lead": "Kor mange tilsette som fekk tilbod om kollegastøtte etter ei avviksmelding, "
        "kor mange som svarte og kor mange som takka ja. Berre tal, ingen personar: eit tal "
        "bygt på færre enn {k} personar blir vist som «skjult», og det same gjeld tal det "
        "kunne reknast ut frå.",
        "empty": "Ingen tal enno: dei kjem når dei første tilboda er sende.",
        "language": "Språk",
        "months": "Månader",
        "month": "Månad:",
        "glance": "{month} i korte trekk",
        "offers": "Tilbod sende",
        "answered": "Svara",
        "accepted": "Takka ja",
        "declined": "Takka nei",
        "reminders": "Påminningar sende",
        "median_report_to_offer": "Median frå melding til tilbod",
        "median_offer_to_answer": "Median frå tilbod til svar",
        "funnel": "Frå tilbod til ja, {month}",
        "suppressed_month": "Tala for {month} er skjulte: dei byggjer på færre enn {k} "
        "personar, og å vise dei kunne gjere det mogleg å kjenne att nokon.",
        "no_data_month": "Ingen tal er registrerte for {month}: ingen tilbod vart sende den "
        "månaden, eller månaden er eldre enn tala blir tekne vare på.",
        "trend": "Utvikling over månader",
        "trend_label": "Tilbod sende, svara og takka ja per månad",
        "trend_table": "Utviklinga som tabell",
        "table": "Tal per eining, yrke og ordning, {month}",
        "note": "«alle» tyder alle einingar, yrke eller ordningar. Tider er medianar i timar, "
        "rekna ut frå grupperte varigheiter.",
        "suppressed": "skjult",
        "no_data": "ingen tal",
        "all": "alle",
        "csv": "Last ned tabellen for {month} som CSV",
        "under_5_min": "under 5 min",
        "minutes": "{n} min",
        "hours": "{n} t",
        "days": "{n} døgn",
        "bad_month": "month må vere ÅÅÅÅ-MM, til dømes 2026-11",
        "bad_lang": "lang må vere nb, nn eller en",
        "h_month": "Månad",
        "h_unit": "Eining",
        "h_profession": "Yrke",
        "h_scheme": "Ordning",
        "h_people": "Personar",
        "h_offers": "Tilbod",
        "h_answered": "Svara",
        "h_accepted": "Ja",
        "h_declined": "Nei",
        "h_later": "Seinare",
        "h_reminders": "Påminningar",
        "h_median_report_to_offer_h": "Median melding → tilbod (t)",
        "h_median_offer_to_answer_h": "Median tilbod → svar (t)",
    },
    Language.EN: {
        "title": "Peer support after incidents: evaluation",
        "lead": "How many staff were offered peer support after an incident report, how many "
        "answered and how many accepted. Counts only, no people: any figure from fewer than "
        "{k} people is shown as “hidden”, and so is any figure it could be worked out from.",
        "empty": "No figures yet: they appear once the first offers have been sent.",
        "language": "Language",
        "months": "Months",
        "month": "Month:",
        "glance": "{month} at a glance",
        "offers": "Offers sent",
        "answered": "Answered",
        "accepted": "Accepted",
        "declined": "Declined",
        "reminders": "Reminders sent",
        "median_report_to_offer": "Median from report to offer",
        "median_offer_to_answer": "Median from offer to answer",
        "funnel": "From offer to acceptance, {month}",
        "suppressed_month": "The figures for {month} are hidden: they come from fewer than "
        "{k} people, and showing them could make someone recognisable.",
        "no_data_month": "No figures are recorded for {month}: no offers were sent that "
        "month, or the month is older than figures are kept.",
        "trend": "Trend over months",
        "trend_label": "Offers sent, answered and accepted per month",
        "trend_table": "The trend as a table",
        "table": "Figures by unit, profession and scheme, {month}",
        "note": "“all” means every unit, profession or scheme. Times are medians in hours, "
        "estimated from grouped durations.",
        "suppressed": "hidden",
        "no_data": "no data",
        "all": "all",
        "csv": "Download the table for {month} as CSV",
        "under_5_min": "under 5 min",
        "minutes": "{n} min",
        "hours": "{n} h",
        "days": "{n} days",
        "bad_month": "month must be YYYY-MM, for example 2026-11",
        "bad_lang": "lang must be nb, nn or en",
        "h_month": "Month",
        "h_unit": "Unit",
        "h_profession": "Profession",
        "h_scheme": "Scheme",
        "h_people": "People",
        "h_offers": "Offers",
        "h_answered": "Answered",
        "h_accepted": "Accepted",
        "h_declined": "Declined",
        "h_later": "Later",
        "h_reminders": "Reminders",
        "h_median_report_to_offer_h": "Median report → offer (h)",
        "h_median_offer_to_answer_h": "Median offer → answer (h)",
    },
}

_PRIMARY: Final = {"nb": Language.NB, "no": Language.NB, "nn": Language.NN, "en": Language.EN}


def negotiate(accept_language: str | None, default: Language) -> Language:
    """The browser's most preferred of nb/nn/en by q-value (``no`` reads as Bokmål, ``*`` and
    no match as ``default``). Malformed parts are skipped rather than refused: a browser's
    header is not the user's fault."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:1024].split(",")[:32]):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and math.isfinite(quality) and 0 < quality <= 1:
            ranked.append((-quality, position, tag.lower()))
    for _, _, tag in sorted(ranked):
        if tag == "*":
            return default
        language = _PRIMARY.get(tag.split("-")[0])
        if language is not None:
            return language
    return default


def month_name(month: str, language: Language) -> str:
    """``2026-07`` as ``juli 2026`` / ``July 2026``."""
    year, number = month.split("-")
    return format_date(date(int(year), int(number), 1), "LLLL y", locale=language.value)


def decimal(value: float, pattern: str, language: Language) -> str:
    return format_decimal(value, pattern, locale=language.value)


def say(language: Language, name: str, **values: object) -> str:
    """A sentence of the page, its first letter capital (month names start in lower case)."""
    text = WORDS[language][name].format(**values)
    return text[:1].upper() + text[1:]
