"""Transitions -> internal service requests (docs/semantics.md), vectorised.

The hot path has no per-transition Python loop:

1. rows are sorted per issue by (at, creation first, change id); copies of a change (same issue and
   change id, hence the same instant: copies are identical) are kept once. Only rows tied on
   (issue, at) are compared by change id, so ordering costs one `np.lexsort` (`_issue_processes`,
   `_ordered_log`);
2. distinct (status id, status name) pairs get a code once; per process a small table gives each code
   its class (unowned / pause / done / owned), owning team and queue flag (`_status_codes`,
   `_status_tables`);
3. the effective `from` of a row leaving a pause status is forward-filled from the last non-pause `to`;
4. every row gets an action from the classification table (vectorised `np.select`) (`_row_actions`);
5. requests are the opening rows; each is closed by the next closing row of its issue (at most one open
   request per issue); first responses, paused time and rejections are array operations
   (`np.searchsorted` over sorted keys) (`_request_spans`, `_first_responses`, `_rejections`,
   `_elapsed`); goals are looked up once per distinct key (`_goals`) and the frame is built last
   (`_assemble`), each delivery with its customer (`_customers`);
6. the internal customers' verdicts are applied to the deliveries they judge
   (`baton.scoring.verdicts.apply_verdicts`: a loop over the few issues that have verdicts).

Each stage takes and returns arrays aligned on one axis: the ordered log's rows (`_Log`, `_Statuses`,
`_Rows`) or the requests (`_Spans` and what follows), so a stage's contract is its dataclass.
`derive_each` derives one log under several configurations, running stages 1 and 2a once for those
that put every issue in the same process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.calendar import business_calendar
from baton.scoring.clocks import goal_of
from baton.scoring.model import CREATION_CHANGE_ID, DONE_REQUESTER, REQUEST_COLUMNS, Verdict
from baton.scoring.rules import DONE, NONE, OWNED, PAUSE, UNOWNED, CompiledRules, rules_for
from baton.scoring.verdicts import apply_verdicts

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Actions of a transition (the rows of docs/semantics.md "Classifying a transition").
A_NOOP = 0  # e.g. a transition to no status
A_PAUSE = 1
A_PROGRESS = 2
A_FORWARD = 3
A_RETURN = 4
A_TO_DONE = 5
A_UNMAPPED = 6
A_RELEASE = 7
A_INTAKE = 8

_OPENING = np.zeros(9, dtype=bool)
_OPENING[[A_FORWARD, A_RETURN, A_UNMAPPED, A_INTAKE]] = True
_CLOSING = np.zeros(9, dtype=bool)
_CLOSING[[A_FORWARD, A_RETURN, A_TO_DONE, A_UNMAPPED, A_RELEASE, A_INTAKE]] = True
# Outcome codes: 0 delivered, 1 returned, 2 handed_off, 3 released.
_OUTCOMES = np.array(["delivered", "returned", "handed_off", "released"], dtype=object)
_OUTCOME_OF = np.full(9, -1, dtype=np.int64)
_OUTCOME_OF[[A_FORWARD, A_TO_DONE]] = 0
_OUTCOME_OF[A_RETURN] = 1
_OUTCOME_OF[A_UNMAPPED] = 2
_OUTCOME_OF[[A_RELEASE, A_INTAKE]] = 3
_OUTCOMES_OR_OPEN = np.array([*_OUTCOMES, None], dtype=object)  # outcome code -1 (open) -> None
_KINDS = np.array(["new", "rework", "unmapped"], dtype=object)
_KIND_OF = np.full(9, -1, dtype=np.int64)
_KIND_OF[[A_FORWARD, A_INTAKE]] = 0
_KIND_OF[A_RETURN] = 1
_KIND_OF[A_UNMAPPED] = 2

NAT = np.iinfo(np.int64).min


def _col(values: npt.NDArray[np.object_], index: pd.RangeIndex) -> pd.Series:
    """An object column (None stays None: no inference to pandas' `str` dtype) on a shared index."""
    return pd.Series(values, dtype=object, index=index, copy=False)


def empty_requests() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REQUEST_COLUMNS})


def _obj(values: Any) -> npt.NDArray[np.object_]:
    arr: npt.NDArray[np.object_] = np.array(values, dtype=np.object_)
    if arr.size:
        arr[pd.isna(arr)] = None
    return arr


def _text(column: pd.Series) -> npt.NDArray[np.object_]:
    """A column of ids as an object array of `str` (ints and the like are converted)."""
    values: npt.NDArray[np.object_] = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array([str(v) for v in values], dtype=object)
    return values


SMALL = 2000
"""Inputs up to this many rows take paths with less pandas overhead (re-deriving a few issues)."""


def _utc_ns(column: pd.Series) -> IntArray:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return np.asarray(column.array.as_unit("ns").asi8, dtype=np.int64)
    at = pd.to_datetime(column, utc=True)
    return np.asarray(pd.DatetimeIndex(at).as_unit("ns").asi8, dtype=np.int64)


_UTC = pd.DatetimeTZDtype("ns", "UTC")


def _timestamps(ns: IntArray) -> Any:
    """tz-aware UTC timestamps (NaT for the int64 minimum), without a Series/Index round trip."""
    return pd.arrays.DatetimeArray._from_sequence(  # type: ignore[attr-defined]
        ns.view("datetime64[ns]"), dtype=_UTC
    )


def _cmp_change(a: str, b: str) -> int:
    if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
        ka: tuple[int, str] | str = (len(a), a)
        kb: tuple[int, str] | str = (len(b), b)
        return (ka > kb) - (ka < kb)  # type: ignore[operator]
    return (a > b) - (a < b)


def _digit_ranks(uniques: npt.NDArray[np.object_]) -> IntArray | None:
    """Vectorised ranks when every id (but the creation's) is 1-18 ASCII digits, else None."""
    ordinary = uniques != CREATION_CHANGE_ID
    try:
        raw = np.asarray(uniques[ordinary], dtype="S")
    except (UnicodeEncodeError, ValueError):
        return None
    width = raw.dtype.itemsize
    if width == 0 or width > 18:
        return None
    chars = raw.view(np.uint8).reshape(len(raw), width)
    present = chars != 0
    lengths = present.sum(axis=1)
    # ASCII digits only, no embedded NULs (a NUL-padded tail is the only zero byte allowed)
    if not bool(((chars >= 48) & (chars <= 57) | ~present).all()) or bool((lengths == 0).any()):
        return None
    if not bool((present == (np.arange(width) < lengths[:, None])).all()):
        return None
    digits = np.where(present, chars.astype(np.int64) - 48, 0)
    powers = np.where(present, 10 ** np.clip(lengths[:, None] - 1 - np.arange(width), 0, None), 0)
    values = (digits * powers).sum(axis=1)
    keys_len = np.zeros(len(uniques), dtype=np.int64)
    keys_val = np.zeros(len(uniques), dtype=np.int64)
    keys_len[ordinary] = lengths
    keys_val[ordinary] = values
    order = np.lexsort((keys_val, keys_len))
    ranks = np.empty(len(uniques), dtype=np.int64)
    ranks[order] = np.arange(len(uniques), dtype=np.int64)
    return ranks


def _change_ranks(uniques: npt.NDArray[np.object_]) -> IntArray:
    """Rank of each distinct change id in the per-issue order (semantics.md 'Transitions and order').

    The creation (`CREATION_CHANGE_ID`) is ordered first by its own flag, so its rank is irrelevant."""
    fast = _digit_ranks(uniques)
    if fast is not None:
        return fast
    texts = [str(u) for u in uniques]
    if True:

        def by_text(i: int, j: int) -> int:
            return _cmp_change(texts[i], texts[j])

        order = np.array(sorted(range(len(texts)), key=cmp_to_key(by_text)), dtype=np.int64)
    ranks = np.empty(len(texts), dtype=np.int64)
    ranks[order] = np.arange(len(texts), dtype=np.int64)
    return ranks


def _factorize(
    values: npt.NDArray[np.object_], sort: bool = False
) -> tuple[IntArray, npt.NDArray[np.object_]]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True, sort=sort)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _order_ties(
    rows: IntArray,
    issue_code: IntArray,
    at_all: IntArray,
    created_all: BoolArray,
    change_all: npt.NDArray[np.object_],
) -> IntArray:
    """Within runs of rows of one issue at the same instant: creation first, then change ids in
    semantics.md order; copies of the same change id (which are identical) are kept once.

    Only tied rows are looked at, so the cost is proportional to the ties, not to the log."""
    ic, at = issue_code[rows], at_all[rows]
    same_prev = np.zeros(len(rows), dtype=bool)
    same_prev[1:] = (ic[1:] == ic[:-1]) & (at[1:] == at[:-1])
    tie = same_prev.copy()
    tie[:-1] |= same_prev[1:]
    if not tie.any():
        return rows
    tpos = np.flatnonzero(tie)
    block = np.cumsum(~same_prev[tpos])
    tied = rows[tpos]
    texts = np.array([str(c) for c in change_all[tied]], dtype=object)
    tcodes, tuniques = _factorize(texts)
    ranks = _change_ranks(tuniques)[tcodes]
    sub = np.lexsort((np.arange(len(tpos)), ranks, ~created_all[tied], block))
    out = rows.copy()
    out[tpos] = tied[sub]
    sb, sc = block[sub], tcodes[sub]
    dup = np.zeros(len(sub), dtype=bool)
    dup[1:] = (sb[1:] == sb[:-1]) & (sc[1:] == sc[:-1])
    if dup.any():
        drop = np.zeros(len(out), dtype=bool)
        drop[tpos[dup]] = True
        out = out[~drop]
    return out


ObjArray = npt.NDArray[np.object_]


# -- stage 1: issues, their processes and the ordered log -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Issues:
    """One entry per distinct issue of the `issues` frame (first copy kept), in its order."""

    ids: ObjArray
    keys: ObjArray
    types: ObjArray
    priorities: ObjArray
    process: IntArray
    """Index into `CompiledRules.processes`, -1 when no process matches."""


def _issue_processes(issues: pd.DataFrame, rules: CompiledRules) -> _Issues:
    """Issue facts and the process of each issue (one rules lookup per distinct project and type)."""
    ids = _text(issues["issue_id"])
    if not pd.Index(ids).is_unique:
        keep_first = ~pd.Index(ids).duplicated(keep="first")
        issues = issues[keep_first]
        ids = ids[keep_first]
    projects = _obj(issues["project"].to_numpy())
    types = _obj(issues["issue_type"].to_numpy())
    keys = _obj(issues["issue_key"].to_numpy()) if "issue_key" in issues else np.full(len(issues), None)
    # one rules lookup per distinct (project, type): codes of both, combined, looked up by first row
    p_codes, _ = _factorize(projects)
    t_codes, _ = _factorize(types)
    combined = (p_codes + 1) * (int(t_codes.max(initial=-1)) + 2) + (t_codes + 1)
    _keys, first_row, inverse = np.unique(combined, return_index=True, return_inverse=True)
    found = np.array(
        [
            rules.process_for(
                str(projects[i]) if projects[i] is not None else None,
                str(types[i]) if types[i] is not None else None,
            )
            for i in first_row.tolist()
        ],
        dtype=np.int64,
    )
    process = found[np.asarray(inverse, dtype=np.int64).reshape(-1)]
    return _Issues(ids, keys, types, _obj(issues["priority"].to_numpy()), process)


def issue_processes(issues: pd.DataFrame, config: BatonConfig) -> tuple[ObjArray, ObjArray]:
    """(issue ids, the name of each issue's process, None where no process matches): the processes
    `derive` puts the issues in (first copy of an issue id kept)."""
    rules = rules_for(config)
    facts = _issue_processes(issues, rules)
    names = np.array([*(p.name for p in rules.processes), None], dtype=object)  # -1 -> None
    return facts.ids, names[facts.process]


@dataclass(frozen=True, slots=True)
class _Log:
    """The transitions of issues with a process, in per-issue order, one row per change.

    `rows` index the input frame; `icode`/`at` are per ordered row. Issue codes number the distinct
    issue ids in sorted order (so requests come out ordered by issue id)."""

    rows: IntArray
    icode: IntArray
    at: IntArray
    issue_uniques: ObjArray
    issue_row: IntArray
    """Per issue code: its row in `_Issues`, -1 when the issue is not in the `issues` frame."""
    proc_of_issue: IntArray


def _ordered_log(transitions: pd.DataFrame, facts: _Issues) -> _Log | None:
    """Stage 1: keep rows of issues with a process, order them, drop copies; None when nothing is left."""
    issue_code, issue_uniques = _factorize(_text(transitions["issue_id"]))
    by_id = np.argsort(issue_uniques, kind="stable")
    remap = np.empty(len(by_id), dtype=np.int64)
    remap[by_id] = np.arange(len(by_id), dtype=np.int64)
    issue_code, issue_uniques = remap[issue_code], issue_uniques[by_id]
    if len(issue_uniques) <= SMALL:
        position = {key: i for i, key in enumerate(facts.ids.tolist())}
        issue_row = np.array([position.get(key, -1) for key in issue_uniques.tolist()], dtype=np.int64)
    else:
        issue_row = np.asarray(pd.Index(facts.ids).get_indexer(issue_uniques), dtype=np.int64)  # type: ignore[arg-type]
    proc_of_issue = np.where(issue_row >= 0, facts.process[np.clip(issue_row, 0, None)], -1)
    keep = proc_of_issue[issue_code] >= 0
    if not keep.any():
        return None
    sel = np.flatnonzero(keep)
    change_all: ObjArray = transitions["change_id"].to_numpy(dtype=object)
    if len(change_all) <= SMALL:
        created_all = np.array(
            [isinstance(c, str) and c == CREATION_CHANGE_ID for c in change_all], dtype=bool
        )
    else:
        created_all = (transitions["change_id"] == CREATION_CHANGE_ID).to_numpy(dtype=bool, na_value=False)
    at_all = _utc_ns(transitions["at"])
    # Order by (issue, at, creation first); lexsort is stable, so ties keep their input order for now.
    rows = sel[np.lexsort((~created_all[sel], at_all[sel], issue_code[sel]))]
    rows = _order_ties(rows, issue_code, at_all, created_all, change_all)
    return _Log(rows, issue_code[rows], at_all[rows], issue_uniques, issue_row, proc_of_issue)


# -- stage 2: status codes and per-process classification tables -----------------------------------


@dataclass(frozen=True, slots=True)
class _Statuses:
    """Per ordered row: the `from`/`to` status codes and names. A code numbers a distinct (id, name)
    pair; code 0 is "no id, no name"."""

    f_code: IntArray
    t_code: IntArray
    from_name: ObjArray
    to_name: ObjArray
    status_ids: list[str | None]
    status_names: list[str | None]


def _status_codes(transitions: pd.DataFrame, rows: IntArray) -> _Statuses:
    """Stage 2a: one code per distinct (status id, status name) pair over both ends of every row."""
    n = len(rows)

    def codes_of(name: str) -> tuple[IntArray, ObjArray]:
        if name not in transitions:
            return np.full(n, -1, dtype=np.int64), np.zeros(0, dtype=object)
        codes, uniques = pd.factorize(transitions[name], use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64)[rows], np.asarray(uniques, dtype=object)

    def unify(a: str, b: str) -> tuple[IntArray, ObjArray]:
        """Codes of two columns in one code space (-1: missing)."""
        if len(transitions) <= SMALL:
            both = [
                _obj(transitions[c].to_numpy(dtype=object)[rows])
                if c in transitions
                else np.full(n, None, dtype=object)
                for c in (a, b)
            ]
            return _factorize(np.concatenate(both))
        ca, ua = codes_of(a)
        cb, ub = codes_of(b)
        joint, uniques = _factorize(np.concatenate([ua, ub]))
        joint = np.concatenate([joint, [-1]])  # index -1 (missing) -> -1
        return np.concatenate([joint[ca], joint[np.where(cb >= 0, cb + len(ua), -1)]]), uniques

    id_codes, id_uniques = unify("from_id", "to_id")
    name_codes, name_uniques = unify("from_name", "to_name")
    names_or_none = np.concatenate([name_uniques, np.array([None], dtype=object)])
    combined = (id_codes + 1) * (len(name_uniques) + 1) + (name_codes + 1)
    span = (len(id_uniques) + 1) * (len(name_uniques) + 1)
    if span <= 4 * len(combined) + 1024:  # small key space: a lookup table instead of a sort
        seen = np.zeros(span, dtype=bool)
        seen[0] = True
        seen[combined] = True
        status_keys = np.flatnonzero(seen)
        lookup = np.zeros(span, dtype=np.int64)
        lookup[status_keys] = np.arange(len(status_keys))
        status_codes = lookup[combined]
    else:
        status_keys, status_codes = np.unique(np.concatenate([[0], combined]), return_inverse=True)
        status_codes = status_codes[1:]
    s_id = status_keys // (len(name_uniques) + 1) - 1
    s_name = status_keys % (len(name_uniques) + 1) - 1
    return _Statuses(
        f_code=status_codes[:n],
        t_code=status_codes[n:],
        from_name=names_or_none[name_codes[:n]],
        to_name=names_or_none[name_codes[n:]],
        status_ids=[str(id_uniques[i]) if i >= 0 else None for i in s_id.tolist()],
        status_names=[str(name_uniques[i]) if i >= 0 else None for i in s_name.tolist()],
    )


@dataclass(frozen=True, slots=True)
class _Tables:
    """Per (process, status code): class, owning team (-1: none), queue flag; per (process, team, team):
    forward hand-off and upstream flags."""

    cls: IntArray
    team: IntArray
    queue: BoolArray
    forward: BoolArray
    upstream: BoolArray


def _status_tables(
    statuses: _Statuses, rules: CompiledRules, status_categories: Mapping[str, str] | None
) -> _Tables:
    """Stage 2b: classify every status code once per process."""
    n_proc, n_team, n_status = len(rules.processes), len(rules.teams), len(statuses.status_ids)
    cls = np.zeros((n_proc, n_status), dtype=np.int64)
    team = np.full((n_proc, n_status), -1, dtype=np.int64)
    queue = np.zeros((n_proc, n_status), dtype=bool)
    for p in rules.processes:
        for s, (sid, sname) in enumerate(zip(statuses.status_ids, statuses.status_names, strict=True)):
            c = rules.classify(p, sid, sname, status_categories)
            cls[p.index, s], team[p.index, s], queue[p.index, s] = c.cls, c.team, c.queue
    forward = np.zeros((n_proc, max(n_team, 1), max(n_team, 1)), dtype=bool)
    upstream = np.zeros_like(forward)
    for p in rules.processes:
        for a, b in p.forward:
            forward[p.index, a, b] = True
        for a, b in p.upstream:
            upstream[p.index, a, b] = True
    return _Tables(cls, team, queue, forward, upstream)


# -- stages 3 and 4: effective `from` and an action per row -----------------------------------------


@dataclass(frozen=True, slots=True)
class _Rows:
    """Per ordered row: process, issue bounds, the classified effective `from` (a_*) and `to` (b_*),
    and the action (`A_*`)."""

    proc: IntArray
    idx: IntArray
    issue_start: IntArray
    issue_end: IntArray
    last_of_issue: BoolArray
    t_cls: IntArray
    a_cls: IntArray
    a_team: IntArray
    a_queue: BoolArray
    b_team: IntArray
    b_queue: BoolArray
    a_is: BoolArray
    action: IntArray


def _row_actions(log: _Log, statuses: _Statuses, tables: _Tables) -> _Rows:
    """Stage 3 (a row leaving a pause takes the last non-pause `to` before it as its `from`) and stage 4
    (the action of docs/semantics.md's "Classifying a transition" table, one `np.select`)."""
    icode, f_code, t_code = log.icode, statuses.f_code, statuses.t_code
    cls, team, queue = tables.cls, tables.team, tables.queue
    n = len(icode)
    proc = log.proc_of_issue[icode]
    idx = np.arange(n, dtype=np.int64)
    new_issue = np.ones(n, dtype=bool)
    new_issue[1:] = icode[1:] != icode[:-1]
    issue_start = np.maximum.accumulate(np.where(new_issue, idx, 0))
    last_of_issue = np.empty(n, dtype=bool)
    last_of_issue[:-1] = new_issue[1:]
    last_of_issue[-1] = True
    issue_end = np.empty(n, dtype=np.int64)  # index of the issue's last row
    ends = np.flatnonzero(last_of_issue)
    issue_end[:] = np.repeat(ends, np.diff(np.concatenate([[0], ends + 1])))

    t_cls = cls[proc, t_code]
    f_cls_raw = cls[proc, f_code]
    none_code = 0  # status key 0 is "no id, no name"
    nonpause_to = np.where(t_cls != PAUSE, idx, -1)
    last_np = np.maximum.accumulate(nonpause_to)
    prev_np = np.concatenate([[-1], last_np[:-1]])
    eff_prev = np.where(prev_np >= issue_start, t_code[np.clip(prev_np, 0, None)], none_code)
    e_code = np.where(f_cls_raw == PAUSE, eff_prev, f_code)

    a_cls, a_team, a_queue = cls[proc, e_code], team[proc, e_code], queue[proc, e_code]
    b_cls, b_team, b_queue = t_cls, team[proc, t_code], queue[proc, t_code]
    a_is, b_is = a_cls == OWNED, b_cls == OWNED
    at_c, bt_c = np.clip(a_team, 0, None), np.clip(b_team, 0, None)
    both = a_is & b_is
    action = np.select(
        [
            b_cls == PAUSE,
            both & (a_team == b_team),
            both & tables.forward[proc, at_c, bt_c],
            b_is & ((a_is & tables.upstream[proc, bt_c, at_c]) | (a_cls == DONE)),
            b_cls == DONE,
            both,
            b_cls == UNOWNED,
            b_is & ((a_cls == UNOWNED) | (a_cls == NONE)),
        ],
        [A_PAUSE, A_PROGRESS, A_FORWARD, A_RETURN, A_TO_DONE, A_UNMAPPED, A_RELEASE, A_INTAKE],
        default=A_NOOP,
    ).astype(np.int64)
    return _Rows(
        proc,
        idx,
        issue_start,
        issue_end,
        last_of_issue,
        t_cls,
        a_cls,
        a_team,
        a_queue,
        b_team,
        b_queue,
        a_is,
        action,
    )


# -- stage 5: requests, first responses, rejections, elapsed working time ---------------------------


@dataclass(frozen=True, slots=True)
class _Spans:
    """Per request (its opening row `open_rows`): closing row (-1 while open), provider, issue code and
    process; per ordered row: the request open just before it and just after it (-1: none)."""

    open_rows: IntArray
    closed: BoolArray
    close_row: IntArray
    close_or_end: IntArray
    provider: IntArray
    r_issue: IntArray
    r_proc: IntArray
    req_before: IntArray
    req_after: IntArray


def _request_spans(log: _Log, rows: _Rows) -> _Spans | None:
    """Requests are the opening rows, each closed by the next closing row of its issue; None when no
    row opens a request."""
    icode, action, idx = log.icode, rows.action, rows.idx
    n = len(icode)
    is_open = _OPENING[action]
    open_rows = np.flatnonzero(is_open)
    n_req = len(open_rows)
    if n_req == 0:
        return None
    close_rows = np.flatnonzero(_CLOSING[action])
    pos = np.searchsorted(close_rows, open_rows, side="right")
    cand = close_rows[np.clip(pos, 0, max(len(close_rows) - 1, 0))] if len(close_rows) else open_rows
    closed = (
        (pos < len(close_rows)) & (icode[cand] == icode[open_rows])
        if len(close_rows)
        else np.zeros(n_req, dtype=bool)
    )
    close_row = np.where(closed, cand, -1)
    close_or_end = np.where(closed, close_row, n)

    count = np.cumsum(is_open)
    latest_incl = count - 1  # request opened at the latest opening row <= row
    latest_excl = count - is_open.astype(np.int64) - 1

    def open_req(latest: IntArray, strict_close: bool) -> IntArray:
        r = np.clip(latest, 0, None)
        ok = (latest >= 0) & (open_rows[r] >= rows.issue_start)
        ok &= close_or_end[r] > idx if strict_close else close_or_end[r] >= idx
        return np.where(ok, r, -1)

    return _Spans(
        open_rows=open_rows,
        closed=closed,
        close_row=close_row,
        close_or_end=close_or_end,
        provider=rows.b_team[open_rows],
        r_issue=icode[open_rows],
        r_proc=rows.proc[open_rows],
        req_before=open_req(latest_excl, strict_close=False),
        req_after=open_req(latest_incl, strict_close=True),
    )


def _first_responses(rows: _Rows, spans: _Spans) -> tuple[IntArray, BoolArray]:
    """Per request: the row of its first response (-1: none yet), and whether it opened straight into
    an active status (then the opening row is the first response)."""
    rb = np.clip(spans.req_before, 0, None)
    prov_b = spans.provider[rb]
    b_cls = rows.t_cls
    candidate = (
        (spans.req_before >= 0)
        & (rows.a_cls == OWNED)
        & rows.a_queue
        & (rows.a_team == prov_b)
        & ~((b_cls == OWNED) & rows.b_queue & (rows.b_team == prov_b))
        & (b_cls != PAUSE)
    )
    cand_rows = np.flatnonzero(candidate)
    fr_row = np.full(len(spans.open_rows), -1, dtype=np.int64)
    if len(cand_rows):
        reqs, first_idx = np.unique(spans.req_before[cand_rows], return_index=True)
        fr_row[reqs] = cand_rows[first_idx]
    opens_active = ~rows.b_queue[spans.open_rows]
    return np.where(opens_active, spans.open_rows, fr_row), opens_active


def _rejections(
    log: _Log, rows: _Rows, spans: _Spans, rules: CompiledRules
) -> tuple[IntArray, BoolArray, IntArray]:
    """Per request: outcome code (-1 while open), rejected flag and when (ns, NAT when not). A return
    marks the provider's latest delivered request of the issue within the process' reopen window."""
    action, at, icode = rows.action, log.at, log.icode
    n, n_req, n_team = len(icode), len(spans.open_rows), len(rules.teams)
    close_row = spans.close_row
    outcome = np.where(spans.closed, _OUTCOME_OF[action[np.clip(close_row, 0, None)]], -1)
    rejected = np.zeros(n_req, dtype=bool)
    rejected_at = np.full(n_req, NAT, dtype=np.int64)
    ret_rows = np.flatnonzero(action == A_RETURN)
    delivered = np.flatnonzero(outcome == 0)
    if len(ret_rows) and len(delivered):
        stride = np.int64(n + 1)
        d_key = (spans.r_issue[delivered] * n_team + spans.provider[delivered]) * stride + close_row[
            delivered
        ]
        d_order = np.argsort(d_key, kind="stable")
        d_sorted = d_key[d_order]
        q_base = (icode[ret_rows] * n_team + rows.b_team[ret_rows]) * stride
        hit = np.searchsorted(d_sorted, q_base + ret_rows, side="left") - 1
        valid = hit >= 0
        hc = np.clip(hit, 0, None)
        valid &= d_sorted[hc] >= q_base  # same issue and team
        req_hit = delivered[d_order[hc]]
        window = np.array([p.reopen_window for p in rules.processes])[rows.proc[ret_rows]]
        valid &= (at[ret_rows] - at[close_row[req_hit]]) <= window * 1e9
        if valid.any():
            marked = req_hit[valid]
            when = at[ret_rows[valid]]
            uniq, first_mark = np.unique(marked, return_index=True)  # ret rows are in time order
            rejected[uniq] = True
            rejected_at[uniq] = when[first_mark]
    return outcome, rejected, rejected_at


@dataclass(frozen=True, slots=True)
class _Clocks:
    """Per request: instants (ns, NAT when absent), elapsed working seconds net of pauses, and whether
    the issue sits in a pause status now."""

    opened_ns: IntArray
    first_response_ns: IntArray
    resolved_ns: IntArray
    clock_at_ns: IntArray
    response_elapsed: FloatArray
    resolution_elapsed: FloatArray
    paused_now: BoolArray


def _elapsed(
    log: _Log, rows: _Rows, spans: _Spans, fr_row: IntArray, opens_active: BoolArray, rules: CompiledRules
) -> _Clocks:
    """Working time on the provider's calendar from opening to first response / resolution (open
    clocks: to the issue's last row), minus paused time."""
    at, open_rows, closed = log.at, spans.open_rows, spans.closed
    n_req = len(open_rows)
    clock_at = at[rows.issue_end[open_rows]]
    opened_ns = at[open_rows]
    resolved_ns = np.where(closed, at[np.clip(spans.close_row, 0, None)], NAT)
    has_fr = fr_row >= 0
    fr_ns = np.where(has_fr, at[np.clip(fr_row, 0, None)], NAT)
    res_end_ns = np.where(closed, resolved_ns, clock_at)
    # a response clock without a first response runs to the resolution at the latest (open requests:
    # to the last row here, then on to `now` in evaluate_clocks)
    resp_end_ns = np.where(has_fr, fr_ns, res_end_ns)
    resp_end_row = np.where(has_fr, fr_row, spans.close_or_end)
    paused_now = ~closed & (rows.t_cls[rows.issue_end[open_rows]] == PAUSE)

    pause_rows = np.flatnonzero((rows.t_cls == PAUSE) & (spans.req_after >= 0))
    p_req = spans.req_after[pause_rows]
    p_end_row = np.where(rows.last_of_issue[pause_rows], pause_rows, pause_rows + 1)
    p_start_s = at[pause_rows] / 1e9
    p_end_s = at[p_end_row] / 1e9

    team_cal = np.array([rules.team_calendar[t] for t in rules.teams], dtype=object)
    cal_of_req = team_cal[spans.provider]
    res_elapsed = np.zeros(n_req)
    resp_elapsed = np.zeros(n_req)
    pause_res = np.zeros(n_req)
    pause_resp = np.zeros(n_req)
    for cal_name in np.unique(cal_of_req):
        calendar = business_calendar(rules.calendars[str(cal_name)])  # type: ignore[arg-type]
        sel = cal_of_req == cal_name
        w_open = calendar.working_time(opened_ns[sel] / 1e9)
        res_elapsed[sel] = calendar.working_time(res_end_ns[sel] / 1e9) - w_open
        resp_elapsed[sel] = calendar.working_time(resp_end_ns[sel] / 1e9) - w_open
        psel = cal_of_req[p_req] == cal_name
        if psel.any():
            pw = calendar.working_time(p_end_s[psel]) - calendar.working_time(p_start_s[psel])
            preq = p_req[psel]
            pause_res += np.bincount(preq, weights=pw, minlength=n_req)
            before_resp = pause_rows[psel] < resp_end_row[preq]
            pause_resp += np.bincount(preq[before_resp], weights=pw[before_resp], minlength=n_req)
    res_elapsed = np.maximum(res_elapsed - pause_res, 0.0)
    resp_elapsed = np.maximum(resp_elapsed - pause_resp, 0.0)
    resp_elapsed = np.where(has_fr & opens_active, 0.0, resp_elapsed)
    return _Clocks(opened_ns, fr_ns, resolved_ns, clock_at, resp_elapsed, res_elapsed, paused_now)


# -- goals and the frame -----------------------------------------------------------------------------


def _requester_codes(rows: _Rows, spans: _Spans) -> IntArray:
    """Per request: the requesting team's index, -1 for intake (no requester), -2 for done (a reopen)."""
    opening = spans.open_rows
    codes = np.where(rows.a_is[opening] & (rows.action[opening] != A_INTAKE), rows.a_team[opening], -1)
    return np.where((rows.action[opening] == A_RETURN) & (rows.a_cls[opening] == DONE), -2, codes)


def _goals(
    spans: _Spans,
    requester_codes: IntArray,
    kind_code: IntArray,
    issue_rows: IntArray,
    facts: _Issues,
    team_names: ObjArray,
    rules: CompiledRules,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per request: response goal, resolution goal (seconds, NaN: none) and at-risk ratio; one SLA
    lookup per distinct (process, provider, requester, kind, issue type, priority)."""
    n_proc, n_team = len(rules.processes), len(rules.teams)
    type_codes, type_uniques = _factorize(facts.types)
    prio_codes, prio_uniques = _factorize(facts.priorities)
    parts = (
        (spans.r_proc, n_proc),
        (spans.provider, n_team),
        (requester_codes + 2, n_team + 2),
        (kind_code, 3),
        (type_codes[issue_rows] + 1, len(type_uniques) + 1),
        (prio_codes[issue_rows] + 1, len(prio_uniques) + 1),
    )
    goal_key = np.zeros(len(spans.open_rows), dtype=np.int64)
    for codes, size in parts:
        goal_key = goal_key * size + codes
    keys, inverse = np.unique(goal_key, return_index=False, return_inverse=True)
    table = np.empty((len(keys), 3), dtype=np.float64)
    for k, key in enumerate(keys.tolist()):
        digits = []
        for _, size in reversed(parts):
            key, digit = divmod(key, size)
            digits.append(digit)
        proc_i, prov_i, req_i, kind_i, type_i, prio_i = reversed(digits)
        table[k] = goal_of(
            rules.processes[proc_i],
            rules.teams[prov_i],
            team_names[req_i - 2] if req_i >= 2 else (DONE_REQUESTER if req_i == 0 else None),
            str(_KINDS[kind_i]),
            type_uniques[type_i - 1] if type_i else None,
            prio_uniques[prio_i - 1] if prio_i else None,
        )
    return table[inverse, 0], table[inverse, 1], table[inverse, 2]


def _customers(rows: _Rows, spans: _Spans, team_names: ObjArray, config: BatonConfig) -> ObjArray:
    """Per request: the team that judges its delivery: the team its closing transition opened a request
    at (a forward hand-off), or the process's `customer` for a delivery into a done status; None for
    every other request."""
    close = np.clip(spans.close_row, 0, None)
    action = np.where(spans.closed, rows.action[close], -1)
    customer = np.full(len(spans.open_rows), None, dtype=object)
    forward = action == A_FORWARD
    customer[forward] = team_names[rows.b_team[close[forward]]]
    done_customer = np.array([p.customer for p in config.processes.values()], dtype=object)
    to_done = action == A_TO_DONE
    customer[to_done] = done_customer[spans.r_proc[to_done]]
    return customer


def _assemble(
    log: _Log,
    facts: _Issues,
    statuses: _Statuses,
    rows: _Rows,
    spans: _Spans,
    clocks: _Clocks,
    rejections: tuple[IntArray, BoolArray, IntArray],
    rules: CompiledRules,
    config: BatonConfig,
) -> pd.DataFrame:
    """The requests frame (`REQUEST_COLUMNS`), one row per request in (issue id, opening) order."""
    open_rows, r_issue = spans.open_rows, spans.r_issue
    n_req, n_team = len(open_rows), len(rules.teams)
    outcome, rejected, rejected_at = rejections
    kind_code = _KIND_OF[rows.action[open_rows]]
    requester_codes = _requester_codes(rows, spans)
    team_names = np.array([*rules.teams, DONE_REQUESTER, None], dtype=object)  # -2 -> done, -1 -> None
    requester = team_names[np.where(requester_codes >= 0, requester_codes, requester_codes + n_team + 2)]
    irow = log.issue_row[r_issue]
    first_req_of_issue = np.maximum.accumulate(
        np.where(np.concatenate([[True], r_issue[1:] != r_issue[:-1]]), np.arange(n_req), 0)
    )
    resp_goal, res_goal, risk = _goals(spans, requester_codes, kind_code, irow, facts, team_names, rules)
    outcome_names: ObjArray = _OUTCOMES_OR_OPEN[outcome]
    index = pd.RangeIndex(n_req)
    return pd.DataFrame(
        {
            "issue_id": _col(log.issue_uniques[r_issue], index),
            "issue_key": _col(facts.keys[irow], index),
            "seq": (np.arange(n_req) - first_req_of_issue).astype(np.int64),
            "process": _col(np.array([p.name for p in rules.processes], dtype=object)[spans.r_proc], index),
            "provider": _col(team_names[spans.provider], index),
            "requester": _col(requester, index),
            "kind": _col(_KINDS[kind_code], index),
            "opened_at": _timestamps(clocks.opened_ns),
            "first_response_at": _timestamps(clocks.first_response_ns),
            "resolved_at": _timestamps(clocks.resolved_ns),
            "outcome": _col(outcome_names, index),
            "rejected": rejected,
            "rejected_at": _timestamps(rejected_at),
            "from_status": _col(statuses.from_name[open_rows], index),
            "to_status": _col(statuses.to_name[open_rows], index),
            "issue_type": _col(facts.types[irow], index),
            "priority": _col(facts.priorities[irow], index),
            "response_goal_s": resp_goal,
            "resolution_goal_s": res_goal,
            "at_risk_ratio": risk,
            "response_elapsed_s": clocks.response_elapsed,
            "resolution_elapsed_s": clocks.resolution_elapsed,
            "clock_at": _timestamps(np.where(spans.closed, NAT, clocks.clock_at_ns)),
            "paused": clocks.paused_now,
            "customer": _col(_customers(rows, spans, team_names, config), index),
        },
        index=index,
        columns=list(REQUEST_COLUMNS),
    )


def derive(
    transitions: pd.DataFrame,
    issues: pd.DataFrame,
    config: BatonConfig,
    status_categories: Mapping[str, str] | None = None,
    verdicts: Sequence[Verdict] = (),
) -> pd.DataFrame:
    """Transitions (+ verdicts) -> requests (`REQUEST_COLUMNS`), through the stages of the module
    docstring."""
    return derive_each(transitions, issues, [config], status_categories, verdicts)[0]


def derive_each(
    transitions: pd.DataFrame,
    issues: pd.DataFrame,
    configs: Sequence[BatonConfig],
    status_categories: Mapping[str, str] | None = None,
    verdicts: Sequence[Verdict] = (),
) -> list[pd.DataFrame]:
    """`derive` of the same log under each configuration, in order. Stages 1 and 2a (ordering the log,
    coding its statuses) depend on a configuration only through the process each issue is in: they
    run once for configurations that put every issue in the same process (a preview's two sides)."""
    derived: list[pd.DataFrame] = []
    shared: tuple[IntArray, _Log | None, _Statuses | None] | None = None
    for config in configs:
        rules = rules_for(config)
        if len(transitions) == 0 or len(issues) == 0 or not rules.processes:
            derived.append(empty_requests())
            continue
        facts = _issue_processes(issues, rules)
        if shared is None or not np.array_equal(shared[0], facts.process):
            log = _ordered_log(transitions, facts)
            shared = (facts.process, log, None if log is None else _status_codes(transitions, log.rows))
        _process, log, statuses = shared
        if log is None or statuses is None:
            derived.append(empty_requests())
            continue
        derived.append(_derived(log, facts, statuses, rules, config, status_categories, verdicts))
    return derived


def _derived(
    log: _Log,
    facts: _Issues,
    statuses: _Statuses,
    rules: CompiledRules,
    config: BatonConfig,
    status_categories: Mapping[str, str] | None,
    verdicts: Sequence[Verdict],
) -> pd.DataFrame:
    """Stages 2b-6 on an ordered log with its status codes."""
    rows = _row_actions(log, statuses, _status_tables(statuses, rules, status_categories))
    spans = _request_spans(log, rows)
    if spans is None:
        return empty_requests()
    fr_row, opens_active = _first_responses(rows, spans)
    clocks = _elapsed(log, rows, spans, fr_row, opens_active, rules)
    frame = _assemble(
        log, facts, statuses, rows, spans, clocks, _rejections(log, rows, spans, rules), rules, config
    )
    return apply_verdicts(frame, verdicts, config)
