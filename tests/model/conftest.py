"""Small real models for the model tests (2 cores shared: one torch thread, tiny widths)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlaser.config.model import ModelSection

CORPUS = [
    "pick up the red cube", "push the cube to the goal", "stack the green cube on the yellow cube",
    "where is the red cube?", "<box>[[120, 340, 560, 780]]</box>", "the cube is left of the plate",
    "<point>[[500, 250]]</point>", "yes", "no", "open the drawer", "pull the cube toward the robot",
] * 3


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # With several helpers on 2 cores, torch's default threads spin against each other (20x slower).
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def small_cfg(**over) -> ModelSection:
    base = {
        "vision": {"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
                   "intermediate_size": 64},
        "text": {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "intermediate_size": 128,
                 "vocab_size": 400, "max_length": 128},
        "expert_hidden_size": 32, "expert_intermediate_size": 64, "state_dim": 9, "action_dim": 7,
        "chunk_size": 4, "exec_horizon": 4, "denoise_steps": 10,
    }
    for key, value in over.items():
        if isinstance(value, dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return ModelSection.model_validate(base)


@pytest.fixture(scope="session")
def cfg() -> ModelSection:
    return small_cfg()


@pytest.fixture(scope="session")
def tokenizer(cfg):
    from vlaser.model.tokenizer import build_tokenizer

    return build_tokenizer(CORPUS, cfg.text.vocab_size)


def make_policy(cfg, tokenizer, seed: int = 0):
    from vlaser.model.policy import VLAPolicy
    from vlaser.model.vlm import init_vlm

    torch.manual_seed(seed)
    return VLAPolicy(init_vlm(cfg, tokenizer, seed), cfg).eval()


def make_batch(cfg, tokenizer, instructions, seed: int = 0, padding_side: str = "right"):
    from vlaser.model.image import ImageProcessor
    from vlaser.model.tokenizer import encode_prompts

    rng = np.random.default_rng(seed)
    b = len(instructions)
    size = cfg.vision.image_size
    rgb = rng.integers(0, 256, (b, size, size, 3), dtype=np.uint8)
    gen = torch.Generator().manual_seed(seed)
    return {
        "pixel_values": ImageProcessor(cfg).batch_uint8(rgb),
        **encode_prompts(tokenizer, cfg, instructions, padding_side=padding_side),
        "state": torch.rand(b, cfg.state_dim, generator=gen) * 2 - 1,
        "actions": torch.rand(b, cfg.chunk_size, cfg.action_dim, generator=gen) * 2 - 1,
    }
