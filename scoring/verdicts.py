"""The internal customer's verdicts on deliveries (docs/semantics.md "Verdicts"), pure.

A delivery (outcome `delivered`) is judged by its `customer`: the team its transition opened a request
at, or the process's `customer` for a delivery into a done status. Verdicts are append-only events; the
derivation applies them in time order (ties in the order given), skipping the ones that are not valid
at their time; `judge` tells one new verdict's fate with the same rule, with the message a refused
caller sees. `evaluate_verdicts` adds `implicit` (silence is acceptance) as of `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.model import Verdict, VerdictAction, VerdictOutcome

VERDICT_FIELDS: tuple[str, ...] = ("verdict", "rating", "verdict_reason", "verdict_by", "verdict_at")
"""The request columns a verdict fills (besides `rejected`/`rejected_at`)."""

RATINGS = range(1, 6)


class VerdictRefused(ValueError):
    """A verdict that does not apply (no delivery, outside the window, an accept after a rejection) or
    whose input is wrong (rating, reason); the message says why and what would work."""


@dataclass(slots=True)
class _Delivery:
    row: int
    seq: int
    issue_key: str
    provider: str
    customer: str
    process: str
    resolved_at: pd.Timestamp
    due_at: pd.Timestamp
    returned_at: pd.Timestamp | None
    """When a return rejected it (from the transitions), None when none did."""
    verdict_rejected_at: pd.Timestamp | None = None
    latest: Verdict | None = None
    history: list[Verdict] = field(default_factory=list)

    def rejected_as_of(self, at: pd.Timestamp) -> pd.Timestamp | None:
        """When it was rejected, if that was at or before `at`."""
        times = [t for t in (self.returned_at, self.verdict_rejected_at) if t is not None and t <= at]
        return min(times) if times else None


def _ts(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _when(ts: pd.Timestamp) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def acceptance_window_s(config: BatonConfig, process: str) -> float:
    """The process's acceptance window in seconds (`acceptance_window`, else `reopen_window`)."""
    return float(config.processes[process].verdict_window)


def _deliveries(requests: pd.DataFrame, config: BatonConfig) -> list[_Delivery]:
    """The judged deliveries of one issue's requests, in opening order."""
    out: list[_Delivery] = []
    for row, rec in enumerate(requests.to_dict("records")):
        customer = rec.get("customer")
        if rec.get("outcome") != "delivered" or not isinstance(customer, str):
            continue
        resolved = _ts(rec["resolved_at"])
        returned = rec.get("rejected_at") if bool(rec.get("rejected")) else None
        window = acceptance_window_s(config, str(rec["process"]))
        out.append(
            _Delivery(
                row=row,
                seq=int(rec["seq"]),
                issue_key=str(rec.get("issue_key") or rec["issue_id"]),
                provider=str(rec["provider"]),
                customer=customer,
                process=str(rec["process"]),
                resolved_at=resolved,
                due_at=resolved + pd.Timedelta(seconds=window),
                returned_at=None if returned is None or pd.isna(returned) else _ts(returned),
            )
        )
    return out


def _target(deliveries: Sequence[_Delivery], verdict: Verdict) -> _Delivery | str:
    """The delivery `verdict` applies to, or the message refusing it."""
    at = _ts(verdict.at)
    candidates = [d for d in deliveries if d.customer == verdict.team and d.resolved_at <= at]
    if not candidates:
        return (
            f"team '{verdict.team}' has no delivery to judge on this issue at {_when(at)}: a verdict applies "
            f"to the most recent delivery to '{verdict.team}' resolved at or before its time"
        )
    delivery = max(candidates, key=lambda d: (d.resolved_at, d.seq))
    if at > delivery.due_at:
        return (
            f"the acceptance window of {delivery.issue_key}'s delivery by '{delivery.provider}' to "
            f"'{verdict.team}' (resolved {_when(delivery.resolved_at)}) ended at {_when(delivery.due_at)}; "
            f"a verdict at {_when(at)} is outside it and was not recorded"
        )
    if verdict.action == VerdictAction.ACCEPT:
        rejected = delivery.rejected_as_of(at)
        if rejected is not None:
            return (
                f"{delivery.issue_key}'s delivery by '{delivery.provider}' was rejected at {_when(rejected)}; "
                "an accept cannot undo a rejection (rework appears when the issue moves back)"
            )
    return delivery


def _apply(deliveries: Sequence[_Delivery], verdicts: Iterable[Verdict]) -> None:
    """Apply verdicts in time order (stable: ties keep their given order); invalid ones are skipped."""
    for verdict in sorted(verdicts, key=lambda v: _ts(v.at)):
        found = _target(deliveries, verdict)
        if isinstance(found, str):
            continue
        found.latest = verdict
        found.history.append(verdict)
        if verdict.action == VerdictAction.REJECT and found.verdict_rejected_at is None:
            found.verdict_rejected_at = _ts(verdict.at)


def check_input(verdict: Verdict, config: BatonConfig, process: str | None) -> None:
    """The input rules of a new verdict (rating 1-5 with an accept only; a reason from the process's
    `rejection_reasons` with a reject); raises `VerdictRefused`. Not re-checked at derivation, so a
    renamed reason never undoes a recorded rejection."""
    if verdict.team not in config.teams:
        raise VerdictRefused(f"unknown team '{verdict.team}'; known teams: {', '.join(sorted(config.teams))}")
    if verdict.action == VerdictAction.ACCEPT:
        if verdict.reason is not None:
            raise VerdictRefused("a reason goes with a reject (send back), not with an accept")
        if verdict.rating is not None and verdict.rating not in RATINGS:
            raise VerdictRefused(f"rating {verdict.rating} is out of range; give a whole number from 1 to 5")
        return
    if verdict.rating is not None:
        raise VerdictRefused("a rating goes with an accept, not with a reject (send back)")
    if not verdict.reason or not verdict.reason.strip():
        raise VerdictRefused("a reject (send back) needs a reason")
    reasons = config.processes[process].rejection_reasons if process is not None else []
    if reasons and verdict.reason not in reasons:
        raise VerdictRefused(
            f"reason '{verdict.reason}' is not one of process '{process}'s rejection_reasons: "
            f"{', '.join(reasons)}"
        )


@dataclass(frozen=True, slots=True)
class Judgement:
    """Where a valid verdict lands: the delivery's request `seq`, provider, process and window end."""

    seq: int
    provider: str
    process: str
    due_at: datetime


def judge(
    requests: pd.DataFrame, prior: Iterable[Verdict], verdict: Verdict, config: BatonConfig
) -> Judgement:
    """The fate of a new `verdict`, given the requests derived from the transitions alone (no verdicts:
    their rejections are returns') and the issue's earlier `prior` verdicts. Raises `VerdictRefused`
    with the reason it does not apply, or with what is wrong with its input."""
    issue_requests = requests[requests["issue_id"].astype(str) == str(verdict.issue_id)]
    deliveries = _deliveries(issue_requests, config)
    _apply(deliveries, [v for v in prior if _ts(v.at) <= _ts(verdict.at)])
    found = _target(deliveries, verdict)
    if isinstance(found, str):
        raise VerdictRefused(found)
    check_input(verdict, config, found.process)
    return Judgement(found.seq, found.provider, found.process, found.due_at.to_pydatetime())


def apply_verdicts(requests: pd.DataFrame, verdicts: Sequence[Verdict], config: BatonConfig) -> pd.DataFrame:
    """Fill `verdict_due_at` and the verdict columns, and mark rejections by verdict (`rejected_at` =
    the verdict's time unless a return rejected earlier). `requests` comes straight from the
    transitions (its rejections are returns'), with a `customer` column."""
    out = requests
    n = len(out)
    customer = out["customer"].to_numpy(dtype=object)
    has_customer = ~np.asarray(pd.isna(customer), dtype=bool)
    if pd.api.types.infer_dtype(customer[has_customer], skipna=False) not in ("string", "empty"):
        has_customer = np.array([isinstance(c, str) for c in customer], dtype=bool)
    judged = has_customer & (out["outcome"].to_numpy(dtype=object) == "delivered")
    process = out["process"].to_numpy(dtype=object)
    windows = np.full(n, np.nan, dtype=np.float64)
    for name in pd.unique(process[judged]):  # one window per process, not one call per request
        windows[judged & (process == name)] = acceptance_window_s(config, str(name))
    resolved_ns = pd.DatetimeIndex(pd.to_datetime(out["resolved_at"], utc=True)).as_unit("ns").asi8
    due_ns = np.where(judged, resolved_ns + np.nan_to_num(windows * 1e9).astype(np.int64), NAT)
    verdict = np.full(n, None, dtype=object)
    rating = np.full(n, np.nan)
    reason = np.full(n, None, dtype=object)
    by = np.full(n, None, dtype=object)
    verdict_at = np.full(n, NAT, dtype=np.int64)
    rejected = out["rejected"].to_numpy(dtype=bool).copy()
    rejected_at = pd.DatetimeIndex(pd.to_datetime(out["rejected_at"], utc=True)).as_unit("ns").asi8.copy()
    by_issue: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_issue.setdefault(str(v.issue_id), []).append(v)
    issue_ids = out["issue_id"].astype(str).to_numpy(dtype=object) if by_issue else np.zeros(0, dtype=object)
    for issue_id, issue_verdicts in by_issue.items():
        positions = np.flatnonzero(issue_ids == issue_id)
        if not len(positions):
            continue
        deliveries = _deliveries(out.iloc[positions], config)
        _apply(deliveries, issue_verdicts)
        for d in deliveries:
            if d.latest is None:
                continue
            i = int(positions[d.row])
            v = d.latest
            accepted = v.action == VerdictAction.ACCEPT
            verdict[i] = (VerdictOutcome.ACCEPTED if accepted else VerdictOutcome.REJECTED).value
            rating[i] = float(v.rating) if accepted and v.rating is not None else np.nan
            reason[i] = None if accepted else v.reason
            by[i] = v.by
            verdict_at[i] = _ts(v.at).as_unit("ns").value
            if d.verdict_rejected_at is not None:
                rejected[i] = True
                first = d.rejected_as_of(d.verdict_rejected_at)
                assert first is not None
                rejected_at[i] = first.as_unit("ns").value
    index = out.index
    out["rejected"] = rejected
    out["rejected_at"] = _timestamps(rejected_at, index)
    out["verdict_due_at"] = _timestamps(due_ns, index)
    out["verdict"] = pd.Series(verdict, dtype=object, index=index)
    out["rating"] = rating
    out["verdict_reason"] = pd.Series(reason, dtype=object, index=index)
    out["verdict_by"] = pd.Series(by, dtype=object, index=index)
    out["verdict_at"] = _timestamps(verdict_at, index)
    return out


NAT = np.iinfo(np.int64).min


def _timestamps(ns: npt.NDArray[np.int64], index: pd.Index) -> pd.Series:
    """UTC timestamps from int64 nanoseconds (NAT: NaT)."""
    return pd.Series(pd.to_datetime(ns.view("datetime64[ns]"), utc=True), index=index)


def evaluate_verdicts(requests: pd.DataFrame, now: datetime) -> pd.Series:
    """`verdict` as of `now`: `implicit` for a judged delivery, not rejected, whose window has ended
    without a valid verdict (silence is acceptance); otherwise the stored verdict (None: awaiting, or
    nobody judges it)."""
    verdict = requests["verdict"].astype(object).where(requests["verdict"].notna(), None)
    due = pd.to_datetime(requests["verdict_due_at"], utc=True)
    silent = verdict.isna() & due.notna() & (due < _ts(now)) & ~requests["rejected"].astype(bool)
    return verdict.where(~silent, VerdictOutcome.IMPLICIT.value)


def awaiting_verdict(requests: pd.DataFrame, now: datetime) -> pd.Series:
    """Judged deliveries with no valid verdict, not rejected, whose window is still open at `now`."""
    due = pd.to_datetime(requests["verdict_due_at"], utc=True)
    return requests["verdict"].isna() & due.notna() & (due >= _ts(now)) & ~requests["rejected"].astype(bool)


REASON_COLUMNS: tuple[str, ...] = ("provider", "reason", "count")
"""`rejection_reasons`' columns with the default grouping (per provider)."""


def rejected_by_verdict(requests: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Requests rejected by their customer's verdict (`verdict == "rejected"`, with its reason). Every
    other rejected request was rejected by a return (the issue moved back) alone: it has no reason."""
    if len(requests) == 0 or "verdict" not in requests or "verdict_reason" not in requests:
        return np.zeros(len(requests), dtype=bool)
    verdict = requests["verdict"].to_numpy(dtype=object) == VerdictOutcome.REJECTED.value
    return np.asarray(verdict & requests["verdict_reason"].notna().to_numpy(dtype=bool), dtype=bool)


def _label(value: object) -> object:
    """A group key as given (None for a missing one: intake requests have no requester)."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def rejection_reasons(requests: pd.DataFrame, by: Sequence[str] = ("provider",)) -> pd.DataFrame:
    """The reasons of the deliveries rejected by verdict (`rejected_by_verdict`), counted per group of
    `by` (default: per provider; the hand-off matrix groups by requester and provider; a missing key,
    such as intake's requester, is a group of its own, None). Columns: `by`, `reason`, `count`; groups
    in order of their keys (None last), then most frequent first, ties by reason."""
    keys = list(by)
    columns = [*keys, "reason", "count"]
    mask = rejected_by_verdict(requests)
    if not mask.any():
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    rejected = requests[mask]
    counts = (
        rejected.groupby([*keys, "verdict_reason"], dropna=False, sort=False).size().reset_index(name="count")
    )
    labels = {k: [_label(v) for v in counts[k]] for k in keys}
    reasons = [str(v) for v in counts["verdict_reason"]]
    sizes = [int(v) for v in counts["count"]]
    order = sorted(
        range(len(counts)),
        key=lambda i: (
            *((labels[k][i] is None, str(labels[k][i] or "")) for k in keys),
            -sizes[i],
            reasons[i],
        ),
    )
    data: dict[str, pd.Series] = {k: pd.Series([labels[k][i] for i in order], dtype=object) for k in keys}
    data["reason"] = pd.Series([reasons[i] for i in order], dtype=object)
    data["count"] = pd.Series([sizes[i] for i in order], dtype=np.int64)
    return pd.DataFrame(data, columns=columns)
