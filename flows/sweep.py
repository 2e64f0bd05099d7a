"""The `sweep` Prefect flow: fan out over variant x seed chains with a concurrency limit, one DVC stage per
task, retries with backoff for transient failures, a timeout per stage, the failing stage named.

Resume is DVC's: a stage whose deps, params and code did not change is a cache hit, so re-running the
flow re-runs only what is not done. No science here: every task calls `vlaser.orchestrate`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from vlaser.config import load_params
from vlaser.orchestrate import dvc
from vlaser.orchestrate.plan import make_plan
from vlaser.orchestrate.state import load_state
from vlaser.orchestrate.sweep import record_stage_hash


class StageFailed(Exception):
    def __init__(self, stage: str, message: str, transient: bool):
        super().__init__(f"{stage}: {message}")
        self.stage, self.message, self.transient = stage, message, transient


def _retry_transient(task, task_run, state) -> bool:
    """Retry crashes (killed workers, I/O hiccups), not bad input (exit 2) nor timeouts."""
    try:
        state.result()
    except StageFailed as err:
        return err.transient
    except Exception:
        return True
    return False


@task(name="stage", cache_policy=NO_CACHE, task_run_name="{stage}")
def run_stage(root: str, sweep_id: str, stage: str, timeout_s: int) -> str:
    ws = Path(root)
    state = load_state(ws, sweep_id)
    attempts = state.stages[stage].attempts + 1 if stage in state.stages else 1
    state.set(ws, stage, state="running", attempts=attempts, error=None)
    log_path = ws / ".vlaser" / "logs" / sweep_id / f"{stage.replace('@', '_')}.log"
    outcome = dvc.repro(ws, stage, timeout_s, log_path)
    state = load_state(ws, sweep_id)
    if outcome.ok:
        if outcome.ran:
            record_stage_hash(ws, sweep_id, stage)
        state.set(ws, stage, state="done" if outcome.ran else "cached", seconds=round(outcome.seconds, 2),
                  log=str(log_path))
        return "done" if outcome.ran else "cached"
    message = dvc.stage_error(outcome)
    state.set(ws, stage, state="failed", seconds=round(outcome.seconds, 2), error=message, log=str(log_path))
    transient = not outcome.timed_out and outcome.returncode not in (2,) and "exited with 2" not in outcome.output_tail
    raise StageFailed(stage, message, transient)


@task(name="chain", cache_policy=NO_CACHE, task_run_name="{label}")
def run_chain(root: str, sweep_id: str, label: str, stages: list[str], timeout_s: int, retries: int,
              retry_delay_s: list[int], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """One variant x seed: its stages in order; on failure the rest are skipped and the error returned.

    Stages in ``skip`` were up to date in the sweep's initial `dvc status` (with nothing upstream to re-run),
    so they are recorded as cached without starting DVC."""
    stage_task = run_stage.with_options(retries=retries, retry_delay_seconds=retry_delay_s,
                                        retry_condition_fn=_retry_transient)
    for i, stage in enumerate(stages):
        if stage in skip:
            load_state(Path(root), sweep_id).set(Path(root), stage, state="cached", seconds=0.0, error=None)
            continue
        try:
            stage_task(root, sweep_id, stage, timeout_s)
        except StageFailed as err:
            state = load_state(Path(root), sweep_id)
            for later in stages[i + 1:]:
                state.set(Path(root), later, state="skipped", error=f"upstream {stage} failed")
            return {err.stage: err.message}
    return {}


@flow(name="vlaser-sweep", log_prints=True, flow_run_name="sweep-{sweep_id}",
      task_runner=ThreadPoolTaskRunner(max_workers=1))
def sweep(root: str, sweep_id: str, variants: list[str], timeout_s: int = 3600, retries: int = 1,
          retry_delay_s: list[int] | None = None, skip: list[str] | None = None) -> dict[str, str]:
    """Run every stage of the planned sweep; returns {failed stage: error} (empty when all succeeded).

    ``skip``: stages known to be up to date (``SweepPlan.skippable``), recorded as cached without a DVC call.

    The concurrency limit is the task runner's: ``sweep.with_options(task_runner=ThreadPoolTaskRunner(n))``.
    """
    plan = make_plan(load_params(Path(root) / "params.yaml"), variants)
    delays = retry_delay_s or [5, 30]
    done = tuple(skip or ())
    data_stages = [*plan.shared, *plan.mixtures.values()]  # shared by every chain: run first, in order
    failures = run_chain(root, sweep_id, "data", data_stages, timeout_s, retries, delays, done)
    if failures:
        return failures
    futures = [
        run_chain.submit(root, sweep_id, f"{variant}-s{seed}", list(chain), timeout_s, retries, delays, done)
        for (variant, seed), chain in plan.chains.items()
    ]
    for fut in futures:
        failures.update(fut.result())
    if not failures:
        failures.update(run_chain(root, sweep_id, "aggregate", [plan.aggregate], timeout_s, retries, delays,
                                  done))
    return failures
