"""Names, references and key flattening of the Vlaser MLflow convention (docs/tracking.md).

Params are ``<stage>.<key>`` (nested keys joined by '.'), metrics ``<stage>/<metric>``; runs carry the
``vlaser.*`` tags below; datasets are MLflow dataset inputs with the full digest in an input tag.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlaser.io import read_meta
from vlaser.runtime import workspace_root

TAG_SWEEP, TAG_ROLE, TAG_PRESET = "vlaser.sweep_id", "vlaser.role", "vlaser.preset"
TAG_VARIANT, TAG_SEED = "vlaser.variant", "vlaser.seed"
TAG_COMMIT, TAG_DIRTY = "vlaser.git_commit", "vlaser.git_dirty"
TAG_PARENT = "mlflow.parentRunId"  # MLflow's own nesting tag: the UI shows children under the parent
MAX_PARAM = 6000  # MLflow's limit on a param value's length
BUFFER = "tracking-buffer"


@dataclass(frozen=True)
class RunRef:
    """A run by its identity; ``run_id`` is None while the run exists only in the buffer."""

    sweep_id: str
    variant: str | None = None
    seed: int | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class DatasetRef:
    """A dataset input: ``context`` is training | demos | evaluation (MLflow's dataset context tag)."""

    name: str
    path: str
    digest: str
    context: str = "training"

    @classmethod
    def from_artifact(cls, folder: Path | str, context: str = "training", name: str | None = None,
                      root: Path | None = None) -> DatasetRef:
        """From an artifact folder's meta.json (name defaults to its workspace-relative path)."""
        root = Path(root or workspace_root())
        full = Path(folder) if Path(folder).is_absolute() else root / folder
        rel = os.path.relpath(full, root) if full.is_relative_to(root) else str(full)
        return cls(name or rel, str(full), read_meta(full)["digest"], context)


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint referenced by path and digest (tags ``vlaser.checkpoint.<name>.path|digest``)."""

    name: str
    path: str
    digest: str

    @classmethod
    def from_artifact(cls, folder: Path | str, name: str | None = None) -> CheckpointRef:
        return cls(name or Path(folder).name, str(folder), read_meta(Path(folder))["digest"])


def flatten(d: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dict -> flat keys joined by ``sep`` (pydantic sections are dumped first)."""
    if hasattr(d, "model_dump"):
        d = d.model_dump(mode="json")
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key, sep))
        else:
            out[key] = v
    return out


def stage_params(stage: str, params: Mapping[str, Any]) -> dict[str, str]:
    """``<stage>.<key>`` params as MLflow strings (lists as JSON); over-long values are cut, marked."""
    out = {}
    for k, v in flatten(params, stage).items():
        s = json.dumps(v) if isinstance(v, list | tuple | dict) else str(v)
        out[k] = s if len(s) <= MAX_PARAM else s[: MAX_PARAM - 14] + "...[truncated]"
    return out


def stage_metrics(stage: str, metrics: Mapping[str, Any]) -> dict[str, float]:
    """``<stage>/<metric>`` floats (nested dicts joined by '/'); a non-number is a bug, named here."""
    out = {}
    for k, v in flatten(metrics, stage, sep="/").items():
        if not isinstance(v, int | float):
            raise ValueError(f"metric '{k}' of stage '{stage}' is {v!r}, not a number")
        out[k] = float(v)
    return out


@dataclass
class SweepRuns:
    """What ``find_runs`` returns: the sweep's parent run and its variant x seed children."""

    sweep_id: str
    parent: Any  # mlflow.entities.Run | None
    children: list[Any] = field(default_factory=list)

    def child(self, variant: str, seed: int) -> Any:
        for r in self.children:
            if r.data.tags.get(TAG_VARIANT) == variant and r.data.tags.get(TAG_SEED) == str(seed):
                return r
        return None

    def to_dict(self) -> dict[str, Any]:
        def one(r: Any) -> dict[str, Any]:
            return {"run_id": r.info.run_id, "status": r.info.status, "tags": dict(r.data.tags),
                    "params": dict(r.data.params), "metrics": dict(r.data.metrics)}

        return {"sweep_id": self.sweep_id, "parent": one(self.parent) if self.parent else None,
                "children": [one(r) for r in self.children]}


def resolve_uri(uri: str, root: Path) -> str:
    """A relative ``sqlite:///x.db`` is taken relative to the workspace root (its folder is created)."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = (root / uri.removeprefix("sqlite:///")).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return uri


def artifact_location(artifacts: str, uri: str, root: Path) -> str | None:
    if "://" in artifacts or artifacts.startswith("mlflow-artifacts:"):
        return artifacts
    if uri.startswith(("http://", "https://")):
        return None  # a server stores artifacts where it was configured to
    return (root / artifacts).resolve().as_uri()


def http_defaults(timeout_s: int) -> None:
    """Bound MLflow's HTTP client: a dead server costs seconds, not MLflow's default minutes of retries."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
