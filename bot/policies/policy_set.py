"""All loaded policies: the conflicts between them, and which one runs a channel."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.policies.oncall import ScheduleSpec
from bot.policies.policy import Policy
from bot.policies.problems import Loc, format_loc


class NoPolicyForChannel(LookupError):
    """No policy lists the channel and none is the default."""


class WorkspaceNotSetUp(NoPolicyForChannel):
    """No policy serves the workspace: neither one naming it nor one serving every
    workspace."""


def set_problems(policies: list[Policy]) -> list[tuple[int, Loc, str]]:
    """Conflicts between policies: (index of the offending policy, location, message)."""
    problems: list[tuple[int, Loc, str]] = []
    ids: dict[str, Policy] = {}
    channels: dict[str, Policy] = {}
    defaults: list[Policy] = []
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
            clash = next((d for d in defaults if _overlap(d, policy)), None)
            if clash is not None:
                problems.append(
                    (
                        i,
                        ("default",),
                        f"{_where(clash)} is already the default policy"
                        + (
                            ": only one policy may set default: true"
                            if not (clash.workspaces or policy.workspaces)
                            else " of a workspace this one serves: one default per workspace"
                        ),
                    )
                )
            else:
                defaults.append(policy)
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


def _overlap(a: Policy, b: Policy) -> bool:
    """Whether two default policies would both be some workspace's default: both serve every
    workspace, or both name one. (A workspace's own default wins over the one serving every
    workspace, so those two do not clash.)"""
    if not a.workspaces and not b.workspaces:
        return True
    return bool(set(a.workspaces) & set(b.workspaces))


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
        # The default of every workspace: the one default policy that names none.
        self.default = next((p for p in self.policies if p.default and not p.workspaces), None)

    def default_for(self, team_id: str | None) -> Policy | None:
        """The workspace's own default policy, else the one serving every workspace."""
        own = next(
            (p for p in self.policies if p.default and team_id in p.workspaces),
            None,
        )
        return own or self.default

    def serving(self, team_id: str | None) -> tuple[Policy, ...]:
        """The policies that serve the workspace."""
        return tuple(p for p in self.policies if p.serves(team_id))

    def for_channel(self, channel_id: str, team_id: str | None = None) -> Policy:
        """The policy that runs `channel_id` for workspace `team_id` (None: whichever
        workspace; single-workspace mode): the one listing the channel if it serves the
        workspace, else the workspace's default."""
        policy = self._by_channel.get(channel_id)
        if policy is not None and (team_id is None or policy.serves(team_id)):
            return policy
        default = self.default_for(team_id) if team_id is not None else self.default
        if default is not None:
            return default
        if team_id is not None and not self.serving(team_id):
            raise WorkspaceNotSetUp(f"no policy serves workspace {team_id}")
        raise NoPolicyForChannel(f"no policy covers channel {channel_id} and none is default")

    def get(self, policy_id: str) -> Policy | None:
        return self._by_id.get(policy_id)

    @property
    def severity_count(self) -> int:
        return sum(len(p.severities) for p in self.policies)

    def schedules(self, team_id: str | None = None) -> dict[str, ScheduleSpec]:
        """The on-call schedules, by name: every policy's, or those of the policies serving
        workspace `team_id`."""
        return {
            name: spec
            for policy in self.policies
            if team_id is None or policy.serves(team_id)
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
