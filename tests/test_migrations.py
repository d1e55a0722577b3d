"""The migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Timer
from bot.db.slack_tables import schema
from bot.oncall import chains, handoffs, paging
from bot.policies.oncall import ScheduleSpec


def test_upgrade_matches_the_models_and_round_trips(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)  # a second start finds nothing to do
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema())
        assert diff == []
        cfg = migrate._config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_timers_of_the_previous_release_upgrade_without_loss(db_url: str) -> None:
    """A database at 0001 holding a case and its timers (kinds "<target>:<what>") upgrades
    to head: every timer is still there, saying its target, kind and (for a breach) the due
    instant; going down again restores the old kinds."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at) VALUES (1, 'T1', 1, 'C1', '1.1', '1.1', 'U1', 'U2',"
                    " 'help', 'open', 'sev3', 'p', 'h1', :t, :t)"
                ),
                {"t": t0},
            )
            for kind, hours, status in (
                ("first_response:reminder", 5, "pending"),
                ("first_response:breach", 6, "pending"),
                ("next_response:breach", 1, "fired"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO timers (case_id, kind, due_at, status) VALUES (1, :k, :d, :s)"
                    ),
                    {"k": kind, "d": t0 + timedelta(hours=hours), "s": status},
                )
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(
                    Timer.target, Timer.kind, Timer.due_at, Timer.target_due_at, Timer.status
                ).order_by(Timer.id)
            ).all()
        assert [tuple(r) for r in rows] == [
            ("first_response", "reminder", t0 + timedelta(hours=5), None, "pending"),
            (
                "first_response",
                "breach",
                t0 + timedelta(hours=6),
                t0 + timedelta(hours=6),
                "pending",
            ),
            ("next_response", "breach", t0 + timedelta(hours=1), t0 + timedelta(hours=1), "fired"),
        ]
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind FROM timers ORDER BY id")).scalars().all()
        assert kinds == ["first_response:reminder", "first_response:breach", "next_response:breach"]
    finally:
        engine.dispose()


def test_cases_and_timers_of_release_0002_upgrade_to_paging_without_loss(db_url: str) -> None:
    """A database at 0002 (the last release) holding a case, its timers and its feedback
    upgrades to head: every row is still there as it was, new timers may belong to no case,
    and a handoff timer's key is unique."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, assignee_id) VALUES (1, 'T1', 1, 'C1', '1.1', '1.1',"
                    " 'U1', 'U2', 'help', 'resolved', 'sev1', 'p', 'h1', :t, :t, 'U2')"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO timers (case_id, kind, target, due_at, status, note) VALUES"
                    " (1, 'breach', 'first_response', :d, 'dropped', 'the target was met')"
                ),
                {"d": t0 + timedelta(hours=1)},
            )
            conn.execute(
                text(
                    "INSERT INTO feedback (case_id, user_id, rating, comment, at) VALUES"
                    " (1, 'U1', 'good', 'quick', :t)"
                ),
                {"t": t0},
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            case = conn.execute(text("SELECT number, status, assignee_id, shared FROM cases")).one()
            timer = conn.execute(text("SELECT case_id, kind, status, note, key FROM timers")).one()
            feedback = conn.execute(text("SELECT rating, comment FROM feedback")).one()
            # Cases of the earlier release were not known to be in shared channels.
            assert (*case[:3], bool(case[3])) == (1, "resolved", "U2", False)
            assert tuple(timer) == (1, "breach", "dropped", "the target was met", None)
            assert tuple(feedback) == ("good", "quick")
            handoff = {"k": "handoff:platform:2026-01-12T08:00:00+00:00", "d": t0}
            insert = (
                "INSERT INTO timers (case_id, kind, target, key, due_at, status) VALUES"
                " (NULL, 'handoff', 'platform', :k, :d, 'pending')"
            )
            conn.execute(text(insert), handoff)
        with engine.begin() as conn:
            twice = conn.execute(
                text("SELECT count(*) FROM timers WHERE key = :k"),
                {"k": handoff["k"]},
            ).scalar_one()
            assert twice == 1
        try:
            with engine.begin() as conn:
                conn.execute(text(insert), handoff)
        except IntegrityError:
            pass
        else:
            raise AssertionError("a second handoff timer with the same key was stored")
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT case_id, kind FROM timers")).all()
        assert [tuple(r) for r in kept] == [(1, "breach")]
    finally:
        engine.dispose()


def test_cases_of_release_0005_upgrade_to_remembered_uninstalls_without_loss(db_url: str) -> None:
    """A database at 0005 (the last release) holding a case in a shared channel upgrades to
    head: the case is as it was, and an uninstall can be recorded once per workspace."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, shared) VALUES (1, 'T1', 7, 'C1', '1.1', '1.1',"
                    " 'U1', 'U2', 'help', 'open', 'sev2', 'p', 'h1', :t, :t, :shared)"
                ),
                {"t": t0, "shared": True},
            )
        migrate.upgrade(engine)
        insert = "INSERT INTO workspace_uninstalls (team_id, reason, at) VALUES ('T1', :r, :t)"
        with engine.begin() as conn:
            case = conn.execute(text("SELECT number, status, text, shared FROM cases")).one()
            assert (*case[:3], bool(case[3])) == (7, "open", "help", True)
            conn.execute(text(insert), {"r": "app_uninstalled", "t": t0})
        try:
            with engine.begin() as conn:
                conn.execute(text(insert), {"r": "tokens_revoked", "t": t0})
        except IntegrityError:
            pass
        else:
            raise AssertionError("a workspace's uninstall was stored twice")
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT number, text FROM cases")).all()
        assert [tuple(r) for r in kept] == [(7, "help")]
    finally:
        engine.dispose()


def test_cases_of_release_0006_upgrade_to_the_update_cadence_without_loss(db_url: str) -> None:
    """A database at 0006 (the last release) holding an open case upgrades to head: the case
    is as it was, with no update due until its clocks are next recomputed and no intake
    details; and back."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    due = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, shared, first_response_due) VALUES (1, 'T1', 7, 'C1',"
                    " '1.1', '1.1', 'U1', 'U2', 'help', 'open', 'sev2', 'p', 'h1', :t, :t, :s, :d)"
                ),
                {"t": t0, "s": True, "d": due},
            )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            case = conn.execute(
                text("SELECT number, text, severity, next_update_due, details FROM cases")
            ).one()
        assert tuple(case) == (7, "help", "sev2", None, None)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT number, text FROM cases")).all()
        assert [tuple(r) for r in kept] == [(7, "help")]
    finally:
        engine.dispose()


def test_paging_and_handoff_timers_of_release_0008_upgrade_to_typed_targets(db_url: str) -> None:
    """A database at 0008 (the last release) holding a climbing page's step and re-page
    timers and a handoff upgrades to head: each timer says its page and step, or its
    schedule, in typed columns that paging and handoffs read; and back."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, shared) VALUES (1, 'T1', 3, 'C1', '1.1', '1.1',"
                    " 'U1', 'U2', 'down', 'open', 'sev1', 'p', 'h1', :t, :t, :s)"
                ),
                {"t": t0, "s": False},
            )
            conn.execute(
                text(
                    "INSERT INTO pages (id, case_id, chain, plan, started_at, status) VALUES"
                    " (41, 1, 'urgent', '{}', :t, 'climbing')"
                ),
                {"t": t0},
            )
            for kind, target, key in (
                ("page_step", "41/2", None),
                ("repage", "41", None),
                ("handoff", "primary-eu", "handoff:primary-eu:2026-12-07T08:00:00+00:00"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO timers (case_id, kind, target, key, due_at, status)"
                        " VALUES (:c, :k, :g, :key, :d, 'pending')"
                    ),
                    {
                        "c": None if kind == "handoff" else 1,
                        "k": kind,
                        "g": target,
                        "key": key,
                        "d": t0 + timedelta(minutes=10),
                    },
                )
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            timers = session.execute(select(Timer).order_by(Timer.id)).scalars().all()
            typed = [(t.kind, t.target, t.page_id, t.step, t.schedule) for t in timers]
            step_page, step = paging.page_for_timer(session, timers[0])
            repage_page, _ = paging.page_for_timer(session, timers[1])
            assert typed == [
                ("page_step", "41/2", 41, 2, None),
                ("repage", "41", 41, 0, None),
                ("handoff", "primary-eu", None, None, "primary-eu"),
            ]
            assert (step_page and step_page.id, step) == (41, 2)
            assert repage_page is not None and repage_page.id == 41
            assert handoffs.schedule_of(timers[2]) == "primary-eu"
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT kind, target FROM timers ORDER BY id")).all()
        assert [tuple(r) for r in kept] == [
            ("page_step", "41/2"),
            ("repage", "41"),
            ("handoff", "primary-eu"),
        ]
    finally:
        engine.dispose()


def test_overrides_of_release_0009_upgrade_to_belong_to_every_workspace(db_url: str) -> None:
    """A database at 0009 holding a run-time override upgrades to head: the override is
    kept and still applies wherever its schedule is used ("" workspace), while a new one
    applies only in its own workspace; and back."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO oncall_overrides (schedule, user_id, starts_at, ends_at,"
                    " created_by, created_at) VALUES ('platform', 'U0COVER01', :s, :e, 'U0LEAD1',"
                    " :s)"
                ),
                {"s": t0, "e": t0 + timedelta(hours=4)},
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO oncall_overrides (team_id, schedule, user_id, starts_at, ends_at,"
                    " created_by, created_at) VALUES ('T0ACME0001', 'platform', 'U0ACME001', :s,"
                    " :e, 'U0LEAD1', :s)"
                ),
                {"s": t0 + timedelta(hours=1), "e": t0 + timedelta(hours=2)},
            )
        spec = ScheduleSpec.model_validate(
            {
                "timezone": "UTC",
                "layers": [{"rotation": ["U0PRIMARY"], "shift": "1w", "start": "2026-11-30 09:00"}],
            }
        )
        at = t0 + timedelta(hours=1, minutes=30)
        with make_sessionmaker(engine)() as session:
            seen = {
                team: chains.schedule(session, "platform", spec, t0, team).on_call(at)
                for team in ("", "T0ACME0001", "T0GLOBEX01")
            }
        assert seen == {"": "U0COVER01", "T0ACME0001": "U0ACME001", "T0GLOBEX01": "U0COVER01"}
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT schedule, user_id FROM oncall_overrides ORDER BY id")
            ).all()
        assert [tuple(r) for r in kept] == [("platform", "U0COVER01"), ("platform", "U0ACME001")]
    finally:
        engine.dispose()


def test_installations_of_release_0010_upgrade_to_tokens_at_rest(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at 0010 holding tokens in clear, a reinstall's superseded rows among them,
    upgrades with TOKEN_ENCRYPTION_KEY set: no column of any table holds a token in clear,
    one row per installation is left, and the tokens decrypt to what they were; and back."""
    from cryptography.fernet import Fernet

    from tests.support.installs import TOKEN_KEY, clear_tokens

    engine = make_engine(db_url)
    cfg = migrate._config()
    t0, DAY = datetime(2026, 12, 1, 9, 0), timedelta(days=1)
    tokens = {
        "old": "xoxb-1111-2222-superseded",
        "acme": "xoxb-1111-3333-acmebottoken",
        "refresh": "xoxe-1-acmerefreshtoken",
        "user": "xoxp-1111-4444-acmeusertoken",
        "globex": "xoxb-5555-6666-globexbottoken",
    }
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010")
        with engine.begin() as conn:
            for team, bot, refresh, user, at in (
                ("T0ACME0001", tokens["old"], None, None, t0),
                ("T0ACME0001", tokens["acme"], tokens["refresh"], tokens["user"], t0 + DAY),
                ("T0GLOBEX01", tokens["globex"], None, None, t0),
            ):
                values = {"team": team, "bot": bot, "refresh": refresh, "user": user, "at": at}
                conn.execute(
                    text(
                        "INSERT INTO slack_installations (client_id, app_id, team_id, bot_token,"
                        " bot_refresh_token, user_id, user_token, is_enterprise_install,"
                        " installed_at) VALUES ('1.2', 'A0APP', :team, :bot, :refresh, 'U0INST1',"
                        " :user, false, :at)"
                    ),
                    values,
                )
                conn.execute(
                    text(
                        "INSERT INTO slack_bots (client_id, app_id, team_id, bot_token,"
                        " bot_refresh_token, is_enterprise_install, installed_at) VALUES"
                        " ('1.2', 'A0APP', :team, :bot, :refresh, false, :at)"
                    ),
                    values,
                )
        monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", TOKEN_KEY)
        migrate.upgrade(engine)
        assert clear_tokens(engine) == []
        fernet = Fernet(TOKEN_KEY.encode())
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT team_id, bot_token, bot_refresh_token, user_token"
                    " FROM slack_installations ORDER BY team_id"
                )
            ).all()
            bots = conn.execute(
                text("SELECT team_id, bot_token FROM slack_bots ORDER BY team_id")
            ).all()
        opened = [
            (team, *(fernet.decrypt(v.encode()).decode() if v else v for v in sealed))
            for team, *sealed in found
        ]
        assert opened == [
            ("T0ACME0001", tokens["acme"], tokens["refresh"], tokens["user"]),
            ("T0GLOBEX01", tokens["globex"], None, None),
        ]
        assert [(t, fernet.decrypt(v.encode()).decode()) for t, v in bots] == [
            ("T0ACME0001", tokens["acme"]),
            ("T0GLOBEX01", tokens["globex"]),
        ]
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT team_id, bot_token FROM slack_bots ORDER BY team_id")
            ).all()
        assert [tuple(r) for r in back] == [
            ("T0ACME0001", tokens["acme"]),
            ("T0GLOBEX01", tokens["globex"]),
        ]
    finally:
        engine.dispose()


def test_weekly_timers_of_release_0011_upgrade_as_the_report_of_every_policy(db_url: str) -> None:
    """A database at 0011 holding the weekly report's timer upgrades to head: the timer is
    kept, about no policy (REPORT_CHANNEL's report); and back."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    at = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0011")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO timers (case_id, kind, target, key, due_at, status) VALUES"
                    " (NULL, 'weekly_report', 'report', :k, :d, 'pending')"
                ),
                {"k": f"weekly:{at.isoformat()}", "d": at},
            )
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            timer = session.execute(select(Timer)).scalar_one()
            assert (timer.kind, timer.key, timer.status, timer.policy_id) == (
                "weekly_report",
                f"weekly:{at.isoformat()}",
                "pending",
                None,
            )
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT kind, target FROM timers")).all()
        assert [tuple(r) for r in kept] == [("weekly_report", "report")]
    finally:
        engine.dispose()


def _keys_to_cases(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        inspector = inspect(conn)
        return sorted(
            table
            for table in ("case_events", "timers", "outbox")
            for fk in inspector.get_foreign_keys(table)
            if fk["referred_table"] == "cases"
        )


def test_rows_of_release_0012_upgrade_to_paging_without_a_lock_on_cases(db_url: str) -> None:
    """A database at 0012 holding a case with its timeline, a timer and an outbox row
    upgrades to head: every row is as it was, and no table a page step writes keeps a foreign
    key to `cases` (checking one locks `cases`); going down restores the keys."""
    engine = make_engine(db_url)
    cfg = migrate._config()
    t0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0012")
        assert _keys_to_cases(engine) == ["case_events", "outbox", "timers"]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " VALUES ('h1', 'p', '{}', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, shared) VALUES (1, 'T1', 7, 'C1', '1.1', '1.1',"
                    " 'U1', 'U2', 'help', 'open', 'sev1', 'p', 'h1', :t, :t, false)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO case_events (id, case_id, at, actor, kind, data) VALUES"
                    " (3, 1, :t, 'U2', 'opened', '{\"severity\": \"sev1\"}')"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO timers (id, case_id, kind, target, due_at, status, page_id, step)"
                    " VALUES (4, 1, 'page_step', '9/0', :t, 'pending', 9, 0)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO outbox (id, team_id, channel_id, intent, case_id, data,"
                    " dedupe_key, status, attempts, created_at, next_attempt_at) VALUES"
                    " (5, 'T1', 'C1', 'case_card', 1, '{}', 'card:1', 'pending', 0, :t, :t)"
                ),
                {"t": t0},
            )
        rows = (
            "SELECT id, case_id, kind FROM case_events",
            "SELECT id, case_id, kind, target, status FROM timers",
            "SELECT id, case_id, intent, dedupe_key, status FROM outbox",
        )

        def read() -> list[list[tuple[object, ...]]]:
            with engine.connect() as conn:
                return [[tuple(r) for r in conn.execute(text(q))] for q in rows]

        before = read()
        assert before == [
            [(3, 1, "opened")],
            [(4, 1, "page_step", "9/0", "pending")],
            [(5, 1, "case_card", "card:1", "pending")],
        ]
        migrate.upgrade(engine)
        assert _keys_to_cases(engine) == []
        assert read() == before
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012")
        assert _keys_to_cases(engine) == ["case_events", "outbox", "timers"]
        assert read() == before
    finally:
        engine.dispose()
