"""The lineage registry's tables: one row per artifact version, one edge per (child, parent).

An artifact version is a (path, digest) pair: re-running a stage that writes the same folder with
different content adds a new row and marks it ``current``; the old row stays as history, so the
lineage of an old checkpoint still resolves after its parents were rebuilt. Edges name the parent by
path and digest (not by row id) because a parent may be registered after its child, or never.
Schema changes go through an Alembic migration in ``migrations/versions`` (never ``create_all``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("path", "digest", name="uq_artifacts_path_digest"),
        Index("ix_artifacts_digest", "digest"),
        Index("ix_artifacts_mlflow_run_id", "mlflow_run_id"),
        Index("ix_artifacts_sweep", "sweep"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(1024))  # posix, relative to the workspace root when inside it
    kind: Mapped[str] = mapped_column(String(64))  # meta.json "kind": demos, mixture, vlm, vla, report, ...
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the folder's content (meta.json excluded)
    params_digest: Mapped[str] = mapped_column(String(64))
    params: Mapped[Any] = mapped_column(JSON, nullable=True)  # the stage's own settings, as in meta.json
    code_commit: Mapped[str] = mapped_column(String(64))
    code_dirty: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[str] = mapped_column(String(40))  # meta.json "created" (ISO 8601, UTC)
    registered: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))  # last upsert
    current: Mapped[bool] = mapped_column(Boolean, default=True)  # the version the path holds now
    sweep: Mapped[str | None] = mapped_column(String(128), nullable=True)
    variant: Mapped[str | None] = mapped_column(String(128), nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    extra: Mapped[Any] = mapped_column(JSON, nullable=True)  # meta.json "extra" (counts, metrics)

    parents: Mapped[list[Edge]] = relationship(
        back_populates="child", cascade="all, delete-orphan", order_by="Edge.parent_path"
    )


class Edge(Base):
    __tablename__ = "edges"
    __table_args__ = (
        UniqueConstraint("child_id", "parent_path", name="uq_edges_child_parent"),
        Index("ix_edges_parent_digest", "parent_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    parent_path: Mapped[str] = mapped_column(String(1024))
    parent_digest: Mapped[str] = mapped_column(String(64))

    child: Mapped[Artifact] = relationship(back_populates="parents")
