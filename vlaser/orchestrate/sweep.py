"""Start, resume and finish sweeps: everything around the Prefect flow that is not orchestration itself.

``run_sweep`` takes the workspace's sweep lock (a second sweep on the same workspace is refused with a
clear message), answers a no-change sweep from ``dvc status`` alone (no Prefect start), and otherwise
runs the ``sweep`` flow of ``flows/sweep.py`` once, in this process (one Prefect API start per sweep).
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout

from vlaser.config import Params, load_params
from vlaser.config.materialize import check_dvc_sees_preset
from vlaser.errors import UserError
from vlaser.log import get_logger
from vlaser.orchestrate import dvc
from vlaser.orchestrate.plan import SweepPlan, make_plan
from vlaser.orchestrate.state import SweepState, load_state, new_sweep_id, now
from vlaser.tracking import RunRef, open_tracking

log = get_logger("sweep")


class SweepFailed(Exception):
    """A sweep ended with failed stages; the message names each stage and its error."""

    exit_code = 1

    def __init__(self, sweep_id: str, message: str):
        super().__init__(message)
        self.sweep_id = sweep_id


def sweep_lock(root: Path) -> FileLock:
    (root / ".vlaser").mkdir(exist_ok=True)
    return FileLock(str(root / ".vlaser" / "sweep.lock"))


def load_flow(root: Path, name: str = "sweep"):
    """The Prefect flow object from ``flows/<name>.py`` (flows live beside the package, by path)."""
    path = root / "flows" / f"{name}.py"
    if not path.is_file():
        raise UserError(f"{path}: flow file not found (is {root} a Vlaser workspace?)")
    spec = importlib.util.spec_from_file_location(f"vlaser_flows_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def run_sweep(root: Path, variants: list[str] | None = None, resume: str | None = None,
              params: Params | None = None) -> SweepState:
    """Run (or resume) a sweep to completion; raises SweepFailed naming failed stages."""
    lock = sweep_lock(root)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UserError(
            f"another sweep is running in {root} (lock {lock.lock_file}); wait for it to finish, or give parallel "
            "sweeps their own workspace (git worktree) — DVC allows one writer per workspace"
        ) from None
    try:
        check_dvc_sees_preset(root / "params.yaml")
        params = params or load_params(root / "params.yaml")
        if resume:
            state = load_state(root, resume)
            variants = state.variants
            for st in state.stages.values():  # what did not finish is pending again; DVC decides what runs
                if st.state in ("failed", "skipped", "running"):
                    st.state, st.error = "pending", None
            if state.status == "done":
                log.info("sweep %s already finished; checking DVC for changes anyway", resume)
        plan = make_plan(params, variants)
        if resume is None:
            state = SweepState(sweep_id=new_sweep_id(), preset=params.preset, variants=list(plan.mixtures),
                               seeds=list(params.sweep.seeds), created=now())
        state.pid, state.status, state.finished = os.getpid(), "running", None
        state.save(root)
        t0 = time.monotonic()
        for cmd in dvc.clear_stale_locks(root):
            log.warning("cleared a stale DVC lock left by a killed process (%s)", cmd)
        changed = dvc.status(root, plan.all_stages())
        if not changed:
            for stage in plan.all_stages():
                state.stages.setdefault(stage, _cached())
                if state.stages[stage].state in ("pending", "running", "failed"):
                    state.stages[stage] = _cached()
            _finish(root, state, "done")
            log.info("nothing changed: every stage is up to date (%.1f s, no stage ran)", time.monotonic() - t0)
            return state
        failures = _run_flow(root, params, plan, state, plan.skippable({_stage_name(k) for k in changed}))
        state = load_state(root, state.sweep_id)
        _finish(root, state, "failed" if failures else "done")
        # by identity, not only by id: during a tracking outage the parent run exists only in the buffer
        parent = RunRef(state.sweep_id, run_id=state.mlflow_parent_run)
        open_tracking(params.tracking, root).finish(parent, "FAILED" if failures else "FINISHED")
        if failures:
            lines = "\n".join(f"  - {stage}: {err}" for stage, err in failures.items())
            raise SweepFailed(state.sweep_id, f"sweep {state.sweep_id} failed:\n{lines}\n"
                              f"fix the cause, then `vlaser resume {state.sweep_id}` (finished stages are not re-run)")
        return state
    finally:
        lock.release()


def record_stage_hash(root: Path, sweep_id: str, stage: str) -> str | None:
    """Tag the MLflow run a stage belongs to with ``dvc.<stage>.hash`` (``stage_lock_hash``): a chain stage
    tags its variant x seed child run as ``dvc.pretrain.hash``; a shared stage tags the sweep's parent run
    (``dvc.mixture.base.hash``, ``dvc.demos.hash``). Returns the hash (None: no dvc.lock entry)."""
    digest = dvc.stage_lock_hash(root, stage)
    if digest is None:
        return None
    params = load_params(root / "params.yaml")
    tracking = open_tracking(params.tracking, root)
    base = stage.split("@", 1)[0]
    for (variant, seed), chain in make_plan(params).chains.items():
        if stage in chain:
            tracking.record_stage(tracking.variant_run(sweep_id, variant, seed), base, dvc_hash=digest)
            return digest
    tracking.record_stage(tracking.start_sweep_run(sweep_id), stage.replace("@", "."), dvc_hash=digest)
    return digest


def _stage_name(status_key: str) -> str:
    """`dvc status` names stages `dvc.yaml:stage@item` when targets are given; the plan uses `stage@item`."""
    return status_key.rsplit(":", 1)[-1]


def _run_flow(root: Path, params: Params, plan: SweepPlan, state: SweepState,
              skip: set[str]) -> dict[str, str]:
    """Open the sweep's MLflow parent run and run the Prefect flow once; {failed stage: error}."""
    if params.tracking.prefect_api_url:  # a configured Prefect server instead of the ephemeral API
        os.environ["PREFECT_API_URL"] = params.tracking.prefect_api_url
    from prefect.task_runners import ThreadPoolTaskRunner

    os.environ["VLASER_SWEEP_ID"] = state.sweep_id
    # a resume keeps the params logged at the start: MLflow refuses changed values, and raising a timeout
    # (or retries) after a failure, then resuming, is the documented repair
    first = state.mlflow_parent_run is None
    parent = open_tracking(params.tracking, root).start_sweep_run(
        state.sweep_id, preset=params.preset,
        params={"variants": ",".join(plan.mixtures), **params.sweep.model_dump()} if first else None)
    state.mlflow_parent_run = parent.run_id or state.mlflow_parent_run
    state.save(root)
    flow = load_flow(root).with_options(task_runner=ThreadPoolTaskRunner(max_workers=params.sweep.concurrency))
    try:
        return flow(root=str(root), sweep_id=state.sweep_id, variants=list(plan.mixtures),
                    timeout_s=params.sweep.stage_timeout_s, retries=params.sweep.retries,
                    retry_delay_s=list(params.sweep.retry_delay_s), skip=sorted(skip))
    except BaseException:
        _finish(root, load_state(root, state.sweep_id), "interrupted")  # resumable: DVC knows what is done
        raise


def _cached():
    from vlaser.orchestrate.state import StageState

    return StageState(state="cached", seconds=0.0)


def _finish(root: Path, state: SweepState, status: str) -> None:
    state.status, state.finished, state.pid = status, now(), None
    state.save(root)


def plan_for(root: Path, variants: list[str] | None) -> SweepPlan:
    return make_plan(load_params(root / "params.yaml"), variants)
