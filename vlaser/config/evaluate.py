"""Evaluation and aggregation settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vlaser.config.base import Section


class PublicBenchmark(Section):
    """A public benchmark on the user's disk (expected layouts: docs/reasoning.md)."""

    layout: Literal["where2place", "erqa"]  # point-in-mask (Where2Place) or multiple choice (ERQA)
    path: str  # where2place: the folder; erqa: the folder or the erqa.tfrecord file
    questions: str | None = None  # where2place: questions file in the folder (default point_questions.jsonl)


class EvalReasoningSection(Section):
    benchmarks: list[str] = ["grounding", "spatial", "qa", "planning", "ood"]  # names; docs/reasoning.md
    max_items: int = Field(100, gt=0)  # per benchmark
    batch_size: int = Field(16, gt=0)
    max_new_tokens: int = Field(32, gt=0)
    public: dict[str, PublicBenchmark] = {}  # extra benchmark names -> public files on disk


class EvalClosedLoopSection(Section):
    suite: str = "cpu-default"
    episodes: int = Field(10, gt=0)  # per task
    seed: int = Field(1000, ge=0)  # first evaluation seed; disjoint from demo and data seeds
    videos_per_task: int = Field(1, ge=0)


class AggregateSection(Section):
    bootstrap: int = Field(2000, gt=0)
    published_csv: str = "vlaser/resources/vlaser-published.csv"
    seed: int = 0
