"""All loaded policies: the conflicts between them, and which one runs a channel."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.policies.oncall import ScheduleSpec
from bot.policies.policy import Policy
from bot.policies.problems import Loc, format_loc


class NoPolicyForChannel(LookupError):
    """No policy lists the channel and none is the default."""


def set_problems(policies: list[Policy]) -> list[tuple[int, Loc, str]]:
    """Conflicts between policies: (index of the offending policy, location, message)."""
    problems: list[tuple[int, Loc, str]] = []
    ids: dict[str, Policy] = {}
    channels: dict[str, Policy] = {}
    default: Policy | None = None
    schedules: dict[str, Policy] = {}
    for i, policy in enumerate(policies):
        for name in policy.oncall.schedules if policy.oncall else ():
            # `/oncall NAME` and run-time overrides name a schedule without its policy.
            if name in schedules:
                problems.append(
                    (
                        i,
                        ("oncall", "schedules", name),
                        f"schedule '{name}' is already defined by {_where(schedules[name])}: "
                        "schedule names are shared by all policies",
                    )
                )
            schedules.setdefault(name, policy)
        if policy.id in ids:
            where = _where(ids[policy.id])
            problems.append((i, ("id",), f"policy id '{policy.id}' is already used by {where}"))
        ids.setdefault(policy.id, policy)
        if policy.default:
            if default is not None:
                problems.append(
                    (
                        i,
                        ("default",),
                        f"{_where(default)} is already the default policy: "
                        "only one policy may set default: true",
                    )
                )
            default = default or policy
        for j, channel in enumerate(policy.channels):
            if channel in channels and channels[channel] is not policy:
                problems.append(
                    (
                        i,
                        ("channels", j),
                        f"channel {channel} is already covered by {_where(channels[channel])}",
                    )
                )
            channels.setdefault(channel, policy)
    return problems


def _where(policy: Policy) -> str:
    return (
        f"policy '{policy.id}' ({policy.source_path})"
        if policy.source_path
        else (f"policy '{policy.id}'")
    )


class PolicySet:
    """Every loaded policy, and which one runs a channel."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = tuple(policies)
        problems = set_problems(list(self.policies))
        if problems:
            raise ValueError(
                "; ".join(
                    f"{self.policies[i].id}: {format_loc(loc)}: {m}" for i, loc, m in problems
                )
            )
        self._by_channel = {c: p for p in self.policies for c in p.channels}
        self._by_id = {p.id: p for p in self.policies}
        self.default = next((p for p in self.policies if p.default), None)

    def for_channel(self, channel_id: str) -> Policy:
        policy = self._by_channel.get(channel_id, self.default)
        if policy is None:
            raise NoPolicyForChannel(f"no policy covers channel {channel_id} and none is default")
        return policy

    def get(self, policy_id: str) -> Policy | None:
        return self._by_id.get(policy_id)

    @property
    def severity_count(self) -> int:
        return sum(len(p.severities) for p in self.policies)

    def schedules(self) -> dict[str, ScheduleSpec]:
        """Every on-call schedule of every policy, by name."""
        return {
            name: spec
            for policy in self.policies
            for name, spec in (policy.oncall.schedules if policy.oncall else {}).items()
        }

    def owner_of_schedule(self, name: str) -> Policy:
        """The policy that defines schedule `name` (names are unique across policies)."""
        return next(p for p in self.policies if p.oncall and name in p.oncall.schedules)

    def ack_emoji(self) -> frozenset[str]:
        """The emoji that acknowledge a page, in any policy."""
        return frozenset(p.oncall.ack_emoji for p in self.policies if p.oncall)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)
