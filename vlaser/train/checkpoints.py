"""Training checkpoints: step folders, the ``last`` pointer, RNG capture, the resume guard.

Layout (everything safetensors or JSON; nothing pickled)::

    <out>/.train_state/
      last                         text: name of the newest complete step folder
      step_<N>/                    state after N optimizer steps
        model.safetensors          weights (rank 0)
        optimizer_rank<R>.json     optimizer state of process R: structure and scalars ...
        optimizer_rank<R>.safetensors   ... and its tensors (ZeRO: that rank's flat partitions)
        scheduler.json (+ .safetensors)  LambdaLR state
        rng_rank<R>.json (+ .safetensors) torch / CUDA / numpy / python RNG states of process R
        state.json                 step, data position, settings, world size, engine, last metrics

A step folder is written under ``.step_<N>.partial`` and renamed when every process has written its
files, so a killed run never leaves a half-written ``step_<N>``; the ``last`` pointer is replaced
atomically after the rename. The newest two step folders are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vlaser.errors import UserError
from vlaser.train import distributed as dist
from vlaser.train.serialize import load_tree, save_tree

STATE_DIR = ".train_state"
KEEP = 2
# settings that may change between a run and its resume without changing the numbers
RESUME_MAY_CHANGE = ("checkpoint_every",)


def state_root(out: Path) -> Path:
    return Path(out) / STATE_DIR


def capture_rng() -> dict[str, Any]:
    """Every RNG the loop and the model may draw from."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists kept as values)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for k, v in tree.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def guard_resume(saved: dict[str, Any], current: dict[str, Any], folder: Path) -> None:
    """Refuse a resume whose settings differ from the checkpoint's, naming every differing key."""
    a, b = flatten(saved), flatten(json.loads(json.dumps(current, default=str)))
    diff = sorted(k for k in set(a) | set(b)
                  if a.get(k, "<absent>") != b.get(k, "<absent>") and k.rsplit(".", 1)[-1] not in RESUME_MAY_CHANGE)
    if diff:
        shown = "; ".join(f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}" for k in diff[:12])
        raise UserError(
            f"{folder}: cannot resume, the settings differ from the checkpoint's ({shown}). Restore those "
            f"settings, or delete {folder.parent} to start over.")


def latest(out: Path) -> Path | None:
    """The newest complete step folder named by ``last`` (None when the run has none)."""
    root = state_root(out)
    pointer = root / "last"
    if not pointer.is_file():
        return None
    folder = root / pointer.read_text().strip()
    if not (folder / "state.json").is_file():
        raise UserError(f"{pointer}: names {folder.name}, which is missing or incomplete; delete {root} "
                        "to start over")
    return folder


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save(out: Path, step: int, engine, info: dict[str, Any]) -> Path:
    """Write ``step_<step>`` for every process (collective call); returns the folder."""
    root, rank = state_root(out), engine.dist.rank
    final, partial = root / f"step_{step}", root / f".step_{step}.partial"
    if rank == 0:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    dist.barrier()
    save_tree(engine.optimizer_state(), partial, f"optimizer_rank{rank}")
    save_tree(capture_rng(), partial, f"rng_rank{rank}")
    if rank == 0:
        weights = {k: v.detach().to("cpu").clone().contiguous() for k, v in engine.model.state_dict().items()}
        save_file(weights, str(partial / "model.safetensors"))
        save_tree(engine.scheduler.state_dict(), partial, "scheduler")
        (partial / "state.json").write_text(json.dumps({"step": step, **info}, indent=1, default=str) + "\n")
    dist.barrier()
    if rank == 0:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        _write_text_atomic(root / "last", final.name + "\n")
        steps = sorted((int(p.name.split("_")[1]), p) for p in root.glob("step_*") if p.is_dir())
        for _, old in steps[:-KEEP]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return final


def load(folder: Path, engine, settings: dict[str, Any]) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and RNG from ``folder`` into ``engine``; returns state.json."""
    state = json.loads((folder / "state.json").read_text())
    guard_resume(state["settings"], settings, folder)
    if state.get("world_size") != engine.dist.world_size:
        raise UserError(f"{folder}: written by {state.get('world_size')} processes, resumed with "
                        f"{engine.dist.world_size}; resume with the same number of processes")
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{weights}: missing (incomplete training checkpoint)")
    # strict: a checkpoint of another architecture must not half-load
    engine.model.load_state_dict(load_file(str(weights), device=str(engine.device)), strict=True)
    engine.load_optimizer_state([load_tree(folder, f"optimizer_rank{r}") for r in range(engine.dist.world_size)])
    engine.scheduler.load_state_dict(load_tree(folder, "scheduler"))
    restore_rng(load_tree(folder, f"rng_rank{engine.dist.rank}"))
    return state
