"""Transitions -> internal service requests (docs/semantics.md), vectorised.

The hot path has no per-transition Python loop:

1. rows are sorted per issue by (at, creation first, change id); copies of a change (same issue and
   change id, hence the same instant: copies are identical) are kept once. Only rows tied on
   (issue, at) are compared by change id, so ordering costs one `np.lexsort`;
2. distinct (status id, status name) pairs get a code once; per process a small table gives each code
   its class (unowned / pause / done / owned), owning team and queue flag;
3. the effective `from` of a row leaving a pause status is forward-filled from the last non-pause `to`;
4. every row gets an action from the classification table (vectorised `np.select`);
5. requests are the opening rows; each is closed by the next closing row of its issue (at most one open
   request per issue); first responses, paused time and rejections are array operations
   (`np.searchsorted` over sorted keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.calendar import business_calendar
from baton.scoring.clocks import goal_of
from baton.scoring.model import CREATION_CHANGE_ID, DONE_REQUESTER, REQUEST_COLUMNS
from baton.scoring.rules import DONE, NONE, OWNED, PAUSE, UNOWNED, rules_for

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


def derive(
    transitions: pd.DataFrame,
    issues: pd.DataFrame,
    config: BatonConfig,
    status_categories: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    rules = rules_for(config)
    if len(transitions) == 0 or len(issues) == 0 or not rules.processes:
        return empty_requests()

    # -- issues and their processes --------------------------------------------------------------
    iss_id = _text(issues["issue_id"])
    if not pd.Index(iss_id).is_unique:
        keep_first = ~pd.Index(iss_id).duplicated(keep="first")
        issues = issues[keep_first]
        iss_id = iss_id[keep_first]
    iss_project = _obj(issues["project"].to_numpy())
    iss_type = _obj(issues["issue_type"].to_numpy())
    iss_prio = _obj(issues["priority"].to_numpy())
    iss_key = _obj(issues["issue_key"].to_numpy()) if "issue_key" in issues else np.full(len(issues), None)
    combo: dict[tuple[Any, Any], int] = {}
    iss_proc = np.empty(len(iss_id), dtype=np.int64)
    for i, (project, itype) in enumerate(zip(iss_project, iss_type, strict=True)):
        pair = (project, itype)
        found = combo.get(pair)
        if found is None:
            found = rules.process_for(
                str(project) if project is not None else None, str(itype) if itype is not None else None
            )
            combo[pair] = found
        iss_proc[i] = found

    # -- transitions: issue codes, de-duplication, order ------------------------------------------
    t_issue = _text(transitions["issue_id"])
    issue_code, issue_uniques = _factorize(t_issue)
    by_id = np.argsort(issue_uniques, kind="stable")  # requests come out ordered by issue id
    remap = np.empty(len(by_id), dtype=np.int64)
    remap[by_id] = np.arange(len(by_id), dtype=np.int64)
    issue_code, issue_uniques = remap[issue_code], issue_uniques[by_id]
    if len(issue_uniques) <= SMALL:
        position = {key: i for i, key in enumerate(iss_id.tolist())}
        issue_row = np.array([position.get(key, -1) for key in issue_uniques.tolist()], dtype=np.int64)
    else:
        issue_row = np.asarray(pd.Index(iss_id).get_indexer(issue_uniques), dtype=np.int64)  # type: ignore[arg-type]
    proc_of_issue = np.where(issue_row >= 0, iss_proc[np.clip(issue_row, 0, None)], -1)
    keep = proc_of_issue[issue_code] >= 0
    if not keep.any():
        return empty_requests()
    sel = np.flatnonzero(keep)
    change_all: npt.NDArray[np.object_] = transitions["change_id"].to_numpy(dtype=object)
    if len(change_all) <= SMALL:
        created_all = np.array([isinstance(c, str) and c == CREATION_CHANGE_ID for c in change_all], dtype=bool)
    else:
        created_all = (transitions["change_id"] == CREATION_CHANGE_ID).to_numpy(dtype=bool, na_value=False)
    at_all = _utc_ns(transitions["at"])
    # Order by (issue, at, creation first); lexsort is stable, so ties keep their input order for now.
    rows = sel[np.lexsort((~created_all[sel], at_all[sel], issue_code[sel]))]
    rows = _order_ties(rows, issue_code, at_all, created_all, change_all)
    n = len(rows)
    icode = issue_code[rows]
    at = at_all[rows]

    # -- status codes ------------------------------------------------------------------------------
    def codes_of(name: str) -> tuple[IntArray, npt.NDArray[np.object_]]:
        if name not in transitions:
            return np.full(n, -1, dtype=np.int64), np.zeros(0, dtype=object)
        codes, uniques = pd.factorize(transitions[name], use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64)[rows], np.asarray(uniques, dtype=object)

    def unify(a: str, b: str) -> tuple[IntArray, npt.NDArray[np.object_]]:
        """Codes of two columns in one code space (-1: missing)."""
        if len(transitions) <= SMALL:
            both = [
                _obj(transitions[c].to_numpy(dtype=object)[rows]) if c in transitions else np.full(n, None, dtype=object)
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
    from_name = names_or_none[name_codes[:n]]
    to_name = names_or_none[name_codes[n:]]
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
    f_code, t_code = status_codes[:n], status_codes[n:]
    n_status = len(status_keys)
    s_id = status_keys // (len(name_uniques) + 1) - 1
    s_name = status_keys % (len(name_uniques) + 1) - 1
    n_proc = len(rules.processes)
    n_team = len(rules.teams)
    cls = np.zeros((n_proc, n_status), dtype=np.int64)
    team = np.full((n_proc, n_status), -1, dtype=np.int64)
    queue = np.zeros((n_proc, n_status), dtype=bool)
    for p in rules.processes:
        for s in range(n_status):
            sid = str(id_uniques[s_id[s]]) if s_id[s] >= 0 else None
            sname = str(name_uniques[s_name[s]]) if s_name[s] >= 0 else None
            c = rules.classify(p, sid, sname, status_categories)
            cls[p.index, s], team[p.index, s], queue[p.index, s] = c.cls, c.team, c.queue
    fwd = np.zeros((n_proc, max(n_team, 1), max(n_team, 1)), dtype=bool)
    up = np.zeros_like(fwd)
    for p in rules.processes:
        for a, b in p.forward:
            fwd[p.index, a, b] = True
        for a, b in p.upstream:
            up[p.index, a, b] = True

    # -- per-row classification ----------------------------------------------------------------------
    proc = proc_of_issue[icode]
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
    # effective from: leaving a pause status -> the last non-pause `to` before it, else none.
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
            both & fwd[proc, at_c, bt_c],
            b_is & ((a_is & up[proc, bt_c, at_c]) | (a_cls == DONE)),
            b_cls == DONE,
            both,
            b_cls == UNOWNED,
            b_is & ((a_cls == UNOWNED) | (a_cls == NONE)),
        ],
        [A_PAUSE, A_PROGRESS, A_FORWARD, A_RETURN, A_TO_DONE, A_UNMAPPED, A_RELEASE, A_INTAKE],
        default=A_NOOP,
    ).astype(np.int64)

    # -- requests: opened by opening rows, closed by the next closing row of the issue --------------
    is_open = _OPENING[action]
    is_close = _CLOSING[action]
    open_rows = np.flatnonzero(is_open)
    n_req = len(open_rows)
    if n_req == 0:
        return empty_requests()
    close_rows = np.flatnonzero(is_close)
    pos = np.searchsorted(close_rows, open_rows, side="right")
    cand = close_rows[np.clip(pos, 0, max(len(close_rows) - 1, 0))] if len(close_rows) else open_rows
    closed = (pos < len(close_rows)) & (icode[cand] == icode[open_rows]) if len(close_rows) else np.zeros(
        n_req, dtype=bool
    )
    close_row = np.where(closed, cand, -1)
    provider = b_team[open_rows]
    r_issue = icode[open_rows]
    r_proc = proc[open_rows]

    # request open just before each row (for first response) and just after it (for pauses)
    count = np.cumsum(is_open)
    latest_incl = count - 1  # request opened at the latest opening row <= row
    latest_excl = count - is_open.astype(np.int64) - 1
    close_or_end = np.where(closed, close_row, n)

    def open_req(latest: IntArray, strict_close: bool) -> IntArray:
        r = np.clip(latest, 0, None)
        ok = (latest >= 0) & (open_rows[r] >= issue_start)
        ok &= close_or_end[r] > idx if strict_close else close_or_end[r] >= idx
        return np.where(ok, r, -1)

    req_before = open_req(latest_excl, strict_close=False)
    req_after = open_req(latest_incl, strict_close=True)

    # first response
    rb = np.clip(req_before, 0, None)
    prov_b = provider[rb]
    candidate = (
        (req_before >= 0)
        & (a_cls == OWNED)
        & a_queue
        & (a_team == prov_b)
        & ~((b_cls == OWNED) & b_queue & (b_team == prov_b))
        & (b_cls != PAUSE)
    )
    cand_rows = np.flatnonzero(candidate)
    fr_row = np.full(n_req, -1, dtype=np.int64)
    if len(cand_rows):
        reqs, first_idx = np.unique(req_before[cand_rows], return_index=True)
        fr_row[reqs] = cand_rows[first_idx]
    opens_active = ~b_queue[open_rows]
    fr_row = np.where(opens_active, open_rows, fr_row)

    # rejections: a return marks the provider's latest delivered request of the issue within the window
    outcome = np.where(closed, _OUTCOME_OF[action[np.clip(close_row, 0, None)]], -1)
    rejected = np.zeros(n_req, dtype=bool)
    rejected_at = np.full(n_req, NAT, dtype=np.int64)
    ret_rows = np.flatnonzero(action == A_RETURN)
    delivered = np.flatnonzero(outcome == 0)
    if len(ret_rows) and len(delivered):
        stride = np.int64(n + 1)
        d_key = (r_issue[delivered] * n_team + provider[delivered]) * stride + close_row[delivered]
        d_order = np.argsort(d_key, kind="stable")
        d_sorted = d_key[d_order]
        q_base = (icode[ret_rows] * n_team + b_team[ret_rows]) * stride
        hit = np.searchsorted(d_sorted, q_base + ret_rows, side="left") - 1
        valid = hit >= 0
        hc = np.clip(hit, 0, None)
        valid &= d_sorted[hc] >= q_base  # same issue and team
        req_hit = delivered[d_order[hc]]
        window = np.array([p.reopen_window for p in rules.processes])[proc[ret_rows]]
        valid &= (at[ret_rows] - at[close_row[req_hit]]) <= window * 1e9
        if valid.any():
            marked = req_hit[valid]
            when = at[ret_rows[valid]]
            uniq, first_mark = np.unique(marked, return_index=True)  # ret rows are in time order
            rejected[uniq] = True
            rejected_at[uniq] = when[first_mark]

    # -- clocks --------------------------------------------------------------------------------------
    clock_at = at[issue_end[open_rows]]
    opened_ns = at[open_rows]
    resolved_ns = np.where(closed, at[np.clip(close_row, 0, None)], NAT)
    has_fr = fr_row >= 0
    fr_ns = np.where(has_fr, at[np.clip(fr_row, 0, None)], NAT)
    res_end_ns = np.where(closed, resolved_ns, clock_at)
    # a response clock without a first response keeps running: to the resolution here (paused time
    # after the resolution is not the request's), then on to `now` in evaluate_clocks
    resp_end_ns = np.where(has_fr, fr_ns, res_end_ns)
    resp_end_row = np.where(has_fr, fr_row, close_or_end)
    paused_now = ~closed & (t_cls[issue_end[open_rows]] == PAUSE)

    pause_rows = np.flatnonzero((t_cls == PAUSE) & (req_after >= 0))
    p_req = req_after[pause_rows]
    p_end_row = np.where(last_of_issue[pause_rows], pause_rows, pause_rows + 1)
    p_start_s = at[pause_rows] / 1e9
    p_end_s = at[p_end_row] / 1e9

    team_cal = np.array([rules.team_calendar[t] for t in rules.teams], dtype=object)
    cal_of_req = team_cal[provider]
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

    # -- assemble ----------------------------------------------------------------------------------
    kind_code = _KIND_OF[action[open_rows]]
    requester_codes = np.where(a_is[open_rows] & (action[open_rows] != A_INTAKE), a_team[open_rows], -1)
    requester_codes = np.where((action[open_rows] == A_RETURN) & (a_cls[open_rows] == DONE), -2, requester_codes)
    team_names = np.array([*rules.teams, DONE_REQUESTER, None], dtype=object)  # -2 -> done, -1 -> None
    requester = team_names[np.where(requester_codes >= 0, requester_codes, requester_codes + n_team + 2)]
    provider_names = team_names[provider]
    proc_names = np.array([p.name for p in rules.processes], dtype=object)[r_proc]
    irow = issue_row[r_issue]
    issue_type = iss_type[irow]
    priority = iss_prio[irow]
    first_req_of_issue = np.maximum.accumulate(
        np.where(np.concatenate([[True], r_issue[1:] != r_issue[:-1]]), np.arange(n_req), 0)
    )
    seq = np.arange(n_req) - first_req_of_issue
    kinds = _KINDS[kind_code]

    # goals: one SLA lookup per distinct (process, provider, requester, kind, issue type, priority)
    type_codes, type_uniques = _factorize(iss_type)
    prio_codes, prio_uniques = _factorize(iss_prio)
    parts = (
        (r_proc, n_proc),
        (provider, n_team),
        (requester_codes + 2, n_team + 2),
        (kind_code, 3),
        (type_codes[irow] + 1, len(type_uniques) + 1),
        (prio_codes[irow] + 1, len(prio_uniques) + 1),
    )
    goal_key = np.zeros(n_req, dtype=np.int64)
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
    resp_goal, res_goal, risk = table[inverse, 0], table[inverse, 1], table[inverse, 2]

    outcome_names: npt.NDArray[np.object_] = np.asarray(
        np.where(outcome >= 0, _OUTCOMES[np.clip(outcome, 0, None)], None), dtype=object
    )
    index = pd.RangeIndex(n_req)

    frame = pd.DataFrame(
        {
            "issue_id": _col(issue_uniques[r_issue], index),
            "issue_key": _col(iss_key[irow], index),
            "seq": seq.astype(np.int64),
            "process": _col(proc_names, index),
            "provider": _col(provider_names, index),
            "requester": _col(requester, index),
            "kind": _col(kinds, index),
            "opened_at": _timestamps(opened_ns),
            "first_response_at": _timestamps(fr_ns),
            "resolved_at": _timestamps(resolved_ns),
            "outcome": _col(outcome_names, index),
            "rejected": rejected,
            "rejected_at": _timestamps(rejected_at),
            "from_status": _col(from_name[open_rows], index),
            "to_status": _col(to_name[open_rows], index),
            "issue_type": _col(issue_type, index),
            "priority": _col(priority, index),
            "response_goal_s": resp_goal,
            "resolution_goal_s": res_goal,
            "at_risk_ratio": risk,
            "response_elapsed_s": resp_elapsed,
            "resolution_elapsed_s": res_elapsed,
            "clock_at": _timestamps(np.where(closed, NAT, clock_at)),
            "paused": paused_now,
        },
        index=index,
        columns=list(REQUEST_COLUMNS),
    )
    return frame
