"""Evaluation and aggregation settings."""

from __future__ import annotations

from pydantic import Field

from vlaser.config.base import Section


class EvalReasoningSection(Section):
    benchmarks: list[str] = ["grounding", "spatial", "qa", "planning", "ood"]
    max_items: int = Field(100, gt=0)  # per benchmark
    batch_size: int = Field(16, gt=0)
    max_new_tokens: int = Field(32, gt=0)


class EvalClosedLoopSection(Section):
    suite: str = "cpu-default"
    episodes: int = Field(10, gt=0)  # per task
    seed: int = Field(1000, ge=0)  # first evaluation seed; disjoint from demo and data seeds
    videos_per_task: int = Field(1, ge=0)


class AggregateSection(Section):
    bootstrap: int = Field(2000, gt=0)
    published_csv: str = "vlaser/resources/vlaser-published.csv"
    seed: int = 0
