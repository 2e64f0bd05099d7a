"""`vlaser doctor` on small hand-made workspaces (no sweep, no simulator): each kind of inconsistency is
found with its repair, notes do not fail the check, and the CLI exits 1 on problems and 0 when clean.
The fault-injection modules beside this one run it on real sweeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlaser.doctor import diagnose
from vlaser.io import atomic_dir, write_meta
from vlaser.lineage import open_registry
from vlaser.orchestrate.state import SweepState, now
from vlaser.tracking.buffer import Buffer

REPO = Path(__file__).resolve().parents[2]


def _artifact(ws: Path, rel: str, text: str = "x") -> Path:
    with atomic_dir(ws / rel) as d:
        (d / "data.txt").write_text(text)
        write_meta(d, "test", {"rel": rel})
    return ws / rel


@pytest.fixture
def ws(tmp_path) -> Path:
    """params.yaml + two registered artifacts; no dvc.yaml (DVC check skipped), no MLflow store yet."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    with open_registry(None, root) as reg:
        for rel in ("data/ood/procedural", "models/base/s0/vlm"):
            reg.register(_artifact(root, rel, rel), sweep="sw-1")
    return root


def _kinds(report) -> set[tuple[str, str]]:
    return {(f.check, f.kind) for f in report.problems}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clean_workspace_is_ok(ws):
    report = diagnose(ws)
    assert report.ok and report.findings == []
    assert report.checks == {"sweeps": "ok", "lineage": "ok", "dvc": "ok", "tracking": "ok"}


def test_lineage_problems_each_with_its_repair(ws):
    (ws / "models/base/s0/vlm/data.txt").write_text("edited")  # corrupt
    for f in (ws / "data/ood/procedural").iterdir():
        f.unlink()
    (ws / "data/ood/procedural").rmdir()  # missing
    _artifact(ws, "data/mixtures/base")  # unregistered
    (ws / "data/.indomain.abc.partial").mkdir(parents=True)  # a killed stage's temp folder: a note only
    report = diagnose(ws)
    assert _kinds(report) == {("lineage", "corrupt"), ("lineage", "missing"), ("lineage", "unregistered")}
    fixes = {f.kind: f.fix for f in report.problems}
    assert fixes["unregistered"] == "`vlaser lineage --rebuild`" and "re-run the stage" in fixes["missing"]
    notes = [f for f in report.findings if f.severity == "note"]
    assert [(n.kind, n.subject) for n in notes] == [("partial", "data/.indomain.abc.partial")]


def test_quick_mode_trusts_meta_json(ws):
    (ws / "models/base/s0/vlm/data.txt").write_text("edited")
    assert diagnose(ws, deep=False).ok  # only the re-hash (the default) sees edited content
    assert not diagnose(ws).ok


def test_interrupted_sweep_until_a_later_one_finishes(ws):
    dead = SweepState("20260101-000000-aaaa", "tiny", ["base"], [0], now(), status="running", pid=_dead_pid())
    dead.save(ws)
    report = diagnose(ws)
    assert _kinds(report) == {("sweeps", "interrupted")}
    assert report.problems[0].fix == "`vlaser resume 20260101-000000-aaaa`"
    SweepState("20260101-000001-bbbb", "tiny", ["base"], [0], now(), status="done").save(ws)
    assert diagnose(ws).ok, "a later finished sweep supersedes it"


def test_buffered_tracking_records_and_unreachable_store(ws):
    Buffer(ws / ".vlaser" / "tracking-buffer").write("finish", {"run": {}, "status": "FINISHED", "ts": 0})
    report = diagnose(ws)
    assert _kinds(report) == {("tracking", "buffered"), ("tracking", "unreachable")}
    assert all("vlaser tracking flush" in f.fix for f in report.problems)


def test_locked_lineage_database_is_one_clear_finding(ws):
    """Held exclusively by another process past the registry's busy timeout (30 s): named, not a crash."""
    import sqlite3

    holder = sqlite3.connect(ws / ".vlaser" / "lineage.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # readers are shut out too
    try:
        report = diagnose(ws, checks=("lineage",))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _kinds(report) == {("lineage", "database")}
    assert "locked" in report.problems[0].detail


def test_cli_exit_codes_and_json(ws):
    env = {**os.environ, "VLASER_WORKSPACE": str(ws), "COLUMNS": "2000"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "vlaser", "doctor", *args], cwd=ws, env=env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)

    ok = run("--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    (ws / "models/base/s0/vlm/data.txt").write_text("edited")
    bad = run()
    assert bad.returncode == 1
    assert "lineage/corrupt models/base/s0/vlm" in bad.stdout and "1 problem(s)" in bad.stdout
    report = json.loads(run("--json").stdout)
    assert report["ok"] is False and report["problems"][0]["subject"] == "models/base/s0/vlm"
