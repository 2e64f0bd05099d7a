"""Writing one data folder: ``{train,heldout}.jsonl`` + ``images/`` (+ ``masks/``), with counters.

Images are stored once under a content-derived name (``images/<sha256[:16]>.png``), so an image shared
by many questions is written once and identical images are the same file. Paths in records are
relative to the folder (the JSONL's folder), as InternVL's loader expects with ``root`` = the folder.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.data.geometry import png_bytes
from vlaser.data.records import validate_record

SPLITS = ("train", "heldout")


class SplitWriter:
    """Appends validated records to ``folder/{train,heldout}.jsonl``; use as a context manager."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        # closed in close() / __exit__: the writer outlives any single with-block
        self._files = {s: open(self.folder / f"{s}.jsonl", "w", encoding="utf-8") for s in SPLITS}  # noqa: SIM115
        self.counts: Counter[str] = Counter()  # "<split>/<qtype>" -> records
        self.skipped: Counter[str] = Counter()  # reason -> items skipped
        self.heldout_scenes: set[int] = set()
        self._written: set[str] = set()

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def _store(self, data: bytes, sub: str, suffix: str = ".png") -> str:
        rel = f"{sub}/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        if rel not in self._written:
            (self.folder / sub).mkdir(exist_ok=True)
            (self.folder / rel).write_bytes(data)
            self._written.add(rel)
        return rel

    def image(self, rgb: np.ndarray) -> str:
        """Store an RGB frame; returns its path relative to the folder."""
        return self._store(png_bytes(rgb), "images")

    def image_bytes(self, data: bytes, suffix: str) -> str:
        """Store an already-encoded image file (kept byte for byte)."""
        return self._store(data, "images", suffix)

    def mask(self, mask: np.ndarray) -> str:
        """Store a boolean mask as PNG (255 = inside); returns its relative path."""
        return self._store(png_bytes(mask.astype(bool)), "masks")

    def add(self, split: str, record: dict[str, Any]) -> None:
        """Validate and append one record (a bug in a generator fails loudly here)."""
        problem = validate_record(record)
        if problem:
            raise ValueError(f"generated record {record.get('id')} is invalid: {problem}")
        self._files[split].write(json.dumps(record, ensure_ascii=False) + "\n")
        self.counts[f"{split}/{record.get('qtype', record.get('kind', 'item'))}"] += 1
        if split == "heldout" and isinstance(record.get("scene_seed"), int):
            self.heldout_scenes.add(record["scene_seed"])

    def summary(self) -> dict[str, Any]:
        per_split = Counter()
        for key, n in self.counts.items():
            per_split[key.split("/", 1)[0]] += n
        return {"train": per_split["train"], "heldout": per_split["heldout"],
                "by_type": dict(sorted(self.counts.items())), "skipped": dict(sorted(self.skipped.items()))}

    def write_split_info(self, extra: dict[str, Any]) -> None:
        """``split.json``: held-out scene seeds (the mixture's leak check reads it) and counts."""
        info = {**self.summary(), "heldout_scene_seeds": sorted(self.heldout_scenes), **extra}
        (self.folder / "split.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
