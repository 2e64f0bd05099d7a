"""The argument lists and environments of the stack's servers: MLflow tracking and (optionally) Prefect.

Both bind 127.0.0.1 and keep their database on the stack's PostgreSQL. Database URLs go through the
environment (``MLFLOW_BACKEND_STORE_URI``, ``PREFECT_SERVER_DATABASE_CONNECTION_URL``), not the
command line, so a password in them (shared deployments) never shows in ``ps``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Variables of the calling shell that must not leak into a server: a client-side API URL or a profile
# would make a Prefect server talk to another server; MLflow's client URI is meaningless to its server.
_DROP = ("PREFECT_API_URL", "PREFECT_PROFILE", "MLFLOW_TRACKING_URI", "PREFECT_HOME")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def mlflow_command(port: int, artifacts: Path, workers: int) -> list[str]:
    """``mlflow server`` serving artifacts from a local folder (clients upload through the server)."""
    return [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--serve-artifacts", "--artifacts-destination", str(artifacts)]


def mlflow_env(backend_url: str) -> dict[str, str]:
    env = base_env()
    env["MLFLOW_BACKEND_STORE_URI"] = backend_url
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "1")
    # the job runner (Huey consumers) is for MLflow's GenAI jobs, which Vlaser does not use
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def prefect_command(port: int) -> list[str]:
    return [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def prefect_env(home: Path, database_url: str) -> dict[str, str]:
    env = base_env()
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    })
    env.setdefault("PREFECT_UI_ENABLED", "false")
    return env


def mlflow_health(port: int) -> str:
    return f"http://127.0.0.1:{port}/health"


def prefect_health(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/health"
