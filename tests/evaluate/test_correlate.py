"""Correlation numbers checked against an independent computation (scipy / numpy directly)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.dashboard.sweeps import KNOWN, write_known_sweep
from vlaser.evaluate.correlate import (
    CONSTANT,
    OK,
    TOO_FEW,
    correlate_all,
    correlation,
    correlation_report,
    heatmap_frame,
    variant_points,
)
from vlaser.evaluate.published import load_published
from vlaser.sweep_table import load_sweep


@pytest.fixture
def known_sweep(tmp_path):
    return write_known_sweep(tmp_path / "reports")


def _reference_interval(x, y, n_boot, seed, spearman):
    """Percentile bootstrap over pairs, one resample at a time with scipy (same resampling indices)."""
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    vals = []
    for i in idx:
        if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
            continue
        vals.append((stats.spearmanr if spearman else stats.pearsonr)(x[i], y[i]).statistic)
    return np.quantile(vals, 0.025), np.quantile(vals, 0.975)


def test_coefficients_and_intervals_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=7)
    y = 0.6 * x + rng.normal(scale=0.15, size=7)
    c = correlation(x, y, "reasoning/avg", "success/avg", n_boot=500, seed=4)
    assert c.status == OK and c.n == 7
    assert c.pearson_r == pytest.approx(stats.pearsonr(x, y).statistic)
    assert c.pearson_p == pytest.approx(stats.pearsonr(x, y).pvalue)
    assert c.spearman_rho == pytest.approx(stats.spearmanr(x, y).statistic)
    assert c.spearman_p == pytest.approx(stats.spearmanr(x, y).pvalue)
    assert c.pearson_ci == pytest.approx(_reference_interval(x, y, 500, 4, False))
    assert c.spearman_ci == pytest.approx(_reference_interval(x, y, 500, 4, True))
    slope, intercept = np.polyfit(x, y, 1)
    assert (c.slope, c.intercept) == pytest.approx((slope, intercept))


def test_fewer_than_three_pairs_is_too_few_points():
    c = correlation(np.array([0.1, 0.5]), np.array([0.2, 0.9]), "reasoning/qa", "success/avg")
    assert c.status == TOO_FEW and c.pearson_r is None and c.spearman_rho is None and c.pearson_ci is None
    assert c.summary() == "too few points (n = 2)"
    assert correlation(np.array([0.3] * 4), np.array([0.1, 0.2, 0.3, 0.4]), "a", "b").status == CONSTANT


def test_sweep_correlation_uses_variant_means_over_seeds(known_sweep):
    summary = load_sweep(known_sweep).summary
    pts = variant_points(summary, "reasoning/avg", "success/avg")
    assert list(pts["variant"]) == sorted(KNOWN)
    x = np.array([np.mean(KNOWN[v][1]) / 20 for v in pts["variant"]])  # independent: from the counts
    y = np.array([np.mean(KNOWN[v][0]) / 10 for v in pts["variant"]])
    assert pts["x"].to_numpy() == pytest.approx(x) and pts["y"].to_numpy() == pytest.approx(y)
    assert (pts["n_seeds"] == 2).all()
    corrs = {(c.x, c.y): c for c in correlate_all(summary, n_boot=300)}
    assert len(corrs) == 3 * 3  # (2 benchmarks + avg) x (2 tasks + avg)
    c = corrs[("reasoning/avg", "success/avg")]
    assert c.n == 5 and c.pearson_r == pytest.approx(stats.pearsonr(x, y).statistic)
    assert c.spearman_rho == pytest.approx(stats.spearmanr(x, y).statistic)
    heat = heatmap_frame(list(corrs.values())).set_index(["benchmark", "target"])
    assert heat.loc[("avg", "avg"), "r"] == pytest.approx(c.pearson_r)
    xg = np.array([KNOWN[v][1][0] / 20 for v in pts["variant"]])
    yp = np.array([KNOWN[v][0][1] / 10 for v in pts["variant"]])
    assert heat.loc[("grounding", "PickCube-v1"), "r"] == pytest.approx(stats.pearsonr(xg, yp).statistic)


def test_report_has_too_few_points_for_two_variants_and_for_the_papers_pairs(known_sweep):
    summary = load_sweep(known_sweep).summary
    two = summary[summary["variant"].isin(["base", "all"])]
    rep = correlation_report(two, load_published(), n_boot=100)
    assert rep["n_variants"] == 2
    assert {p["status"] for p in rep["pairs"]} == {TOO_FEW}
    assert all(p["pearson_r"] is None for p in rep["pairs"])
    ext = {p["y"]: p for p in rep["external"]}
    widowx = ext["closed_loop/simpler_widowx/avg"]
    assert widowx["status"] == TOO_FEW and widowx["labels"] == ["InternVL3-2B"]
