"""The prefix cache for denoising: keys/values of everything that does not depend on the noisy actions.

By the block mask, the prefix (image + instruction) never sees the suffix and the state token sees
only the prefix and itself, so their keys and values at every layer are the same in all K Euler
steps. ``VLAPolicy.build_cache`` computes them once per observation; each step then runs only the P
action tokens through the expert layers, attending to ``[cached keys; action keys]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PrefixCache:
    """Per-layer keys/values (after RoPE) of the prefix + state tokens.

    Attributes:
        keys: per layer ``[B, KV heads, L_cached, head_dim]``.
        values: per layer, same shape.
        valid: bool ``[B, L_cached]``; False on prefix padding.
        prefix_valid: bool ``[B, L_prefix]`` (for the suffix positions).
        action_rope: RoPE (cos, sin) at the P action positions (the same in every step).
        action_mask: bool ``[B, P, L_cached + P]`` (the same in every step).
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    valid: torch.Tensor
    prefix_valid: torch.Tensor
    action_rope: tuple[torch.Tensor, torch.Tensor] | None = None
    action_mask: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return int(self.valid.shape[1])

    def layer(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.keys[i], self.values[i]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))
