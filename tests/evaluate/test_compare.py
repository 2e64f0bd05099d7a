"""Variants against `base`: a difference is called only when its interval excludes zero."""

from __future__ import annotations

import pytest

from vlaser.compare import load_versus_baseline
from vlaser.errors import UserError
from vlaser.evaluate.replicates import difference
from vlaser.synthetic_sweep import RunSpec, write_sweep


def spec(success: int, correct: int) -> RunSpec:
    return RunSpec({"PushCube-v1": success}, {"qa": correct}, episodes=20, items=40)


def test_verdicts_follow_the_interval(tmp_path):
    seeds = (0, 1, 2)
    runs = {"base": {s: spec(6, 10) for s in seeds},
            "better": {s: spec(17, 35) for s in seeds},   # 85 % vs 30 %: far outside any interval
            "same": {s: spec(6, 10) for s in seeds},
            "worse": {s: spec(0, 0) for s in seeds}}
    vs = load_versus_baseline(write_sweep(tmp_path / "reports", runs)).set_index(["variant", "metric"])
    assert vs.loc[("better", "success/avg"), "verdict"] == "higher"
    assert vs.loc[("better", "success/avg"), "diff"] == pytest.approx(17 / 20 - 6 / 20)
    assert vs.loc[("better", "reasoning/qa"), "verdict"] == "higher"
    assert vs.loc[("same", "success/avg"), "verdict"] == "no detectable difference"
    assert vs.loc[("same", "success/avg"), "ci_low"] < 0 < vs.loc[("same", "success/avg"), "ci_high"]
    assert vs.loc[("worse", "success/PushCube-v1"), "verdict"] == "lower"
    assert set(vs["n_seeds"]) == {3}
    assert "base" not in {v for v, _ in vs.index}


def test_a_small_difference_on_few_episodes_is_not_called(tmp_path):
    runs = {"base": {0: spec(6, 10)}, "alt": {0: spec(8, 10)}}  # 6/20 vs 8/20: well within noise
    vs = load_versus_baseline(write_sweep(tmp_path / "reports", runs)).set_index(["variant", "metric"])
    assert vs.loc[("alt", "success/avg"), "verdict"] == "no detectable difference"
    assert 0.1 < vs.loc[("alt", "success/avg"), "p_le_0"] < 0.5


def test_difference_of_identical_groups_is_centred_on_zero():
    g = [[[1, 0, 1, 0, 1, 0]], [[1, 1, 0, 0, 0, 1]]]
    d = difference(g, g, n_boot=4000, seed=3)
    assert d["diff"] == 0 and d["ci_low"] < 0 < d["ci_high"]
    assert d["p_le_0"] == pytest.approx(0.5, abs=0.1)


def test_missing_baseline_is_a_clear_error(tmp_path):
    reports = write_sweep(tmp_path / "reports", {"ood": {0: spec(6, 10)}})
    with pytest.raises(UserError, match="no runs of the baseline variant 'base'"):
        load_versus_baseline(reports)
