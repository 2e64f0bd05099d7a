"""Fault injection on real smoke sweeps: shared workspaces, the consistency check, a cheap stage tail.

Every fault starts from a private copy of one finished smoke sweep (``done_workspace`` of the
orchestration tests) and invalidates a cheap tail of stages with a params change (``aggregate.bootstrap``:
only the ``aggregate`` stage re-runs), so each trial costs one short stage, not a sweep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.orchestrate.conftest import done_workspace, sweep_state, vlaser  # noqa: F401 - a fixture
from vlaser.io import META, dir_digest, read_meta
from vlaser.orchestrate.workspace import update_params

TAIL = {"aggregate": {"bootstrap": 150}}  # invalidates only the aggregate stage
REUSE = "VLASER_FAULTS_BASE"  # development only: path of a finished smoke workspace to copy from


@pytest.fixture(scope="session")
def base_workspace(request) -> Path:
    """The finished smoke sweep every fault starts from (the orchestration tests' ``done_workspace``)."""
    if os.environ.get(REUSE):
        return Path(os.environ[REUSE])
    return request.getfixturevalue("done_workspace")


@pytest.fixture
def fresh_copy(base_workspace, tmp_path) -> Path:
    """A private copy of the finished workspace (DVC cache, MLflow, lineage and all)."""
    return copy_workspace(base_workspace, tmp_path / "ws")


def env_for(ws: Path, extra: dict | None = None) -> dict[str, str]:
    env = {**os.environ, "VLASER_WORKSPACE": str(ws), "VLASER_QUIET": "1", "COLUMNS": "2000", **(extra or {})}
    env.pop("PREFECT_HOME", None)  # each workspace keeps its own Prefect home under .vlaser/
    return env


def start(ws: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start `vlaser ARGS` in its own process group (so a SIGKILL takes the flow, DVC and the stage)."""
    return subprocess.Popen([sys.executable, "-m", "vlaser", *args], cwd=ws, env=env_for(ws, env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def doctor(ws: Path, *extra: str) -> tuple[int, dict]:
    """`vlaser doctor --json` in ``ws``: (exit code, report)."""
    res = vlaser(ws, "doctor", "--json", *extra, env={"COLUMNS": "2000"})
    assert res.returncode in (0, 1), res.stdout + res.stderr
    return res.returncode, json.loads(res.stdout)


def assert_consistent(ws: Path) -> dict:
    """The consistency check: exit 0, every check ok, every recorded artifact present with its digest."""
    rc, report = doctor(ws)
    assert rc == 0 and report["ok"], json.dumps(report["problems"], indent=1)
    assert set(report["checks"].values()) == {"ok"}, report["checks"]
    return report


def kinds(report: dict) -> set[tuple[str, str]]:
    return {(p["check"], p["kind"]) for p in report["problems"]}


def finished_artifacts_intact(ws: Path) -> None:
    """Nothing partial looks finished: every folder with a meta.json holds exactly the recorded content."""
    for top in ("data", "models", "reports"):
        for meta in (ws / top).rglob(META):
            folder = meta.parent
            if any(part.startswith(".") for part in folder.relative_to(ws).parts):
                continue  # atomic_dir temp folders are not artifacts
            assert dir_digest(folder) == read_meta(folder)["digest"], f"{folder} looks finished but is not"


def content_digest(folder: Path) -> str:
    """Digest of an artifact's content (meta.json excluded: it carries a creation time)."""
    return dir_digest(folder)


def run_tail(ws: Path, env: dict | None = None, timeout: float = 1500) -> subprocess.CompletedProcess:
    update_params(ws, TAIL)
    return vlaser(ws, "sweep", env={"COLUMNS": "2000", **(env or {})}, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def processes_in(ws: Path) -> list[int]:
    """Pids of live processes whose working directory is inside ``ws`` (stage processes run there)."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if Path(p.cwd()).is_relative_to(ws) and p.pid != os.getpid() and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p.pid)
    return found


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 serving a workspace's own sqlite store (start, stop, restart)."""

    def __init__(self, ws: Path, port: int):
        self.ws, self.port, self.proc = ws, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 300) -> None:
        import httpx

        state = self.ws / ".vlaser"
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", "1", "--backend-store-uri", f"sqlite:///{state / 'mlflow.db'}",
               "--default-artifact-root", (state / "mlartifacts").as_uri()]
        self.proc = subprocess.Popen(cmd, cwd=self.ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

        def healthy() -> bool:
            assert self.proc.poll() is None, "mlflow server exited"
            try:
                return httpx.get(self.url + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, "the MLflow server", every=0.5)

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory) -> str:
    """One Prefect API server for the whole fault session (a configured server, as at scale): each sweep
    then skips starting its own ephemeral API (about 45 s on 2 loaded cores). The sweep's process group,
    which the kill trials SIGKILL, is the CLI, the flow, DVC and the stages; the server outlives them."""
    home = tmp_path_factory.mktemp("prefect")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, cwd=home, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        import httpx

        def up() -> bool:
            assert proc.poll() is None, "prefect server exited"
            try:
                return httpx.get(url + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 300, "the Prefect API server", every=0.5)
        yield url
    finally:
        kill_group(proc)


@pytest.fixture(autouse=True)
def _use_prefect_api(request, monkeypatch):
    """Every `vlaser` the fault tests (marked sim) start talks to the session's Prefect server."""
    if "sim" in request.keywords:
        monkeypatch.setenv("PREFECT_API_URL", request.getfixturevalue("prefect_api"))


@pytest.fixture
def mlflow_server(fresh_copy):  # noqa: F811 - the fixture imported above
    server = MlflowServer(fresh_copy, free_port())
    yield server
    server.stop()


def copy_workspace(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
