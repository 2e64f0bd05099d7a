"""Thin MLflow adapter for the training loop's ``tracker`` (``log_params``, ``log_metrics``).

    with mlflow.start_run() as run:
        tracker = MlflowTracker(run)
        pretrain(..., tracker=tracker)

Metrics are buffered and sent with ``MlflowClient.log_batch`` (one request per ``flush_every`` steps,
and on ``flush``/``log_params``/``close``), because one request per metric per step costs more than a
tiny training step.
"""

from __future__ import annotations

import re
import time
from typing import Any


def _key(name: str) -> str:
    """An MLflow-legal key: letters, digits, ``_ - . / space``; at most 250 characters."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)[:250]


class MlflowTracker:
    """Logs into an existing MLflow run (an ``ActiveRun``/``Run`` or a run id)."""

    def __init__(self, run: Any, flush_every: int = 50, tracking_uri: str | None = None):
        from mlflow.tracking import MlflowClient

        self.run_id = run if isinstance(run, str) else run.info.run_id
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.flush_every = flush_every
        self._pending: list = []
        self._steps = 0

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(_key(k), str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow caps params per batch at 100
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        self._pending.extend(Metric(_key(k), float(v), ts, step) for k, v in metrics.items() if v is not None)
        self._steps += 1
        if self._steps % self.flush_every == 0:
            self.flush()

    def set_tags(self, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(_key(k), str(v)) for k, v in tags.items()])

    def flush(self) -> None:
        while self._pending:
            chunk, self._pending = self._pending[:1000], self._pending[1000:]
            self.client.log_batch(self.run_id, metrics=chunk)

    def close(self) -> None:
        self.flush()
