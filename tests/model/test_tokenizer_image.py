"""Tokenizer, chat template, <image> expansion, labels, and PIL/numpy image tiling."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.model.conftest import CORPUS, small_cfg
from vlaser.errors import UserError
from vlaser.model.image import IMAGENET_MEAN, IMAGENET_STD, ImageProcessor, tile_grid
from vlaser.model.tokenizer import (
    IGNORE_INDEX,
    IMG_CONTEXT,
    build_tokenizer,
    encode_conversation,
    special_ids,
    tokens_per_tile,
)

CONV = [{"from": "human", "value": "<image>\nwhere is the red cube?"},
        {"from": "gpt", "value": "<box>[[120, 340, 560, 780]]</box>"},
        {"from": "human", "value": "is it left of the plate?"},
        {"from": "gpt", "value": "yes"}]


def test_tokenizer_is_deterministic_and_has_internvl_tokens(tokenizer):
    again = build_tokenizer(list(reversed(CORPUS)), 400)
    assert again.backend_tokenizer.to_str() == tokenizer.backend_tokenizer.to_str()
    ids = special_ids(tokenizer)
    assert len(set(ids.values())) == len(ids)
    for markup in ("<box>", "</box>", "<ref>"):
        assert len(tokenizer.encode(markup, add_special_tokens=False)) == 1


def test_labels_only_on_assistant_tokens(tokenizer, cfg):
    enc = encode_conversation(tokenizer, cfg, CONV, n_images=1)
    ids, labels = enc["input_ids"], enc["labels"]
    assert len(ids) == len(labels) == len(enc["attention_mask"])
    answers = tokenizer.decode([i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE_INDEX])
    assert answers == "<box>[[120, 340, 560, 780]]</box><|im_end|>yes<|im_end|>"
    for i, lab in zip(ids, labels, strict=True):
        assert lab in (IGNORE_INDEX, i)
    prompt = tokenizer.decode([i for i, lab in zip(ids, labels, strict=True) if lab == IGNORE_INDEX])
    assert "where is the red cube?" in prompt and "<|im_start|>assistant" in prompt
    assert ids.count(tokenizer.convert_tokens_to_ids(IMG_CONTEXT)) == tokens_per_tile(cfg) == 4


def test_image_expansion_counts_tiles_and_default_placement(tokenizer, cfg):
    image_id = tokenizer.convert_tokens_to_ids(IMG_CONTEXT)
    conv = [{"from": "human", "value": "describe"}, {"from": "gpt", "value": "a cube"}]
    enc = encode_conversation(tokenizer, cfg, conv, n_images=[3, 1])  # no placeholder: images go first
    assert enc["input_ids"].count(image_id) == 4 * tokens_per_tile(cfg)
    text = tokenizer.decode(enc["input_ids"])
    assert text.index("</img>") < text.index("describe")
    with pytest.raises(UserError, match="2 '<image>' placeholders but 1 images"):
        encode_conversation(tokenizer, cfg, [{"from": "human", "value": "<image><image>"}], n_images=1)
    with pytest.raises(UserError, match="do not fit"):
        encode_conversation(tokenizer, cfg, CONV, n_images=1, max_length=5)
    with pytest.raises(UserError, match="unknown role"):
        encode_conversation(tokenizer, cfg, [{"from": "robot", "value": "hi"}])


def test_tile_grid_follows_aspect_ratio():
    assert tile_grid(448, 448, 448, 6) == (1, 1)
    assert tile_grid(896, 448, 448, 6) == (2, 1)
    assert tile_grid(300, 900, 448, 6) == (1, 3)
    assert tile_grid(1344, 896, 448, 6) == (3, 2)
    assert tile_grid(5000, 100, 448, 4) == (4, 1)


def test_processor_tiles_and_normalises():
    flat = ImageProcessor(small_cfg())
    white = np.full((50, 70, 3), 255, np.uint8)
    x = flat.tiles(white)
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32
    assert np.allclose(x[0, :, 0, 0], (1 - IMAGENET_MEAN) / IMAGENET_STD, atol=1e-5)
    tiled = ImageProcessor(small_cfg(dynamic_tiling=True, max_tiles=6))
    wide = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8))
    small_square = np.full((30, 30, 3), 128, np.uint8)
    pv, tiles = tiled([wide, small_square, white])
    # 2:1 -> 2 tiles + thumbnail; a small square -> 1 tile; 70x50 (aspect 1.4) -> 3x2 grid + thumbnail
    assert tiles == [3, 1, 7]
    assert pv.shape == (11, 3, 32, 32)
    left = (np.asarray(wide)[:, :32].astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    assert np.allclose(pv[0].numpy().transpose(1, 2, 0), left, atol=1e-5)  # first tile = left half
    frames = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    assert flat.batch_uint8(frames).shape == (2, 3, 32, 32)
