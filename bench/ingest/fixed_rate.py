"""An open-loop client at a fixed request rate (wrk2 is not packaged in Debian).

Every request has a scheduled send time `t0 + i / rate`; its latency is measured from that scheduled
time, not from when a thread got round to sending it, so a slow server cannot hide its queueing
(no coordinated omission). A pool of threads with keep-alive connections sends; at 200/s the client
uses a few percent of one core.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RateResult:
    rate: float
    duration_s: float
    sent: int
    ok: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_fixed_rate(
    url: str,
    deliveries: Sequence[tuple[str, bytes]],
    *,
    rate: float,
    duration_s: float,
    run_id: str,
    threads: int = 16,
) -> RateResult:
    """POST `rate` signed deliveries per second for `duration_s` to `url`; (signature, body) rotate."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    total = int(rate * duration_s)
    jobs: queue.Queue[tuple[int, float] | None] = queue.Queue()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5
    for i in range(total):
        jobs.put((i, t0 + i / rate))
    for _ in range(threads):
        jobs.put(None)

    def sender() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        while (job := jobs.get()) is not None:
            i, scheduled = job
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            signature, body = deliveries[i % len(deliveries)]
            headers = {
                "Content-Type": "application/json; charset=UTF-8",
                "X-Hub-Signature": signature,
                "X-Atlassian-Webhook-Identifier": f"{run_id}-{i}",
            }
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=10)
                ok = False
            elapsed = time.perf_counter() - scheduled
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
        connection.close()

    pool = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    values = sorted(latencies)
    return RateResult(
        rate=rate,
        duration_s=duration_s,
        sent=total,
        ok=len(values),
        errors=errors[0],
        p50_ms=_percentile(values, 0.50) * 1000,
        p90_ms=_percentile(values, 0.90) * 1000,
        p99_ms=_percentile(values, 0.99) * 1000,
        max_ms=(values[-1] if values else float("nan")) * 1000,
    )
