"""What a draft configuration would do to the numbers, computed on the stored history (issue 15).

Pure: the caller (`baton.store.preview.run_preview`) derives each chunk of issues twice, under the live
configuration and under the draft, and feeds both frames to `PreviewAccumulator.add`; `result()` then
gives a `Preview`:

- `rows`: per (period, team, process), the `baton score --by process` row before and after, None where
  one side has no row;
- `handoffs_mapped` / `handoffs_unmapped`: (requester, provider, from status, to status) pairs whose
  requests stopped / started being unmapped hand-offs, with counts and example issue keys;
- `changed_requests`: requests whose kind, provider or outcome changed (the first `max_changed`, in
  issue order; `changed_total` counts all).

Requests on the two sides are matched by the transition that opened them: (issue, opening instant,
from status, to status) and their order among requests opened by the same transition. A request with
no partner exists on one side only (its other side is None).

Memory: per chunk, only the columns `scorecards` reads are kept (states evaluated at `now`), plus the
pair counts and at most `max_changed` changed requests; the transition log itself is never held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.clocks import evaluate_clocks
from baton.scoring.scores import scorecards

Period = Literal["week", "month"]

SCORE_INPUT_COLUMNS: tuple[str, ...] = (
    "issue_id",
    "process",
    "provider",
    "kind",
    "resolved_at",
    "outcome",
    "rejected",
    "response_goal_s",
    "resolution_goal_s",
    "resolution_elapsed_s",
    "response_state",
    "resolution_state",
)
"""What `scorecards(..., by="process")` reads of an evaluated requests frame."""

_MATCH = ("issue_id", "opened_at", "from_status", "to_status", "_n")
_COMPARED = ("kind", "provider", "outcome")
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class PreviewRow:
    period: str
    team: str
    process: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class PairChange:
    """A hand-off pair (team to team, status to status) and how many requests of it changed side."""

    requester: str | None
    provider: str | None
    from_status: str | None
    to_status: str | None
    count: int
    examples: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requester": self.requester,
            "provider": self.provider,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "count": self.count,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class ChangedRequest:
    issue_key: str | None
    issue_id: str
    opened_at: str
    before: dict[str, Any] | None
    """`{kind, provider, requester, outcome}` under the live configuration; None: no such request there."""
    after: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "issue_key": self.issue_key,
            "issue_id": self.issue_id,
            "opened_at": self.opened_at,
            "before": self.before,
            "after": self.after,
        }


ScoreShaper = Callable[[pd.DataFrame, str | None], list[dict[str, Any]]]


def _plain_records(frame: pd.DataFrame, by: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        out.append({str(k): (None if _missing(v) else _py(v)) for k, v in row.items()})
    return out


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Preview:
    period: str
    live_fingerprint: str
    draft_fingerprint: str
    before_scores: pd.DataFrame
    """`scorecards(..., by="process")` under the live configuration."""
    after_scores: pd.DataFrame
    handoffs_mapped: list[PairChange]
    handoffs_unmapped: list[PairChange]
    changed_requests: list[ChangedRequest]
    changed_total: int
    issues: int
    transitions: int
    requests_before: int
    requests_after: int
    _rows: list[PreviewRow] | None = field(default=None, repr=False)

    def score_rows(self, shape: ScoreShaper | None = None) -> list[PreviewRow]:
        """The before/after rows, each side shaped by `shape` (`baton.webhooks.serialize.score_records`
        gives exactly `baton score --by process --format json`'s rows); raw engine values without it."""
        shape = shape or _plain_records
        before = shape(self.before_scores, "process")
        after = shape(self.after_scores, "process")

        def key(record: dict[str, Any]) -> tuple[str, str, str]:
            return (str(record["period"]), str(record["team"]), str(record.get("process")))

        by_key: dict[tuple[str, str, str], list[dict[str, Any] | None]] = {}
        for record in before:
            by_key.setdefault(key(record), [None, None])[0] = record
        for record in after:
            by_key.setdefault(key(record), [None, None])[1] = record
        rows: list[PreviewRow] = []
        for (period, team, _process), (old, new) in sorted(by_key.items()):
            process = (new or old or {}).get("process")
            rows.append(PreviewRow(period, team, process, old, new))
        return rows

    @property
    def rows(self) -> list[PreviewRow]:
        if self._rows is None:
            self._rows = self.score_rows()
        return self._rows

    def to_json(self, shape: ScoreShaper | None = None) -> dict[str, Any]:
        """The preview as JSON-ready data; pass `baton.webhooks.serialize.score_records` as `shape` to
        round the score rows as `baton score` does (`baton.webhooks.serialize.preview_record` does)."""
        rows = self.score_rows(shape) if shape is not None else self.rows
        return {
            "period": self.period,
            "live_fingerprint": self.live_fingerprint,
            "draft_fingerprint": self.draft_fingerprint,
            "issues": self.issues,
            "transitions": self.transitions,
            "requests": {"before": self.requests_before, "after": self.requests_after},
            "rows": [
                {
                    "period": r.period,
                    "team": r.team,
                    "process": r.process,
                    "before": r.before,
                    "after": r.after,
                }
                for r in rows
            ],
            "handoffs_mapped": [p.as_dict() for p in self.handoffs_mapped],
            "handoffs_unmapped": [p.as_dict() for p in self.handoffs_unmapped],
            "changed_requests": [c.as_dict() for c in self.changed_requests],
            "changed_total": self.changed_total,
        }


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat() if not _missing(value) else ""


_PairKey = tuple[str | None, str | None, str | None, str | None]


class _Pairs:
    def __init__(self) -> None:
        self.counts: dict[_PairKey, int] = {}
        self.examples: dict[_PairKey, list[str]] = {}

    def add(self, key: _PairKey, issue_key: str | None) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        examples = self.examples.setdefault(key, [])
        if issue_key and issue_key not in examples and len(examples) < MAX_EXAMPLES:
            examples.append(issue_key)

    def result(self) -> list[PairChange]:
        order = sorted(self.counts.items(), key=lambda item: (-item[1], tuple(str(k) for k in item[0])))
        return [PairChange(*key, count=n, examples=tuple(self.examples[key])) for key, n in order]


def _window(frame: pd.DataFrame, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    """Requests alive in [since, until), as `baton.store.requests.load_requests_frame` selects them."""
    mask = np.ones(len(frame), dtype=bool)
    if until is not None:
        mask &= (frame["opened_at"] < pd.Timestamp(until)).to_numpy()
    if since is not None:
        resolved = frame["resolved_at"]
        mask &= (resolved.isna() | (resolved >= pd.Timestamp(since))).to_numpy()
    return frame if mask.all() else frame[mask]


def _with_match_key(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[
        ["issue_id", "issue_key", "opened_at", "from_status", "to_status", "requester", *_COMPARED]
    ].copy()
    for name in ("from_status", "to_status"):
        out[name] = out[name].astype(object).where(out[name].notna(), "")
    out["_n"] = out.groupby(["issue_id", "opened_at", "from_status", "to_status"], sort=False).cumcount()
    return out


class PreviewAccumulator:
    """Feed it the two derivations of each chunk of issues (`add`); `result()` is the `Preview`."""

    def __init__(
        self,
        live: BatonConfig,
        draft: BatonConfig,
        now: datetime,
        *,
        period: Period = "week",
        since: datetime | None = None,
        until: datetime | None = None,
        live_fingerprint: str = "",
        draft_fingerprint: str = "",
        max_changed: int = 500,
    ) -> None:
        self.live = live
        self.draft = draft
        self.now = now
        self.period: Period = period
        self.since = since
        self.until = until
        self.live_fingerprint = live_fingerprint
        self.draft_fingerprint = draft_fingerprint
        self.max_changed = max_changed
        self._before: list[pd.DataFrame] = []
        self._after: list[pd.DataFrame] = []
        self._mapped = _Pairs()
        self._unmapped = _Pairs()
        self._changed: list[ChangedRequest] = []
        self._changed_total = 0
        self.issues = 0
        self.transitions = 0
        self.requests_before = 0
        self.requests_after = 0

    def add(
        self, before: pd.DataFrame, after: pd.DataFrame, *, issues: int = 0, transitions: int = 0
    ) -> None:
        """One chunk of issues derived under the live configuration (`before`) and the draft (`after`)."""
        self.issues += issues
        self.transitions += transitions
        self.requests_before += len(before)
        self.requests_after += len(after)
        self._compare(before, after)
        for frame, config, into in ((before, self.live, self._before), (after, self.draft, self._after)):
            if len(frame):
                shown = _window(frame, self.since, self.until)
                if len(shown):
                    evaluated = evaluate_clocks(shown, config, self.now)
                    into.append(evaluated[list(SCORE_INPUT_COLUMNS)].reset_index(drop=True))

    def _compare(self, before: pd.DataFrame, after: pd.DataFrame) -> None:
        if not len(before) and not len(after):
            return
        joined = _with_match_key(before).merge(
            _with_match_key(after), on=list(_MATCH), how="outer", suffixes=("_b", "_a"), indicator=True
        )
        both = (joined["_merge"] == "both").to_numpy()
        changed = ~both
        for name in _COMPARED:
            b = joined[f"{name}_b"].astype(object).where(joined[f"{name}_b"].notna(), None).to_numpy()
            a = joined[f"{name}_a"].astype(object).where(joined[f"{name}_a"].notna(), None).to_numpy()
            changed |= both & (b != a)
        if not changed.any():
            return
        picked = joined[changed].sort_values(["issue_id", "opened_at", "_n"], kind="stable")
        for rec in picked.to_dict("records"):
            in_before = rec["_merge"] in ("both", "left_only")
            in_after = rec["_merge"] in ("both", "right_only")
            issue_key = _text(rec.get("issue_key_b")) or _text(rec.get("issue_key_a"))
            side_b = self._side(rec, "_b") if in_before else None
            side_a = self._side(rec, "_a") if in_after else None
            was_unmapped = side_b is not None and side_b["kind"] == "unmapped"
            is_unmapped = side_a is not None and side_a["kind"] == "unmapped"
            if was_unmapped and not is_unmapped:
                self._mapped.add(self._pair(rec, "_b"), issue_key)
            elif is_unmapped and not was_unmapped:
                self._unmapped.add(self._pair(rec, "_a"), issue_key)
            self._changed_total += 1
            if len(self._changed) < self.max_changed:
                self._changed.append(
                    ChangedRequest(issue_key, str(rec["issue_id"]), _iso(rec["opened_at"]), side_b, side_a)
                )

    @staticmethod
    def _side(rec: dict[Any, Any], suffix: str) -> dict[str, Any]:
        return {
            "kind": _text(rec.get(f"kind{suffix}")),
            "provider": _text(rec.get(f"provider{suffix}")),
            "requester": _text(rec.get(f"requester{suffix}")),
            "outcome": _text(rec.get(f"outcome{suffix}")),
        }

    @staticmethod
    def _pair(rec: dict[Any, Any], suffix: str) -> _PairKey:
        return (
            _text(rec.get(f"requester{suffix}")),
            _text(rec.get(f"provider{suffix}")),
            _text(rec["from_status"]) or None,
            _text(rec["to_status"]) or None,
        )

    def _scores(self, parts: Sequence[pd.DataFrame], config: BatonConfig) -> pd.DataFrame:
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame({c: pd.Series([], dtype=object) for c in SCORE_INPUT_COLUMNS})
        )
        return scorecards(frame, config, self.now, period=self.period, by="process")

    def result(self) -> Preview:
        return Preview(
            period=self.period,
            live_fingerprint=self.live_fingerprint,
            draft_fingerprint=self.draft_fingerprint,
            before_scores=self._scores(self._before, self.live),
            after_scores=self._scores(self._after, self.draft),
            handoffs_mapped=self._mapped.result(),
            handoffs_unmapped=self._unmapped.result(),
            changed_requests=list(self._changed),
            changed_total=self._changed_total,
            issues=self.issues,
            transitions=self.transitions,
            requests_before=self.requests_before,
            requests_after=self.requests_after,
        )


__all__ = [
    "ChangedRequest",
    "PairChange",
    "Preview",
    "PreviewAccumulator",
    "PreviewRow",
]
