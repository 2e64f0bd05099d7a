"""The DVC adapter's lock hygiene: a killed sweep's stale DVC lock entries are cleared, live ones kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from vlaser.orchestrate import dvc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_dvc_locks_of_dead_processes_are_cleared(tmp_path):
    (tmp_path / ".dvc" / "tmp").mkdir(parents=True)
    lock = tmp_path / ".dvc" / "tmp" / "rwlock"
    dead = dead_pid()
    lock.write_text(json.dumps({
        "write": {"data/a": {"pid": dead, "cmd": "dvc repro a"}, "data/b": {"pid": os.getpid(), "cmd": "live"}},
        "read": {"data/c": [{"pid": dead, "cmd": "dvc repro c"}, {"pid": os.getpid(), "cmd": "live"}]},
    }))
    cleared = dvc.clear_stale_locks(tmp_path)
    assert sorted(cleared) == ["dvc repro a", "dvc repro c"]
    left = json.loads(lock.read_text())
    assert left == {"write": {"data/b": {"pid": os.getpid(), "cmd": "live"}},
                    "read": {"data/c": [{"pid": os.getpid(), "cmd": "live"}]}}
    assert dvc.clear_stale_locks(tmp_path) == []
