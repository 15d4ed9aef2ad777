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

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig, Process
from baton.scoring.clocks import evaluate_clocks, goals_for
from baton.scoring.rules import rules_for
from baton.scoring.scores import scorecards

Period = Literal["week", "month"]

SCORE_INPUT_COLUMNS: tuple[str, ...] = (
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
    "rating",
)
"""What `scorecards(..., by="process")` reads of an evaluated requests frame (`rating`: satisfaction)."""

PREVIEW_COLUMNS: tuple[str, ...] = (
    "issue_id",
    "issue_key",
    "seq",
    "process",
    "provider",
    "requester",
    "kind",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "outcome",
    "rejected",
    "from_status",
    "to_status",
    "issue_type",
    "priority",
    "response_goal_s",
    "resolution_goal_s",
    "at_risk_ratio",
    "response_elapsed_s",
    "resolution_elapsed_s",
    "clock_at",
    "paused",
    "rating",
)
"""What the preview reads of a requests frame (derived, or stored): the comparison's keys, what
`evaluate_clocks` and `scorecards(..., by="process")` read, and what goals are looked up by."""

_GOAL_FIELDS = ("sla", "unmapped_goal", "at_risk")
"""Process fields that only set the goals of its requests (`baton.scoring.clocks.goal_of`)."""
_NOT_DERIVED = ("match", "rejection_reasons")
"""Process fields the derivation of an issue's requests does not read (`match` is compared for all
processes at once: it decides which process an issue belongs to)."""


@dataclass(frozen=True)
class DerivationPlan:
    """What a draft changes in the derivation, per process (`derivation_plan`)."""

    derive_all: bool
    """Calendars, teams, or which process an issue belongs to differ: every issue is derived again."""
    carried: frozenset[str] = frozenset()
    """Processes whose requests the draft leaves exactly as they are."""
    regoaled: frozenset[str] = frozenset()
    """Processes whose requests change only in their goals (`sla`, `unmapped_goal`, `at_risk`): the same
    requests with the goals looked up again."""

    @property
    def kept(self) -> frozenset[str]:
        """Processes whose issues need no derivation under the draft."""
        return self.carried | self.regoaled


def derivation_plan(live: BatonConfig, draft: BatonConfig) -> DerivationPlan:
    """Which processes' requests a draft can change, and how. Derivation reads, of the configuration,
    the calendars, the teams, the processes in order with their `match` (which process an issue is in)
    and each process's flow, statuses, windows and customer; goals come last, from `sla`,
    `unmapped_goal` and `at_risk` (docs/semantics.md). A process whose derivation inputs are equal is
    carried over (goals looked up again when they differ); anything global that differs derives all."""
    if (
        live.calendars != draft.calendars
        or live.teams != draft.teams
        or [(n, p.match) for n, p in live.processes.items()]
        != [(n, p.match) for n, p in draft.processes.items()]
    ):
        return DerivationPlan(derive_all=True)
    derived_fields = set(Process.model_fields) - set(_GOAL_FIELDS) - set(_NOT_DERIVED)
    carried: set[str] = set()
    regoaled: set[str] = set()
    for name, old in live.processes.items():
        new = draft.processes[name]
        if old.model_dump(include=derived_fields) != new.model_dump(include=derived_fields):
            continue
        if all(getattr(old, f) == getattr(new, f) for f in _GOAL_FIELDS):
            carried.add(name)
        else:
            regoaled.add(name)
    return DerivationPlan(False, frozenset(carried), frozenset(regoaled))


def carried_requests(before: pd.DataFrame, draft: BatonConfig, plan: DerivationPlan) -> pd.DataFrame:
    """The requests of `before` (derived under the live configuration) that the draft keeps: those of
    the plan's carried processes as they are, those of its regoaled processes with the draft's goals
    (`response_goal_s`, `resolution_goal_s`, `at_risk_ratio`, looked up once per distinct key as
    derivation does)."""
    process = before["process"].to_numpy(dtype=object)
    out = before[np.isin(process, list(plan.kept))].reset_index(drop=True)
    regoal = np.isin(out["process"].to_numpy(dtype=object), list(plan.regoaled))
    if regoal.any():
        sub = out[regoal]
        response, resolution, risk = goals_for(
            rules_for(draft),
            *(
                sub[c].to_numpy(dtype=object)
                for c in ("process", "provider", "requester", "kind", "issue_type", "priority")
            ),
        )
        for name, values in (
            ("response_goal_s", response),
            ("resolution_goal_s", resolution),
            ("at_risk_ratio", risk),
        ):
            column = out[name].to_numpy(dtype=np.float64).copy()
            column[regoal] = values
            out[name] = column
    return out


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


def _texts(values: pd.Series) -> list[str | None]:
    """A column as `_text` gives each value: None when missing, else `str`."""
    raw = values.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(raw), dtype=bool).tolist()
    return [None if m else str(v) for v, m in zip(raw.tolist(), missing, strict=True)]


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

    def absorb(self, later: _Pairs) -> None:
        """Add the counts of `later` (pairs met later in issue order); examples stay first-come."""
        for key, count in later.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
            examples = self.examples.setdefault(key, [])
            for issue_key in later.examples.get(key, []):
                if issue_key not in examples and len(examples) < MAX_EXAMPLES:
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


def _same(before: pd.Series, after: pd.Series) -> npt.NDArray[np.bool_]:
    """Row by row: equal values, missing equal to missing (instants compared as integers, text and
    the like as Python objects)."""
    if isinstance(before.dtype, pd.DatetimeTZDtype) and isinstance(after.dtype, pd.DatetimeTZDtype):
        b_ns = np.asarray(before.array.as_unit("ns").asi8)
        a_ns = np.asarray(after.array.as_unit("ns").asi8)
        return np.asarray(b_ns == a_ns, dtype=bool)
    b = before.to_numpy(dtype=object)
    a = after.to_numpy(dtype=object)
    b_na = np.asarray(pd.isna(b), dtype=bool)
    a_na = np.asarray(pd.isna(a), dtype=bool)
    return np.asarray((b_na & a_na) | (~b_na & ~a_na & (b == a)), dtype=bool)


def _in_issue_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame ordered by (issue, seq): as it is when it already is (derived and stored frames
    usually are), else sorted."""
    ids = frame["issue_id"].to_numpy(dtype=object)
    seq = frame["seq"].to_numpy(dtype=np.int64)
    if len(ids) > 1 and frame["issue_id"].is_monotonic_increasing:
        same_issue = ids[1:] == ids[:-1]
        if bool(np.all(seq[1:][same_issue] > seq[:-1][same_issue])):
            return frame
    elif len(ids) <= 1:
        return frame
    return frame.sort_values(["issue_id", "seq"], kind="stable")


def _differing_issues(before: pd.DataFrame, after: pd.DataFrame) -> set[Any]:
    """Issues whose requests differ in number, opening transition, kind, provider or outcome between the
    two derivations (the rest, usually most, need no matching)."""
    b = _in_issue_order(before)
    a = _in_issue_order(after)
    counts = pd.concat([b["issue_id"].value_counts(), a["issue_id"].value_counts()], axis=1).fillna(-1)
    differ = set(counts.index[(counts.iloc[:, 0] != counts.iloc[:, 1]).to_numpy()])
    if differ:
        b = b[~b["issue_id"].isin(differ).to_numpy()]
        a = a[~a["issue_id"].isin(differ).to_numpy()]
    mismatch = np.zeros(len(b), dtype=bool)
    for name in ("issue_id", "opened_at", "from_status", "to_status", *_COMPARED):
        mismatch |= ~_same(b[name], a[name])
    if mismatch.any():
        differ |= set(b["issue_id"].to_numpy()[mismatch])
    return differ


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
        self,
        before: pd.DataFrame,
        after: pd.DataFrame,
        *,
        issues: int = 0,
        transitions: int = 0,
        derived: Collection[str] | None = None,
    ) -> None:
        """One chunk of issues derived under the live configuration (`before`) and the draft (`after`).
        `derived`: the only issues whose requests may differ in number, kind, provider or outcome (the
        others' `after` rows are `carried_requests` of `before`); None: any issue may."""
        self.issues += issues
        self.transitions += transitions
        self.requests_before += len(before)
        self.requests_after += len(after)
        if derived is None:
            self._compare(before, after)
        elif len(derived):
            wanted = list(derived)
            self._compare(
                before[before["issue_id"].isin(wanted).to_numpy()],
                after[after["issue_id"].isin(wanted).to_numpy()],
            )
        for frame, config, into in ((before, self.live, self._before), (after, self.draft, self._after)):
            if len(frame):
                shown = _window(frame, self.since, self.until)
                if len(shown):
                    evaluated = evaluate_clocks(shown, config, self.now)
                    into.append(evaluated[list(SCORE_INPUT_COLUMNS)].reset_index(drop=True))

    def _compare(self, before: pd.DataFrame, after: pd.DataFrame) -> None:
        if not len(before) and not len(after):
            return
        differ = _differing_issues(before, after)
        if not differ:
            return
        before = before[before["issue_id"].isin(differ).to_numpy()]
        after = after[after["issue_id"].isin(differ).to_numpy()]
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
        # each column as Python text (None when missing) once, then one light pass over the records
        text = {
            name: _texts(picked[name]) for name in picked.columns if name not in ("opened_at", "_merge", "_n")
        }
        merge = picked["_merge"].astype(str).tolist()
        opened = picked["opened_at"].tolist()

        def side(i: int, suffix: str) -> dict[str, Any]:
            return {name: text[f"{name}{suffix}"][i] for name in ("kind", "provider", "requester", "outcome")}

        def pair(i: int, suffix: str) -> _PairKey:
            return (
                text[f"requester{suffix}"][i],
                text[f"provider{suffix}"][i],
                text["from_status"][i] or None,
                text["to_status"][i] or None,
            )

        for i, how in enumerate(merge):
            side_b = side(i, "_b") if how in ("both", "left_only") else None
            side_a = side(i, "_a") if how in ("both", "right_only") else None
            issue_key = text["issue_key_b"][i] or text["issue_key_a"][i]
            was_unmapped = side_b is not None and side_b["kind"] == "unmapped"
            is_unmapped = side_a is not None and side_a["kind"] == "unmapped"
            if was_unmapped and not is_unmapped:
                self._mapped.add(pair(i, "_b"), issue_key)
            elif is_unmapped and not was_unmapped:
                self._unmapped.add(pair(i, "_a"), issue_key)
            self._changed_total += 1
            if len(self._changed) < self.max_changed:
                self._changed.append(
                    ChangedRequest(issue_key, str(text["issue_id"][i]), _iso(opened[i]), side_b, side_a)
                )

    def merge(self, later: PreviewAccumulator) -> None:
        """Take in what `later` accumulated over the issues that come after this one's (a part of the
        site previewed apart, e.g. in another process): the result is what one accumulator fed both
        parts' chunks in order would give."""
        self._before.extend(later._before)
        self._after.extend(later._after)
        self._mapped.absorb(later._mapped)
        self._unmapped.absorb(later._unmapped)
        self._changed.extend(later._changed[: max(0, self.max_changed - len(self._changed))])
        self._changed_total += later._changed_total
        self.issues += later.issues
        self.transitions += later.transitions
        self.requests_before += later.requests_before
        self.requests_after += later.requests_after

    def compact(self) -> None:
        """Ready to hand to another process: each side's chunks joined into one frame. (Its text columns
        refer to a few shared strings, the clock states' and the stored labels'
        (`baton.store.requests.shared_labels`): pickle writes each string once and refers to it after.)"""
        for parts in (self._before, self._after):
            if len(parts) > 1:
                parts[:] = [pd.concat(parts, ignore_index=True)]

    def scores(self, side: Literal["before", "after"]) -> pd.DataFrame:
        """`scorecards(..., by="process")` of one side: `before` under the live configuration, `after`
        under the draft (the two are independent, so they may be computed apart)."""
        parts, config = (self._before, self.live) if side == "before" else (self._after, self.draft)
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame({c: pd.Series([], dtype=object) for c in SCORE_INPUT_COLUMNS})
        )
        return scorecards(frame, config, self.now, period=self.period, by="process")

    def result(
        self, before_scores: pd.DataFrame | None = None, after_scores: pd.DataFrame | None = None
    ) -> Preview:
        """The `Preview`; `before_scores` / `after_scores`: `scores(side)` when already computed."""
        return Preview(
            period=self.period,
            live_fingerprint=self.live_fingerprint,
            draft_fingerprint=self.draft_fingerprint,
            before_scores=self.scores("before") if before_scores is None else before_scores,
            after_scores=self.scores("after") if after_scores is None else after_scores,
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
    "PREVIEW_COLUMNS",
    "ChangedRequest",
    "DerivationPlan",
    "PairChange",
    "Preview",
    "PreviewAccumulator",
    "PreviewRow",
    "carried_requests",
    "derivation_plan",
]
