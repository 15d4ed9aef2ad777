"""Ingest benchmark: `python -m bench.ingest` (see bench/README.md, section "Ingest").

For each database (SQLite, PostgreSQL), against one gunicorn server (2 workers, production mode:
receive only, so gevent workers unless $BATON_WORKER_CLASS says otherwise) on 127.0.0.1:
1. ceiling: wrk on `/bench/noop` (same server, returns 204 without touching anything);
2. ingest: wrk on `/webhooks/jira` with pre-signed rotating bodies (signature checked, raw body
   committed to the inbox before the 2xx), same connections and duration;
3. latency: an open-loop client at a fixed 200 deliveries/s, p99 of acknowledgement latency;
4. drain: a backlog of simulated deliveries processed by `baton worker --processes N`, in
   transitions per second.
Results are printed and written as JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ingest.fixed_rate import run_fixed_rate

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "examples" / "delivery.yaml"
LUA = Path(__file__).with_name("signed_rotating.lua")
SECRET = "bench-secret-not-for-production"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def signed_deliveries(issues: int, seed: int) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(signature, body, payload) of simulated Jira Cloud deliveries for the worked example."""
    from baton.config.loader import load_config
    from baton.connector.signatures import sign
    from baton.scoring.simulate import simulate_deliveries

    config = load_config(CONFIG)
    deliveries = simulate_deliveries(
        config,
        issues,
        seed=seed,
        start=datetime(2026, 1, 5, tzinfo=UTC),
        end=datetime(2026, 4, 27, tzinfo=UTC),
    )
    out = []
    for delivery in deliveries:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        out.append((sign(SECRET, body), body, delivery.payload))
    return out


# --- databases -----------------------------------------------------------------------------------


def make_database(kind: str, tmp: Path, postgres_url: str) -> tuple[str, Callable[[], None]]:
    from baton.store.db import resolve_database_url, upgrade_database

    if kind == "sqlite":
        tmp.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        return url, lambda: None
    import psycopg
    from sqlalchemy import make_url

    admin_url = make_url(resolve_database_url(postgres_url))
    name = f"baton_bench_{os.getpid()}_{tmp.name.replace('-', '_')}"
    plain = admin_url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


# --- the server ----------------------------------------------------------------------------------


class Server:
    def __init__(self, url: str, tmp: Path, port: int, workers: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        metrics = tmp / f"prom-{port}"
        metrics.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "BATON_DATABASE_URL": url,
            "BATON_CONFIG": str(CONFIG),
            "BATON_WEBHOOK_SECRET": SECRET,
            "BATON_MODE": "production",
            "BATON_BENCH_NOOP": "1",
            "BATON_LOG_LEVEL": "warning",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "PYTHONPATH": str(REPO),
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "python:baton.webhooks.http.gunicorn_conf"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        self._launch([*command, "baton.webhooks.http.app:create_app()"], env, tmp / f"gunicorn-{port}.log")
        from baton.webhooks.settings import Settings

        self.worker_class = Settings.from_env(env).worker_class

    def _launch(self, command: list[str], env: dict[str, str], log: Path) -> None:
        """Start the server in its own process group (stopped as a whole) and wait until it is healthy."""
        self.log = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.log, stderr=self.log, start_new_session=True
        )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not become healthy")

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- measurements --------------------------------------------------------------------------------


def wrk(
    url: str, bodies_file: Path, path: str, run_id: str, args: argparse.Namespace, duration: float
) -> dict[str, Any]:
    command = [
        args.wrk,
        "-t",
        str(args.wrk_threads),
        "-c",
        str(args.connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url + path,
        "--",
        str(bodies_file),
        path,
        run_id,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    match = re.search(r"BENCH_JSON (\{.*\})", output)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    errors = sum(
        data[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "per_s": round((data["requests"] - data["status_errors"]) / seconds, 1),
        "errors": errors,
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several wrk runs as one: total requests over total time; the worst p99."""
    seconds = sum(r["seconds"] for r in runs)
    ok = sum(r["per_s"] * r["seconds"] for r in runs)
    return {
        "requests": sum(r["requests"] for r in runs),
        "seconds": round(seconds, 2),
        "per_s": round(ok / seconds, 1),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": max(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "runs_per_s": [r["per_s"] for r in runs],
    }


def inbox_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for
    from baton.store.models import Delivery

    engine = create_engine_for(url)
    with Session(engine) as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
    engine.dispose()
    return {state: int(count) for state, count in rows}


def insert_pending(session: Any, deliveries: list[tuple[bytes, dict[str, Any]]]) -> None:
    """Store (body, payload) deliveries as pending rows of the default site, as receivers would."""
    from sqlalchemy import insert

    from baton.store.delivery_row import delivery_identity
    from baton.store.inbox import ensure_site_exists
    from baton.store.models import Delivery

    now = datetime.now(UTC)
    rows = []
    for body, payload in deliveries:
        identity = delivery_identity("default", {}, body, payload)
        rows.append(
            {
                "site_id": "default",
                "idempotency_key": identity.idempotency_key,
                "source": "webhook",
                "event": identity.event,
                "headers": {"Content-Type": "application/json"},
                "body": body,
                "received_at": now,
                "state": "pending",
                "attempts": 0,
            }
        )
    ensure_site_exists(session, "default")
    session.execute(insert(Delivery), rows)


def measure_drain(url: str, issues: int, processes: int, batch: int, seed: int = 2) -> dict[str, Any]:
    """Preload a backlog of simulated deliveries, then time `baton worker` draining it."""
    from sqlalchemy import func, select, update
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for
    from baton.store.models import Delivery, TransitionRow

    engine = create_engine_for(url)
    with engine.begin() as connection:  # the ingest phase's deliveries are not part of this measurement
        connection.execute(
            update(Delivery.__table__)
            .where(Delivery.state == "pending")
            .values(state="ignored", error="bench: ingest phase")
        )
    backlog = signed_deliveries(issues, seed=seed)
    with Session(engine) as session:  # the backlog, as the receivers would have left it
        insert_pending(session, [(body, payload) for _, body, payload in backlog])
        first_id = session.execute(
            select(func.min(Delivery.id)).where(Delivery.state == "pending")
        ).scalar_one()
        transitions_before = session.execute(select(func.count(TransitionRow.id))).scalar_one()
        session.commit()
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "baton.webhooks.cli",
            "worker",
            "--config",
            str(CONFIG),
            "--db",
            url,
            "--processes",
            str(processes),
            "--batch",
            str(batch),
            "--exit-when-idle",
        ],
        cwd=REPO,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    with Session(engine) as session:
        transitions = session.execute(select(func.count(TransitionRow.id))).scalar_one() - transitions_before
        window = session.execute(
            select(func.min(Delivery.claimed_at), func.max(Delivery.processed_at)).where(
                Delivery.id >= first_id
            )
        ).one()
        states = dict(
            session.execute(
                select(Delivery.state, func.count()).where(Delivery.id >= first_id).group_by(Delivery.state)
            ).all()
        )
    engine.dispose()
    seconds = (window[1] - window[0]).total_seconds() if window[0] and window[1] else wall
    return {
        "deliveries": len(backlog),
        "transitions": int(transitions),
        "states": {k: int(v) for k, v in states.items()},
        "processes": processes,
        "seconds": round(seconds, 2),
        "wall_seconds_incl_startup": round(wall, 2),
        "transitions_per_s": round(transitions / seconds, 1) if seconds else None,
        "deliveries_per_s": round(len(backlog) / seconds, 1) if seconds else None,
    }


def bench_database(
    kind: str, args: argparse.Namespace, bodies_file: Path, bodies: list[tuple[str, bytes]]
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"baton-bench-{kind}-"))
    url, drop = make_database(kind, tmp, args.postgres_url)
    result: dict[str, Any] = {"database": kind, "load_before": loadavg()}
    try:
        server = Server(url, tmp, free_port(), args.server_workers)
        result["worker_class"] = server.worker_class
        try:
            run = f"{kind}-{os.getpid()}-{int(time.time())}"
            wrk(server.base, bodies_file, "/bench/noop", run + "-warm", args, 2)
            wrk(server.base, bodies_file, "/webhooks/jira", run + "-warm", args, 2)
            # Alternate ceiling and ingest runs so background load on shared cores hits both alike.
            ceiling, ingest = [], []
            for n in range(args.rounds):
                part = args.duration / args.rounds
                ceiling.append(wrk(server.base, bodies_file, "/bench/noop", f"{run}-c{n}", args, part))
                ingest.append(wrk(server.base, bodies_file, "/webhooks/jira", f"{run}-i{n}", args, part))
            result["ceiling"], result["ingest"] = combine(ceiling), combine(ingest)
            result["ratio_to_ceiling"] = round(result["ingest"]["per_s"] / result["ceiling"]["per_s"], 3)
            # Each ingest round against the ceiling round just before it: the spread shows how much
            # of a difference between runs is the shared machine rather than the code.
            result["ratio_per_round"] = [
                round(i["per_s"] / c["per_s"], 3) for c, i in zip(ceiling, ingest, strict=True)
            ]
            rate = run_fixed_rate(
                server.base + "/webhooks/jira",
                bodies,
                rate=args.rate,
                duration_s=args.rate_duration,
                run_id=run + "-r",
            )
            result["fixed_rate"] = {
                k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(rate).items()
            }
        finally:
            server.stop()
        result["inbox_after_ingest"] = inbox_counts(url)
    finally:
        drop()
    result["drain"] = []
    for processes in sorted({1, args.worker_processes}):  # each on a fresh database
        drain_url, drop = make_database(kind, tmp / f"drain-{processes}", args.postgres_url)
        try:
            result["drain"].append(measure_drain(drain_url, args.drain_issues, processes, args.worker_batch))
        finally:
            drop()
    result["load_after"] = loadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| | " + " | ".join(r["database"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        lines.append(f"| {label} | " + " | ".join(str(get(r)) for r in results) + " |")

    row("gunicorn worker class (2 workers)", lambda r: r["worker_class"])
    row("ceiling `/bench/noop` (req/s)", lambda r: r["ceiling"]["per_s"])
    row("ingest `/webhooks/jira` (deliveries/s)", lambda r: r["ingest"]["per_s"])
    row("ratio to ceiling", lambda r: f"{r['ratio_to_ceiling']:.0%}")
    row("ratio per round", lambda r: " / ".join(f"{x:.0%}" for x in r["ratio_per_round"]))
    row("wrk p99 at saturation (ms)", lambda r: r["ingest"]["p99_ms"])
    row("errors (ceiling / ingest)", lambda r: f"{r['ceiling']['errors']} / {r['ingest']['errors']}")
    row(
        "p50 / p99 ack latency at 200/s (ms)",
        lambda r: f"{r['fixed_rate']['p50_ms']:.1f} / {r['fixed_rate']['p99_ms']:.1f}",
    )
    for n in range(len(results[0]["drain"])):
        processes = results[0]["drain"][n]["processes"]
        row(
            f"drain, {processes} `baton worker` process{'es' if processes > 1 else ''} (transitions/s)",
            lambda r, n=n: (
                f"{r['drain'][n]['transitions_per_s']} ({r['drain'][n]['transitions']} in {r['drain'][n]['seconds']} s)"
            ),
        )
    row("load average before / after", lambda r: f"{r['load_before']} / {r['load_after']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=30, help="seconds of wrk per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="alternating ceiling/ingest runs")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-duration", type=float, default=15)
    parser.add_argument("--drain-issues", type=int, default=1000)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--worker-batch", type=int, default=500)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BATON_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "baton-bench-ingest.json"))
    args = parser.parse_args(argv)

    bodies = [(signature, body) for signature, body, _ in signed_deliveries(300, seed=1)]
    with tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False) as handle:
        for signature, body in bodies:
            handle.write(signature.encode() + b"\t" + body + b"\n")
        bodies_file = Path(handle.name)
    started = datetime.now(UTC)
    results = [bench_database(kind, args, bodies_file, bodies) for kind in args.databases.split(",") if kind]
    bodies_file.unlink()
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k not in {"postgres_url", "out"}},
        "results": results,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["machine"]))
    print(report(results))
    print(f"(full results: {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
