"""Prometheus metrics of the stream worker. Labels are codes (reason, role, channel) and
agent or topic names, never anything taken from a report or a person."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from runtime.metrics import policy_reload_refused, process_registry
from streams.evaluation.figures import BOUNDS_S


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = process_registry()
        self.reports = Counter(
            "psb_reports_total",
            "Incident reports read, by outcome (signal, dead-lettered).",
            ["outcome"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "psb_boundary_dropped_total",
            "Values the privacy boundary did not copy into a signal, by field and reason "
            "(unknown-code, national-identity-number, email-address, phone-number, ...).",
            ["field", "reason"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "psb_dead_letters_total",
            "Records sent to a dead-letter topic, by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self.offers = Counter(
            "psb_offers_total", "Support offers made, by role.", ["role"], registry=self.registry
        )
        self.duplicates = Counter(
            "psb_duplicates_suppressed_total",
            "Offers or notifications not repeated because they were already made, by stage.",
            ["stage"],
            registry=self.registry,
        )
        self.expired = Counter(
            "psb_table_entries_expired_total",
            "Table entries forgotten because their retention period passed, by table.",
            ["table"],
            registry=self.registry,
        )
        self.too_old = Counter(
            "psb_replays_too_old_total",
            "Records older than the policy's retention, dropped since what was done about them "
            "may be forgotten, by stage (offer, answer).",
            ["stage"],
            registry=self.registry,
        )
        self.suppressed = Counter(
            "psb_offers_suppressed_total",
            "People in a report who got no offer under the policy, by role and reason.",
            ["role", "reason"],
            registry=self.registry,
        )
        self.reminders_cancelled = Counter(
            "psb_reminders_cancelled_total",
            "Scheduled reminders cancelled because the person answered.",
            registry=self.registry,
        )
        self.scheduled = Gauge(
            "psb_scheduled",
            "Offers and reminders waiting to go out on this worker, by stage.",
            ["stage"],
            registry=self.registry,
        )
        self.schedule_backlog = Gauge(
            "psb_schedule_backlog",
            "Offers and reminders waiting in this worker's schedule, all stages together.",
            registry=self.registry,
        )
        self.policy_reload_refused = policy_reload_refused(self.registry)
        self.source_last_report = Gauge(
            "psb_source_last_report_timestamp_seconds",
            "When a report was last read from incident-reports or a signal from "
            "incident-signals (unix seconds): the reporting source's heartbeat.",
            registry=self.registry,
        )
        self.policy_info = Gauge(
            "psb_policy_info",
            "The policy in force (value 1), labelled with its version.",
            ["policy_version"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "psb_notifications_total",
            "Notifications emitted, by channel and kind.",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.not_notified = Counter(
            "psb_not_notified_total",
            "Offers that produced no notification, by reason "
            "(unknown-staff, opted-out, no-channel).",
            ["reason"],
            registry=self.registry,
        )
        self.handoffs = Counter(
            "psb_handoffs_total",
            "Accepted offers handed off, by route (supporter, coordinator, none) and outcome.",
            ["route", "outcome"],
            registry=self.registry,
        )
        self.answers = Counter(
            "psb_answers_total",
            "Answers to offers, counted once per offer and answer.",
            ["answer"],
            registry=self.registry,
        )
        self.report_to_offer = Histogram(
            "psb_report_to_offer_seconds",
            "Time from the report to the offer going out.",
            buckets=BOUNDS_S,
            registry=self.registry,
        )
        self.offer_to_answer = Histogram(
            "psb_offer_to_answer_seconds",
            "Time from the offer going out to the first answer.",
            buckets=BOUNDS_S,
            registry=self.registry,
        )
