"""VLAAgent: a VLA checkpoint as a simulator policy (the harness's ``Policy`` protocol).

Per call, in order: raw observation -> image to pixel values (ImageProcessor) -> instruction to the
prompt tokens (chat template with one image block) -> proprio normalised with the state stats ->
``sample_actions`` (K Euler steps, prefix cache) in [-1, 1] -> unnormalised with the action stats ->
float32 ``[P, A]`` chunk. ``Observation`` is duck-typed (``rgb``, ``proprio``, ``instruction``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlaser.model.image import ImageProcessor
from vlaser.model.tokenizer import encode_prompts


class VLAAgent:
    """Runs a VLAPolicy on observations.

    Args:
        policy: VLAPolicy (eval mode).
        stats: ``{"state": NormStats, "action": NormStats}``.
        tokenizer: the VLM's tokenizer.
        processor: ImageProcessor for the policy's tile size.
        cfg: ModelSection.
        seed: seed of the sampling noise (reset per ``reset``, so episodes are reproducible).
    """

    def __init__(self, policy, stats, tokenizer, processor: ImageProcessor, cfg, seed: int = 0):
        self.policy, self.stats, self.tokenizer, self.processor, self.cfg = policy, stats, tokenizer, processor, cfg
        self.seed = seed
        self._generator = None
        self._prompt_cache: dict[str, dict] = {}
        self.reset(None)

    @classmethod
    def from_checkpoint(cls, folder: Path, seed: int = 0) -> VLAAgent:
        """Load a VLA folder written by ``vlaser.model.checkpoint.save_vla``."""
        from vlaser.model.checkpoint import load_vla

        policy, stats, cfg = load_vla(Path(folder))
        return cls(policy, stats, policy.tokenizer, ImageProcessor(cfg), cfg, seed)

    def reset(self, task=None) -> None:
        """Start an episode: re-seed the sampling noise."""
        import torch

        self._generator = torch.Generator().manual_seed(self.seed)

    def _prompt(self, instruction: str) -> dict:
        if instruction not in self._prompt_cache:  # one instruction per episode: tokenize once
            self._prompt_cache[instruction] = encode_prompts(self.tokenizer, self.cfg, [instruction])
        return self._prompt_cache[instruction]

    def batch(self, obs) -> dict:
        """The policy batch (B = 1) for one observation."""
        import torch

        rgb = np.asarray(obs.rgb)
        state = self.stats["state"].normalize(np.asarray(obs.proprio, dtype=np.float32)[None])
        return {"pixel_values": self.processor.batch_uint8(rgb[None]), **self._prompt(obs.instruction),
                "state": torch.from_numpy(state)}

    def act(self, obs) -> np.ndarray:
        """float32 ``[P, A]`` actions in the simulator's units."""
        import torch

        with torch.inference_mode():
            chunk = self.policy.sample_actions(self.batch(obs), generator=self._generator)
        return self.stats["action"].unnormalize(chunk[0].cpu().numpy()).astype(np.float32)
