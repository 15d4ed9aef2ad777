"""Who may give a team's verdict: account ids and Jira groups (read over REST from the stand-in), cached."""

from __future__ import annotations

from baton.config.schema import AccountMember, GroupMember, Team
from baton.connector.membership import GroupCache, fetch_groups, is_member, needs_groups
from tests.contract.connector.conftest import JiraMock

TEAM = Team(calendar="c", members=[GroupMember(group="QA-Team"), AccountMember(account="lead")])


def test_accounts_and_groups(jira: JiraMock) -> None:
    jira.standin.user_groups.update({"alice": ["qa-team"], "bob": ["developers"]})
    client = jira.client()
    assert fetch_groups(client, "alice") == frozenset({"qa-team"})
    assert fetch_groups(client, "nobody") == frozenset()  # Jira answers 404: in no group
    assert is_member(TEAM, "alice", lambda: fetch_groups(client, "alice"))  # group names ignore case
    assert not is_member(TEAM, "bob", lambda: fetch_groups(client, "bob"))

    def no_lookup() -> frozenset[str]:
        raise AssertionError("an account member needs no group lookup")

    assert is_member(TEAM, "lead", no_lookup) and not needs_groups(TEAM, "lead")
    assert not is_member(Team(calendar="c"), "alice", no_lookup)  # no members: nobody judges in Jira


def test_the_cache_keeps_groups_for_its_ttl() -> None:
    now = [0.0]
    cache = GroupCache(300, clock=lambda: now[0])
    calls: list[str] = []

    def fetch() -> frozenset[str]:
        calls.append("x")
        return frozenset({"qa-team"})

    for t in (0.0, 299.0):
        now[0] = t
        assert cache.groups("acme", "alice", fetch) == {"qa-team"}
    assert len(calls) == 1
    cache.groups("globex", "alice", fetch)  # per site
    now[0] = 300.0
    cache.groups("acme", "alice", fetch)  # expired
    assert len(calls) == 3
