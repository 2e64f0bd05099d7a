"""Data-engine settings: in-domain generation, out-of-domain sources, variant mixtures."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vlaser.config.base import Section

INDOMAIN_KINDS = ("grounding", "spatial", "qa", "planning")


class LlmSection(Section):
    """Optional model-based QA (OpenAI-compatible chat endpoint + judge); the key comes from the environment."""

    enabled: bool = False  # add judged, model-written Q/A pairs to indomain/qa (training split only)
    endpoint: str = "http://127.0.0.1:8000/v1"  # OpenAI-compatible base URL (e.g. vLLM serving Qwen2.5-VL)
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"  # model that writes the Q/A pairs
    judge_model: str | None = None  # model that scores them (default: the same model)
    api_key_env: str = "VLASER_LLM_API_KEY"  # NAME of the environment variable holding the key
    pairs_per_frame: int = Field(3, gt=0)  # Q/A pairs asked for per frame
    max_frames: int = Field(50, ge=0)  # training frames sent to the endpoint
    min_score: int = Field(2, ge=1, le=3)  # keep a pair only if every rubric scores at least this
    concurrency: int = Field(4, gt=0)  # requests in flight at once
    retries: int = Field(3, ge=0)  # retries on connection errors, HTTP 429 and 5xx
    backoff_s: float = Field(1.0, ge=0)  # first retry delay; doubles each retry
    timeout_s: float = Field(60.0, gt=0)  # per request


class IndomainSection(Section):
    suite: str = "cpu-default"
    kinds: list[Literal["grounding", "spatial", "qa", "planning"]] = list(INDOMAIN_KINDS)
    train_seeds: list[int] = Field([0, 40], min_length=2, max_length=2)  # [start, stop) scene seeds
    heldout_seeds: list[int] = Field([500, 520], min_length=2, max_length=2)  # never in training data
    frames_per_episode: int = Field(4, gt=0)
    min_pixels: int = Field(6, ge=1)  # objects with fewer visible pixels are skipped (and counted)
    seed: int = 0
    llm: LlmSection = LlmSection()  # optional model-based generation (off by default)

    @model_validator(mode="after")
    def _disjoint(self):
        a0, a1 = self.train_seeds
        b0, b1 = self.heldout_seeds
        if a1 <= a0 or b1 <= b0:
            raise ValueError("seed ranges are [start, stop) with stop > start")
        if a0 < b1 and b0 < a1:
            raise ValueError(f"train_seeds {self.train_seeds} overlap heldout_seeds {self.heldout_seeds}")
        return self


class OodSource(Section):
    kind: Literal["procedural", "jsonl", "meta"]  # generator, one InternVL JSONL, or an InternVL meta file
    annotation: str | None = None  # jsonl: path of the JSONL; meta: path of the meta JSON
    root: str | None = None  # jsonl: image folder the records' "image" paths are relative to
    heldout_annotation: str | None = None  # optional held-out JSONL for benchmarks
    n_train: int = Field(400, gt=0)  # procedural: items; jsonl: max records taken
    n_heldout: int = Field(100, ge=0)
    image_size: int = Field(64, ge=16)
    seed: int = 0
    lenient: bool = False  # skip (and count) malformed lines instead of stopping

    @model_validator(mode="after")
    def _paths(self):
        if self.kind in ("jsonl", "meta") and not self.annotation:
            raise ValueError(f"an OOD source of kind '{self.kind}' needs 'annotation'")
        return self


class OodSection(Section):
    sources: dict[str, OodSource]


class VariantSpec(Section):
    """A variant is weights over data sources, e.g. {"indomain/grounding": 1.0, "ood/procedural": 0.5}."""

    sources: dict[str, float] = {}  # empty = no stage-1 pretraining (the `base` variant)
    description: str = ""

    @model_validator(mode="after")
    def _weights(self):
        for name, w in self.sources.items():
            if w < 0:
                raise ValueError(f"weight of source '{name}' is {w}; weights must be >= 0")
        if self.sources and not any(w > 0 for w in self.sources.values()):
            raise ValueError("all mixture weights are zero; use an empty 'sources' for no pretraining")
        return self


class MixtureSection(Section):
    size: int = Field(2000, gt=0)  # records sampled per (non-base) variant
    seed: int = 0
    variants: dict[str, VariantSpec]
