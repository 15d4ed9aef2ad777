"""Backfill benchmark: N issues from a local Jira Cloud stand-in into a real database.

    python -m bench.backfill                      # 100,000 issues (the recorded run)
    python -m bench.backfill --issues 2000        # a quick one

The stand-in runs in its own process (threaded HTTP server on 127.0.0.1) with 50 ms latency per request
and a 429 (`Retry-After: 1`) every 50th request; it generates issues on demand, so it holds nothing.
The backfill is the real one: `baton.connector.backfill.Backfill` through `JiraClient` (tenacity retries) into
`StoreLedger` on a fresh SQLite file (or `--db URL`), i.e. transitions, issue facts, re-derived
requests and the checkpoint committed per page. Reports issues/s, requests per issue, retries, and the
resident memory of the backfill process sampled every 0.5 s (peak, and at 10/50/90 % of the run, to
show it stays flat while streaming).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """RSS and progress every `interval` seconds, on a daemon thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []
        self.done = 0
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last_print = 0.0
        while not self._stop.is_set():
            t, rss = time.monotonic() - self._t0, rss_mib()
            self.samples.append((t, rss, self.done))
            if t - last_print >= 10:  # a line every 10 s, so an interrupted run still tells its rate
                print(
                    f"[{t:7.1f}s] {self.done} issues, {self.done / max(t, 1e-9):.1f}/s, RSS {rss:.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
                last_print = t
            self._stop.wait(self.interval)

    # Progress protocol (connector.backfill.Progress)
    def start(self, total: int | None) -> None:
        self._thread.start()

    def advance(self, issues: int, transitions: int) -> None:
        self.done += issues

    def finish(self) -> None:
        self._stop.set()
        self.samples.append((time.monotonic() - self._t0, rss_mib(), self.done))


class CountingLedger:
    """A ledger that keeps only counts and the checkpoint: measures the connector without a database."""

    def __init__(self) -> None:
        self.checkpoint: Any = None

    def load_checkpoint(self, site: str, scope: str) -> Any:
        return self.checkpoint

    def save_checkpoint(self, site: str, scope: str, checkpoint: Any) -> None:
        self.checkpoint = checkpoint

    def commit_page(self, site: str, scope: str, extractions: Any, checkpoint: Any) -> Any:
        from baton.connector.ledger import PageResult

        self.checkpoint = checkpoint
        return PageResult(len(extractions), sum(len(e.transitions) for e in extractions), 0)

    def writeback_hashes(self, site: str, targets: Any) -> dict[str, str]:
        return {}

    def save_writeback_hashes(self, site: str, hashes: Any, at: Any) -> None:
        pass


class TimedLedger:
    """Wraps a ledger and adds up the seconds spent committing pages (the database side)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit_page(self, site: str, scope: str, extractions: Any, checkpoint: Any) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.commit_page(site, scope, extractions, checkpoint)
        finally:
            self.seconds += time.perf_counter() - t


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = cpuinfo.readlines()
        for line in lines:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "uptime": uptime}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--rate-limit-every", type=int, default=50, help="a 429 every N requests (0: never)")
    parser.add_argument("--retry-after", default="1")
    parser.add_argument("--page-size", type=int, default=500, help="issues asked for per search page")
    parser.add_argument(
        "--search-cap", type=int, default=100, help="issues the stand-in returns per page at most"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--sink",
        choices=["store", "count"],
        default="store",
        help="store: the real StoreLedger (default); count: discard pages (connector alone, no database)",
    )
    parser.add_argument("--json", dest="json_out", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from baton.config.loader import load_config
    from baton.connector.backfill import Backfill, BackfillOptions
    from baton.connector.client import JiraClient
    from baton.connector.sites import Site
    from baton.connector.store_ledger import StoreLedger
    from baton.store.db import create_engine_for, upgrade_database
    from bench.backfill.standin import serve_standin

    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    server = ctx.Process(
        target=serve_standin,
        args=(args.issues, args.latency, args.rate_limit_every, args.retry_after, args.search_cap, port_q),
        daemon=True,
    )
    server.start()
    url = port_q.get(timeout=60)
    tmp = tempfile.TemporaryDirectory(prefix="baton-bench-")
    db_url = args.db or f"sqlite:///{tmp.name}/bench.db"
    upgrade_database(db_url)
    engine = create_engine_for(db_url)
    config = load_config(REPO / "config" / "examples" / "delivery.yaml")
    site = Site("bench", url, "cloud", "basic", "bench@example.org", "not-a-real-token")
    client = JiraClient(site, pool_size=args.concurrency + 2)
    sampler = Sampler()
    before = machine()
    rss_start = rss_mib()
    t0 = time.perf_counter()
    try:
        ledger = TimedLedger(StoreLedger(engine, config) if args.sink == "store" else CountingLedger())
        report = Backfill(
            client,
            ledger,
            config,
            BackfillOptions(page_size=args.page_size, concurrency=args.concurrency),
            progress=sampler,
        ).run()
    finally:
        server.terminate()
    seconds = time.perf_counter() - t0

    def rss_at(fraction: float) -> float:
        target = fraction * args.issues
        for _, rss, done in sampler.samples:
            if done >= target:
                return round(rss, 1)
        return round(sampler.samples[-1][1], 1)

    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "issues": report.issues,
        "transitions": report.inserted,
        "seconds": round(seconds, 1),
        "issues_per_s": round(report.issues / seconds, 1),
        "requests": report.requests_sent,
        "requests_per_issue": round(report.requests_sent / max(1, report.issues), 4),
        "retries_429": report.retries,
        "commit_seconds": round(ledger.seconds, 1),
        "rss_start_mib": round(rss_start, 1),
        "rss_peak_mib": round(max(r for _, r, _ in sampler.samples), 1),
        "rss_at_10_50_90_pct_mib": [rss_at(0.1), rss_at(0.5), rss_at(0.9)],
        "latency_s": args.latency,
        "rate_limit_every": args.rate_limit_every,
        "page_size": args.page_size,
        "search_cap": args.search_cap,
        "concurrency": args.concurrency,
        "sink": args.sink,
        "database": "sqlite (fresh file)" if args.db is None else "given --db",
        "machine_before": before,
        "machine_after": machine(),
    }
    print(json.dumps(results, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
    engine.dispose()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
