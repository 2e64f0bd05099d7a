"""`vlaser eval reasoning`: bad input exits 2 with a message naming what was wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.evaluate.reasoning_fixtures import write_data_root

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "vlaser", "-q", "eval", "reasoning", *args], capture_output=True,
                       text=True, cwd=REPO, stdin=subprocess.DEVNULL, timeout=120)
    r.stderr = " ".join(r.stderr.split())  # rich wraps long messages
    return r


def test_missing_checkpoint_exits_2(tmp_path):
    r = cli(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "nope: no such checkpoint folder" in r.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_benchmark_exits_2_and_lists_the_known_ones(tmp_path):
    data = write_data_root(tmp_path / "data", n=2)
    (tmp_path / "ck").mkdir()
    r = cli(str(tmp_path / "ck"), "--benchmarks", "qa,spatail", "--data-root", str(data), "--out", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert "unknown benchmark(s) spatail" in r.stderr and "ood/procedural" in r.stderr


def test_missing_public_file_exits_2(tmp_path):
    (tmp_path / "ck").mkdir()
    r = cli(str(tmp_path / "ck"), "--benchmarks", "erqa", "--erqa", str(tmp_path / "erqa"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert "erqa: not found" in r.stderr
