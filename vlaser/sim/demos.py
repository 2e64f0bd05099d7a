"""Expert demonstrations: record them through the harness's rollout, store them byte-reproducibly, load them.

Layout of ``data/demos/<suite>/`` (written atomically; the same settings give byte-identical files,
``meta.json`` aside, which holds a creation time)::

    manifest.json                     counts, seeds, per-episode digests, overall digest
    episodes/<task_id>/s<seed>.safetensors   rgb uint8 [T,S,S,3], proprio float32 [T,D], actions float32 [T,A]
    meta.json                         vlaser.io.write_meta (kind "demos")

Per-episode facts that are not arrays (instruction, success, phases) live in the manifest, not in the
safetensors header, so every file is a pure function of its arrays. Failed expert episodes are dropped
and counted.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from vlaser.config.sim import DemosSection, SuiteSpec, TaskSpec
from vlaser.errors import UserError
from vlaser.io import atomic_dir, json_digest, write_json, write_meta
from vlaser.log import get_logger, progress_bar
from vlaser.sim.envs import SimEnv
from vlaser.sim.policies import ExpertPolicy
from vlaser.sim.rollout import run_episode
from vlaser.sim.types import Episode

log = get_logger("sim.demos")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def record_demos(suite_name: str, suite: SuiteSpec, cfg: DemosSection, out: Path) -> dict:
    """Record ``cfg.episodes_per_task`` successful expert episodes per task into ``out``.

    Seeds ``cfg.seed, cfg.seed + 1, ...`` are tried per task until enough succeed or
    ``ceil(max_attempts_factor * episodes_per_task)`` attempts are spent. Returns the summary
    (also the manifest's "counts"): {"episodes", "failed", "attempted", "tasks": {...}}.
    """
    from vlaser.sim.checks import check_rendering, check_suite

    check_suite(suite_name, suite)
    check_rendering()
    attempts = math.ceil(cfg.max_attempts_factor * cfg.episodes_per_task)
    entries: list[dict] = []
    tasks: dict[str, dict] = {}
    with atomic_dir(out) as tmp:
        bar = progress_bar(len(suite.tasks) * cfg.episodes_per_task, desc=f"demos {suite_name}", unit="ep")
        for task in suite.tasks:
            kept, failed = _record_task(suite_name, suite, task, cfg, attempts, tmp, bar)
            entries.extend(kept)
            tasks[task.id] = {"kept": len(kept), "failed": len(failed), "attempted": len(kept) + len(failed),
                              "seeds_kept": [e["seed"] for e in kept], "seeds_failed": failed}
            if len(kept) < cfg.episodes_per_task:
                log.warning("%s: only %d of %d demos after %d attempts", task.id, len(kept),
                            cfg.episodes_per_task, attempts)
        bar.close()
        counts = {"episodes": len(entries), "failed": sum(t["failed"] for t in tasks.values()),
                  "attempted": sum(t["attempted"] for t in tasks.values()), "tasks": tasks}
        manifest = {"format_version": FORMAT_VERSION, "suite": suite_name, "image_size": suite.image_size,
                    "settings": cfg.model_dump(mode="json"), "counts": counts, "episodes": entries,
                    "digest": json_digest([e["digest"] for e in entries])}
        write_json(tmp / MANIFEST, manifest)
        write_meta(tmp, "demos", cfg, extra={"episodes": counts["episodes"], "failed": counts["failed"]})
    return counts


def _record_task(suite_name: str, suite: SuiteSpec, task: TaskSpec, cfg: DemosSection, attempts: int,
                 tmp: Path, bar) -> tuple[list[dict], list[int]]:
    sim = SimEnv(suite_name, suite, task)
    policy = ExpertPolicy()
    policy.bind(sim)
    kept: list[dict] = []
    failed: list[int] = []
    try:
        for i in range(attempts):
            if len(kept) >= cfg.episodes_per_task:
                break
            r = run_episode(sim, policy, cfg.seed + i, record=True)
            if not r.success:
                failed.append(r.seed)
                continue
            s = slice(None, None, cfg.frame_stride)
            arrays = {"rgb": np.stack(r.rgb)[s], "proprio": np.stack(r.proprio)[s].astype(np.float32),
                      "actions": np.stack(r.actions)[s].astype(np.float32)}
            rel = f"episodes/{task.id}/s{r.seed}.safetensors"
            digest = write_arrays(tmp / rel, arrays)
            kept.append({"file": rel, "task_id": task.id, "seed": r.seed, "instruction": task.instruction,
                         "steps": r.steps, "frames": int(arrays["actions"].shape[0]), "success": True,
                         "phases": r.phases[s], "digest": digest})
            bar.update(1)
    finally:
        sim.close()
    return kept, failed


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Deterministic safetensors file (no metadata; tensors in sorted order); returns its sha256."""
    from safetensors.numpy import save

    data = save({k: np.ascontiguousarray(arrays[k]) for k in sorted(arrays)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_demos(folder: Path, verify: bool = True) -> list[Episode]:
    """All episodes of a demos folder, in manifest order; UserError naming a missing or altered file."""
    from safetensors.numpy import load

    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise UserError(f"{path}: no demos manifest (record demos first: `vlaser stage demos`)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: corrupt manifest ({err.msg})") from None
    episodes = []
    for e in manifest["episodes"]:
        f = folder / e["file"]
        if not f.is_file():
            raise UserError(f"{f}: demo file listed in {path} is missing")
        data = f.read_bytes()
        if verify and hashlib.sha256(data).hexdigest() != e["digest"]:
            raise UserError(f"{f}: content digest differs from {path} (file altered or truncated)")
        try:
            arrays = load(data)
        except Exception as err:  # safetensors raises its own error types for bad headers
            raise UserError(f"{f}: not a readable safetensors file ({err})") from None
        episodes.append(Episode(task_id=e["task_id"], seed=int(e["seed"]), instruction=e["instruction"],
                                rgb=arrays["rgb"], proprio=arrays["proprio"], actions=arrays["actions"],
                                success=bool(e["success"]), phases=list(e["phases"])))
    return episodes
