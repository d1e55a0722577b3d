"""A workaround rule may name its severities by id, name or alias, as every other part of a
policy may; the case's /case workaround follows the same rule `Policy.on_workaround` reads."""

from __future__ import annotations

from pathlib import Path

from bot.cases import lifecycle, service
from bot.clock import FakeClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.policies import Policy
from tests.support.policy_content import minimal


def test_a_rule_naming_severities_by_name_lowers_the_case(tmp_path: Path) -> None:
    severities = [
        {"id": s, "name": s.upper(), "calendar": "24/7", "targets": {"first_response": "1h"}}
        for s in ("a", "b", "c", "d")
    ]
    rule = {"when": "workaround", "lower_by": 2, "severities": ["A", "c"]}
    policy = Policy.model_validate(
        minimal(severities=severities, rules=[rule], default_severity="a")
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate.upgrade(engine)
    clock = FakeClock()
    try:
        with make_sessionmaker(engine).begin() as session:
            opened = service.open_case(
                session,
                clock,
                policy,
                service.OpenCase(
                    team_id="T1", channel_id="C1", message_ts="1.1", thread_ts="1.1",
                    requester_id="U1", opened_by="U2", text="down", permalink=None,
                    source_event="Ev1",
                ),
            )  # fmt: skip
            case = opened.case
            assert case.severity == "a"
            assert lifecycle.workaround(session, clock, policy, case, "U2") == "c"
            assert case.severity == policy.on_workaround("a").id == "c"
    finally:
        engine.dispose()
