"""The π0-style action expert: a second stack of Qwen2-style layers, narrower than the LLM.

Each expert layer has the LLM layer's attention geometry (query heads, key/value heads, head size) so
that its queries, keys and values join the LLM's in one attention (``attention.mixture_layer``), but
its own, smaller residual width and MLP. Depth equals the LLM's: layer i of the expert meets layer i
of the LLM. Inputs and outputs:

* state token: ``state_in`` (D -> W), one token;
* action tokens: ``action_in`` (A -> W) fused with a sinusoidal embedding of the flow time by an MLP
  ``[a; tau] -> W -> swish -> W`` (π0's fusion), P tokens;
* velocity: final RMSNorm, then ``action_out`` (W -> A) on the action tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from vlaser.model.flow import time_embedding


class RMSNorm(nn.Module):
    """Qwen2's RMSNorm (normalise in float32, scale by a learned weight)."""

    def __init__(self, width: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:  # one fused op: the denoising loop is launch-bound on small models
            return nn.functional.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class SwiGLU(nn.Module):
    def __init__(self, width: int, inner: int):
        super().__init__()
        self.gate_proj = nn.Linear(width, inner, bias=False)
        self.up_proj = nn.Linear(width, inner, bias=False)
        self.down_proj = nn.Linear(inner, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class ExpertAttention(nn.Module):
    """q/k/v/o projections with the LLM's head layout (q/k/v with bias, o without, as in Qwen2)."""

    def __init__(self, width: int, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        self.q_proj = nn.Linear(width, heads * head_dim, bias=True)
        self.k_proj = nn.Linear(width, kv_heads * head_dim, bias=True)
        self.v_proj = nn.Linear(width, kv_heads * head_dim, bias=True)
        self.o_proj = nn.Linear(heads * head_dim, width, bias=False)


class ExpertLayer(nn.Module):
    """One Qwen2-style layer of the expert (same attribute names as ``Qwen2DecoderLayer``)."""

    def __init__(self, width: int, inner: int, heads: int, kv_heads: int, head_dim: int, eps: float):
        super().__init__()
        self.input_layernorm = RMSNorm(width, eps)
        self.self_attn = ExpertAttention(width, heads, kv_heads, head_dim)
        self.post_attention_layernorm = RMSNorm(width, eps)
        self.mlp = SwiGLU(width, inner)


class ActionExpert(nn.Module):
    """Expert layers plus the state/action/time input and velocity output weights.

    Args:
        text_config: the LLM's Qwen2Config (depth, heads, head size, norm eps).
        width: expert residual width (``expert_hidden_size``).
        inner: expert MLP width (``expert_intermediate_size``).
        state_dim: D.
        action_dim: A.
    """

    def __init__(self, text_config, width: int, inner: int, state_dim: int, action_dim: int):
        super().__init__()
        heads = text_config.num_attention_heads
        head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
        self.layers = nn.ModuleList(
            ExpertLayer(width, inner, heads, text_config.num_key_value_heads, head_dim, text_config.rms_norm_eps)
            for _ in range(text_config.num_hidden_layers)
        )
        self.norm = RMSNorm(width, text_config.rms_norm_eps)
        self.state_in = nn.Linear(state_dim, width)
        self.action_in = nn.Linear(action_dim, width)
        self.time_mlp_in = nn.Linear(2 * width, width)
        self.time_mlp_out = nn.Linear(width, width)
        self.action_out = nn.Linear(width, action_dim)
        self.width = width
        self._init_weights(text_config.initializer_range)

    def _init_weights(self, std: float) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def embed_state(self, state: torch.Tensor) -> torch.Tensor:
        """``[B, D]`` -> ``[B, 1, W]``."""
        return self.state_in(state)[:, None, :]

    def embed_actions(self, noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noisy actions ``[B, P, A]`` and times ``[B]`` -> action tokens ``[B, P, W]``."""
        a = self.action_in(noisy)
        tau = time_embedding(t, self.width).to(a.dtype)[:, None, :].expand_as(a)
        return self.time_mlp_out(nn.functional.silu(self.time_mlp_in(torch.cat([a, tau], dim=-1))))

    def velocity(self, action_hidden: torch.Tensor) -> torch.Tensor:
        """Final action-token states ``[B, P, W]`` -> velocity ``[B, P, A]``."""
        return self.action_out(self.norm(action_hidden))
