"""Storage faults: a full disk mid-stage, a corrupted output file, a corrupted DVC cache object, a locked
and a missing lineage database. Each: the damage is caught (the sweep fails clearly or `vlaser doctor`
names it), the documented action repairs it, and the consistency check passes with nothing lost."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.faults.conftest import (
    TAIL,
    assert_consistent,
    copy_workspace,
    doctor,
    env_for,
    finished_artifacts_intact,
    kinds,
    run_tail,
    sweep_state,
    vlaser,
    wait_for,
)
from vlaser.io import dir_digest, file_digest
from vlaser.orchestrate.workspace import update_params

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def dvc(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=ws, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


# ------------------------------------------------------------------------------------------- full disk
@pytest.fixture
def tmpfs(tmp_path) -> Path:
    """A small tmpfs mounted for the test (skipped where mounting is not permitted)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192m", "tmpfs", str(mnt)], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}): needs root/CAP_SYS_ADMIN")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False, stdin=subprocess.DEVNULL)


def fill(folder: Path) -> Path:
    """Write one file until the file system is full (ENOSPC); returns it (delete it to free the space)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    size = 1 << 20
    try:
        while size:  # unbuffered writes, halving the size at each ENOSPC down to one byte
            try:
                os.write(fd, b"\0" * size)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)
    return filler


def test_full_disk_mid_stage_then_resume(base_workspace, tmpfs, tmp_path):
    ws = copy_workspace(base_workspace, tmpfs / "ws")
    before = sweep_state(ws)["sweep_id"]
    update_params(ws, TAIL)
    out = tmp_path / "sweep.out"  # off the full disk, so the sweep's own messages survive
    with open(out, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "vlaser", "sweep"], cwd=ws, env=env_for(ws), stdout=sink,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def stage_running() -> bool:
            st = sweep_state(ws)
            return st["sweep_id"] != before and st["stages"].get("aggregate", {}).get("state") == "running"

        wait_for(stage_running, 900, "the aggregate stage to start")
        filler = fill(tmpfs)  # the disk fills up while the stage works
        proc.wait(timeout=900)
    said = out.read_text()
    assert proc.returncode != 0, "a sweep cannot succeed on a full disk"
    last = said.strip().splitlines()[-1]  # the sweep's own last word: one clear line, no traceback
    assert last.startswith("error: no space left on device") and "vlaser resume" in last, said[-3000:]
    finished_artifacts_intact(ws)

    filler.unlink()  # the documented action: free space, then resume
    sweep_id = sweep_state(ws)["sweep_id"]
    res = vlaser(ws, "resume", sweep_id)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sweep_state(ws, sweep_id)["status"] == "done"
    assert_consistent(ws)


# ---------------------------------------------------------------------------- corrupted output / cache
def test_corrupted_output_file_is_found_and_restored(fresh_copy):
    weights = fresh_copy / "models" / "base" / "s0" / "vla" / "expert.safetensors"
    good = file_digest(weights)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2: len(data) // 2 + 16] = bytes(16)  # same size, damaged tensor bytes
    weights.write_bytes(bytes(data))

    rc, report = doctor(fresh_copy)
    assert rc == 1 and {("lineage", "corrupt"), ("dvc", "outs-changed")} <= kinds(report)
    fix = next(p["fix"] for p in report["problems"] if p["kind"] == "outs-changed")
    assert "dvc checkout --force models/base/s0/vla" in fix

    res = dvc(fresh_copy, "checkout", "--force", "models/base/s0/vla")
    assert res.returncode == 0, res.stderr
    assert file_digest(weights) == good
    assert_consistent(fresh_copy)


def _cache_object(ws: Path, stage: str, relpath: str) -> Path:
    """The DVC cache file holding ``relpath`` of ``stage``'s (directory) output."""
    out = yaml.safe_load((ws / "dvc.lock").read_text())["stages"][stage]["outs"][0]
    md5 = out["md5"].removesuffix(".dir")
    listing = ws / ".dvc" / "cache" / "files" / "md5" / md5[:2] / f"{md5[2:]}.dir"
    entry = next(e for e in json.loads(listing.read_text()) if e["relpath"] == relpath)
    return ws / ".dvc" / "cache" / "files" / "md5" / entry["md5"][:2] / entry["md5"][2:]


def test_corrupted_cache_object_is_caught_by_lineage_digests(fresh_copy):
    summary = fresh_copy / "reports" / "summary"
    good = dir_digest(summary)
    obj = _cache_object(fresh_copy, "aggregate", "correlation.json")
    obj.chmod(0o644)
    obj.write_text('{"damaged": true}\n')
    for f in summary.iterdir():
        f.unlink()
    summary.rmdir()  # the workspace copy is lost too: only the (damaged) cache is left

    # a user's first reflex: restore from the cache. DVC may hand back the damaged bytes without a word
    # (it does not re-hash cache objects on checkout) or refuse; either way the damage must not pass
    dvc(fresh_copy, "checkout", "--force", "reports/summary")
    rc, report = doctor(fresh_copy)
    summary_problems = {p["kind"] for p in report["problems"] if p["subject"] == "reports/summary"}
    assert rc == 1 and summary_problems & {"corrupt", "missing"}, report["problems"]
    assert ("dvc", "not-in-cache") in kinds(report)
    fix = next(p["fix"] for p in report["problems"] if p["kind"] == "not-in-cache")
    assert fix.startswith("`vlaser sweep`")
    res = vlaser(fresh_copy, "sweep")  # the documented action for damaged cached outputs: re-run
    assert res.returncode == 0, res.stdout + res.stderr
    assert sweep_state(fresh_copy)["stages"]["aggregate"]["state"] == "done"
    assert dir_digest(summary) == good
    assert hashlib.md5(obj.read_bytes()).hexdigest() == obj.parent.name + obj.name, "the cache is repaired"
    assert_consistent(fresh_copy)


# ------------------------------------------------------------------------------------- lineage database
def test_locked_lineage_database_fails_clearly_then_resume(fresh_copy):
    db = fresh_copy / ".vlaser" / "lineage.db"
    holder = sqlite3.connect(db, isolation_level=None, timeout=60)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock for the whole sweep
    try:
        res = run_tail(fresh_copy)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert res.returncode == 1
    assert "aggregate" in res.stderr and "locked" in res.stderr
    finished_artifacts_intact(fresh_copy)
    state = sweep_state(fresh_copy)
    assert state["stages"]["aggregate"]["state"] == "failed"

    rc, report = doctor(fresh_copy)
    assert rc == 1 and ("sweeps", "failed") in kinds(report)
    res = vlaser(fresh_copy, "resume", state["sweep_id"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert_consistent(fresh_copy)


def test_missing_lineage_database_is_rebuilt(fresh_copy):
    for f in (fresh_copy / ".vlaser").glob("lineage.db*"):
        f.unlink()
    res = run_tail(fresh_copy)  # the sweep itself works: the registry is created again on first use
    assert res.returncode == 0, res.stdout + res.stderr

    rc, report = doctor(fresh_copy)
    assert rc == 1 and kinds(report) == {("lineage", "unregistered")}
    assert {p["fix"] for p in report["problems"]} == {"`vlaser lineage --rebuild`"}
    res = vlaser(fresh_copy, "lineage", "--rebuild")
    assert res.returncode == 0, res.stdout + res.stderr
    assert_consistent(fresh_copy)
