"""A real tracking stack for the scale tests: PostgreSQL + MLflow server + Prefect server on 127.0.0.1.

Started once per session through the CLI (`vlaser stack up --folder ... --prefect --json`) in a temporary
folder that the `postgres` user can reach (PostgreSQL refuses to run as root), stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict | None = None, cwd: Path = REPO, timeout: float = 900) -> subprocess.CompletedProcess:
    """The real `vlaser` command line, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "vlaser", *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A temporary folder every user can traverse (pytest's own is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="vlaser-scale-"))
    base.chmod(0o777)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(scratch: Path) -> Iterator[dict]:
    folder = scratch / "stack"
    res = cli("stack", "up", "--folder", str(folder), "--prefect", "--json")
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        yield json.loads(res.stdout)
    finally:
        down = cli("stack", "down", "--folder", str(folder))
        assert down.returncode == 0, down.stdout + down.stderr
