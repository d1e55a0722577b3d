"""A report as text: an aligned table for people, CSV and JSON for programs.

CSV and JSON give durations in seconds under the same column names; the table gives them as
`2h 5m`. The table and the JSON carry notes on what the columns mean (the rules are in
`bot.reports.figures`); CSV is the bare rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

from bot.reports.figures import FirstResponse, Report, Row

FORMATS = ("table", "csv", "json")

# Under the table; the JSON carries the same as "notes".
NOTES = (
    "Cases opened in [since, until), each under its current severity, judged at 'as of';",
    "a first response under the severity in force when it was given (or the case resolved).",
    "met: first response before its due time; missed: at or after it, or none and past it;",
    "pending: none yet, not yet due; no target: the severity has none. met % = met / (met + "
    "missed).",
    "median, p90 (nearest rank): wall-clock time from opening to the first response.",
    "upd met, upd missed: updates of the update cadence given in time, and missed.",
    "breaches: breach alerts announced. waiting: time paused waiting on the requester.",
)

# The first note when rows are cut by channel.
BY_CHANNEL_NOTE = "Cases opened in [since, until), per channel (a customer), judged at 'as of'."

_COLUMNS = (
    "policy",
    "severity",
    "opened",
    "first_response_met",
    "first_response_missed",
    "first_response_pending",
    "first_response_no_target",
    "first_response_attainment_pct",
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "updates_met",
    "updates_missed",
    "breaches",
    "waiting_on_requester_seconds",
    "feedback",
    "feedback_good",
    "feedback_bad",
)
_HEADERS = (
    "policy",
    "severity",
    "opened",
    FirstResponse.MET,
    FirstResponse.MISSED,
    FirstResponse.PENDING,
    "no target",
    "met %",
    "median",
    "p90",
    "upd met",
    "upd missed",
    "breaches",
    "waiting",
    "feedback",
    "good",
    "bad",
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_bound(text: str, what: str) -> datetime:
    """A day (`2026-01-05`, its start in UTC) or an ISO 8601 instant with `Z` or an offset.
    Raises ValueError with a one-line message naming `what`."""
    text = text.strip()
    hint = "write a day such as 2026-01-05 or a time such as 2026-01-05T09:00:00Z"
    if _DATE.fullmatch(text):
        try:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        except ValueError:
            raise ValueError(f"{what} '{text}' is not a date: {hint}") from None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} '{text}' is not a date or time: {hint}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} '{text}' has no time zone: add Z for UTC or an offset")
    return value.astimezone(UTC)


def render(report: Report, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    return to_table(report)


def _columns(by: str) -> tuple[str, ...]:
    return ("policy", "channel", *_COLUMNS[2:]) if by == "channel" else _COLUMNS


def record(row: Row, by: str = "policy") -> dict[str, Any]:
    """A row as CSV and JSON give it: counts, seconds and a percentage, None where none."""
    pct = row.attainment
    values = (
        row.policy,
        row.channel if by == "channel" else row.severity,
        row.opened,
        row.first_met,
        row.first_missed,
        row.first_pending,
        row.first_no_target,
        None if pct is None else round(pct, 1),
        _number(row.first_median),
        _number(row.first_p90),
        row.update_met,
        row.update_missed,
        row.breaches,
        _number(row.waiting),
        row.feedback,
        row.feedback_good,
        row.feedback_bad,
    )
    return dict(zip(_columns(by), values, strict=True))


def to_json(report: Report) -> str:
    doc = {
        "since": stamp(report.since),
        "until": stamp(report.until),
        "as_of": stamp(report.as_of),
        "policy": report.policy,
        "by": report.by,
        "rows": [record(row, report.by) for row in report.rows],
        "notes": list(_notes(report)),
    }
    return json.dumps(doc, indent=2) + "\n"


def to_csv(report: Report) -> str:
    """One line per row, led by the period so that weeks can be concatenated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("since", "until", *_columns(report.by)))
    for row in report.rows:
        cells = ["" if v is None else v for v in record(row, report.by).values()]
        writer.writerow((stamp(report.since), stamp(report.until), *cells))
    return out.getvalue()


def to_table(report: Report) -> str:
    scope = f"policy {report.policy}, " if report.policy else ""
    head = (
        f"Cases opened {_when(report.since)} to {_when(report.until)} ({scope}"
        f"as of {_when(report.as_of)})"
    )
    if not report.rows:
        return f"{head}\nNo cases were opened in this period.\n"
    headers = ("policy", "channel", *_HEADERS[2:]) if report.by == "channel" else _HEADERS
    body = [headers, *(_cells(row, report.by) for row in report.rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in body
    ]
    return "\n".join([head, *lines, *_notes(report)]) + "\n"


def _notes(report: Report) -> tuple[str, ...]:
    return (BY_CHANNEL_NOTE, *NOTES[2:]) if report.by == "channel" else NOTES


def _cells(row: Row, by: str) -> tuple[str, ...]:
    pct = row.attainment
    return (
        row.policy,
        f"#{row.channel}" if by == "channel" else row.severity,
        str(row.opened),
        str(row.first_met),
        str(row.first_missed),
        str(row.first_pending),
        str(row.first_no_target),
        "-" if pct is None else f"{pct:.1f}",
        human(row.first_median),
        human(row.first_p90),
        str(row.update_met),
        str(row.update_missed),
        str(row.breaches),
        human(row.waiting),
        str(row.feedback),
        str(row.feedback_good),
        str(row.feedback_bad),
    )


def human(seconds: float | None) -> str:
    """The largest unit of a duration and the next one, cut not rounded: `1d 3h`, `2h 5m`."""
    if seconds is None:
        return "-"
    left = round(seconds)
    amounts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, left = divmod(left, size)
        amounts.append((amount, unit))
    first = next((i for i, (amount, _) in enumerate(amounts) if amount), None)
    if first is None:
        return "0s"
    return " ".join(f"{amount}{unit}" for amount, unit in amounts[first : first + 2] if amount)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(seconds: float | None) -> int | float | None:
    if seconds is None:
        return None
    return int(seconds) if float(seconds).is_integer() else round(seconds, 3)
