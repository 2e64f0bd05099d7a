"""The long sweep table, the per-variant summary, its intervals and its cache."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from tests.dashboard.sweeps import BENCHES, KNOWN, TASKS
from vlaser.errors import UserError
from vlaser.evaluate.replicates import nested_bootstrap
from vlaser.evaluate.stats import hierarchical_bootstrap
from vlaser.sweep_table import COLUMNS, SUMMARY_FILE, TABLE_FILE, load_sweep
from vlaser.synthetic_sweep import RunSpec, write_sweep


def test_long_table_matches_the_contract_and_known_counts(known_sweep):
    sweep = load_sweep(known_sweep, sweep="demo")
    t = sweep.table
    assert list(t.columns) == COLUMNS
    assert set(t["sweep"]) == {"demo"} and set(t["seed"]) == {0, 1}
    metrics = {f"success/{x}" for x in TASKS} | {f"reasoning/{b}" for b in BENCHES} | {"success/avg",
                                                                                    "reasoning/avg"}
    assert set(t["metric"]) == metrics
    for variant, (succ, corr) in KNOWN.items():
        rows = t[(t.variant == variant) & (t.seed == 1)].set_index("metric")
        for task, k in zip(TASKS, succ, strict=True):
            assert rows.loc[f"success/{task}", "value"] == pytest.approx(k / 10)
            assert rows.loc[f"success/{task}", "n"] == 10
        assert rows.loc["success/avg", "value"] == pytest.approx(np.mean(succ) / 10)
        assert rows.loc["reasoning/avg", "value"] == pytest.approx(np.mean(corr) / 20)
        assert ((rows["ci_low"] <= rows["value"]) & (rows["value"] <= rows["ci_high"])).all()
    on_disk = pd.read_parquet(known_sweep / TABLE_FILE)
    pd.testing.assert_frame_equal(on_disk, t)


def _width(reports, variant: str, metric: str) -> float:
    s = load_sweep(reports).summary.set_index(["variant", "metric"])
    return float(s.loc[(variant, metric), "ci_high"] - s.loc[(variant, metric), "ci_low"])


def test_interval_widens_when_seeds_disagree(tmp_path):
    # same mean success (0.5) in both variants; 'agree' has 5/10 on every seed, 'disagree' 1, 5 and 9
    agree = {s: RunSpec({"PushCube-v1": 5}, {"qa": 10}, 10, 20) for s in (0, 1, 2)}
    disagree = {s: RunSpec({"PushCube-v1": k}, {"qa": 10}, 10, 20) for s, k in zip((0, 1, 2), (1, 5, 9),
                                                                                      strict=True)}
    reports = write_sweep(tmp_path / "reports", {"agree": agree, "disagree": disagree})
    s = load_sweep(reports).summary.set_index(["variant", "metric"])
    assert s.loc[("agree", "success/PushCube-v1"), "mean"] == pytest.approx(0.5)
    assert s.loc[("disagree", "success/PushCube-v1"), "mean"] == pytest.approx(0.5)
    assert s.loc[("disagree", "success/PushCube-v1"), "seed_sd"] > 0 == s.loc[("agree", "success/PushCube-v1"),
                                                                                "seed_sd"]
    assert _width(reports, "disagree", "success/PushCube-v1") > 1.5 * _width(reports, "agree",
                                                                             "success/PushCube-v1")
    assert _width(reports, "disagree", "success/avg") > 1.5 * _width(reports, "agree", "success/avg")


def test_vectorised_bootstrap_agrees_with_the_reference_hierarchical_bootstrap():
    rng = np.random.default_rng(3)
    groups = [rng.integers(0, 2, size=12).astype(float) for _ in range(4)]
    ref = hierarchical_bootstrap(groups, n_boot=6000, seed=1)
    ours = nested_bootstrap([[g] for g in groups], n_boot=6000, seed=2)
    assert ours[0] == pytest.approx(ref[0])
    assert ours[1] == pytest.approx(ref[1], abs=0.03) and ours[2] == pytest.approx(ref[2], abs=0.03)
    scores = [rng.uniform(size=9) for _ in range(3)]  # non-binary items take the index-resampling path
    ref, ours = hierarchical_bootstrap(scores, 6000, 1), nested_bootstrap([[g] for g in scores], 6000, 2)
    assert ours[1] == pytest.approx(ref[1], abs=0.03) and ours[2] == pytest.approx(ref[2], abs=0.03)


def test_cache_is_reused_and_invalidated_by_a_changed_report(known_sweep):
    first = load_sweep(known_sweep)
    stamp = (known_sweep / SUMMARY_FILE).stat().st_mtime_ns
    again = load_sweep(known_sweep)
    assert again.fingerprint == first.fingerprint
    assert (known_sweep / SUMMARY_FILE).stat().st_mtime_ns == stamp  # read, not rewritten
    pd.testing.assert_frame_equal(again.summary, first.summary)
    path = known_sweep / "qa" / "s0" / "closed_loop.json"
    obj = json.loads(path.read_text())
    obj["tasks"]["PushCube-v1"]["rate"] = 1.0
    path.write_text(json.dumps(obj))
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    changed = load_sweep(known_sweep)
    assert changed.fingerprint != first.fingerprint
    row = changed.table[(changed.table.variant == "qa") & (changed.table.seed == 0)
                        & (changed.table.metric == "success/PushCube-v1")]
    assert row["value"].item() == 1.0


def test_malformed_report_names_file_and_key(known_sweep):
    path = known_sweep / "ood" / "s1" / "reasoning.json"
    obj = json.loads(path.read_text())
    del obj["benchmarks"]["spatial"]["score"]
    path.write_text(json.dumps(obj))
    with pytest.raises(UserError, match=r"ood/s1/reasoning.json: missing key benchmarks.spatial.'score'"):
        load_sweep(known_sweep)


def test_empty_or_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such sweep folder"):
        load_sweep(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no reports found"):
        load_sweep(tmp_path / "empty")


def test_dvc_layout_and_aggregate_stage_output(tmp_path):
    """reports/runs/<variant>/s<seed>/{closed_loop,reasoning}/ (the DVC stages' layout) reads the same."""
    from tests.dashboard.sweeps import KNOWN, known_runs
    from vlaser.aggregate import aggregate
    from vlaser.config.evaluate import AggregateSection
    from vlaser.synthetic_sweep import write_run

    flat = write_sweep(tmp_path / "flat" / "reports", known_runs())
    for variant, seeds in known_runs().items():
        for seed, spec in seeds.items():
            run = tmp_path / "ws" / "reports" / "runs" / variant / f"s{seed}"
            write_run(run / "closed_loop", spec, seed)
            for name in ("reasoning.json", "reasoning_items.jsonl"):
                (run / "reasoning").mkdir(parents=True, exist_ok=True)
                (run / "closed_loop" / name).rename(run / "reasoning" / name)
    nested = load_sweep(tmp_path / "ws" / "reports", sweep="x")
    pd.testing.assert_frame_equal(nested.table, load_sweep(flat, sweep="x").table)
    out = tmp_path / "ws" / "reports" / "summary"
    numbers = aggregate(tmp_path / "ws" / "reports" / "runs", AggregateSection(bootstrap=200), out, sweep="x")
    assert numbers["n_variants"] == len(KNOWN) and numbers["n_runs"] == 2 * len(KNOWN)
    assert {p.name for p in out.iterdir()} == {TABLE_FILE, SUMMARY_FILE, "correlation.json", "meta.json"}
    corr = json.loads((out / "correlation.json").read_text())
    avg = next(p for p in corr["pairs"] if p["x"] == "reasoning/avg" and p["y"] == "success/avg")
    assert numbers["corr/avg_vs_avg/pearson_r"] == pytest.approx(avg["pearson_r"])
    assert corr["external"], "the shipped paper CSV is set beside the sweep"
