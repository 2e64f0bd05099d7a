"""Registry upsert, versions, URL resolution, migrations, rebuild, and clear errors for bad databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.lineage.conftest import make_artifact, make_sweep
from vlaser.errors import UserError
from vlaser.lineage import open_registry
from vlaser.lineage.db import HEAD, MIGRATIONS


def test_register_is_an_idempotent_upsert(workspace: Path) -> None:
    digest = make_artifact(workspace, "models/ood/s0/vlm", "vlm", {"data/mixtures/ood": "d" * 64})
    with open_registry(None, workspace) as reg:
        first = reg.register("models/ood/s0/vlm", sweep="sw", variant="ood", seed=0, stage="pretrain")
        again = reg.register(workspace / "models/ood/s0/vlm", mlflow_run_id="r" * 32)
        assert again.id == first.id and len(reg.all(current_only=False)) == 1
        assert again.digest == digest and again.kind == "vlm"
        # context given earlier is kept when a later call adds the run id
        assert (again.sweep, again.variant, again.seed, again.stage) == ("sw", "ood", 0, "pretrain")
        assert again.mlflow_run_id == "r" * 32
        assert again.parents == {"data/mixtures/ood": "d" * 64}
        assert again.code_commit and isinstance(again.code_dirty, bool)


def test_new_content_is_a_new_current_version(workspace: Path) -> None:
    old = make_artifact(workspace, "data/mixtures/qa", "mixture", content="v1")
    with open_registry(None, workspace) as reg:
        reg.register("data/mixtures/qa")
        new = make_artifact(workspace, "data/mixtures/qa", "mixture", content="v2")
        reg.register("data/mixtures/qa")
        assert new != old
        assert reg.get("data/mixtures/qa").digest == new
        history = reg.get("data/mixtures/qa", old)
        assert history is not None and not history.current
        assert [r.digest for r in reg.all()] == [new]


def test_relative_sqlite_url_is_under_the_workspace(workspace: Path, tmp_path_factory, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    with open_registry("sqlite:///.vlaser/lineage.db", workspace) as reg:
        assert Path(reg.url.database) == workspace / ".vlaser" / "lineage.db"
        with reg.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    assert (workspace / ".vlaser" / "lineage.db").is_file()


def test_head_constant_matches_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD


def test_rebuild_reindexes_a_lost_database_from_meta_files(workspace: Path) -> None:
    digests = make_sweep(workspace)
    with open_registry(None, workspace) as reg:
        assert reg.rebuild() == len(digests)
        vlm = reg.get("models/all/s0/vlm")
        assert (vlm.variant, vlm.seed, vlm.stage, vlm.digest) == ("all", 0, "pretrain", digests["models/all/s0/vlm"])
        assert reg.get("data/mixtures/all").variant == "all"
        assert reg.rebuild() == len(digests)  # idempotent
        assert len(reg.all(current_only=False)) == len(digests)


def test_corrupt_database_is_a_clear_error(workspace: Path) -> None:
    db = workspace / ".vlaser" / "lineage.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite, just bytes " * 200)
    with pytest.raises(UserError) as err:
        open_registry(None, workspace)
    msg = str(err.value)
    assert str(db) in msg and "not a database" in msg and "vlaser lineage --rebuild" in msg


def test_locked_database_is_a_clear_error(workspace: Path) -> None:
    make_artifact(workspace, "data/ood/procedural", "ood")
    url = f"sqlite:///{workspace}/lineage.db"
    reg = open_registry(url, workspace, busy_timeout_s=0.3)
    holder = sqlite3.connect(workspace / "lineage.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process sitting on the write lock
    try:
        with pytest.raises(UserError) as err:
            reg.register("data/ood/procedural")
        assert str(workspace / "lineage.db") in str(err.value) and "locked" in str(err.value)
        with pytest.raises(UserError, match="locked"):
            open_registry(url, workspace, busy_timeout_s=0.3).register("data/ood/procedural")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert reg.register("data/ood/procedural").kind == "ood"  # works once the lock is gone
    reg.close()


def test_unopenable_and_malformed_urls_are_clear_errors(workspace: Path) -> None:
    (workspace / "afile").write_text("x")
    with pytest.raises(UserError, match="afile"):
        open_registry(f"sqlite:///{workspace}/afile/lineage.db", workspace)
    with pytest.raises(UserError, match="tracking.lineage_url"):
        open_registry("not a url", workspace)
    with pytest.raises(UserError, match="no driver"):
        open_registry("nosuchdb://host/x", workspace)


def test_registering_a_folder_without_meta_is_a_clear_error(workspace: Path) -> None:
    (workspace / "models" / "x").mkdir(parents=True)
    with open_registry(None, workspace) as reg, pytest.raises(UserError, match="no meta.json"):
        reg.register("models/x")
