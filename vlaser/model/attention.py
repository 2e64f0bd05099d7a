"""Block attention mask, positions, and the joint (mixture-of-transformers) attention layer.

Token groups ("blocks") of one VLA sequence, in order: the prefix (image + instruction tokens, through
the LLM's weights), the state token and the P action tokens (both through the action expert's weights).
A query may attend to a key iff the key is not padding and the key's block is not later than the
query's block. Example: prefix of 3 tokens where the last is padding, 1 state token, 2 action tokens
(``x`` = may attend, ``.`` = masked; rows are queries, columns keys)::

                 p0 p1 p2(pad) s  a0 a1
        p0       x  x  .       .  .  .      prefix: bidirectional within itself,
        p1       x  x  .       .  .  .              never sees the suffix
        p2(pad)  x  x  .       .  .  .      (padding rows still see the valid prefix: no empty rows)
        s        x  x  .       x  .  .      state: prefix and itself
        a0       x  x  .       x  x  x      actions: everything,
        a1       x  x  .       x  x  x               bidirectional among themselves

Positions (RoPE) count valid prefix tokens from 0; the suffix continues after the prefix's last valid
token, so padding never shifts the suffix.

``mixture_layer`` runs one decoder layer over several streams, each with its own weights (the LLM
layer for the prefix, the expert layer for state/actions): per-stream norms and q/k/v projections,
ONE softmax attention over the concatenated keys/values (optionally after cached ones), then
per-stream output projections and MLPs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

PREFIX, STATE, ACTION = 0, 1, 2


def block_ids(prefix_len: int, n_state: int, n_action: int, device=None) -> torch.Tensor:
    """Block index per token: 0 prefix, 1 state, 2 actions."""
    return torch.cat([torch.full((prefix_len,), PREFIX), torch.full((n_state,), STATE),
                      torch.full((n_action,), ACTION)]).to(device)


def block_mask(q_blocks: torch.Tensor, k_blocks: torch.Tensor, k_valid: torch.Tensor) -> torch.Tensor:
    """Bool ``[B, Lq, Lk]``: query i may see key j iff key j is valid and block(j) <= block(i)."""
    allowed = k_blocks[None, :] <= q_blocks[:, None]
    return allowed[None, :, :] & k_valid[:, None, :].bool()


def full_mask(prefix_valid: torch.Tensor, n_state: int, n_action: int) -> torch.Tensor:
    """The whole sequence's mask ``[B, L, L]`` (prefix + state + actions), see the module docstring."""
    b, lp = prefix_valid.shape
    blocks = block_ids(lp, n_state, n_action, prefix_valid.device)
    valid = torch.cat([prefix_valid.bool(), torch.ones(b, n_state + n_action, dtype=torch.bool,
                                                       device=prefix_valid.device)], dim=1)
    return block_mask(blocks, blocks, valid)


def prefix_positions(prefix_valid: torch.Tensor) -> torch.Tensor:
    """RoPE positions of the prefix tokens: 0.. over valid tokens (padding gets the neighbour's, unused)."""
    return (prefix_valid.long().cumsum(-1) - 1).clamp(min=0)


def suffix_positions(prefix_valid: torch.Tensor, offset: int, length: int) -> torch.Tensor:
    """Positions of ``length`` suffix tokens starting ``offset`` tokens after the valid prefix."""
    start = prefix_valid.long().sum(-1, keepdim=True) + offset
    return start + torch.arange(length, device=prefix_valid.device)[None, :]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Softmax attention (one kernel for the cached and uncached paths). q ``[B,H,Lq,D]``, k/v ``[B,KV,Lk,D]``.

    ``scaled_dot_product_attention`` with ``enable_gqa`` shares each key/value head among ``n_rep``
    query heads without copying the cache every denoising step.
    """
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :, :],
                                                            enable_gqa=n_rep > 1)


def _qkv(layer, x: torch.Tensor, cos_sin, head_dim: int):
    attn = layer.self_attn
    h = layer.input_layernorm(x)
    shape = (*x.shape[:-1], -1, head_dim)
    q = attn.q_proj(h).view(shape).transpose(1, 2)
    k = attn.k_proj(h).view(shape).transpose(1, 2)
    v = attn.v_proj(h).view(shape).transpose(1, 2)
    q, k = apply_rotary_pos_emb(q, k, *cos_sin)
    return q, k, v


def mixture_layer(layers: Sequence, hiddens: Sequence[torch.Tensor], cos_sins: Sequence, mask: torch.Tensor,
                  head_dim: int, n_rep: int, past: tuple[torch.Tensor, torch.Tensor] | None = None):
    """One joint decoder layer over several token streams with their own weights.

    Args:
        layers: per stream, a Qwen2-style decoder layer (``input_layernorm``, ``self_attn.{q,k,v,o}_proj``,
            ``post_attention_layernorm``, ``mlp``).
        hiddens: per stream, ``[B, L_i, width_i]``.
        cos_sins: per stream, RoPE ``(cos, sin)`` at that stream's positions.
        mask: bool ``[B, sum L_i, L_past + sum L_i]``.
        head_dim, n_rep: attention head size and query heads per key/value head.
        past: cached keys/values ``[B, KV, L_past, D]`` placed before this call's tokens.

    Returns:
        (new hiddens per stream, (keys, values) of this call's tokens after RoPE).
    """
    qkv = [_qkv(layer, x, cs, head_dim) for layer, x, cs in zip(layers, hiddens, cos_sins, strict=True)]
    q = torch.cat([t[0] for t in qkv], dim=2)
    k_new = torch.cat([t[1] for t in qkv], dim=2)
    v_new = torch.cat([t[2] for t in qkv], dim=2)
    k = k_new if past is None else torch.cat([past[0], k_new], dim=2)
    v = v_new if past is None else torch.cat([past[1], v_new], dim=2)
    out = attend(q, k, v, mask, n_rep).transpose(1, 2)  # [B, Lq, H, D]
    outs, start = [], 0
    for layer, x in zip(layers, hiddens, strict=True):
        piece = out[:, start:start + x.shape[1]].reshape(*x.shape[:2], -1)
        start += x.shape[1]
        h = x + layer.self_attn.o_proj(piece)
        outs.append(h + layer.mlp(layer.post_attention_layernorm(h)))
    return outs, (k_new, v_new)
