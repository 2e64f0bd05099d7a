"""Sweep and platform settings: which variants and seeds, orchestration, where records go."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vlaser.config.base import Section


class SweepSection(Section):
    variants: list[str] = Field(min_length=1)  # names from mixture.variants
    seeds: list[int] = Field([0], min_length=1)  # training seeds: one replicate per seed
    concurrency: int = Field(1, ge=1)  # variants run at once (DVC's repo lock serialises one workspace)
    stage_timeout_s: int = Field(3600, gt=0)
    retries: int = Field(1, ge=0)  # retries of transient stage failures, with backoff
    retry_delay_s: list[int] = [5, 30]


class TrackingSection(Section):
    mlflow_uri: str = "sqlite:///.vlaser/mlflow.db"  # or http://host:5000 for a tracking server
    mlflow_artifacts: str = ".vlaser/mlartifacts"
    experiment: str = "vlaser"
    lineage_url: str = "sqlite:///.vlaser/lineage.db"  # any SQLAlchemy URL, e.g. postgresql+psycopg://...
    when_unreachable: Literal["buffer", "fail"] = "buffer"  # store down: keep records in .vlaser/tracking-buffer/ or stop
    timeout_s: int = Field(10, gt=0)  # per MLflow HTTP request (and /health probe); 2 retries with backoff
    prefect_api_url: str | None = None  # None: one ephemeral Prefect API per sweep
