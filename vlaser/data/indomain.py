"""The in-domain stage: simulator frames -> ``data/indomain/<kind>/{train,heldout}.jsonl`` + images.

Train items come from scene seeds in ``indomain.train_seeds``, held-out items from
``indomain.heldout_seeds`` (disjoint ranges, checked by the settings schema and again here per frame).
Held-out records carry ``eval`` (contract in docs/data.md); point items save the target's mask PNG.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.config.data import IndomainSection
from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.data.questions import Item, frame_items
from vlaser.data.store import SplitWriter
from vlaser.io import atomic_dir, write_meta
from vlaser.log import get_logger
from vlaser.sim.groundtruth import FrameGT

log = get_logger("data.indomain")
FrameSource = Callable[[SuiteSpec, TaskSpec, Iterable[int], int], Iterator[FrameGT]]


def stable_int(text: str) -> int:
    """A process-independent integer for seeding (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def frame_rng(seed: int, frame: FrameGT) -> np.random.Generator:
    return np.random.default_rng([seed, frame.seed, frame.step, stable_int(frame.task_id)])


def to_record(item: Item, frame: FrameGT, image: str, index: int, writer: SplitWriter | None) -> dict[str, Any]:
    """An InternVL chat record; with ``writer`` (held-out) it carries ``eval`` and saves the mask."""
    rec: dict[str, Any] = {
        "id": f"{item.kind}-{frame.task_id}-s{frame.seed}-t{frame.step}-{index}",
        "image": image, "width": frame.width, "height": frame.height,
        "conversations": [{"from": "human", "value": f"<image>\n{item.question}"},
                          {"from": "gpt", "value": item.answer}],
        "kind": item.kind, "qtype": item.qtype, "source": f"indomain/{item.kind}",
        "scene_seed": frame.seed, "task_id": frame.task_id,
    }
    if writer is not None:
        ev = dict(item.eval)
        if item.mask is not None:
            ev["mask"] = writer.mask(item.mask)
        rec["eval"] = ev
    return rec


def default_frames(suite_name: str) -> FrameSource:
    """The simulator's frames at the camera's render size (finer masks than the policy's image size)."""
    from vlaser.sim.frames import iter_frames

    def frames(suite: SuiteSpec, task: TaskSpec, seeds: Iterable[int], n: int) -> Iterator[FrameGT]:
        return iter_frames(suite, task, seeds, n, suite_name=suite_name)

    return frames


def build_indomain(cfg: IndomainSection, suite_spec: SuiteSpec, out_root: Path,
                   frame_source: FrameSource | None = None, llm_cache: Path | None = None,
                   llm_transport: Any = None) -> dict[str, Any]:
    """Write ``out_root/<kind>/`` for each kind in ``cfg.kinds``; returns per-kind counts.

    Args:
        cfg: the ``indomain`` settings.
        suite_spec: the suite whose tasks are rendered (``sim.suites[cfg.suite]``).
        out_root: ``data/indomain`` of the workspace.
        frame_source: ``iter_frames``-compatible callable (default: the simulator's).
        llm_cache: response cache of model-based QA (default ``.vlaser/cache/llm``); used when ``cfg.llm.enabled``.
        llm_transport: an httpx transport for the endpoint (tests); None = the network.
    """
    frames_fn = frame_source or default_frames(cfg.suite)
    splits = {"train": range(*cfg.train_seeds), "heldout": range(*cfg.heldout_seeds)}
    with contextlib.ExitStack() as stack:
        folders = {k: stack.enter_context(atomic_dir(Path(out_root) / k)) for k in cfg.kinds}
        writers = {k: stack.enter_context(SplitWriter(folders[k])) for k in cfg.kinds}
        llm_jobs: list | None = [] if cfg.llm.enabled and "qa" in writers else None
        for split, seeds in splits.items():
            for task in suite_spec.tasks:
                _write_task(cfg, frames_fn(suite_spec, task, seeds, cfg.frames_per_episode), split, seeds, writers,
                            llm_jobs if split == "train" else None)
        llm_stats = _add_llm_items(cfg, llm_jobs, writers.get("qa"), llm_cache, llm_transport) if llm_jobs else {}
        summary = {}
        for kind, writer in writers.items():
            writer.close()
            writer.write_split_info({"heldout_seed_range": list(cfg.heldout_seeds),
                                     "train_seed_range": list(cfg.train_seeds)})
            summary[kind] = writer.summary() | ({"llm": llm_stats} if kind == "qa" and llm_stats else {})
            write_meta(folders[kind], "indomain", params=cfg, extra={"kind": kind, **summary[kind]})
            log.info("indomain/%s: %d train, %d held-out items; skipped %s", kind, summary[kind]["train"],
                     summary[kind]["heldout"], summary[kind]["skipped"])
    return summary


def _write_task(cfg: IndomainSection, frames: Iterator[FrameGT], split: str, seeds: range,
                writers: dict[str, SplitWriter], llm_jobs: list | None) -> None:
    seen: set[int] = set()
    for frame in frames:
        if frame.seed not in seeds:  # the split guarantee, checked where it matters
            raise RuntimeError(f"frame source returned seed {frame.seed} for the {split} seeds {seeds}")
        first = frame.seed not in seen
        seen.add(frame.seed)
        skipped: Counter[str] = Counter()
        items = frame_items(frame, list(cfg.kinds), frame_rng(cfg.seed, frame), cfg.min_pixels, skipped, first)
        for reason, n in skipped.items():
            kind, why = reason.split("/", 1)
            writers[kind].skipped[why] += n
        by_kind: dict[str, list[Item]] = {}
        for item in items:
            by_kind.setdefault(item.kind, []).append(item)
        for kind, kind_items in by_kind.items():
            w = writers[kind]
            image = w.image(frame.rgb)
            for i, item in enumerate(kind_items):
                w.add(split, to_record(item, frame, image, i, w if split == "heldout" else None))
        if llm_jobs is not None and len(llm_jobs) < cfg.llm.max_frames:
            llm_jobs.append((frame, writers["qa"].image(frame.rgb)))


def _add_llm_items(cfg: IndomainSection, jobs: list, writer: SplitWriter, cache: Path | None,
                   transport: Any) -> dict[str, int]:
    """Judged model-written pairs for the collected training frames, as ``qtype`` "llm" records."""
    from vlaser.data.generate_llm import FrameRequest, generate
    from vlaser.data.geometry import png_bytes
    from vlaser.runtime import state_dir

    requests = [FrameRequest(f"qa-{f.task_id}-s{f.seed}-t{f.step}", png_bytes(f.rgb), f.instruction,
                             [n for n, o in f.objects.items() if o.pixels >= cfg.min_pixels]) for f, _ in jobs]
    kept, stats = generate(cfg.llm, requests, cache or state_dir() / "cache" / "llm", transport)
    for (frame, image), req in zip(jobs, requests, strict=True):
        for i, pair in enumerate(kept[req.key]):
            writer.add("train", {
                "id": f"{req.key}-llm-{i}", "image": image, "width": frame.width, "height": frame.height,
                "conversations": [{"from": "human", "value": f"<image>\n{pair['question']}"},
                                  {"from": "gpt", "value": pair["answer"]}],
                "kind": "qa", "qtype": "llm", "source": "indomain/qa", "scene_seed": frame.seed,
                "task_id": frame.task_id, "generator": cfg.llm.model, "judge_scores": pair["scores"]})
    return stats
