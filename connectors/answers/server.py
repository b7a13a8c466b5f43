"""``peer-support answers``: the page behind every one-click answer link.

``GET /a/{token}`` only shows the choice and a button: link-preview bots and mail scanners
fetch links, so a GET never records anything. ``POST /a/{token}`` (the button) verifies the
token, checks that it names a known offer of the person it was made for, records one
``SupportResponse`` on ``support-responses`` (keyed by the person's pseudonym, idempotent
producer, acks from every in-sync replica) and confirms in the person's language. The same
answer to the same offer is recorded once, however often the button is pressed (see
:mod:`connectors.answers.known`). Expired, forged and mismatched links get a friendly page
and no event; so does a POST from another site (see :mod:`connectors.answers.origin`), and
no other site may frame the page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from aiohttp import web
from confluent_kafka import KafkaError, Producer
from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import Counter

from connectors.answers.known import KnownAnswers
from connectors.answers.origin import same_origin
from connectors.answers.texts import CHOICE, DONE, WORDS, language_from_header
from connectors.answers.tokens import AnswerClaim, AnswerTokens, TokenError
from runtime.clock import utc_now
from runtime.kafka import producer_config
from runtime.logging import get_logger
from runtime.metrics import metrics_handler, process_registry
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Language, SupportResponse

log = get_logger("answers")

SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    # not no-referrer: with it, browsers send "Origin: null" on our own form's POST, and the
    # same-origin check (connectors.answers.origin) could not tell it from a sandboxed page's
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class Outcome(StrEnum):
    RECORDED = "recorded"
    REPEAT = "repeat"
    EXPIRED = "expired"
    INVALID = "invalid"
    WRONG_OFFER = "wrong-offer"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"
    CROSS_SITE = "cross-site"


STATUS: Final = {
    Outcome.RECORDED: 200,
    Outcome.REPEAT: 200,
    Outcome.EXPIRED: 410,
    Outcome.INVALID: 400,
    Outcome.WRONG_OFFER: 400,
    Outcome.UNAVAILABLE: 503,
    Outcome.FAILED: 503,
    Outcome.CROSS_SITE: 403,
}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    claim: AnswerClaim | None = None


def judge(token: str, tokens: AnswerTokens, known: KnownAnswers) -> Verdict:
    """What a click on ``token`` means, before anything is recorded."""
    try:
        claim = tokens.verify(token)
    except TokenError as exc:
        return Verdict(Outcome.EXPIRED if exc.reason == "expired" else Outcome.INVALID)
    if not known.ready.is_set():
        return Verdict(Outcome.UNAVAILABLE, claim)
    if known.owner(claim.offer_id) != claim.person:
        return Verdict(Outcome.WRONG_OFFER, claim)
    if known.is_recorded(claim.offer_id, claim.answer):
        return Verdict(Outcome.REPEAT, claim)
    return Verdict(Outcome.RECORDED, claim)


class AnswersEndpoint:
    def __init__(self, kafka: KafkaSettings, tokens: AnswerTokens, origin: str) -> None:
        self.kafka = kafka
        self.tokens = tokens
        self.origin = origin
        self.topics = Topics(kafka.topic_prefix)
        self.known = KnownAnswers()
        self._producer = Producer(producer_config(kafka, **{"linger.ms": 0}))
        self._lock = asyncio.Lock()
        self._pages = Environment(
            loader=PackageLoader("connectors.answers", "templates"),
            autoescape=select_autoescape(default=True),
        )
        self.registry = process_registry()
        self.clicks = Counter(
            "psb_answer_clicks_total",
            "Answer confirmations by answer and outcome (recorded, repeat, expired, invalid, "
            "wrong-offer, unavailable, failed, cross-site).",
            ["answer", "outcome"],
            registry=self.registry,
        )
        self._follower: asyncio.Task[None] | None = None
        self.failed = False

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/a/{token}", self.show)
        app.router.add_post("/a/{token}", self.confirm)
        app.router.add_get("/health/live", self.live)
        app.router.add_get("/health/ready", self.ready)
        app.router.add_get("/metrics", metrics_handler(self.registry))
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        self._follower = asyncio.create_task(self.known.follow(self.kafka))
        self._follower.add_done_callback(self._follower_ended)

    def _follower_ended(self, follower: asyncio.Task[None]) -> None:
        """Without the topics no click can be judged: rather than stay up and never be
        ready, the process ends (``serve`` returns False) and is started again."""
        if follower.cancelled():
            return
        error = follower.exception()
        log.error(
            "answers cannot follow their topics, stopping",
            bootstrap_servers=self.kafka.bootstrap_servers,
            exception=type(error).__name__ if error else None,
        )
        self.failed = True
        raise web.GracefulExit  # as aiohttp's own SIGTERM handler does: run_app cleans up

    async def _stop(self, app: web.Application) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        await asyncio.to_thread(self._producer.flush, 10)

    def _page(self, language: Language, status: int = 200, **context: Any) -> web.Response:
        html = self._pages.get_template("page.html").render(
            language=language.value, words=WORDS[language], **context
        )
        return web.Response(
            text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS
        )

    def _message(self, request: web.Request, verdict: Verdict) -> web.Response:
        claim = verdict.claim
        language = (
            claim.language
            if claim
            else language_from_header(request.headers.get("Accept-Language"))
        )
        if verdict.outcome is Outcome.RECORDED and claim is not None:
            message = DONE[language][claim.answer]
        elif verdict.outcome is Outcome.WRONG_OFFER:
            message = WORDS[language]["invalid"]
        else:
            message = WORDS[language][verdict.outcome.value]
        return self._page(
            language,
            STATUS[verdict.outcome],
            form=False,
            outcome=verdict.outcome.value,
            message=message,
        )

    async def show(self, request: web.Request) -> web.Response:
        """The choice and a button; records nothing (bots and previews only ever GET)."""
        verdict = judge(request.match_info["token"], self.tokens, self.known)
        if verdict.outcome in (Outcome.RECORDED, Outcome.UNAVAILABLE) and verdict.claim:
            claim = verdict.claim
            return self._page(
                claim.language, form=True, choice=CHOICE[claim.language][claim.answer]
            )
        return self._message(request, verdict)

    async def confirm(self, request: web.Request) -> web.Response:
        if not same_origin(request.headers, self.origin):
            # another site's form: the token is not even looked at, nothing is recorded
            self.clicks.labels("unknown", Outcome.CROSS_SITE.value).inc()
            log.warning("answer click refused", status=Outcome.CROSS_SITE.value)
            return self._message(request, Verdict(Outcome.CROSS_SITE))
        async with self._lock:  # one click at a time: a double click records once
            verdict = judge(request.match_info["token"], self.tokens, self.known)
            if (
                verdict.outcome is Outcome.RECORDED
                and verdict.claim is not None
                and not await self._record(verdict.claim)
            ):
                verdict = Verdict(Outcome.FAILED, verdict.claim)
        answer = verdict.claim.answer.value if verdict.claim else "unknown"
        self.clicks.labels(answer, verdict.outcome.value).inc()
        log.info(
            "answer click",
            offer_id=verdict.claim.offer_id if verdict.claim else None,
            status=verdict.outcome.value,
        )
        return self._message(request, verdict)

    async def _record(self, claim: AnswerClaim) -> bool:
        response = SupportResponse(
            offer_id=claim.offer_id,
            person=claim.person,
            answer=claim.answer,
            answered_at=utc_now(),
        )
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                errors.append(error)

        self._producer.produce(
            self.topics.support_responses,
            key=response.person,
            value=response.model_dump_json(),
            on_delivery=delivered,
        )
        remaining = await asyncio.to_thread(self._producer.flush, 15)
        if remaining or errors:
            log.error("answer not recorded", offer_id=claim.offer_id, count=remaining)
            return False
        self.known.record(response)
        return True

    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    async def ready(self, request: web.Request) -> web.Response:
        ready = self.known.ready.is_set()
        return web.json_response(
            {"status": "ready" if ready else "waiting"}, status=200 if ready else 503
        )


def serve(kafka: KafkaSettings, tokens: AnswerTokens, origin: str, host: str, port: int) -> bool:
    """Run until interrupted (SIGTERM/SIGINT end it cleanly: True) or until the topics can
    no longer be followed (False). ``origin`` is the public one, as links show it."""
    endpoint = AnswersEndpoint(kafka, tokens, origin)
    log.info("answers endpoint starting", port=port)
    web.run_app(endpoint.application(), host=host, port=port, print=None, access_log=None)
    return not endpoint.failed
