"""npm installs for tests (the Forge manifest lint, the Prism validation proxy), made dependable.

Two things made a fresh machine's first run flaky:
- two xdist workers ran npm at the same time (the plugin's `npm ci`, Prism's `npm install`), sharing
  ~/.npm's cache; a lock file serialises every npm install the suite starts, across processes;
- a failed fetch makes npm roll back, and the rollback itself can fail (`ENOTEMPTY: rmdir
  node_modules/@atlaskit`), hiding the first error; the install is retried from an empty node_modules,
  and a final failure quotes each attempt's output and the tail of npm's own debug log.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ATTEMPTS = 3
_DEBUG_LOG = re.compile(r"complete log of this run can be found in:\s*(\S+)")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def npm_or_skip(why: str) -> str:
    """The npm executable; without one the test fails under CI=true (CI must run it) and skips otherwise."""
    npm = shutil.which("npm")
    if npm is None:
        message = f"npm is not on PATH: {why} (apt-get install nodejs npm)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return npm


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "baton"


@contextmanager
def _npm_lock() -> Iterator[None]:
    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "npm.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _debug_log_tail(output: str, lines: int = 30) -> str:
    match = _DEBUG_LOG.search(output)
    if match is None:
        return ""
    try:
        tail = Path(match.group(1)).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"\n--- {match.group(1)} (last {lines} lines) ---\n" + "\n".join(tail)


def npm_install(command: Sequence[str], *, cwd: Path, node_modules: Path, installed: Path, what: str) -> None:
    """Runs `command` (an npm install) unless `installed` already exists.

    Holds the suite's npm lock, so concurrent workers install one at a time and the second finds the
    first one's result; a failed attempt is retried after removing `node_modules`. `installed` must
    be a file npm writes last, and is checked under the lock, never while another install runs."""
    failures: list[str] = []
    with _npm_lock():
        for attempt in range(1, ATTEMPTS + 1):
            if installed.exists():
                return
            result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=600)
            if result.returncode == 0 and installed.exists():
                return
            output = f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            failures.append(f"attempt {attempt}: exit {result.returncode}\n{output}{_debug_log_tail(output)}")
            shutil.rmtree(node_modules, ignore_errors=True)
            time.sleep(2 * attempt)
    pytest.fail(f"{what} failed {ATTEMPTS} times:\n" + "\n\n".join(failures))
