"""Initial lineage schema: artifacts (one row per path + digest) and edges (child -> parent).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("params_digest", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("code_commit", sa.String(64), nullable=False),
        sa.Column("code_dirty", sa.Boolean(), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("registered", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("sweep", sa.String(128), nullable=True),
        sa.Column("variant", sa.String(128), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.UniqueConstraint("path", "digest", name="uq_artifacts_path_digest"),
    )
    op.create_index("ix_artifacts_digest", "artifacts", ["digest"])
    op.create_index("ix_artifacts_mlflow_run_id", "artifacts", ["mlflow_run_id"])
    op.create_index("ix_artifacts_sweep", "artifacts", ["sweep"])
    op.create_table(
        "edges",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("child_id", sa.Integer(), sa.ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("parent_path", sa.String(1024), nullable=False),
        sa.Column("parent_digest", sa.String(64), nullable=False),
        sa.UniqueConstraint("child_id", "parent_path", name="uq_edges_child_parent"),
    )
    op.create_index("ix_edges_parent_digest", "edges", ["parent_digest"])


def downgrade() -> None:
    op.drop_table("edges")
    op.drop_table("artifacts")
