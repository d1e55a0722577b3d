"""Each case is judged by its policy exactly as it was when the case opened: the snapshot
stored then, parsed once per process."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.db.models import Case, PolicySnapshot
from bot.policies.policy import Policy


class Snapshots:
    def __init__(self) -> None:
        self._parsed: dict[str, Policy] = {}

    def policy_for_case(self, session: Session, case: Case) -> Policy:
        cached = self._parsed.get(case.policy_hash)
        if cached is None:
            snap = session.get(PolicySnapshot, case.policy_hash)
            if snap is None:
                raise LookupError(f"policy snapshot {case.policy_hash} missing for {case.key}")
            cached = self._parsed[case.policy_hash] = Policy.from_snapshot(snap.content)
        return cached
