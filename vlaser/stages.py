"""One function per ``dvc.yaml`` stage; ``pipelines/`` and ``vlaser stage`` only call these.

Each stage reads its declared inputs and its own settings section, writes its output folder atomically
(the science functions use ``vlaser.io.atomic_dir``), then ``_finish`` registers the artifact in the
lineage registry and records params, metrics and inputs in the variant's MLflow run. Stage code never
imports Prefect: the same functions run under ``dvc repro`` alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlaser.config import Params
from vlaser.errors import UserError
from vlaser.io import read_meta, write_meta
from vlaser.log import get_logger

log = get_logger("stages")


@dataclass(frozen=True)
class StageKey:
    """Which instance of a stage: the ``foreach``/``matrix`` item of dvc.yaml."""

    stage: str
    variant: str | None = None
    seed: int | None = None
    source: str | None = None
    suite: str | None = None

    @property
    def dvc_name(self) -> str:
        """The DVC stage name, e.g. ``pretrain@base-0``, ``ood@procedural``, ``demos``."""
        if self.variant is not None and self.seed is not None:
            return f"{self.stage}@{self.variant}-{self.seed}"
        if self.variant is not None:
            return f"{self.stage}@{self.variant}"
        if self.source is not None:
            return f"{self.stage}@{self.source}"
        return self.stage


@dataclass
class StageResult:
    out: Path  # the artifact folder this stage wrote
    kind: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # the stage's own settings, for MLflow
    inputs: dict[str, Path] = field(default_factory=dict)  # datasets read: name -> folder (logged with digests)
    artifacts: list[Path] = field(default_factory=list)  # small files to attach to the MLflow run
    parents: list[Path] = field(default_factory=list)  # artifact folders this one was made from (lineage edges)


# --- paths (declared once here; dvc.yaml mirrors them) -------------------------------------------------
def demos_dir(root: Path, suite: str) -> Path:
    return root / "data" / "demos" / suite


def mixture_dir(root: Path, variant: str) -> Path:
    return root / "data" / "mixtures" / variant


def model_dir(root: Path, variant: str, seed: int, which: str) -> Path:
    return root / "models" / variant / f"s{seed}" / which


def report_dir(root: Path, variant: str, seed: int, which: str) -> Path:
    return root / "reports" / "runs" / variant / f"s{seed}" / which


# --- the stages ----------------------------------------------------------------------------------------
def stage_demos(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.sim.demos import record_demos

    suite = key.suite or p.demos.suite
    out = demos_dir(root, suite)
    summary = record_demos(suite, p.sim.suites[suite], p.demos, out)
    return StageResult(out, "demos", _numbers(summary), p.demos.model_dump(mode="json"))


def stage_indomain(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.data.indomain import build_indomain

    out = root / "data" / "indomain"
    summary = build_indomain(p.indomain, p.sim.suites[p.indomain.suite], out)
    # one meta.json over the kinds (each kind folder has its own): the stage's "finished" mark
    kinds = {str(Path("data/indomain") / k): read_meta(out / k)["digest"] for k in p.indomain.kinds}
    write_meta(out, "indomain", params=p.indomain, parents=kinds, extra={"kinds": list(p.indomain.kinds)})
    return StageResult(out, "indomain", _numbers(summary), p.indomain.model_dump(mode="json"))


def stage_ood(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.data.ood import build_ood

    if key.source not in p.ood.sources:
        raise UserError(f"unknown OOD source '{key.source}'; params.yaml ood.sources has {sorted(p.ood.sources)}")
    out = root / "data" / "ood" / key.source
    summary = build_ood(key.source, p.ood.sources[key.source], out)
    return StageResult(out, "ood", _numbers(summary), p.ood.sources[key.source].model_dump(mode="json"))


def stage_mixture(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.data.mixture import build_mixture

    spec = _variant(p, key.variant)
    sources = {f"indomain/{k}": root / "data" / "indomain" / k for k in p.indomain.kinds}
    sources |= {f"ood/{k}": root / "data" / "ood" / k for k in p.ood.sources}
    out = mixture_dir(root, key.variant)
    summary = build_mixture(key.variant, spec, p.mixture, sources, out)
    used = {name: sources[name] for name, w in spec.sources.items() if w > 0}
    return StageResult(out, "mixture", _numbers(summary),
                       {"size": p.mixture.size, "seed": p.mixture.seed, **spec.model_dump(mode="json")}, used,
                       parents=list(used.values()))


def stage_pretrain(p: Params, root: Path, key: StageKey, tracker=None) -> StageResult:
    from vlaser.train import pretrain

    mix = mixture_dir(root, key.variant)
    out = model_dir(root, key.variant, key.seed, "vlm")
    # the tiny tokenizer is trained on the mixture's text: add every task instruction so stage-2 prompts
    # tokenise well for every variant, including `base` (no mixture text at all)
    instructions = sorted({t.instruction for suite in p.sim.suites.values() for t in suite.tasks})
    metrics = pretrain(p.pretrain, p.model, mix, out, seed=key.seed, tracker=tracker, extra_texts=instructions)
    return StageResult(out, "vlm", _numbers(metrics), p.pretrain.model_dump(mode="json"), {"mixture": mix},
                       parents=[mix])


def stage_finetune(p: Params, root: Path, key: StageKey, tracker=None) -> StageResult:
    from vlaser.train import finetune

    vlm = model_dir(root, key.variant, key.seed, "vlm")
    demos = demos_dir(root, p.demos.suite)
    out = model_dir(root, key.variant, key.seed, "vla")
    metrics = finetune(p.finetune, p.model, vlm, demos, out, seed=key.seed, tracker=tracker)
    return StageResult(out, "vla", _numbers(metrics), p.finetune.model_dump(mode="json"), {"demos": demos},
                       parents=[vlm, demos])


def stage_eval_reasoning(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.evaluate.benchmarks import heldout_benchmarks
    from vlaser.evaluate.reasoning import evaluate_reasoning

    vlm = model_dir(root, key.variant, key.seed, "vlm")
    out = report_dir(root, key.variant, key.seed, "reasoning")
    benches = heldout_benchmarks(root / "data", p.eval_reasoning.benchmarks, p.eval_reasoning.max_items,
                                 public=p.eval_reasoning.public)
    report = evaluate_reasoning(vlm, benches, p.eval_reasoning, out)
    metrics = {f"reasoning/{b}": r["score"] for b, r in report["benchmarks"].items()}
    metrics["reasoning/avg"] = report["average"]
    heldout = [d for d in (*(root / "data" / "indomain").glob("*"), *(root / "data" / "ood").glob("*"))
               if (d / "heldout.jsonl").is_file()]
    return StageResult(out, "reasoning_report", metrics, p.eval_reasoning.model_dump(mode="json"),
                       {d.name: d for d in heldout}, artifacts=[out / "reasoning.json"], parents=[vlm, *heldout])


def stage_eval_closed_loop(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.model.agent import VLAAgent
    from vlaser.sim.harness import evaluate

    cfg = p.eval_closed_loop
    vla = model_dir(root, key.variant, key.seed, "vla")
    out = report_dir(root, key.variant, key.seed, "closed_loop")
    agent = VLAAgent.from_checkpoint(vla)
    report = evaluate(agent, cfg.suite, p.sim.suites[cfg.suite], cfg.episodes, cfg.seed, out,
                      cfg.videos_per_task, p.model.exec_horizon)
    metrics = {f"success/{t}": r["rate"] for t, r in report["tasks"].items()}
    metrics["success/avg"] = report["average"]["rate"]
    videos = sorted((out / "videos").glob("*.mp4"))[:2] if (out / "videos").is_dir() else []
    return StageResult(out, "closed_loop_report", metrics, cfg.model_dump(mode="json"),
                       artifacts=[out / "closed_loop.json", *videos], parents=[vla])


def stage_aggregate(p: Params, root: Path, key: StageKey) -> StageResult:
    from vlaser.aggregate import aggregate

    out = root / "reports" / "summary"
    runs = root / "reports" / "runs"
    summary = aggregate(runs, p.aggregate, out)
    reports = sorted(m.parent for m in runs.glob("*/s*/*/meta.json"))
    return StageResult(out, "summary", _numbers(summary), p.aggregate.model_dump(mode="json"),
                       artifacts=[f for f in out.glob("*.json") if f.name != "meta.json"], parents=reports)


STAGES: dict[str, Callable[..., StageResult]] = {
    "demos": stage_demos,
    "indomain": stage_indomain,
    "ood": stage_ood,
    "mixture": stage_mixture,
    "pretrain": stage_pretrain,
    "finetune": stage_finetune,
    "eval_reasoning": stage_eval_reasoning,
    "eval_closed_loop": stage_eval_closed_loop,
    "aggregate": stage_aggregate,
}
PER_VARIANT_SEED = ("pretrain", "finetune", "eval_reasoning", "eval_closed_loop")
TRAINING = ("pretrain", "finetune")


def _variant(p: Params, name: str | None):
    if name not in p.mixture.variants:
        raise UserError(f"unknown variant '{name}'; params.yaml mixture.variants has {sorted(p.mixture.variants)}")
    return p.mixture.variants[name]


def _numbers(d: dict | None) -> dict[str, float]:
    """The numeric leaves of a stage's summary, flattened with '/' (for MLflow metrics)."""
    out: dict[str, float] = {}
    for k, v in (d or {}).items():
        if isinstance(v, int | float):  # bools included (True -> 1.0)
            out[k] = float(v)
        elif isinstance(v, dict):
            out.update({f"{k}/{kk}": vv for kk, vv in _numbers(v).items()})
    return out


def _log_timing(root: Path, key: StageKey, t0: float) -> None:
    """Append the time spent inside the stage (for `vlaser status` and the orchestration benchmark)."""
    import json
    import os

    from vlaser.recording import sweep_id

    seconds = time.monotonic() - t0
    end = time.time()
    line = {"sweep": sweep_id(), "stage": key.dvc_name, "seconds": round(seconds, 3),
            "start": round(end - seconds, 3), "end": round(end, 3)}
    path = root / ".vlaser" / "timings.jsonl"
    path.parent.mkdir(exist_ok=True)
    with open(path, "a") as f:  # one short line per O_APPEND write: lines of concurrent stages never interleave
        f.write(json.dumps(line) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run_stage(key: StageKey, params: Params, root: Path) -> StageResult:
    """Run one stage and record it (lineage + MLflow). The function DVC ends up calling."""
    if key.stage not in STAGES:
        raise UserError(f"unknown stage '{key.stage}'; expected one of {', '.join(STAGES)}")
    if key.stage in PER_VARIANT_SEED or key.stage == "mixture":
        _variant(params, key.variant)
    if key.stage in PER_VARIANT_SEED and key.seed is None:
        raise UserError(f"stage '{key.stage}' needs --seed (one of {params.sweep.seeds})")
    from vlaser.faults import maybe_inject
    from vlaser.recording import StageRecorder

    maybe_inject(key.dvc_name)

    recorder = StageRecorder(params, root, key)
    t0 = time.monotonic()
    fn = STAGES[key.stage]
    kwargs = {"tracker": recorder.tracker()} if key.stage in TRAINING else {}
    result = fn(params, root, key, **kwargs)
    recorder.finish(result, time.monotonic() - t0)
    _log_timing(root, key, t0)
    log.info("%s done in %.1f s -> %s", key.dvc_name, time.monotonic() - t0, result.out)
    return result
