"""`workspaces:` in a policy: which policy runs a channel for which workspace, a default per
workspace, a workspace no policy serves, and the conflicts `policy check` refuses."""

from __future__ import annotations

import pytest

from bot.policies.policy import Policy
from bot.policies.policy_set import NoPolicyForChannel, PolicySet, WorkspaceNotSetUp
from tests.support.policy_content import minimal

ACME, GLOBEX, INITECH = "T0ACME0001", "T0GLOBEX01", "T0INITECH1"


def policy(**changes: object) -> Policy:
    return Policy.model_validate(minimal(**changes))


def test_each_workspace_gets_its_own_default_and_its_own_channels() -> None:
    acme = policy(id="acme", workspaces=[ACME], channels=["C0ACMEVIP1"], default=False)
    acme_rest = policy(id="acme-rest", workspaces=[ACME])
    globex = policy(id="globex", workspaces=[GLOBEX])
    found = PolicySet([acme, acme_rest, globex])
    assert found.for_channel("C0ACMEVIP1", ACME).id == "acme"
    assert found.for_channel("C0ACMEGEN1", ACME).id == "acme-rest"
    assert found.for_channel("C0GLOBGEN1", GLOBEX).id == "globex"
    # Acme's channel, seen from Globex (a channel they share): Globex's own default runs it.
    assert found.for_channel("C0ACMEVIP1", GLOBEX).id == "globex"
    with pytest.raises(WorkspaceNotSetUp) as unserved:
        found.for_channel("C0INITGEN1", INITECH)
    assert str(unserved.value) == f"no policy serves workspace {INITECH}"
    assert [p.id for p in found.serving(ACME)] == ["acme", "acme-rest"]


def test_a_default_serving_every_workspace_covers_those_with_no_policy_of_their_own() -> None:
    acme = policy(id="acme", workspaces=[ACME])
    everyone = policy(id="everyone")
    found = PolicySet([acme, everyone])
    assert found.for_channel("C0ANYWHERE", ACME).id == "acme"
    assert found.for_channel("C0ANYWHERE", INITECH).id == "everyone"
    # Single-workspace mode asks without a workspace: the default serving every workspace.
    assert found.for_channel("C0ANYWHERE").id == "everyone"


def test_a_workspace_with_policies_but_none_for_the_channel_is_not_told_it_is_unserved() -> None:
    acme = policy(id="acme", workspaces=[ACME], channels=["C0ACMEVIP1"], default=False)
    found = PolicySet([acme])
    with pytest.raises(NoPolicyForChannel) as uncovered:
        found.for_channel("C0ACMEGEN1", ACME)
    assert type(uncovered.value) is NoPolicyForChannel


def test_two_defaults_for_one_workspace_conflict_and_for_two_workspaces_do_not() -> None:
    PolicySet([policy(id="acme", workspaces=[ACME]), policy(id="globex", workspaces=[GLOBEX])])
    with pytest.raises(ValueError) as clash:
        PolicySet(
            [
                policy(id="acme", workspaces=[ACME]),
                policy(id="both", workspaces=[GLOBEX, ACME]),
            ]
        )
    assert str(clash.value) == (
        "both: default: policy 'acme' is already the default policy of a workspace this one "
        "serves: one default per workspace"
    )
    # A workspace's own default wins over the one serving every workspace.
    PolicySet([policy(id="acme", workspaces=[ACME]), policy(id="all")])
    with pytest.raises(ValueError) as everywhere:
        PolicySet([policy(id="all"), policy(id="also-all")])
    assert str(everywhere.value) == (
        "also-all: default: policy 'all' is already the default policy: "
        "only one policy may set default: true"
    )


def test_a_schedule_or_a_channel_cannot_be_shared_across_workspaces() -> None:
    with pytest.raises(ValueError) as channel:
        PolicySet(
            [
                policy(id="acme", workspaces=[ACME], channels=["C0SHARED01"]),
                policy(id="globex", workspaces=[GLOBEX], channels=["C0SHARED01"]),
            ]
        )
    assert str(channel.value) == (
        "globex: channels[0]: channel C0SHARED01 is already covered by policy 'acme'"
    )


def test_a_workspace_id_is_checked() -> None:
    with pytest.raises(ValueError) as bad:
        policy(workspaces=["acme"])
    assert "workspaces.0" in str(bad.value)
    assert "T0123ABCD" in str(bad.value)
