"""Sweep state files: ``.vlaser/sweeps/<sweep_id>.json`` — what a sweep planned, each stage's state and
duration, and which stage failed and why. Written atomically by the orchestrator after every change, so
``vlaser status`` and ``vlaser resume`` work from another process, even after a SIGKILL."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vlaser.errors import UserError
from vlaser.io import write_json

_STATE_LOCK = threading.Lock()  # the chains of one sweep are threads of one process
STATES = ("pending", "running", "done", "cached", "failed", "skipped")


@dataclass
class StageState:
    state: str = "pending"  # one of STATES; "cached" = DVC found it up to date
    seconds: float | None = None
    attempts: int = 0
    error: str | None = None
    log: str | None = None


@dataclass
class SweepState:
    sweep_id: str
    preset: str
    variants: list[str]
    seeds: list[int]
    created: str
    status: str = "running"  # running | done | failed | interrupted
    pid: int | None = None
    mlflow_parent_run: str | None = None
    stages: dict[str, StageState] = field(default_factory=dict)
    finished: str | None = None

    def save(self, root: Path) -> None:
        write_json(sweeps_dir(root) / f"{self.sweep_id}.json", asdict(self))

    def set(self, root: Path, stage: str, **changes) -> None:
        """Change one stage and save. Chains run in threads at once (``sweep.concurrency``), each holding its
        own copy of the state: the file is re-read under a lock and only this stage is changed in it, so one
        chain's write never drops another's."""
        st = self.stages.setdefault(stage, StageState())
        for k, v in changes.items():
            setattr(st, k, v)
        path = sweeps_dir(root) / f"{self.sweep_id}.json"
        with _STATE_LOCK:
            if path.is_file():
                on_disk = load_state(root, self.sweep_id)
                on_disk.stages[stage] = st
                self.stages = {**on_disk.stages, **{k: v for k, v in self.stages.items() if k not in on_disk.stages}}
            self.save(root)

    def failed(self) -> dict[str, StageState]:
        return {k: v for k, v in self.stages.items() if v.state == "failed"}


def sweeps_dir(root: Path) -> Path:
    return root / ".vlaser" / "sweeps"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_sweep_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def load_state(root: Path, sweep_id: str) -> SweepState:
    path = sweeps_dir(root) / f"{sweep_id}.json"
    if not path.is_file():
        known = ", ".join(list_sweeps(root)[-5:]) or "none yet"
        raise UserError(f"unknown sweep '{sweep_id}' (no {path}); recent sweeps: {known}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: corrupt sweep state ({err.msg})") from None
    data["stages"] = {k: StageState(**v) for k, v in data.get("stages", {}).items()}
    state = SweepState(**data)
    if state.status == "running" and state.pid and not pid_alive(state.pid):
        state.status = "interrupted"  # the orchestrating process died (e.g. SIGKILL)
        for st in state.stages.values():
            if st.state == "running":
                st.state = "pending"
    return state


def list_sweeps(root: Path) -> list[str]:
    d = sweeps_dir(root)
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def latest_sweep(root: Path) -> str | None:
    sweeps = list_sweeps(root)
    return sweeps[-1] if sweeps else None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid is running (pid <= 0: no). A zombie (killed, not yet reaped) is not."""
    import psutil

    if pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
