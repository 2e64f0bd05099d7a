"""The out-of-domain stage: ``data/ood/<name>/{train,heldout}.jsonl`` + images, from one declared source.

Kinds (``ood.sources.<name>.kind``):
  procedural  the offline default (vlaser/data/ood_procedural.py); train scenes use scene seeds
              0..n-1, held-out scenes seeds from HELDOUT_SEED_OFFSET on, so no scene is in both.
  jsonl       an InternVL chat JSONL on disk (``annotation``; images relative to ``root``, default the
              JSONL's folder), streamed and validated; the first ``n_train`` valid records are taken.
  meta        an InternVL meta file (``annotation``); relative paths in it resolve against ``root``
              (default: the meta file's folder); records are taken from its entries in turn.
Images of external sources are hard-linked into ``images/`` (copied across file systems) under a
content-derived name, so the folder is self-contained and identical images are stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.config.data import OodSource
from vlaser.data.ood_procedural import draw_scene, scene_items
from vlaser.data.records import image_paths, parse_boxes, read_jsonl, read_meta_file
from vlaser.data.store import SplitWriter
from vlaser.errors import UserError
from vlaser.io import atomic_dir, write_meta
from vlaser.log import get_logger
from vlaser.runtime import workspace_root

log = get_logger("data.ood")
HELDOUT_SEED_OFFSET = 1_000_000
ITEMS_PER_SCENE = 4  # questions sampled per procedural image (more images, less repetition)


def build_ood(name: str, src: OodSource, out: Path, base: Path | None = None) -> dict[str, Any]:
    """Write one out-of-domain source folder atomically; returns counts.

    Args:
        name: the source's name (``ood.sources`` key); records get ``"source": "ood/<name>"``.
        src: its settings.
        out: ``data/ood/<name>``.
        base: folder that relative ``annotation``/``root`` paths are resolved against (default: the workspace).
    """
    base = Path(base) if base is not None else workspace_root()
    with atomic_dir(out) as tmp, SplitWriter(tmp) as writer:
        if src.kind == "procedural":
            _procedural(name, src, writer)
            extra: dict[str, Any] = {"heldout_seed_offset": HELDOUT_SEED_OFFSET}
        else:
            skipped = _external(name, src, base, writer)
            extra = {"skipped_lines": skipped}
        writer.close()
        writer.write_split_info(extra)
        summary = {**writer.summary(), **extra}
        write_meta(tmp, "ood", params=src, extra={"source": name, **summary})
    log.info("ood/%s: %d train, %d held-out records", name, summary["train"], summary["heldout"])
    return summary


# ----------------------------------------------------------------------------------------- procedural
def _procedural(name: str, src: OodSource, writer: SplitWriter) -> None:
    for split, n_items, offset in (("train", src.n_train, 0), ("heldout", src.n_heldout, HELDOUT_SEED_OFFSET)):
        made, scene = 0, offset
        while made < n_items:
            rng = np.random.default_rng([src.seed, scene])
            img, shapes = draw_scene(int(rng.integers(2**31)), src.image_size)
            items = scene_items(shapes, rng)
            pick = rng.choice(len(items), size=min(ITEMS_PER_SCENE, len(items), n_items - made), replace=False)
            image = writer.image(img)
            for j in sorted(pick):
                it = items[j]
                rec = {"id": f"ood-{name}-{split}-s{scene}-{j}", "image": image, "width": src.image_size,
                       "height": src.image_size,
                       "conversations": [{"from": "human", "value": f"<image>\n{it.question}"},
                                         {"from": "gpt", "value": it.answer}],
                       "kind": "ood", "qtype": it.qtype, "source": f"ood/{name}", "scene_seed": scene}
                if split == "heldout":
                    rec["eval"] = {**it.eval, **({"mask": writer.mask(it.mask)} if it.mask is not None else {})}
                writer.add(split, rec)
                made += 1
            scene += 1


# ------------------------------------------------------------------------------------------- external
def _resolve(base: Path, p: str | None) -> Path | None:
    return None if p is None else (Path(p) if Path(p).is_absolute() else base / p)


def _entries(src: OodSource, base: Path, annotation: str) -> list[tuple[Path, Path]]:
    """(annotation, root) pairs of a jsonl source or of every entry of a meta file."""
    ann = _resolve(base, annotation)
    root = _resolve(base, src.root)
    if src.kind == "jsonl":
        return [(ann, root or ann.parent)]
    meta = read_meta_file(ann, base=root)
    return [(Path(e["annotation"]), Path(e["root"])) for e in meta.values()]


def _external(name: str, src: OodSource, base: Path, writer: SplitWriter) -> int:
    skipped = 0
    plans = [("train", src.annotation, src.n_train)]
    if src.heldout_annotation:
        plans.append(("heldout", src.heldout_annotation, src.n_heldout))
    for split, annotation, limit in plans:
        entries = _entries(src, base, annotation)
        quotas = [limit // len(entries) + (1 if i < limit % len(entries) else 0) for i in range(len(entries))]
        for (ann, root), quota in zip(entries, quotas, strict=True):
            reader = read_jsonl(ann, lenient=src.lenient, root=root)
            for rec in _take(reader, quota):
                writer.add(split, _import_record(rec, name, root, writer, split))
            skipped += reader.skipped
            if reader.skipped:
                log.warning("%s: skipped %d malformed line(s), e.g. %s", ann, reader.skipped, reader.problems[0])
    return skipped


def _take(records: Iterator[dict], n: int) -> Iterator[dict]:
    for i, rec in enumerate(records):
        if i >= n:
            return
        yield rec


def _import_record(rec: dict[str, Any], name: str, root: Path, writer: SplitWriter, split: str) -> dict:
    """Link the record's images into the folder and point the record at them."""
    rec = dict(rec)
    paths = [_link_image(root / p, writer) for p in image_paths(rec)]
    if paths:
        rec["image"] = paths[0] if isinstance(rec["image"], str) else paths
    rec.setdefault("kind", "ood")
    rec["source"] = f"ood/{name}"
    if split == "heldout" and "eval" not in rec:
        answer = rec["conversations"][1]["value"]
        boxes = parse_boxes(answer)
        rec["eval"] = ({"type": "box", "answer": answer, "box": [round(v) for v in boxes[0]]}
                       if boxes and len(boxes) == 1 else {"type": "exact", "answer": answer})
    elif "eval" in rec and "mask" in rec["eval"]:
        rec["eval"] = {**rec["eval"], "mask": _link_image(root / rec["eval"]["mask"], writer, "masks")}
    return rec


def _link_image(path: Path, writer: SplitWriter, sub: str = "images") -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    rel = f"{sub}/{digest}{path.suffix.lower()}"
    dest = writer.folder / rel
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(path, dest)
    if not dest.is_file():
        raise UserError(f"{path}: could not be linked or copied into {dest}")
    return rel
