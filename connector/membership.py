"""Who may give a team's verdict: `teams.<team>.members` (Jira groups and/or account ids), with the
user's groups read from the site over REST (`GET /rest/api/3/user/groups?accountId=`) and cached.

docs/plugin.md ("Verdicts") and docs/configuration.md (`members`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from baton.config.schema import AccountMember, GroupMember, Team
from baton.connector.client import JiraClient, JiraNotFound

GROUPS_PATH = "/rest/api/3/user/groups"
T = TypeVar("T")


def fetch_groups(client: JiraClient, account: str) -> frozenset[str]:
    """Names of the Jira groups `account` is in (an unknown account is in none)."""
    try:
        answer = client.request("GET", GROUPS_PATH, params={"accountId": account})
    except JiraNotFound:
        return frozenset()
    return frozenset(
        str(group["name"]) for group in (answer or []) if isinstance(group, dict) and group.get("name")
    )


class AccountCache(Generic[T]):
    """What Jira answered about an account, per (site, account), for `ttl_s` seconds (monotonic clock),
    thread-safe. A failed lookup raises and caches nothing."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, T]] = {}

    def get(self, site: str, account: str, fetch: Callable[[], T]) -> T:
        key = (site, account)
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        found = fetch()
        with self._lock:
            if len(self._entries) >= 10_000:
                self._entries.clear()
            self._entries[key] = (now + self.ttl_s, found)
        return found


class GroupCache(AccountCache[frozenset[str]]):
    """A user's groups per (site, account) for `ttl_s` seconds."""

    def groups(self, site: str, account: str, fetch: Callable[[], frozenset[str]]) -> frozenset[str]:
        return self.get(site, account, fetch)


def needs_groups(team: Team, account: str) -> bool:
    """Whether deciding membership needs the user's groups (no account entry names them, and the team
    lists groups)."""
    if any(isinstance(m, AccountMember) and m.account == account for m in team.members):
        return False
    return any(isinstance(m, GroupMember) for m in team.members)


def is_member(team: Team, account: str, groups: Callable[[], frozenset[str]]) -> bool:
    """Whether `account` is one of the team's `members`: listed by account id, or in a listed group
    (group names compared case-insensitively, as Jira does). `groups` is called only when needed."""
    if any(isinstance(m, AccountMember) and m.account == account for m in team.members):
        return True
    wanted = {m.group.casefold() for m in team.members if isinstance(m, GroupMember)}
    if not wanted:
        return False
    return any(name.casefold() in wanted for name in groups())
