"""Model settings: the InternVL3 backbone and the flow-matching action expert."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vlaser.config.base import Section


class VisionSpec(Section):
    image_size: int = Field(64, ge=14)
    patch_size: int = Field(8, ge=1)
    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(4, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(512, gt=0)


class TextSpec(Section):
    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(4, gt=0)
    num_heads: int = Field(4, gt=0)
    num_kv_heads: int = Field(2, gt=0)
    intermediate_size: int = Field(512, gt=0)
    vocab_size: int = Field(2048, gt=0)  # tiny: size of the BPE tokenizer trained on the project's text
    max_length: int = Field(256, gt=0)


class ModelSection(Section):
    source: Literal["tiny", "local"] = "tiny"  # tiny random-init config, or a local InternVL3-*-hf folder
    path: str | None = None  # local: folder with config.json, safetensors, tokenizer
    vision: VisionSpec = VisionSpec()
    text: TextSpec = TextSpec()
    dynamic_tiling: bool = False
    max_tiles: int = Field(1, ge=1)
    dtype: Literal["float32", "bfloat16"] = "float32"
    # action expert (pi0-style): same depth as the LLM, smaller width
    expert_hidden_size: int = Field(64, gt=0)
    expert_intermediate_size: int = Field(256, gt=0)
    state_dim: int = Field(9, gt=0)  # proprio: tcp xyz + quaternion + 2 gripper joints
    action_dim: int = Field(7, gt=0)  # ee delta pose (6) + gripper
    chunk_size: int = Field(4, gt=0)  # P: actions predicted per call
    exec_horizon: int = Field(4, gt=0)  # H: actions executed before re-planning
    denoise_steps: int = Field(10, gt=0)  # K Euler steps at inference

    @model_validator(mode="after")
    def _check(self):
        if self.exec_horizon > self.chunk_size:
            raise ValueError(
                f"exec_horizon (H={self.exec_horizon}) is longer than chunk_size (P={self.chunk_size}); need H <= P"
            )
        if self.source == "local" and not self.path:
            raise ValueError("source 'local' needs 'path' (a local InternVL3-*-hf folder)")
        if self.text.num_heads % self.text.num_kv_heads:
            raise ValueError("text.num_heads must be a multiple of text.num_kv_heads")
        return self
