"""A built wheel holds one top-level package, `baton`, with the gadget bundle, the example
configurations and the migrations as package data; installed into a fresh venv, run from a
directory outside the checkout, `baton demo load` and `baton serve --demo` answer 200 on every
gadget page and asset."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from baton.webhooks.http.gadget_registry import GADGETS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]


_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout (links kept as links), so the build leaves nothing behind."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_SOURCE)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = work.glob("baton-*.whl")
    return built


def test_wheel_holds_exactly_the_baton_package_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("baton-")}
    assert top_level == {"baton"}
    bundle = {name for name in names if name.startswith("baton/webhooks/http/static/dist/")}
    assert bundle == {f"baton/webhooks/http/static/dist/{path}" for path in _bundle_files()}
    for required in (
        "baton/py.typed",
        "baton/config/examples/demo.yaml",
        "baton/config/examples/delivery.yaml",
        "baton/config/examples/multi.yaml",
        "baton/store/alembic.ini",
        "baton/store/migrations/env.py",
        "baton/store/migrations/script.py.mako",
        "baton/store/migrations/versions/0001_initial.py",
        "baton/webhooks/http/gadgets.json",
        *(f"baton/webhooks/http/static/{gadget.thumbnail}" for gadget in GADGETS.values()),
    ):
        assert required in names, required
    assert not [name for name in names if name.startswith("baton/") and "/tests/" in name]


def _bundle_files() -> list[str]:
    """Every file of the built gadget bundle, relative to plugin/dist (index.html and its assets)."""
    dist = ROOT / "plugin" / "dist"
    files = sorted(str(path.relative_to(dist)) for path in dist.rglob("*") if path.is_file())
    html = (dist / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="\.?/?(assets/[^"]+)"', html)
    assert referenced and set(referenced) <= set(files), (referenced, files)
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_installed_wheel_serves_the_demo_from_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # The test venv's packages stand in for the registry: the fresh venv sees them, not the checkout.
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "baton-test-deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    (workdir / "config.py").write_text("raise SystemExit('a user config.py must not shadow Baton')\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "BATON_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
    }
    baton = [str(python), "-m", "baton"]
    # The editable install of the checkout must not be what runs: prove where baton comes from.
    where = subprocess.run(
        [str(python), "-c", "import baton; print(baton.__file__)"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(site), where
    subprocess.run([*baton, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True)
    subprocess.run([*baton, "demo", "load"], cwd=workdir, env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*baton, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "baton serve did not come up"
            time.sleep(0.3)
        pages = [
            "/",
            "/gadgets/",
            *(f"/gadgets/{name}" for name in GADGETS),
            *(f"/gadgets/{name}.xml" for name in GADGETS),
        ]
        assets = [path for path in _bundle_files() if path.startswith("assets/")]
        pages += [f"{prefix}/{asset}" for asset in assets for prefix in ("", "/gadgets")]
        pages += [f"/static/{gadget.thumbnail}" for gadget in GADGETS.values()]
        for page in pages:
            assert _get(base + page)[0] == 200, page
        # serve --demo found the packaged demo configuration on its own
        teams = json.loads(_get(base + "/api/v1/teams")[1])
        assert teams["teams"] == ["analysis", "dev", "qa", "support", "ops"]
    finally:
        server.terminate()
        server.wait(timeout=30)
