"""bot/cases/permissions.py on its own: each rule, from plain facts, allows or refuses with
the exact words people see; a fact that costs a Slack read is read once, and only when the
rule needs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.cases import permissions
from bot.cases.permissions import ALLOWED, Actor, Decision
from bot.policies import Policy

REQUESTER, ENGINEER, STRANGER = "U0REQUEST1", "U0ENGINEER", "U0STRANGER"


@dataclass(frozen=True)
class Case:
    number: int = 7
    requester_id: str | None = REQUESTER
    first_response_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"CASE-{self.number}"


def policy(requester_may_set_severity: object = False) -> Policy:
    return Policy.model_validate(
        {
            "id": "p",
            "name": "P",
            "default": True,
            "default_severity": "sev3",
            "requester_may_set_severity": requester_may_set_severity,
            "severities": [
                {"id": f"sev{n}", "name": f"SEV {n}", "calendar": "24/7",
                 "targets": {"first_response": "1h"}}
                for n in (1, 2, 3)
            ],
        }
    )  # fmt: skip


def counted(value: bool) -> tuple[list[int], permissions.Fact]:
    """A fact that counts how often it is read."""
    reads: list[int] = []

    def read() -> bool:
        reads.append(1)
        return value

    return reads, read


def test_a_decision_is_allowed_or_carries_its_refusal() -> None:
    assert ALLOWED.allowed and ALLOWED.refusal is None
    refused = Decision("No.")
    assert not refused.allowed and refused.refusal == "No."


# --- severity --------------------------------------------------------------------------


def test_responders_set_any_severity_even_after_a_response() -> None:
    answered = Case(first_response_at=datetime(2026, 1, 5, tzinfo=UTC))
    engineer = Actor(ENGINEER, on_team=True)
    assert permissions.may_set_severity(policy(), answered, engineer, "sev1") == ALLOWED


def test_without_the_policys_leave_only_the_support_team_changes_the_severity() -> None:
    for who in (Actor(REQUESTER), Actor(STRANGER)):
        assert permissions.may_set_severity(policy(), Case(), who, "sev2").refusal == (
            "Only the support team can change the severity of CASE-7."
        )


def test_the_requester_sets_the_levels_the_policy_lists_until_a_responder_replies() -> None:
    listed = policy(["sev1", "sev2"])
    requester = Actor(REQUESTER)
    assert permissions.may_set_severity(listed, Case(), requester, "sev1") == ALLOWED
    # No level yet (the modal asks for it): nothing to refuse.
    assert permissions.may_set_severity(listed, Case(), requester, None) == ALLOWED
    assert permissions.may_set_severity(listed, Case(), requester, "sev3").refusal == (
        "As the requester of CASE-7 you may set its severity to SEV 1 or SEV 2; ask the "
        "support team in the thread for SEV 3."
    )
    answered = Case(first_response_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert permissions.may_set_severity(listed, answered, requester, "sev1").refusal == (
        "CASE-7 already has a responder, who now owns its severity: ask them in the thread "
        "to change it."
    )


@pytest.mark.parametrize(
    ("levels", "named"),
    [(["sev2"], "SEV 2"), (["sev1", "sev2"], "SEV 1 or SEV 2"), (["sev1", "sev2", "sev3"], None)],
)
def test_a_refused_level_names_the_ones_the_requester_may_choose(
    levels: list[str], named: str | None
) -> None:
    decision = permissions.may_set_severity(policy(levels), Case(), Actor(REQUESTER), "sev3")
    if named is None:
        assert decision == ALLOWED
    else:
        assert decision.refusal is not None and f"set its severity to {named};" in decision.refusal


def test_requester_may_set_severity_true_lets_the_requester_set_every_level() -> None:
    for level in ("sev1", "sev2", "sev3"):
        assert permissions.may_set_severity(policy(True), Case(), Actor(REQUESTER), level) == (
            ALLOWED
        )


def test_an_external_requester_may_where_the_policy_lets_requesters_another_never() -> None:
    listed = policy(["sev1"])
    customer = Actor(REQUESTER, external=True)
    assert permissions.may_set_severity(listed, Case(), customer, "sev1") == ALLOWED
    # Listed by the policy, but of another organisation: on the requester's side.
    colleague = Actor(STRANGER, external=True, on_team=True)
    assert permissions.may_set_severity(listed, Case(), colleague, "sev1").refusal == (
        "Only the support team can change the severity of CASE-7."
    )


# --- working a case --------------------------------------------------------------------


@pytest.mark.parametrize(
    "verb", ["take", "assign", "wait", "resume", "workaround", "reopen", "resolve", "note"]
)
def test_only_the_support_team_works_a_case(verb: str) -> None:
    assert permissions.may_work(Case(), Actor(ENGINEER, on_team=True), verb) == ALLOWED
    for who in (Actor(REQUESTER), Actor(ENGINEER, on_team=True, external=True)):
        assert permissions.may_work(Case(), who, verb).refusal == (
            f"Only the support team can {verb} CASE-7."
        )


def test_a_page_is_acknowledged_by_whom_it_paged_or_the_support_team() -> None:
    assert permissions.may_acknowledge(Case(), Actor(STRANGER, paged=True)) == ALLOWED
    assert permissions.may_acknowledge(Case(), Actor(ENGINEER, on_team=True)) == ALLOWED
    assert permissions.may_acknowledge(Case(), Actor(STRANGER)).refusal == (
        "You cannot acknowledge CASE-7: you were not paged for it and are not on its support "
        "team."
    )


def test_details_come_from_the_requester_or_the_support_team() -> None:
    assert permissions.may_add_details(Case(), Actor(REQUESTER, external=True)) == ALLOWED
    assert permissions.may_add_details(Case(), Actor(ENGINEER, on_team=True)) == ALLOWED
    refusal = "Only the requester or the support team can add details to CASE-7."
    assert permissions.may_add_details(Case(), Actor(STRANGER)).refusal == refusal
    assert permissions.may_add_details(Case(requester_id=None), Actor(REQUESTER)).refusal == (
        refusal
    )


def test_overrides_are_for_the_support_team() -> None:
    assert permissions.may_set_overrides(Actor(ENGINEER, on_team=True)) == ALLOWED
    assert permissions.may_set_overrides(Actor(STRANGER)).refusal == (
        "Only the support team can set on-call overrides."
    )


def test_internal_notes_are_for_the_installing_organisations_members() -> None:
    assert permissions.sees_notes(Actor(ENGINEER))
    assert not permissions.sees_notes(Actor(STRANGER, member=False))
    assert not permissions.sees_notes(Actor(REQUESTER, external=True))


def test_in_a_thread_an_external_user_counts_on_the_requesters_side() -> None:
    assert permissions.thread_role(Actor(ENGINEER, on_team=True)) == "responder"
    assert permissions.thread_role(Actor(REQUESTER)) == "requester"
    assert permissions.thread_role(Actor(ENGINEER, on_team=True, external=True)) == "requester"


# --- facts read only as needed ---------------------------------------------------------


def test_a_fact_is_read_once_and_only_when_a_rule_needs_it() -> None:
    reads, on_team = counted(True)
    requester = Actor(REQUESTER, on_team=on_team)
    # The requester needs no read to add details.
    assert permissions.may_add_details(Case(), requester) == ALLOWED
    assert reads == []
    stranger_reads, stranger_team = counted(False)
    stranger = Actor(STRANGER, on_team=stranger_team)
    permissions.may_add_details(Case(), stranger)
    permissions.may_work(Case(), stranger, "take")
    assert stranger_reads == [1]


def test_an_external_user_costs_no_read_of_the_support_team() -> None:
    reads, on_team = counted(True)
    assert permissions.thread_role(Actor(STRANGER, external=True, on_team=on_team)) == "requester"
    assert reads == []


def test_someone_paged_costs_no_read_of_the_support_team() -> None:
    team_reads, on_team = counted(True)
    paged_reads, paged = counted(True)
    actor = Actor(STRANGER, paged=paged, on_team=on_team)
    assert permissions.may_acknowledge(Case(), actor) == ALLOWED
    assert paged_reads == [1] and team_reads == []
