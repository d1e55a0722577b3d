"""Prometheus metrics, served on GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INBOX_RECEIVED = Counter(
    "escbot_inbox_received_total", "Requests from Slack stored in the inbox", ["kind", "result"]
)
INBOX_PROCESSED = Counter("escbot_inbox_processed_total", "Inbox rows processed", ["kind"])
INBOX_FAILED = Counter(
    "escbot_inbox_failed_total", "Inbox rows given up on after transient failures", ["kind"]
)
INBOX_PARKED = Counter(
    "escbot_inbox_parked_total", "Inbox rows set aside after a failure that would recur", ["kind"]
)
TIMERS_PARKED = Counter(
    "escbot_timers_parked_total", "Timers set aside after a failure that would recur", ["kind"]
)
CASES_OPENED = Counter("escbot_cases_opened_total", "Cases opened")
OUTBOX_SENT = Counter("escbot_outbox_sent_total", "Slack writes delivered", ["intent"])
OUTBOX_RETRIED = Counter(
    "escbot_outbox_retried_total", "Slack writes deferred", ["intent", "method"]
)
OUTBOX_FAILED = Counter(
    "escbot_outbox_failed_total", "Slack writes given up on", ["intent", "method"]
)
ACK_SECONDS = Histogram(
    "escbot_ack_seconds",
    "Time from receiving a Slack request to acking it",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
BACKLOG = Gauge(
    "escbot_backlog_rows",
    "Inbox and outbox rows by status, read from the database at scrape time",
    ["table", "status"],
)
OUTBOX_OLDEST = Gauge(
    "escbot_outbox_oldest_seconds",
    "How long the oldest unsent outbox row of each priority has waited, read at scrape time",
    ["priority"],
)
WORKER_RESTARTS = Counter(
    "escbot_worker_restarts_total", "Times the worker child process died and was started again"
)
TIMER_LAG = Histogram(
    "escbot_timer_lag_seconds",
    "How long after its due instant a timer fired",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
BREACHES = Counter("escbot_breaches_total", "Targets missed, announced once per clock", ["target"])
FIRST_RESPONSES = Counter(
    "escbot_first_responses_total", "First responses, met or missed", ["result"]
)
PAGES = Counter(
    "escbot_pages_total",
    "Escalation steps paged, by chain and level (0: fallback)",
    ["chain", "level"],
)
PAGE_ACKS = Histogram(
    "escbot_page_ack_seconds",
    "From the start of paging to its acknowledgement",
    ["chain"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200),
)
OPEN_CASES = Gauge(
    "escbot_open_cases",
    "Open cases by policy and severity, read from the database at scrape time",
    ["policy", "severity"],
)
