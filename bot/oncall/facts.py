"""What a page keeps of its case, and what each step's messages say: a step then needs no
read of `cases`, so pages go out while `cases` is locked (bot.timers.firing)."""

from __future__ import annotations

from typing import Any

from bot.db.models import Case, Page
from bot.oncall.chains import Step
from bot.policies.policy import Policy


def case_facts(policy: Policy, case: Case) -> dict[str, Any]:
    """What a page's messages say of its case, kept on the page: a step then needs no read
    of `cases`, so pages go out while `cases` is locked (a migration, VACUUM FULL)."""
    severity = policy.severity(case.severity)
    return {
        "id": case.id,
        "number": case.number,
        "team": case.team_id,
        "channel": case.channel_id,
        "permalink": case.permalink,
        "requester": case.requester_id,
        "policy": policy.id,
        "severity": case.severity,
        "severity_name": severity.name if severity else case.severity,
        "summary": " ".join(case.text.split())[:300],
        "status_page": (
            (severity.status_page or policy.status_page) if severity else policy.status_page
        ),
    }


def keep_facts(page: Page, policy: Policy, case: Case) -> None:
    """The case changed and the page goes on (a severity of the same chain): its facts
    follow. A page of an earlier release, without facts, keeps reading the case."""
    if "case" not in page.plan:
        return
    facts = case_facts(policy, case)
    if page.plan["case"] != facts:
        page.plan = {**page.plan, "case": facts}


def message_data(facts: dict[str, Any], page: Page, step: Step) -> dict[str, Any]:
    """What every message of one step says, with the facts its renderer names the case by."""
    return {
        "page": page.id,
        "step": step.index,
        "round": step.round,
        "level": step.level,
        "severity": facts["severity"],
        "severity_name": facts["severity_name"],
        "summary": facts["summary"],
        "ack_emoji": page.plan.get("ack_emoji", "eyes"),
        # The missed target an `on_breach` page is for.
        "breach": str(page.plan["breach"]) if page.plan.get("breach") else None,
        "status_page": facts["status_page"],
        "about": {
            k: facts[k] for k in ("number", "team", "channel", "policy", "permalink", "requester")
        },
    }
