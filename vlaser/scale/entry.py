"""What the deployable entry flow (``flows/sweep_entry.py``) runs: sweeps in workspaces, fanned out.

    sweep_in_workspace(source, dest, variants, overrides, push)   # one group: a private workspace + run_sweep
    make_task_runner("threads" | "dask" | "dask://host:8786" | "ray" | "ray://host:10001", max_workers)

The unit of parallelism is the workspace: inside one, DVC's lock runs stages one at a time, so groups
of variants that should run at once each get their own (shared DVC cache, see workspaces.py). The
groups run as Prefect tasks on the entry flow's task runner: threads on one machine, or a Dask or Ray
cluster when the user has one (``prefect-dask`` / ``prefect-ray`` installed; not Vlaser dependencies).
Every group's workspace must be on a filesystem that the machine running its task can reach.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from vlaser.errors import UserError


def make_task_runner(spec: str = "threads", max_workers: int = 1):
    """A Prefect task runner from a short spec (Dask/Ray imported only when named)."""
    kind, _, address = spec.partition("://")
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max_workers)
    if kind in ("dask", "tcp"):
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise UserError("task_runner 'dask' needs the prefect-dask package (pip install prefect-dask) on "
                            "the worker; or use task_runner 'threads'") from None
        if address:
            return DaskTaskRunner(address=f"tcp://{address}" if kind == "dask" else spec)
        return DaskTaskRunner(cluster_kwargs={"n_workers": max_workers, "threads_per_worker": 1})
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError:
            raise UserError("task_runner 'ray' needs the prefect-ray package (pip install prefect-ray) on the "
                            "worker; or use task_runner 'threads'") from None
        return RayTaskRunner(address=spec) if address else RayTaskRunner()
    raise UserError(f"task_runner '{spec}': expected threads, dask, dask://HOST:PORT, ray or ray://HOST:PORT")


def sweep_in_workspace(source: str, dest: str | None, variants: list[str] | None,
                       overrides: dict[str, Any] | None, push: bool) -> dict[str, Any]:
    """Run ``vlaser sweep`` in ``source`` itself (``dest`` None) or in a private copy at ``dest``.

    The sweep runs as a subprocess with the workspace as its cwd: the orchestration keeps per-sweep
    facts in its process environment, so groups running side by side must not share a process.
    Returns {"workspace", "sweep_id", "status", "mlflow_parent_run", "variants"}; a failed sweep raises
    RuntimeError with the sweep's own message (the failing stages named).
    """
    from vlaser.orchestrate.state import latest_sweep, load_state
    from vlaser.scale import workspaces

    src = Path(source).resolve()
    if dest is None and overrides:
        raise UserError("overrides need a private workspace (isolate: true): they would rewrite the shared "
                        f"params.yaml of {src}")
    ws = workspaces.worker_workspace(src, Path(dest), overrides) if dest else src
    env = {**os.environ, "VLASER_WORKSPACE": str(ws)}
    cmd = [sys.executable, "-m", "vlaser", "sweep", *(["--variants", ",".join(variants)] if variants else [])]
    res = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    print(res.stdout[-4000:])  # the sweep's status table, into the flow run's log
    if res.returncode != 0:
        raise RuntimeError(f"sweep in {ws} failed (exit {res.returncode}):\n{(res.stderr or res.stdout)[-3000:]}")
    state = load_state(ws, latest_sweep(ws))
    if push:
        workspaces.push(ws)
    return {"workspace": str(ws), "sweep_id": state.sweep_id, "status": state.status,
            "mlflow_parent_run": state.mlflow_parent_run, "variants": state.variants}


def group_destinations(runs_dir: Path, run_name: str, groups: int) -> list[Path]:
    """``runs_dir/<run name>`` (one group) or ``runs_dir/<run name>-g<i>`` (several)."""
    if groups == 1:
        return [runs_dir / run_name]
    return [runs_dir / f"{run_name}-g{i}" for i in range(groups)]
