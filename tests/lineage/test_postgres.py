"""The registry on PostgreSQL (a throwaway local server): same migrations, upserts, trees, concurrency."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lineage.conftest import make_artifact, make_sweep
from tests.lineage.test_concurrency import WRITER
from vlaser.errors import UserError
from vlaser.lineage import lineage_tree, open_registry, verify

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run its tools as the 'postgres' system user then.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture
def pg_url() -> Iterator[str]:
    # Not under pytest's tmp folder: that one is private to root, and the server runs as 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="vlaser-pg-"))
    base.chmod(0o777)
    data = base / "data"
    port = _free_port()
    subprocess.run(_as_pg([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    subprocess.run(_as_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                           f"-h 127.0.0.1 -p {port} -k {data}", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_registry_on_postgresql(workspace: Path, pg_url: str) -> None:
    digests = make_sweep(workspace)
    with open_registry(pg_url, workspace) as reg:
        assert reg.rebuild() == len(digests) and reg.rebuild() == len(digests)
        reg.register("models/all/s0/vlm", sweep="pg", mlflow_run_id="e" * 32)
        nodes = {n.path: n for n in lineage_tree("e" * 32, reg).walk()}
        assert set(nodes) - {f"mlflow run {'e' * 32}"} == {"models/all/s0/vlm", "data/mixtures/all",
                                                          "data/indomain/spatial", "data/ood/procedural",
                                                          "data/demos/cpu-default"}
    assert verify(workspace, pg_url) == []
    for w in range(2):
        for i in range(20):
            make_artifact(workspace, f"data/ood/w{w}-{i:03d}", "ood")
    env = {**os.environ, "VLASER_TEST_URL": pg_url}
    code = WRITER.replace("open_registry(None, root)", "open_registry(__import__('os').environ['VLASER_TEST_URL'], root)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(workspace), str(w), "20"], env=env,
                              cwd=Path(__file__).resolve().parents[2]) for w in range(2)]
    (workspace / "go").touch()
    assert all(p.wait(timeout=120) == 0 for p in procs)
    with open_registry(pg_url, workspace) as reg:
        assert len(reg.all()) == len(digests) + 40


def test_unreachable_server_is_a_clear_error_without_the_password(workspace: Path) -> None:
    url = f"postgresql+psycopg://vlaser:s3cret@127.0.0.1:{_free_port()}/lineage"
    with pytest.raises(UserError) as err:
        open_registry(url, workspace, busy_timeout_s=2)
    msg = str(err.value)
    assert "s3cret" not in msg and "vlaser:***@127.0.0.1" in msg and "tracking.lineage_url" in msg
