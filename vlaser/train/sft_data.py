"""Stage-1 data: an InternVL chat JSONL as (token ids, answer-only labels, image tiles) samples.

Every record is encoded once up front with the model's chat template (``encode_conversation``); labels
are -100 except the assistant's answers, so the LM loss covers answer tokens only. Records whose answer
was cut away entirely by ``max_length`` carry no loss and are dropped (and counted). Images are read
when a sample is drawn. ``collate`` pads to the longest sequence of the batch (right padding) and
concatenates the image tiles in record order, as InternVL's forward expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vlaser.errors import UserError
from vlaser.log import get_logger

log = get_logger("train.sft")


def read_records(mixture_dir: Path | None) -> list[dict[str, Any]]:
    """The mixture's ``train.jsonl`` records (validated by the data area's reader); [] for no mixture."""
    if mixture_dir is None:
        return []
    from vlaser.data.records import read_jsonl

    path = Path(mixture_dir) / "train.jsonl"
    if not path.is_file():
        raise UserError(f"{path}: mixture has no train.jsonl (run the mixture stage first)")
    return list(read_jsonl(path))


def record_texts(records: list[dict[str, Any]]) -> list[str]:
    """Every conversation turn's text, without the ``<image>`` placeholder (the tokenizer corpus)."""
    return [str(turn.get("value", "")).replace("<image>", "").strip()
            for rec in records for turn in rec.get("conversations", [])]


def _image_paths(rec: dict[str, Any], root: Path) -> list[Path]:
    image = rec.get("image")
    if not image:
        return []
    return [root / p for p in ([image] if isinstance(image, str) else image)]


def _tiles(rec: dict[str, Any], n_images: int, cfg) -> list[int]:
    """Tiles per image, from the record's width/height (InternVL's grid rule; no image read)."""
    if not cfg.dynamic_tiling or cfg.max_tiles == 1:
        return [1] * n_images
    from vlaser.model.image import tile_grid

    w, h = int(rec.get("width") or 0), int(rec.get("height") or 0)
    if n_images != 1 or w <= 0 or h <= 0:
        return [1] * n_images  # multi-image records: one tile each, as InternVL does
    cols, rows = tile_grid(w, h, cfg.vision.image_size, cfg.max_tiles)
    return [cols * rows + (1 if cols * rows > 1 else 0)]


class SftDataset:
    """Encoded chat records; ``[i]`` reads the record's images into tiles."""

    def __init__(self, records: list[dict[str, Any]], root: Path, tokenizer, processor, cfg):
        from vlaser.model.tokenizer import IGNORE_INDEX, encode_conversation

        self.processor, self.items = processor, []
        dropped = 0
        for rec in records:
            paths = _image_paths(rec, root)
            tiles = _tiles(rec, len(paths), cfg)
            enc = encode_conversation(tokenizer, cfg, rec["conversations"], tiles)
            if all(x == IGNORE_INDEX for x in enc["labels"][1:]):  # the loss shifts labels by one
                dropped += 1
                continue
            self.items.append((enc, paths))
        if dropped:
            log.warning("%d of %d records have no answer token within max_length and are skipped",
                        dropped, len(records))
        if not self.items:
            raise UserError(f"{root}: no record of the mixture has an answer token within "
                            f"model.text.max_length={cfg.text.max_length}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        enc, paths = self.items[i]
        tiles = [self.processor.tiles(p) for p in paths]
        return {**enc, "pixel_values": np.concatenate(tiles) if tiles else None}


class SftCollate:
    """Right-pads ids/labels/mask to the batch max and concatenates the image tiles."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        from vlaser.model.tokenizer import pad_batch

        batch = pad_batch([{k: it[k] for k in ("input_ids", "labels", "attention_mask")} for it in items],
                          self.pad_id, "right")
        images = [it["pixel_values"] for it in items if it["pixel_values"] is not None]
        if images:
            batch["pixel_values"] = torch.from_numpy(np.concatenate(images))
        return batch


class VLMLoss(nn.Module):
    """``compute_loss`` for stage 1: the VLM's own next-token loss over the labelled (answer) tokens."""

    def __init__(self, vlm: nn.Module):
        super().__init__()
        self.vlm = vlm

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        if "pixel_values" in batch:
            batch = {**batch, "pixel_values": batch["pixel_values"].to(next(self.vlm.parameters()).dtype)}
        out = self.vlm(**batch, use_cache=False)
        return out.loss, {"answer_tokens": float((batch["labels"][:, 1:] != -100).sum())}
