"""The words of the answer pages in Bokmål, Nynorsk and English.

Short on purpose: the person has just been through something hard, and the page only has to
confirm their choice. Nothing here names the incident.
"""

from __future__ import annotations

from typing import Final

from schemas.codes import Language
from schemas.response import Answer

CHOICE: Final[dict[Language, dict[Answer, str]]] = {
    Language.NB: {
        Answer.ACCEPT: "Ja takk, jeg vil gjerne snakke med en støttekollega",
        Answer.NOT_NOW: "Nei takk, ikke nå",
        Answer.REMIND_LATER: "Minn meg på det senere",
    },
    Language.NN: {
        Answer.ACCEPT: "Ja takk, eg vil gjerne snakke med ein støttekollega",
        Answer.NOT_NOW: "Nei takk, ikkje no",
        Answer.REMIND_LATER: "Minn meg på det seinare",
    },
    Language.EN: {
        Answer.ACCEPT: "Yes please, I would like to talk to a peer supporter",
        Answer.NOT_NOW: "No thank you, not now",
        Answer.REMIND_LATER: "Remind me later",
    },
}

DONE: Final[dict[Language, dict[Answer, str]]] = {
    Language.NB: {
        Answer.ACCEPT: "Takk. En støttekollega tar kontakt med deg.",
        Answer.NOT_NOW: "Takk for svaret. Du får ikke flere påminnelser om dette tilbudet.",
        Answer.REMIND_LATER: "Greit. Vi minner deg på tilbudet senere.",
    },
    Language.NN: {
        Answer.ACCEPT: "Takk. Ein støttekollega tek kontakt med deg.",
        Answer.NOT_NOW: "Takk for svaret. Du får ikkje fleire påminningar om dette tilbodet.",
        Answer.REMIND_LATER: "Greitt. Vi minner deg på tilbodet seinare.",
    },
    Language.EN: {
        Answer.ACCEPT: "Thank you. A peer supporter will contact you.",
        Answer.NOT_NOW: "Thank you for answering. You will get no more reminders of this offer.",
        Answer.REMIND_LATER: "All right. We will remind you of the offer later.",
    },
}

WORDS: Final[dict[Language, dict[str, str]]] = {
    Language.NB: {
        "title": "Kollegastøtte",
        "confirm": "Bekreft svaret ditt",
        "button": "Bekreft",
        "repeat": "Vi har allerede registrert dette svaret. Du trenger ikke gjøre noe mer.",
        "expired": "Lenken er for gammel. Ta kontakt med ordningen direkte hvis du ønsker støtte.",
        "invalid": "Vi kjenner ikke igjen denne lenken. Bruk lenken i meldingen du fikk, "
        "eller ta kontakt med ordningen direkte.",
        "unavailable": "Tjenesten starter opp. Prøv igjen om et øyeblikk.",
        "failed": "Svaret ble ikke lagret. Prøv igjen om litt.",
        "cross-site": "Svaret ble ikke lagret: det kom ikke fra vår side. Åpne lenken i "
        "meldingen du fikk, og bekreft der.",
    },
    Language.NN: {
        "title": "Kollegastøtte",
        "confirm": "Stadfest svaret ditt",
        "button": "Stadfest",
        "repeat": "Vi har alt registrert dette svaret. Du treng ikkje gjere noko meir.",
        "expired": "Lenkja er for gammal. Ta kontakt med ordninga direkte om du ønskjer støtte.",
        "invalid": "Vi kjenner ikkje att denne lenkja. Bruk lenkja i meldinga du fekk, "
        "eller ta kontakt med ordninga direkte.",
        "unavailable": "Tenesta startar opp. Prøv igjen om eit augeblikk.",
        "failed": "Svaret vart ikkje lagra. Prøv igjen om litt.",
        "cross-site": "Svaret vart ikkje lagra: det kom ikkje frå sida vår. Opne lenkja i "
        "meldinga du fekk, og stadfest der.",
    },
    Language.EN: {
        "title": "Peer support",
        "confirm": "Confirm your answer",
        "button": "Confirm",
        "repeat": "We have already recorded this answer. There is nothing more to do.",
        "expired": "This link is too old. Please contact the scheme directly if you would "
        "like support.",
        "invalid": "We do not recognise this link. Please use the link in the message you "
        "received, or contact the scheme directly.",
        "unavailable": "The service is starting. Please try again in a moment.",
        "failed": "Your answer was not saved. Please try again shortly.",
        "cross-site": "Your answer was not saved: it did not come from our page. Please open "
        "the link in the message you received and confirm there.",
    },
}


def language_from_header(accept_language: str | None) -> Language:
    """The first of nb/nn/en the browser asks for (``no`` reads as Bokmål); else Bokmål."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in ("nb", "no"):
            return Language.NB
        if primary == "nn":
            return Language.NN
        if primary == "en":
            return Language.EN
    return Language.NB
