"""The one MLflow convention of Vlaser (written down in docs/tracking.md).

    tr = open_tracking(params.tracking)                       # sqlite under .vlaser/ or a server URL
    sweep = tr.start_sweep_run("sw-0001", preset="tiny")      # parent run, found or created by tags
    run = tr.variant_run("sw-0001", "ood", 0)                 # nested child run per variant x seed
    tr.record_stage(run, "pretrain", params={...}, metrics={...},
                    inputs=[DatasetRef.from_artifact("data/mixtures/ood")],
                    checkpoints=[CheckpointRef.from_artifact("models/ood/s0/vlm")], dvc_hash="...")
    train(..., tracker=tr.tracker(run, "pretrain"))           # log_params(dict), log_metrics(dict, step)
    tr.finish(run); tr.find_runs("sw-0001"); tr.flush_buffer()

Runs are identified by tags (sweep id, variant, seed), never by ids held in memory, so every process
of a sweep (the Prefect flow, each DVC stage) finds the same runs, and records written while the
store was unreachable (``mode="buffer"``: JSON files under ``.vlaser/tracking-buffer/``) replay into
the right runs later through ``flush_buffer()``. With ``mode="fail"`` an unreachable store is a
``UserError`` naming the URI. HTTP calls have a timeout and few retries, so nothing hangs for long.
MLflow itself is imported only when a store is first used.
"""

from vlaser.tracking.convention import (
    CheckpointRef,
    DatasetRef,
    RunRef,
    SweepRuns,
    flatten,
    stage_metrics,
    stage_params,
)
from vlaser.tracking.store import Tracker, Tracking, open_tracking

__all__ = ["CheckpointRef", "DatasetRef", "RunRef", "SweepRuns", "Tracker", "Tracking", "flatten",
           "open_tracking", "stage_metrics", "stage_params"]
