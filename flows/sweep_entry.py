"""The deployable entry flow (``prefect.yaml``): sweeps on a work pool, each in a private workspace.

A worker runs this flow with its working directory at a Vlaser checkout (the source workspace). Each
group of variants gets its own workspace under ``runs_dir`` (a copy with its own DVC repository and
the source's DVC cache, see ``vlaser.scale.workspaces``), so parallel workers never meet on DVC's lock.
Groups run as tasks on the task runner named by ``task_runner`` (threads here, or a Dask / Ray
cluster). Settings, not code: ``overrides`` are merged into each copy's params.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from vlaser.runtime import apply_env_defaults
from vlaser.scale.entry import group_destinations, make_task_runner, sweep_in_workspace


@task(name="sweep-group", cache_policy=NO_CACHE, task_run_name="sweep-{label}")
def sweep_group(label: str, source: str, dest: str | None, variants: list[str] | None,
                overrides: dict[str, Any] | None, push: bool) -> dict[str, Any]:
    return sweep_in_workspace(source, dest, variants, overrides, push)


@flow(name="vlaser-sweep-groups")
def fan_out(source: str, dests: list[str | None], groups: list[list[str] | None], overrides: dict[str, Any] | None,
            push: bool) -> list[dict[str, Any]]:
    futures = [sweep_group.submit(",".join(g) if g else "all", source, d, g, overrides, push)
               for d, g in zip(dests, groups, strict=True)]
    return [f.result() for f in futures]


@flow(name="vlaser-sweep-entry", log_prints=True)
def sweep_entry(workspace: str | None = None, variants: list[str] | None = None,
                groups: list[list[str]] | None = None, isolate: bool = True, runs_dir: str | None = None,
                overrides: dict[str, Any] | None = None, push: bool = False, task_runner: str = "threads",
                max_workers: int = 2) -> list[dict[str, Any]]:
    """Run the sweep (or one sweep per group of variants) to completion.

    Args:
        workspace: the source workspace (default: ``VLASER_WORKSPACE``, else the working directory).
        variants: the variants of a single sweep (default: params.yaml ``sweep.variants``).
        groups: instead of ``variants``, several sweeps at once, one per group, each in its own workspace.
        isolate: run in private copies under ``runs_dir`` (False: in the source itself, one group only).
        runs_dir: where private workspaces go (default: ``<workspace>/.vlaser/runs``).
        overrides: merged into each private copy's params.yaml (e.g. ``{"finetune": {"steps": 100}}``).
        push: ``dvc push`` each workspace's outputs to the source's default DVC remote afterwards.
        task_runner: ``threads``, ``dask``, ``dask://HOST:PORT``, ``ray`` or ``ray://HOST:PORT``.
        max_workers: groups at once (threads, or workers of a local Dask cluster).
    """
    source = Path(workspace or os.environ.get("VLASER_WORKSPACE") or Path.cwd()).resolve()
    apply_env_defaults(source)
    chosen: list[list[str] | None] = [list(g) for g in groups] if groups else [variants]
    if not isolate and len(chosen) > 1:
        raise ValueError("several groups need isolate: true (one workspace runs one sweep at a time)")
    if isolate:
        base = Path(runs_dir) if runs_dir else source / ".vlaser" / "runs"
        dests: list[str | None] = [str(p) for p in group_destinations(base, flow_run.get_name() or "run",
                                                                      len(chosen))]
    else:
        dests = [None]
    runner = make_task_runner(task_runner, max_workers)
    results = fan_out.with_options(task_runner=runner)(str(source), dests, chosen, overrides, push)
    for r in results:
        print(f"sweep {r['sweep_id']} {r['status']} in {r['workspace']} (variants {', '.join(r['variants'])})")
    return results
