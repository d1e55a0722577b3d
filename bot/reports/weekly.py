"""The weekly post: the report's table for the seven days ending at an instant, and a chart
of first-response attainment by severity, uploaded together as one file with a comment.

`weekly_post` only reads the database; the upload goes through the outbox
(the `weekly_report` intent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.reports import chart, figures, formats

if TYPE_CHECKING:
    pass

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeeklyPost:
    text: str
    png: bytes
    filename: str
    title: str
    alt_text: str


def weekly_post(
    session: Session, end: datetime, policy: str | None = None, by: figures.By = "policy"
) -> WeeklyPost:
    """The post for the cases opened in the seven days before `end`, judged at `end`."""
    return render_weekly(figures.report(session, end - WEEK, end, end, policy, by))


def render_weekly(report: figures.Report) -> WeeklyPost:
    # A code block keeps the table's columns aligned in Slack.
    text = f"*Weekly SLA report*\n```\n{formats.to_table(report)}```"
    days = f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    cut = "channel" if report.by == "channel" else "severity"
    title = f"First responses met by {cut}, {days}"
    shown = [f"{label.replace(chr(10), ' ')} {_pct(pct)}" for label, pct in chart.bars(report)]
    return WeeklyPost(
        text=text,
        png=chart.attainment_png(report, title),
        filename=f"sla-attainment-{report.until:%Y-%m-%d}.png",
        title=title,
        alt_text=f"{title}: {', '.join(shown) or 'no cases'}",
    )


def _pct(pct: float | None) -> str:
    return "n/a" if pct is None else f"{pct:.0f}%"


def next_monday_morning(after: datetime) -> datetime:
    """The first Monday 09:00 UTC strictly after `after`: when the weekly post goes out."""
    day = after.astimezone(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return day if day > after else day + WEEK
