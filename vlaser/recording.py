"""Record a finished stage: lineage registry + MLflow, following the one convention of vlaser.tracking.

Stages run under ``dvc repro`` with or without a sweep around them; the sweep id comes from
``VLASER_SWEEP_ID`` (set by ``vlaser sweep``) or is ``manual`` for stages run by hand or by plain DVC.
Per-variant-and-seed stages record into that variant x seed's child run; shared stages (demos, data,
mixtures, aggregate) into the sweep's parent run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from vlaser.config import Params

if TYPE_CHECKING:
    from vlaser.stages import StageKey, StageResult

CHECKPOINT_KINDS = ("vlm", "vla")


def sweep_id() -> str:
    return os.environ.get("VLASER_SWEEP_ID") or "manual"


class StageRecorder:
    def __init__(self, params: Params, root: Path, key: StageKey):
        from vlaser.tracking import open_tracking

        self.params, self.root, self.key = params, root, key
        self.tracking = open_tracking(params.tracking, root)
        if key.variant is not None and key.seed is not None:
            self.run = self.tracking.variant_run(sweep_id(), key.variant, key.seed,
                                                 tags={"vlaser.preset": params.preset})
        else:
            self.run = self.tracking.start_sweep_run(sweep_id(), preset=params.preset)

    def tracker(self):
        """What the training loop logs per-step metrics through."""
        return self.tracking.tracker(self.run, self.key.stage)

    def finish(self, result: StageResult, seconds: float) -> None:
        from vlaser.lineage.registry import register_artifact
        from vlaser.tracking import CheckpointRef, DatasetRef

        key = self.key
        link_parents(result.out, result.parents, self.root)
        # artifacts nested in the output (data/indomain/<kind>/, each with its meta.json) too, so the
        # registry holds what `vlaser lineage --rebuild` would index (`vlaser doctor` compares them)
        for folder in [*_nested_artifacts(result.out), result.out]:
            register_artifact(folder, url=self.params.tracking.lineage_url, root=self.root, sweep=sweep_id(),
                              variant=key.variant, seed=key.seed, stage=key.dvc_name, mlflow_run_id=self.run.run_id)
        stage = key.stage if key.variant is None or key.seed is not None else f"{key.stage}.{key.variant}"
        if key.source:
            stage = f"{key.stage}.{key.source}"
        self.tracking.record_stage(
            self.run, stage, params=result.params, metrics={**result.metrics, "seconds": round(seconds, 2)},
            inputs=[DatasetRef.from_artifact(p, root=self.root, name=name) for name, p in result.inputs.items()],
            artifacts=[a for a in result.artifacts if Path(a).is_file()],
            checkpoints=[CheckpointRef.from_artifact(result.out)] if result.kind in CHECKPOINT_KINDS else [],
        )


def link_parents(folder: Path, parents: list[Path], root: Path) -> None:
    """Make the lineage edges in ``folder/meta.json`` complete and workspace-relative.

    Science functions record the parents they know (sometimes as absolute paths, sometimes none);
    the stage knows every input it declared to DVC. Both are merged here, keyed by path relative to the
    workspace so that a copied or pulled workspace keeps its lineage.
    """
    from vlaser.io import read_meta, write_json

    meta = read_meta(folder)

    def rel(p: str | Path) -> str:
        p = Path(p)
        return p.relative_to(root).as_posix() if p.is_absolute() and p.is_relative_to(root) else str(p)

    merged = {rel(p): d for p, d in meta.get("parents", {}).items()}
    for p in parents:
        merged.setdefault(rel(p), read_meta(p)["digest"])
    if merged != meta.get("parents"):
        meta["parents"] = dict(sorted(merged.items()))
        write_json(Path(folder) / "meta.json", meta)


def _nested_artifacts(out: Path) -> list[Path]:
    """Finished artifact folders strictly inside ``out`` (a meta.json of their own; temp folders skipped)."""
    from vlaser.io import META

    return [m.parent for m in sorted(Path(out).rglob(f"*/{META}"))
            if not any(part.startswith(".") for part in m.parent.relative_to(out).parts)]
