"""Stage-2 data: demonstrations as (frame, instruction, state) -> chunk of P actions.

Every step ``t`` of every demo is a sample: the frame ``rgb[t]``, the proprio state ``proprio[t]`` and
the actions ``actions[t : t+P]``, with the episode's last action repeated past its end (so the policy
learns to keep doing the final action, e.g. hold the gripper, instead of seeing padding). States and
actions are normalised to [-1, 1] with ``NormStats`` computed from these training demos; the gripper
command (every 7th action dimension, the last one of each arm) is binarised.

``DemoCollate`` shifts each frame by a random offset of up to ``image_shift`` pixels (edge padding then
crop back, drawn from torch's global RNG, which the loop checkpoints) and builds the policy batch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from vlaser.errors import UserError

ARM_ACTION_DIM = 7  # pd_ee_delta_pose: 6 pose deltas + gripper, per arm


def select_demos(episodes: list, per_task: int | None) -> list:
    """The first ``per_task`` demos of each task, in stored order (all when None)."""
    if per_task is None:
        return list(episodes)
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for ep in episodes:
        if seen[ep.task_id] < per_task:
            seen[ep.task_id] += 1
            kept.append(ep)
    return kept


def gripper_dims(action_dim: int) -> tuple[int, ...]:
    """Indices of the gripper commands (binarised): the last of every 7 dims; none for other layouts."""
    return tuple(range(ARM_ACTION_DIM - 1, action_dim, ARM_ACTION_DIM)) if action_dim % ARM_ACTION_DIM == 0 else ()


def demo_stats(episodes: list) -> dict[str, Any]:
    """``{"state", "action"}`` NormStats from the training demos (1st/99th percentiles)."""
    from vlaser.model.normalize import NormStats

    if not episodes:
        raise UserError("no demonstrations to train on")
    actions = np.concatenate([ep.actions for ep in episodes])
    return {"state": NormStats.from_data(np.concatenate([ep.proprio for ep in episodes])),
            "action": NormStats.from_data(actions, binary=gripper_dims(actions.shape[-1]))}


def chunk(actions: np.ndarray, t: int, size: int) -> np.ndarray:
    """``actions[t : t+size]`` with the last action repeated past the end."""
    idx = np.minimum(np.arange(t, t + size), len(actions) - 1)
    return actions[idx]


class DemoChunks:
    """One sample per demo step."""

    def __init__(self, episodes: list, stats: dict[str, Any], chunk_size: int, state_dim: int, action_dim: int):
        self.episodes = episodes
        self.states = [stats["state"].normalize(ep.proprio) for ep in episodes]
        self.actions = [stats["action"].normalize(ep.actions) for ep in episodes]
        self.chunk_size = chunk_size
        for ep in episodes:
            if ep.proprio.shape[-1] != state_dim or ep.actions.shape[-1] != action_dim:
                raise UserError(f"demo {ep.task_id}/seed {ep.seed}: state {ep.proprio.shape[-1]} / action "
                                f"{ep.actions.shape[-1]} dims, model expects {state_dim} / {action_dim} "
                                "(model.state_dim / model.action_dim)")
        self.index = [(e, t) for e, ep in enumerate(episodes) for t in range(len(ep.actions))]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        e, t = self.index[i]
        ep = self.episodes[e]
        return {"rgb": ep.rgb[t], "state": self.states[e][t], "actions": chunk(self.actions[e], t, self.chunk_size),
                "instruction": ep.instruction}


def random_shift(rgb: np.ndarray, pad: int) -> np.ndarray:
    """Shift each uint8 frame ``[B, H, W, 3]`` by up to ``pad`` px (edge padding, then crop)."""
    if pad <= 0:
        return rgb
    b, h, w, _ = rgb.shape
    padded = np.pad(rgb, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    offsets = torch.randint(0, 2 * pad + 1, (b, 2)).numpy()
    return np.stack([padded[i, y:y + h, x:x + w] for i, (y, x) in enumerate(offsets)])


class DemoCollate:
    """Samples -> the VLAPolicy batch (pixel_values, prompt ids/mask, state, actions)."""

    def __init__(self, tokenizer, processor, cfg, image_shift: int):
        from vlaser.model.tokenizer import prompt_text, special_ids

        self.tokenizer, self.processor, self.cfg, self.shift = tokenizer, processor, cfg, image_shift
        self.pad_id = special_ids(tokenizer)["pad"]
        self._prompt_text = prompt_text
        self._ids: dict[str, list[int]] = {}

    def _prompt(self, instruction: str) -> list[int]:
        if instruction not in self._ids:
            text = self._prompt_text(instruction, 1, self.cfg)
            self._ids[instruction] = self.tokenizer.encode(text, add_special_tokens=False)
        return self._ids[instruction]

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        from vlaser.model.tokenizer import pad_batch

        rgb = random_shift(np.stack([it["rgb"] for it in items]), self.shift)
        ids = [self._prompt(it["instruction"]) for it in items]
        batch = pad_batch([{"input_ids": s, "attention_mask": [1] * len(s)} for s in ids], self.pad_id, "left")
        batch["pixel_values"] = self.processor.batch_uint8(rgb)
        batch["state"] = torch.from_numpy(np.stack([it["state"] for it in items]))
        batch["actions"] = torch.from_numpy(np.stack([it["actions"] for it in items]))
        return batch


class FlowLoss(nn.Module):
    """``compute_loss`` for stage 2: the policy's flow-matching loss with ``noise_samples`` draws."""

    def __init__(self, policy: nn.Module, noise_samples: int):
        super().__init__()
        self.policy, self.noise_samples = policy, noise_samples

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        return self.policy.compute_loss(batch, noise_samples=self.noise_samples)
