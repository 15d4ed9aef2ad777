"""Engine benchmark, side by side in one run (bench/README.md, section "Engine").

    python -m bench.engine                       # full size: 100,000 issues (~1,000,000 transitions)
    python -m bench.engine --issues 5000 --peer-issues 500 --single 100   # quick

(a) Baton: derive_requests + evaluate_clocks + weekly scorecards over the whole log (wall, CPU, peak RSS);
(b) the floor: a bare pandas sort + groupby().diff() time-in-status pass over the same frame;
(c) the peer: jira-agile-metrics' CycleTimeCalculator on the same histories (fed through the package's
    own fake Jira objects; building them is not timed); run on --peer-issues issues and scaled per issue;
(d) re-deriving one issue: median of derive_requests on single issues' logs.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import resource
import statistics
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from baton.config.schema import BatonConfig
from baton.scoring import engine
from baton.scoring.simulate import SimParams, simulate_frames, status_categories

HERE = Path(__file__).resolve().parent
START = datetime(2026, 1, 5, tzinfo=UTC)
END = datetime(2026, 12, 21, tzinfo=UTC)
NOW = END
PARAMS = SimParams(p_pause=0.12, p_return=0.18)
"""A little more pausing and sending back than the simulator's defaults: ~10 transitions per issue."""


@dataclass
class Timing:
    wall: float
    cpu: float


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, Timing(time.perf_counter() - w0, time.process_time() - c0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_config() -> BatonConfig:
    return BatonConfig.model_validate(YAML(typ="safe").load((HERE / "config.yaml").read_text()))


# -- (a) Baton ---------------------------------------------------------------------------------------


def baton(
    transitions: pd.DataFrame, issues: pd.DataFrame, config: BatonConfig, cats: dict[str, str]
) -> tuple[int, pd.DataFrame]:
    requests = engine.derive_requests(transitions, issues, config, cats)
    clocked = engine.evaluate_clocks(requests, config, NOW)
    cards: pd.DataFrame = engine.scorecards(clocked, config, NOW, period="week")
    return len(requests), cards


# -- (b) the floor -----------------------------------------------------------------------------------


def floor(transitions: pd.DataFrame) -> pd.DataFrame:
    """Time in status the plainest pandas way: sort, per-issue diff of the timestamps."""
    ordered = transitions.sort_values(["issue_id", "at"], kind="stable")
    spent = ordered.groupby("issue_id", sort=False)["at"].diff().shift(-1)
    out = ordered[["issue_id", "to_name"]].assign(seconds=spent.dt.total_seconds())
    return out


# -- (c) the peer ------------------------------------------------------------------------------------


def load_peer() -> tuple[Any, Any] | str:
    """The CycleTimeCalculator and the package's fake-Jira helpers, or why they cannot be used."""
    try:
        # jira_agile_metrics.utils imports seaborn for its charts only; the cycle time calculation
        # never uses it. Installing seaborn (+ matplotlib) into the shared venv for an import is not
        # worth it, so an empty module stands in for it.
        if "seaborn" not in sys.modules:
            try:
                import seaborn  # noqa: F401
            except ImportError:
                sys.modules["seaborn"] = types.ModuleType("seaborn")
        from jira_agile_metrics import conftest as fakes
        from jira_agile_metrics.calculators.cycletime import CycleTimeCalculator
    except Exception as exc:  # pragma: no cover - reported in the output
        return f"{type(exc).__name__}: {exc}"
    return CycleTimeCalculator, fakes


def peer_inputs(fakes: Any, transitions: pd.DataFrame, issues: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    """The same histories as jira-agile-metrics expects them from Jira: issues with changelogs."""
    t = transitions.sort_values(["issue_id", "at"], kind="stable")
    created = t[t["change_id"] == "created"].set_index("issue_id")
    statuses: list[str] = []
    for names in (t["from_name"], t["to_name"]):
        statuses.extend(n for n in names.dropna().unique() if n not in statuses)
    faux = []
    facts = issues.set_index("issue_id")
    for issue_id, rows in t[t["change_id"] != "created"].groupby("issue_id", sort=False):
        first = created.loc[issue_id] if issue_id in created.index else rows.iloc[0]
        changes = [
            fakes.FauxChange(at.isoformat(), [("status", frm, to)])
            for at, frm, to in zip(rows["at"], rows["from_name"], rows["to_name"], strict=True)
        ]
        last = rows.iloc[-1]
        faux.append(
            fakes.FauxIssue(
                str(facts.loc[issue_id, "issue_key"]),
                changes,
                summary="",
                issuetype=fakes.FauxFieldValue("Story", "Story"),
                status=fakes.FauxFieldValue(str(last["to_name"]), str(last["to_name"])),
                resolution=None,
                resolutiondate=None,
                created=first["at"].isoformat(),
                customfield_100=None,
            )
        )
    fields = [
        {"id": "summary", "name": "Summary"},
        {"id": "issuetype", "name": "Issue type"},
        {"id": "status", "name": "Status"},
        {"id": "resolution", "name": "Resolution"},
        {"id": "created", "name": "Created date"},
        {"id": "customfield_100", "name": "Flagged"},
    ]
    jira = fakes.FauxJIRA(fields=fields, issues=faux)
    # Every status in one cycle: backlog, the working statuses, done (their order as first seen).
    done = [s for s in statuses if s.casefold() in ("done", "released", "closed", "resolved")]
    working = [s for s in statuses if s not in done and s != "To Do"]
    cycle = [
        {"name": "Backlog", "statuses": ["To Do"], "type": "backlog"},
        *({"name": s, "statuses": [s], "type": "accepted"} for s in working),
        {"name": "Done", "statuses": done or ["Done"], "type": "complete"},
    ]
    settings = {
        "cycle": cycle,
        "attributes": {},
        "backlog_column": "Backlog",
        "done_column": "Done",
        "queries": [{"jql": "(filter=1)", "value": None}],
        "query_attribute": None,
    }
    return jira, settings


def run_peer(calculator: Any, fakes: Any, jira: Any, settings: dict[str, Any]) -> pd.DataFrame:
    from jira_agile_metrics.querymanager import QueryManager

    query_manager = QueryManager(jira, settings={})
    results: dict[Any, Any] = {}
    calc = calculator(query_manager, settings, results)
    frame: pd.DataFrame = calc.run(now=NOW.replace(tzinfo=None))
    return frame


# -- (d) one issue -----------------------------------------------------------------------------------


def single_issue_median(
    transitions: pd.DataFrame, issues: pd.DataFrame, config: BatonConfig, cats: dict[str, str], count: int
) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(7)
    ids = issues["issue_id"].to_numpy()
    chosen = rng.choice(ids, size=min(count, len(ids)), replace=False)
    by_issue = {k: g for k, g in transitions.groupby("issue_id", sort=False)}
    facts = issues.set_index("issue_id", drop=False)
    cases = [(by_issue[i], facts.loc[[i]]) for i in chosen if i in by_issue]
    engine.derive_requests(cases[0][0], cases[0][1], config, cats)  # warm caches (rules, calendars)
    times = []
    cpu = []
    sizes = []
    for log, fact in cases:
        w0, c0 = time.perf_counter(), time.process_time()
        engine.derive_requests(log, fact, config, cats)
        times.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        sizes.append(len(log))
    return (
        statistics.median(times) * 1000,
        float(np.percentile(times, 90)) * 1000,
        statistics.median(cpu) * 1000,
        float(np.mean(sizes)),
    )


# -- main --------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        import subprocess

        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        wanted = ("Model name", "CPU(s)", "Thread(s) per core", "CPU max MHz", "L3 cache")
        cpu = "; ".join(
            line.split(":", 1)[0].strip() + ": " + line.split(":", 1)[1].strip()
            for line in out.splitlines()
            if line.split(":", 1)[0].strip() in wanted
        )
    except OSError:
        pass
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    return {
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "load average (1/5/15 min) at start": load,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--peer-issues",
        type=int,
        default=10_000,
        help="issues fed to jira-agile-metrics (its time is scaled per issue); 0 skips it",
    )
    parser.add_argument(
        "--single", type=int, default=1000, help="issues for the single-issue re-derive median"
    )
    args = parser.parse_args(argv)

    info = machine()
    for k, v in info.items():
        print(f"{k}: {v}")
    config = load_config()
    cats = status_categories(config)
    (transitions, issues), gen = timed(
        lambda: simulate_frames(config, args.issues, seed=args.seed, start=START, end=END, params=PARAMS)
    )
    n_tr, n_is = len(transitions), transitions["issue_id"].nunique()
    print(
        f"histories: {n_tr:,} transitions, {n_is:,} issues (scoring.simulate, seed {args.seed}; {gen.wall:.1f} s)"
    )
    rss_before = current_rss_mb()

    # cold: the first call also compiles the rules and builds the calendars (holidays included)
    (n_req, cards), a = timed(lambda: baton(transitions, issues, config, cats))
    peak_a = peak_rss_mb()
    print(
        f"(a) baton derive+clocks+score: {a.wall:.2f} s wall, {a.cpu:.2f} s CPU; {n_req:,} requests, "
        f"{len(cards):,} scorecard rows; RSS {rss_before:.0f} MB before, peak {peak_a:.0f} MB"
    )
    _, b = timed(lambda: floor(transitions))
    print(f"(b) floor pandas sort+groupby.diff: {b.wall:.2f} s wall, {b.cpu:.2f} s CPU")

    med, p90, med_cpu, size = single_issue_median(transitions, issues, config, cats, args.single)
    print(
        f"(d) single-issue re-derive: median {med:.2f} ms wall ({med_cpu:.2f} ms CPU), p90 {p90:.2f} ms wall "
        f"over {args.single} issues ({size:.1f} transitions each on average)"
    )

    peer = load_peer() if args.peer_issues else "skipped (--peer-issues 0)"
    c_scaled: Timing | None = None
    if isinstance(peer, tuple):
        calculator, fakes = peer
        subset_ids = issues["issue_id"].iloc[: args.peer_issues]
        sub_t = transitions[transitions["issue_id"].isin(subset_ids)]
        sub_i = issues[issues["issue_id"].isin(subset_ids)]
        jira, settings = peer_inputs(fakes, sub_t, sub_i)
        logging.disable(logging.CRITICAL)  # the peer logs every unmapped status and backwards move
        result, c = timed(lambda: run_peer(calculator, fakes, jira, settings))
        logging.disable(logging.NOTSET)
        scale = n_is / max(len(subset_ids), 1)
        c_scaled = Timing(c.wall * scale, c.cpu * scale)
        print(
            f"(c) peer jira-agile-metrics CycleTimeCalculator: {c.wall:.2f} s wall, {c.cpu:.2f} s CPU on "
            f"{len(subset_ids):,} issues ({len(sub_t):,} transitions, {len(result):,} rows) -> "
            f"{c_scaled.wall:.1f} s wall / {c_scaled.cpu:.1f} s CPU scaled to {n_is:,} issues"
        )
        # Baton on the same subset, for a like-for-like ratio without scaling
        _, a_sub = timed(lambda: baton(sub_t, sub_i, config, cats))
        print(
            f"    baton on the same {len(subset_ids):,} issues: {a_sub.wall:.2f} s wall, {a_sub.cpu:.2f} s CPU "
            f"-> peer/baton {c.wall / a_sub.wall:.1f}x wall, {c.cpu / a_sub.cpu:.1f}x CPU"
        )
    else:
        print(f"(c) peer jira-agile-metrics: not run: {peer}")

    print("ratios:")
    print(f"  baton / floor: {a.wall / b.wall:.2f}x wall, {a.cpu / b.cpu:.2f}x CPU (target <= 3x)")
    if c_scaled is not None:
        print(
            f"  peer / baton:  {c_scaled.wall / a.wall:.1f}x wall, {c_scaled.cpu / a.cpu:.1f}x CPU (target >= 10x)"
        )
    print(f"  baton vs 10 s target: {a.wall:.2f} s wall; peak RSS {peak_a:.0f} MB vs 2048 MB")
    print(f"  single issue vs 5 ms target: {med:.2f} ms median wall, {med_cpu:.2f} ms CPU")
    with open("/proc/loadavg") as fh:
        print("load average (1/5/15 min) at end:", " ".join(fh.read().split()[:3]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
