"""Configuration workbench benchmark, side by side in one run (bench/README.md, section "Config").

    python -m bench.config                                   # full: 100,000 issues; RSS at 1M/3M/10M transitions
    python -m bench.config --issues 5000 --rss-issues 2000,5000   # quick

(a) bench.engine's full derive (derive_requests + evaluate_clocks + weekly scorecards) of the simulated
    history held in memory, cold and warm;
(p) `baton.store.preview.run_preview` of a draft (a tighter qa goal, one support hand-off rule removed)
    on the same history stored in SQLite with its requests derived under the live configuration: taking
    `before` from the stored requests (the default when the fingerprints match) in one process, then in
    one process per core (the default); then deriving it from the log (`use_stored=False`, the way for a
    site whose stored requests are not the live ones). CPU time includes the forked children's;
(r) `baton.store.rederive.rederive_staged` (the atomic re-derivation a publish triggers) of histories
    of growing size, each in a fresh child process: wall and CPU time and the child's peak RSS (VmHWM)
    after 10 %, 50 % and 100 % of the chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from baton.config import load_config_text
from baton.config.schema import BatonConfig
from baton.scoring.simulate import simulate_frames, status_catalogue, status_categories
from bench.engine.__main__ import END, HERE, NOW, PARAMS, START, Timing, baton, machine, timed

SITE = "bench"
CONFIG_TEXT = (HERE / "config.yaml").read_text()
DRAFT_TEXT = CONFIG_TEXT.replace("      - {from: support, to: ops}\n", "").replace(
    "{provider: qa, requester: dev, response: 4h, resolution: 16h, rework: 8h}",
    "{provider: qa, requester: dev, response: 4h, resolution: 12h, rework: 8h}",
)
BATCH = 50_000
"""Issues simulated and stored per batch while building a database (bounds the builder's memory)."""


def _sqlite_time(series: pd.Series) -> list[str]:
    return list(series.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f"))


def store_history(url: str, config: BatonConfig, issues: int, seed: int) -> int:
    """A migrated SQLite database holding `issues` simulated histories; returns the transitions stored."""
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for, upgrade_database
    from baton.store.inbox import ensure_site_exists
    from baton.store.transitions import record_statuses

    upgrade_database(url)
    engine = create_engine_for(url)
    stored = 0
    with Session(engine) as session:
        ensure_site_exists(session, SITE)
        record_statuses(session, SITE, status_catalogue(config))
        session.commit()
    for start in range(0, issues, BATCH):
        count = min(BATCH, issues - start)
        transitions, facts = simulate_frames(
            config, count, seed=seed + start, start=START, end=END, params=PARAMS
        )
        prefix = f"{start // BATCH:04d}-"
        t_rows = list(
            zip(
                [SITE] * len(transitions),
                (prefix + str(i) for i in transitions["issue_id"]),
                transitions["change_id"].astype(str),
                _sqlite_time(transitions["at"]),
                transitions["from_id"],
                transitions["from_name"],
                transitions["to_id"],
                transitions["to_name"],
                transitions["author"],
                strict=True,
            )
        )
        i_rows = list(
            zip(
                [SITE] * len(facts),
                (prefix + str(i) for i in facts["issue_id"]),
                facts["issue_key"],
                facts["project"],
                facts["issue_type"],
                facts["priority"],
                strict=True,
            )
        )
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO transitions (site_id, issue_id, change_id, at, from_id, from_name, to_id, "
                "to_name, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                t_rows,
            )
            connection.exec_driver_sql(
                "INSERT INTO issues (site_id, issue_id, issue_key, project, issue_type, priority) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                i_rows,
            )
        stored += len(t_rows)
    engine.dispose()
    return stored


def preview_once(
    url: str, config: BatonConfig, draft: BatonConfig, use_stored: bool, workers: int | None
) -> tuple[int, int]:
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for
    from baton.store.preview import run_preview

    engine = create_engine_for(url)
    with Session(engine) as session:
        result = run_preview(
            session,
            SITE,
            live=config,
            draft=draft,
            now=NOW,
            period="week",
            use_stored=use_stored,
            workers=workers,
        )
    engine.dispose()
    return result.changed_total, len(result.after_scores)


def with_children(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    """`timed`, with the CPU time of the child processes `fn` forked and waited for added to `cpu`."""

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = children_cpu()
    out, timing = timed(fn)
    return out, Timing(timing.wall, timing.cpu + children_cpu() - before)


def store_requests(url: str, config: BatonConfig) -> int:
    """Derive and store the site's requests under `config` (what publishing and applying it does), so
    that the site's fingerprint is `config`'s; returns the requests stored."""
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for
    from baton.store.rederive import rederive_staged

    engine = create_engine_for(url)
    with Session(engine) as session:
        _issues, requests = rederive_staged(session, SITE, config)
    engine.dispose()
    return requests


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM). Not `ru_maxrss`: Linux keeps that across `exec`, so a child
    started by a large parent would report the parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_rederive(url: str) -> None:
    """In a fresh process: re-derive the site under the draft; print one JSON line: wall and CPU seconds,
    issues, requests, peak RSS (VmHWM, MiB), and the same three figures after 10 %, 50 % and 100 % of the
    chunks (`points`: [share of issues done, wall s, CPU s, VmHWM MiB])."""
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for
    from baton.store.rederive import rederive_staged

    draft = load_config_text(DRAFT_TEXT)
    engine = create_engine_for(url)
    samples: list[tuple[float, float, float, float]] = []
    w0, c0 = time.perf_counter(), time.process_time()

    def sample(done: int, total: int) -> None:
        samples.append(
            (done / max(total, 1), time.perf_counter() - w0, time.process_time() - c0, peak_rss_mib())
        )

    with Session(engine) as session:
        issues, requests = rederive_staged(session, SITE, draft, progress=sample)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    engine.dispose()
    samples.append((1.0, wall, cpu, peak_rss_mib()))  # the end: chunks and the swap

    def at(share: float) -> list[float]:
        first = next(s for s in samples if s[0] >= share - 1e-9)
        return [round(v, 2) for v in first]

    print(
        json.dumps(
            {
                "wall": round(wall, 1),
                "cpu": round(cpu, 1),
                "issues": issues,
                "requests": requests,
                "peak_mib": round(peak_rss_mib()),
                "points": [at(0.1), at(0.5), at(1.0)],
                "end": [round(v, 2) for v in samples[-1]],
            }
        )
    )


def _remove_database(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.write-lock")):
        name.unlink(missing_ok=True)


def bench_preview(
    n_issues: int, seed: int, folder: Path, config: BatonConfig, draft: BatonConfig, cats: dict[str, str]
) -> None:
    """(a) and (p), side by side in this process."""
    transitions, issues = simulate_frames(config, n_issues, seed=seed, start=START, end=END, params=PARAMS)
    print(
        f"history: {len(transitions):,} transitions, {len(issues):,} issues (scoring.simulate, seed {seed})"
    )
    _, cold = timed(lambda: baton(transitions, issues, config, cats))
    (n_req, _cards), warm = timed(lambda: baton(transitions, issues, config, cats))
    print(
        f"(a) bench.engine full derive+clocks+score, in memory: cold {cold.wall:.2f} s wall ({cold.cpu:.2f} s CPU), "
        f"warm {warm.wall:.2f} s wall ({warm.cpu:.2f} s CPU); {n_req:,} requests"
    )
    transitions = issues = pd.DataFrame()  # free the in-memory history before (p)

    path = folder / f"preview-{n_issues}.db"
    _remove_database(path)  # a --dir used before holds the last run's history
    url = f"sqlite:///{path}"
    stored, load = timed(lambda: store_history(url, config, n_issues, seed))
    print(f"    stored {stored:,} transitions in SQLite in {load.wall:.1f} s (not timed below)")
    requests, applied = timed(lambda: store_requests(url, config))
    print(
        f"    stored {requests:,} requests derived under the live configuration (rederive_staged): "
        f"{applied.wall:.1f} s wall, {applied.cpu:.1f} s CPU (not timed below)"
    )
    from baton.store.preview import default_workers

    cores = default_workers()
    for use_stored, workers, label in (
        (True, 1, "before from the stored requests, 1 process"),
        (True, cores, f"before from the stored requests, {cores} processes (the default here)"),
        (False, cores, f"before derived from the log, {cores} processes"),
    ):
        (changed, rows), p = with_children(
            lambda use_stored=use_stored, workers=workers: preview_once(
                url, config, draft, use_stored, workers
            )
        )
        print(
            f"(p) run_preview from SQLite, {label}: {p.wall:.2f} s wall ({p.cpu:.2f} s CPU, children included); "
            f"{rows:,} score rows after, {changed:,} changed requests"
        )
        print(
            f"    preview / full derive in wall time: {p.wall / cold.wall:.2f}x cold, {p.wall / warm.wall:.2f}x warm "
            f"(target <= 2x); in CPU time {p.cpu / cold.cpu:.2f}x / {p.cpu / warm.cpu:.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.config", description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues for (a) and (p); 0 skips them")
    parser.add_argument(
        "--rss-issues",
        default="100000,300000,1000000",
        help="comma-separated history sizes (issues, ~10 transitions each) for (r)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: a temporary folder)")
    parser.add_argument("--child-rederive", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_rederive:
        child_rederive(args.child_rederive)
        return 0

    for key, value in machine().items():
        print(f"{key}: {value}")
    config = load_config_text(CONFIG_TEXT)
    draft = load_config_text(DRAFT_TEXT)
    cats = status_categories(config)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-config-"))
    folder.mkdir(parents=True, exist_ok=True)

    if args.issues > 0:
        bench_preview(args.issues, args.seed, folder, config, draft, cats)

    print("(r) rederive_staged in a fresh process per size (SQLite):")
    print("    transitions      issues   requests   wall s   CPU s   peak RSS MiB (VmHWM)")
    for size in [int(s) for s in args.rss_issues.split(",") if s]:
        path = folder / f"rederive-{size}.db"
        _remove_database(path)
        url = f"sqlite:///{path}"
        stored, build = timed(lambda url=url, size=size: store_history(url, config, size, args.seed))
        out = subprocess.run(
            [sys.executable, "-m", "bench.config", "--child-rederive", url],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BATON_LOG_LEVEL": "WARNING"},
        ).stdout.splitlines()
        r = json.loads(out[-1])
        points = "; ".join(
            f"{share:.0%} of the chunks: {w:.0f} s wall, {c:.0f} s CPU, {rss:.0f} MiB"
            for share, w, c, rss in [*r["points"], r["end"]]
        )
        print(
            f"    {stored:>11,} {r['issues']:>11,} {r['requests']:>10,} {r['wall']:>8.1f} {r['cpu']:>7.1f}   "
            f"{r['peak_mib']:>6}   (built in {build.wall:.0f} s)\n        {points} (the last: after the swap)"
        )
        _remove_database(path)
    with open("/proc/loadavg") as fh:
        print("load average (1/5/15 min) at end:", " ".join(fh.read().split()[:3]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
