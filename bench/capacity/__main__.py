"""Capacity benchmark (issue 12): `python -m bench.capacity` (see bench/README.md, "Capacity").

(a) Embedded sustained capacity: `baton serve` (embedded mode, SQLite, the worked example's
    configuration, 2 gthread workers, background draining on) on 127.0.0.1, fed signed simulated
    deliveries by an open-loop client at stepped fixed rates. For each rate: acknowledgements/s,
    p50/p99 acknowledgement latency, deliveries processed/s, and whether the backlog stayed bounded
    (acknowledgements keep up with the rate, >= 97 %, and pending deliveries 2 s after the step are
    fewer than one second of traffic). Sustained capacity
    is the highest rate whose backlog stays bounded with p99 acknowledgement <= 50 ms.
(b) Worker memory under large bodies: N pending deliveries of ~4.5 MB each (valid Jira webhook JSON
    padded in the issue description), drained by `baton worker --exit-when-idle --batch-bytes B` for
    several B; the worker's peak RSS (its VmHWM, polled every 20 ms).
Runs in about 3 minutes; prints a table and writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ingest.__main__ import (
    CONFIG,
    REPO,
    SECRET,
    Server,
    free_port,
    inbox_counts,
    insert_pending,
    loadavg,
    machine,
    signed_deliveries,
)
from bench.ingest.fixed_rate import run_fixed_rate

MIB = 1024 * 1024
P99_TARGET_MS = 50.0
UNFINISHED = {"pending", "processing"}
BATON = [sys.executable, "-m", "baton.webhooks.cli"]


def backlog(url: str) -> tuple[int, int]:
    """(pending or processing, finished) deliveries."""
    counts = inbox_counts(url)
    waiting = sum(n for state, n in counts.items() if state in UNFINISHED)
    return waiting, sum(counts.values()) - waiting


class EmbeddedServer(Server):
    """`baton serve` as an operator runs it: embedded mode, gthread workers, draining in the background."""

    def __init__(self, url: str, tmp: Path, workers: int, extra: tuple[str, ...] = ()) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        metrics = tmp / "prom"
        metrics.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "BATON_WEBHOOK_SECRET": SECRET,
            "BATON_LOG_LEVEL": "warning",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "PYTHONPATH": str(REPO),
        }
        env.pop("BATON_MODE", None)
        command = [*BATON, "serve", "--config", str(CONFIG), "--db", url, "--port", str(port)]
        self._launch([*command, "--workers", str(workers), *extra], env, tmp / f"serve-{port}.log")


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all the machine's cores since boot (/proc/stat's first line)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time that was busy between two `cpu_times` readings."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return busy / total if total else 0.0


def wait_drained(url: str, limit_s: float) -> float | None:
    """Seconds until nothing is pending, or None if still pending after `limit_s`."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if backlog(url)[0] == 0:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return None


VARIANTS: dict[str, tuple[str, ...]] = {
    # what operators run: receivers plus the master's processor process
    "embedded": (),
    # the ceiling on the same machine, database and load: the same receivers, nothing processed
    "receive-only": ("--production",),
}


def measure_capacity(args: argparse.Namespace, tmp: Path, variant: str = "embedded") -> dict[str, Any]:
    from baton.store.db import upgrade_database

    rates = [float(r) for r in args.rates.split(",")]
    needed = int(sum(rates) * args.step_seconds + args.warmup_rate * args.warmup_seconds)
    # Distinct deliveries throughout, so every step stores and processes new transitions.
    deliveries = [(sig, body) for sig, body, _ in signed_deliveries(args.issues, seed=3)]
    if len(deliveries) < needed:
        raise SystemExit(f"{len(deliveries)} simulated deliveries < {needed} needed: raise --issues")
    url = f"sqlite:///{tmp / f'capacity-{variant}.db'}"
    upgrade_database(url)
    server = EmbeddedServer(url, tmp, args.workers, VARIANTS[variant])
    processes = variant == "embedded"
    steps = []
    # Warm-up, not recorded: each worker's first requests load the configuration and sync it.
    offset = int(args.warmup_rate * args.warmup_seconds)
    try:
        run_fixed_rate(
            server.base + "/webhooks/jira",
            deliveries[:offset],
            rate=args.warmup_rate,
            duration_s=args.warmup_seconds,
            run_id=f"capacity-{os.getpid()}-warmup",
        )
        if processes:
            wait_drained(url, args.settle_seconds)
        for step, rate in enumerate(rates):
            waiting_before, done_before = backlog(url)
            started = time.monotonic()
            cpu_before = cpu_times()
            count = int(rate * args.step_seconds)
            result = run_fixed_rate(
                server.base + "/webhooks/jira",
                deliveries[offset : offset + count],
                rate=rate,
                duration_s=args.step_seconds,
                # the step, not only the rate: two steps at one rate must not send the same delivery ids
                run_id=f"capacity-{os.getpid()}-{step}-{int(rate)}",
            )
            offset += count
            cpu = busy_share(cpu_before, cpu_times())
            # The client schedules its first request 0.5 s after it starts.
            elapsed = max(args.step_seconds, time.monotonic() - started - 0.5)
            waiting_end, done_end = backlog(url)
            if processes:
                time.sleep(2)
            waiting_after, _ = backlog(url)
            acks_per_s = result.ok / elapsed
            bounded = (waiting_after < rate or not processes) and acks_per_s >= 0.97 * rate
            p99_met = result.p99_ms <= P99_TARGET_MS and result.errors == 0
            steps.append(
                {
                    **{k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(result).items()},
                    "acks_per_s": round(acks_per_s, 1),
                    "cpu_busy": round(cpu, 3),
                    "processed_per_s": round((done_end - done_before) / elapsed, 1),
                    "pending_before": waiting_before,
                    "pending_at_end": waiting_end,
                    "pending_2s_after": waiting_after,
                    "bounded": bounded,
                    "sustained": bounded and p99_met,
                    "drain_after_s": wait_drained(url, args.settle_seconds) if processes else None,
                    "load": loadavg(),
                }
            )
            print(f"  {variant} {rate:g}/s: {steps[-1]}", flush=True)
    finally:
        server.stop()
    sustained = [s["rate"] for s in steps if s["sustained"]]
    best = max(sustained) if sustained else None
    return {
        "variant": variant,
        "workers": args.workers,
        "steps": steps,
        "sustained_capacity_per_s": best,
        "p99_at_capacity_ms": next((s["p99_ms"] for s in steps if s["rate"] == best), None),
    }


def large_deliveries(count: int, size: int) -> list[tuple[bytes, dict[str, Any]]]:
    """`count` valid Jira webhook bodies of ~`size` bytes: simulated deliveries with a long description."""
    out = []
    for _, body, _ in signed_deliveries(count, seed=4)[:count]:
        padded = json.loads(body)
        fields = padded.setdefault("issue", {}).setdefault("fields", {})
        fields["description"] = "x" * max(0, size - len(body))
        out.append((json.dumps(padded, separators=(",", ":")).encode(), padded))
    return out


def peak_rss_kib(pid: int) -> int:
    """The process's own high-water RSS (VmHWM). Not `wait4`'s ru_maxrss: Linux carries the parent's
    RSS at fork into the exec'd child's figure, which would report this benchmark's own size."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_peak_rss(url: str, batch_bytes: int) -> dict[str, Any]:
    """Run `baton worker --exit-when-idle` once, polling its VmHWM until it exits."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            *BATON,
            "worker",
            "--config",
            str(CONFIG),
            "--db",
            url,
            "--exit-when-idle",
            "--batch-bytes",
            str(batch_bytes),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "BATON_LOG_LEVEL": "warning"},
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    while process.poll() is None:  # a zombie keeps no status, so the last poll before exit is the peak
        peak = max(peak, peak_rss_kib(process.pid))
        time.sleep(0.02)
    return {
        "batch_bytes": batch_bytes,
        "batch_mib": batch_bytes // MIB,
        "exit_code": process.returncode,
        "peak_rss_mib": round(peak / 1024, 1),
        "seconds": round(time.perf_counter() - started, 2),
    }


def measure_memory(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for, upgrade_database
    from baton.store.models import Delivery

    url = f"sqlite:///{tmp / 'memory.db'}"
    upgrade_database(url)
    idle = worker_peak_rss(url, 64 * MIB)  # imports and configuration alone: the floor
    bodies = large_deliveries(args.large_count, int(args.large_mb * 1_000_000))
    engine = create_engine_for(url)
    with Session(engine) as session:
        insert_pending(session, bodies)
        session.commit()
    runs = []
    for mib in (int(x) for x in args.batch_mib.split(",")):
        with engine.begin() as connection:  # the same backlog for every run (processing is idempotent)
            connection.execute(
                update(Delivery.__table__).values(
                    state="pending", claimed_at=None, claimed_by=None, processed_at=None, attempts=0
                )
            )
        run = worker_peak_rss(url, mib * MIB)
        run["states_after"] = inbox_counts(url)
        runs.append(run)
        print(f"  batch {mib} MiB: {run}", flush=True)
    engine.dispose()
    return {
        "deliveries": len(bodies),
        "body_bytes_each": len(bodies[0][0]),
        "body_mib_total": round(sum(len(b) for b, _ in bodies) / MIB, 1),
        "idle_worker_peak_rss_mib": idle["peak_rss_mib"],
        "runs": runs,
    }


def report(summary: dict[str, Any]) -> str:
    capacity, memory = summary["capacity"], summary["memory"]
    ceiling = {s["rate"]: s for s in summary["ceiling"]["steps"]}
    lines = [
        "| rate (/s) | acks/s | p50 / p99 ack (ms) | ceiling p50 / p99 (ms) | errors | processed/s "
        "| pending end / +2 s | CPU busy | bounded | sustained |",
        "|---:|---:|---|---|---:|---:|---|---:|---|---|",
    ]
    for s in capacity["steps"]:
        top = ceiling.get(s["rate"])
        top_text = f"{top['p50_ms']:.1f} / {top['p99_ms']:.1f}" if top else "-"
        lines.append(
            f"| {s['rate']:g} | {s['acks_per_s']} | {s['p50_ms']:.1f} / {s['p99_ms']:.1f} | {top_text} | "
            f"{s['errors']} | {s['processed_per_s']} | {s['pending_at_end']} / {s['pending_2s_after']} | "
            f"{s['cpu_busy']:.0%} | "
            f"{'yes' if s['bounded'] else 'no'} | {'yes' if s['sustained'] else 'no'} |"
        )
    lines.append(
        f"\nembedded sustained capacity: {capacity['sustained_capacity_per_s']}/s "
        f"(p99 ack {capacity['p99_at_capacity_ms']} ms)\n"
    )
    lines += [
        f"{memory['deliveries']} pending deliveries of {memory['body_bytes_each']:,} bytes "
        f"({memory['body_mib_total']} MiB); idle worker peak RSS {memory['idle_worker_peak_rss_mib']} MiB",
        "| batch bytes (MiB) | worker peak RSS (MiB) | seconds | states after |",
        "|---:|---:|---:|---|",
    ]
    for run in memory["runs"]:
        lines.append(
            f"| {run['batch_mib']} | {run['peak_rss_mib']} | {run['seconds']} | {run['states_after']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,50,100,150,200,250,300", help="deliveries/s, one step each")
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--warmup-rate", type=float, default=20)
    parser.add_argument("--warmup-seconds", type=float, default=3)
    parser.add_argument("--settle-seconds", type=float, default=15, help="longest wait for a drain")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of `baton serve`")
    parser.add_argument("--issues", type=int, default=3000, help="simulated issues (distinct deliveries)")
    parser.add_argument("--large-count", type=int, default=40)
    parser.add_argument("--large-mb", type=float, default=4.5)
    parser.add_argument("--batch-mib", default="16,64,256")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "baton-bench-capacity.json"))
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="baton-bench-capacity-"))
    started = datetime.now(UTC)
    load_before = loadavg()
    try:
        print("(a) embedded capacity, beside its ceiling (the same receivers, nothing processed)", flush=True)
        ceiling = measure_capacity(args, tmp, "receive-only")
        capacity = measure_capacity(args, tmp, "embedded")
        print("(b) worker memory under large bodies", flush=True)
        memory = measure_memory(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": load_before,
        "load_after": loadavg(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "capacity": capacity,
        "ceiling": ceiling,
        "memory": memory,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["machine"]), "load", load_before, "->", summary["load_after"])
    print(report(summary))
    print(f"(full results: {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
