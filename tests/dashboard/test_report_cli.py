"""`vlaser report` and `vlaser correlate` on a known sweep: files, numbers, external rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.dashboard.sweeps import KNOWN

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def _vlaser(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vlaser", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_report_writes_tables_with_intervals_and_paper_columns(known_sweep, repo_root, tmp_path):
    out = tmp_path / "out"
    res = _vlaser("--params", str(repo_root / "params.yaml"), "report", "--reports", str(known_sweep), "--out",
                  str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} >= {"reasoning.md", "reasoning.csv", "closed_loop.md",
                                               "closed_loop.csv", "correlation.md", "correlation.csv", "scatter.png"}
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG"
    cl = pd.read_csv(out / "closed_loop.csv")
    own = cl[~cl["external"]].set_index(["variant", "metric"])
    assert own.loc[("qa", "success/PushCube-v1"), "mean"] == pytest.approx(KNOWN["qa"][0][0] / 10)
    assert (own["ci_low"] <= own["mean"]).all() and (own["mean"] <= own["ci_high"]).all()
    ext = cl[cl["external"]].set_index(["variant", "metric"])
    assert ext.loc[("base", "closed_loop/simpler_widowx/avg"), "model"] == "InternVL3-2B"
    assert ext.loc[("base", "closed_loop/simpler_widowx/avg"), "mean"] == pytest.approx(0.418)
    md = (out / "reasoning.md").read_text()
    assert "| base | 2 | 20.0 [" in md and "15.2 (InternVL3-2B)" in md


def test_correlate_json_matches_scipy_and_table_prints(known_sweep, repo_root, tmp_path):
    res = _vlaser("--params", str(repo_root / "params.yaml"), "correlate", "--sweep-dir", str(known_sweep),
                  "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    pair = next(p for p in rep["pairs"] if p["x"] == "reasoning/avg" and p["y"] == "success/avg")
    variants = sorted(KNOWN)
    x = [np.mean(KNOWN[v][1]) / 20 for v in variants]
    y = [np.mean(KNOWN[v][0]) / 10 for v in variants]
    assert pair["n"] == 5 and pair["labels"] == variants
    assert pair["pearson_r"] == pytest.approx(stats.pearsonr(x, y).statistic)
    assert pair["spearman_p"] == pytest.approx(stats.spearmanr(x, y).pvalue)
    table = _vlaser("--params", str(repo_root / "params.yaml"), "correlate", "--sweep-dir", str(known_sweep),
                    cwd=tmp_path)
    assert table.returncode == 0 and f"{pair['pearson_r']:.3f}" in table.stdout
    assert "too few points" in table.stdout  # the paper's own pairs: one model in both tables


def test_bad_published_csv_and_missing_sweep_exit_2(known_sweep, repo_root, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("model,metric,value,source\nA,reasoning/qa,abc,p\n")
    res = _vlaser("--params", str(repo_root / "params.yaml"), "correlate", "--sweep-dir", str(known_sweep),
                  "--published", str(bad), cwd=tmp_path)
    assert res.returncode == 2 and "bad.csv:2: value 'abc' is not a number" in res.stderr
    res = _vlaser("--params", str(repo_root / "params.yaml"), "report", "--reports", str(tmp_path / "nope"),
                  "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert res.returncode == 2 and "no such sweep folder" in res.stderr


def test_dashboard_command_line_is_local_headless_and_without_telemetry(tmp_path):
    from vlaser.cli.analysis import dashboard_argv

    argv = dashboard_argv(tmp_path / "app.py", "127.0.0.1", 8600, tmp_path)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert argv[argv.index("--server.headless") + 1] == "true"
