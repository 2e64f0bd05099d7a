"""One real MLflow sqlite store per test session (creating its schema costs ~10 s on 2 cores)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from vlaser.io import atomic_dir, write_meta
from vlaser.tracking import Tracking


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Tracking:
    """A Tracking on ``<ws>/.vlaser/mlflow.db`` (the default relative URI), schema already created."""
    ws = tmp_path_factory.mktemp("ws")
    tr = Tracking(root=ws, mode="fail")
    tr.experiment_id()
    return tr


def make_artifact(root: Path, path: str, kind: str, files: dict[str, str] | None = None) -> Path:
    with atomic_dir(root / path) as d:
        for name, text in (files or {"data.txt": f"{kind} {path}"}).items():
            (d / name).write_text(text)
        write_meta(d, kind, {"name": path}, {})
    return root / path


def dead_url() -> str:
    """An http URL on a free local port: nothing listens there, so connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
