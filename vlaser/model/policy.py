"""VLAPolicy: the InternVL VLM + the action expert, trained by flow matching (see ``flow.py``).

Tensors in, tensors out, no I/O. Batch keys (all on the model's device):
    ``pixel_values`` float ``[B, 3, S, S]`` (one tile per observation; see ``ImageProcessor``),
    ``input_ids`` / ``attention_mask`` long ``[B, L]``: the instruction prompt with its image block
    (``tokenizer.encode_prompts``), ``state`` float ``[B, D]`` normalised, ``actions`` float ``[B, P, A]``
    normalised (training only). Optional: ``noise`` ``[B, P, A]`` and ``time`` ``[B]`` to fix the draw.

``compute_loss`` runs the whole sequence (prefix, state, actions) through ONE joint attention per
layer; ``sample_actions`` computes the prefix+state keys/values once (``PrefixCache``) and reuses them in
all K Euler steps; ``sample_actions_naive`` recomputes everything every step (tests, benchmarks).
"""

from __future__ import annotations

import torch
from torch import nn

from vlaser.model import attention as att
from vlaser.model.expert import ActionExpert
from vlaser.model.flow import euler_sample, interpolate, sample_time, target_velocity
from vlaser.model.kv_cache import PrefixCache


class VLAPolicy(nn.Module):
    """π0-style VLA over an ``InternVLForConditionalGeneration``.

    Args:
        vlm: the vision-language model (its LLM layers process the prefix).
        cfg: ModelSection (expert width, state/action dims, chunk size P, denoising steps K).
    """

    def __init__(self, vlm, cfg):
        super().__init__()
        self.vlm = vlm
        text = vlm.config.text_config
        self.expert = ActionExpert(text, cfg.expert_hidden_size, cfg.expert_intermediate_size,
                                   cfg.state_dim, cfg.action_dim).to(next(vlm.parameters()).dtype)
        self.chunk_size, self.action_dim, self.state_dim = cfg.chunk_size, cfg.action_dim, cfg.state_dim
        self.num_steps = cfg.denoise_steps
        self.head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        self.n_rep = text.num_attention_heads // text.num_key_value_heads
        self.image_token_id = vlm.config.image_token_id

    # -- parameter groups (separate learning rates) -------------------------------------------------
    def action_expert_parameters(self) -> list[nn.Parameter]:
        """The expert's own weights (layers, state/action/time in, velocity out)."""
        return list(self.expert.parameters())

    def vlm_parameters(self) -> list[nn.Parameter]:
        """The VLM weights the action loss reaches (vision tower, projector, LLM); not an untied LM head."""
        lm_head = {id(p) for p in self.vlm.lm_head.parameters()}
        shared = {id(p) for p in self.vlm.model.parameters()}
        return [p for p in self.vlm.parameters() if id(p) not in lm_head or id(p) in shared]

    # -- building blocks ----------------------------------------------------------------------------
    @property
    def _lm(self):
        return self.vlm.model.language_model

    @property
    def dtype(self) -> torch.dtype:
        return next(self.expert.parameters()).dtype

    def embed_prefix(self, pixel_values: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings of the prompt with the projected image features in its image slots."""
        embeds = self._lm.embed_tokens(input_ids)
        feats = self.vlm.model.get_image_features(pixel_values=pixel_values.to(embeds.dtype)).pooler_output
        slots = input_ids == self.image_token_id
        if int(slots.sum()) != feats.shape[0] * feats.shape[1]:
            raise ValueError(f"prompt has {int(slots.sum())} image tokens but the images give "
                             f"{feats.shape[0] * feats.shape[1]} features; build prompts with encode_prompts")
        return embeds.masked_scatter(slots[..., None], feats.to(embeds.dtype))

    def _rope(self, x: torch.Tensor, positions: torch.Tensor):
        return self._lm.rotary_emb(x, positions)

    def _layer_pairs(self):
        return zip(self._lm.layers, self.expert.layers, strict=True)

    def joint_forward(self, prefix: torch.Tensor, valid: torch.Tensor, state: torch.Tensor,
                      noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Velocity ``[B, P, A]`` from the full sequence through one joint attention per layer."""
        suffix = torch.cat([self.expert.embed_state(state), self.expert.embed_actions(noisy, t)], dim=1)
        n_act = noisy.shape[1]
        cs_p = self._rope(prefix, att.prefix_positions(valid))
        cs_s = self._rope(suffix, att.suffix_positions(valid, 0, 1 + n_act))
        mask = att.full_mask(valid, 1, n_act)
        h_p, h_s = prefix, suffix
        for vlm_layer, exp_layer in self._layer_pairs():
            (h_p, h_s), _ = att.mixture_layer([vlm_layer, exp_layer], [h_p, h_s], [cs_p, cs_s], mask,
                                              self.head_dim, self.n_rep)
        return self.expert.velocity(h_s[:, 1:])

    def build_cache(self, prefix: torch.Tensor, valid: torch.Tensor, state: torch.Tensor) -> PrefixCache:
        """Keys/values of prefix + state at every layer (computed once per observation)."""
        h_s = self.expert.embed_state(state)
        cs_p = self._rope(prefix, att.prefix_positions(valid))
        cs_s = self._rope(h_s, att.suffix_positions(valid, 0, 1))
        mask = att.full_mask(valid, 1, 0)
        keys, values, h_p = [], [], prefix
        for vlm_layer, exp_layer in self._layer_pairs():
            (h_p, h_s), (k, v) = att.mixture_layer([vlm_layer, exp_layer], [h_p, h_s], [cs_p, cs_s], mask,
                                                   self.head_dim, self.n_rep)
            keys.append(k)
            values.append(v)
        cache_valid = torch.cat([valid.bool(), torch.ones_like(valid[:, :1], dtype=torch.bool)], dim=1)
        # what every step reuses besides keys/values: RoPE at the action positions and the mask
        n_act = self.chunk_size
        rope = self._rope(h_s, att.suffix_positions(valid, 1, n_act))
        keys_valid = torch.cat([cache_valid, torch.ones(valid.shape[0], n_act, dtype=torch.bool, device=valid.device)], 1)
        mask = keys_valid[:, None, :].expand(-1, n_act, -1)
        return PrefixCache(keys, values, cache_valid, valid.bool(), rope, mask)

    def denoise_step(self, cache: PrefixCache, noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Velocity for the action tokens only, attending to the cached prefix + state."""
        h = self.expert.embed_actions(noisy, t)
        for i, layer in enumerate(self.expert.layers):
            (h,), _ = att.mixture_layer([layer], [h], [cache.action_rope], cache.action_mask, self.head_dim,
                                        self.n_rep, past=cache.layer(i))
        return self.expert.velocity(h)

    # -- the two verbs --------------------------------------------------------------------------------
    def _inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        state = batch["state"].to(self.dtype)
        if state.shape[-1] != self.state_dim:
            raise ValueError(f"state has {state.shape[-1]} dims, the policy expects {self.state_dim}")
        prefix = self.embed_prefix(batch["pixel_values"], batch["input_ids"])
        return prefix, batch["attention_mask"].bool(), state

    def compute_loss(self, batch: dict, noise_samples: int = 1,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        """Flow-matching loss (MSE to the target velocity), with ``noise_samples`` draws per observation.

        Returns:
            (scalar loss, {"loss": float}).
        """
        prefix, valid, state = self._inputs(batch)
        x1 = batch["actions"].to(self.dtype)
        if x1.shape[1:] != (self.chunk_size, self.action_dim):
            raise ValueError(f"actions {tuple(x1.shape)} do not match [B, {self.chunk_size}, {self.action_dim}]")
        if noise_samples > 1:  # the image/text embedding is computed once and repeated
            prefix, valid, state, x1 = (x.repeat_interleave(noise_samples, 0) for x in (prefix, valid, state, x1))
        x0 = batch.get("noise")
        x0 = torch.randn(x1.shape, generator=generator, dtype=torch.float32).to(x1) if x0 is None else x0.to(x1)
        t = batch.get("time")
        t = sample_time(x1.shape[0], generator).to(x1.device) if t is None else t.to(x1.device)
        v = self.joint_forward(prefix, valid, state, interpolate(x0, x1, t), t)
        loss = (v.float() - target_velocity(x0, x1).float()).pow(2).mean()
        return loss, {"loss": float(loss.detach())}

    def _noise(self, b: int, noise, generator) -> torch.Tensor:
        if noise is None:
            noise = torch.randn((b, self.chunk_size, self.action_dim), generator=generator, dtype=torch.float32)
        return noise.to(self.dtype)

    @torch.no_grad()
    def sample_actions(self, batch: dict, num_steps: int | None = None, noise: torch.Tensor | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """K Euler steps from noise with the prefix cache; float32 ``[B, P, A]`` in [-1, 1] (normalised)."""
        prefix, valid, state = self._inputs(batch)
        cache = self.build_cache(prefix, valid, state)
        x0 = self._noise(prefix.shape[0], noise, generator).to(prefix.device)
        out = euler_sample(lambda x, t: self.denoise_step(cache, x, t), x0, num_steps or self.num_steps)
        return out.float()

    @torch.no_grad()
    def sample_actions_naive(self, batch: dict, num_steps: int | None = None, noise: torch.Tensor | None = None,
                             generator: torch.Generator | None = None) -> torch.Tensor:
        """The same sampler without a cache: image, prompt, state and actions recomputed every step."""
        x0 = self._noise(batch["state"].shape[0], noise, generator)

        def velocity(x, t):
            prefix, valid, state = self._inputs(batch)
            return self.joint_forward(prefix, valid, state, x, t)

        return euler_sample(velocity, x0.to(batch["state"].device), num_steps or self.num_steps).float()
