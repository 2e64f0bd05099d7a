"""Reasoning scores vs closed-loop success across variants: the numbers the CLI, report and dashboard show.

One point per variant: its mean over seeds of a reasoning score (one benchmark or ``reasoning/avg``)
and of a success rate (one task or ``success/avg``). Over the n variants having both: Pearson r and
Spearman rho with scipy's p-values, and percentile bootstrap 95% intervals from resampling variants
with replacement (resamples where a coefficient is undefined, e.g. all-equal x, are dropped).
Fewer than 3 pairs is reported as "too few points", never as a coefficient; constant x or y as
"constant values". Pure functions on tables; no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

OK = "ok"
TOO_FEW = "too few points"
CONSTANT = "constant values"
MIN_POINTS = 3


@dataclass(frozen=True)
class Correlation:
    """Correlation of one reasoning metric with one success metric over variants (or external models)."""

    x: str
    y: str
    n: int
    status: str  # OK, TOO_FEW or CONSTANT; coefficients are None unless OK
    labels: tuple[str, ...] = ()
    pearson_r: float | None = None
    pearson_p: float | None = None
    pearson_ci: tuple[float, float] | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    spearman_ci: tuple[float, float] | None = None
    slope: float | None = None  # least-squares fit y = slope * x + intercept
    intercept: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        return d

    def summary(self) -> str:
        """One line for charts and tables, e.g. ``Pearson r = 0.91 [0.62, 0.99], p = 0.01 ...``."""
        if self.status != OK:
            return f"{self.status} (n = {self.n})"
        pl, ph = self.pearson_ci
        sl, sh = self.spearman_ci
        return (f"Pearson r = {self.pearson_r:.3f} [{pl:.2f}, {ph:.2f}], p = {self.pearson_p:.3g}; "
                f"Spearman ρ = {self.spearman_rho:.3f} [{sl:.2f}, {sh:.2f}], p = {self.spearman_p:.3g}; "
                f"n = {self.n}")


def _row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of two [B, n] arrays; NaN where a row is constant."""
    am = a - a.mean(axis=1, keepdims=True)
    bm = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((am * am).sum(axis=1) * (bm * bm).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, (am * bm).sum(axis=1) / np.where(den > 1e-12, den, 1.0), np.nan)


def _interval(boots: np.ndarray) -> tuple[float, float]:
    ok = boots[np.isfinite(boots)]
    if ok.size == 0:
        return float("nan"), float("nan")
    return float(np.quantile(ok, 0.025)), float(np.quantile(ok, 0.975))


def correlation(x: np.ndarray, y: np.ndarray, x_name: str, y_name: str, labels: tuple[str, ...] = (),
                n_boot: int = 2000, seed: int = 0) -> Correlation:
    """Pearson and Spearman of paired values with bootstrap 95% intervals over pairs."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = int(x.size)
    if n < MIN_POINTS:
        return Correlation(x_name, y_name, n, TOO_FEW, tuple(labels))
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(x_name, y_name, n, CONSTANT, tuple(labels))
    pr, sr = stats.pearsonr(x, y), stats.spearmanr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    p_ci = s_ci = (float("nan"), float("nan"))  # n_boot = 0: coefficients only (e.g. for the heat map)
    if n_boot > 0:
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        xs, ys = x[idx], y[idx]
        p_ci = _interval(_row_pearson(xs, ys))
        s_ci = _interval(_row_pearson(stats.rankdata(xs, axis=1), stats.rankdata(ys, axis=1)))
    return Correlation(x_name, y_name, n, OK, tuple(labels), float(pr.statistic), float(pr.pvalue), p_ci,
                       float(sr.statistic), float(sr.pvalue), s_ci, float(slope), float(intercept))


def variant_points(summary: pd.DataFrame, x_metric: str, y_metric: str) -> pd.DataFrame:
    """One row per variant having both metrics: variant, x, x_low, x_high, y, y_low, y_high, n_seeds."""
    cols = ["variant", "mean", "ci_low", "ci_high", "n_seeds"]
    xs = summary.loc[summary["metric"] == x_metric, cols]
    ys = summary.loc[summary["metric"] == y_metric, cols]
    pts = xs.merge(ys, on="variant", suffixes=("_x", "_y"))
    pts = pts.rename(columns={"mean_x": "x", "ci_low_x": "x_low", "ci_high_x": "x_high", "mean_y": "y",
                              "ci_low_y": "y_low", "ci_high_y": "y_high", "n_seeds_x": "n_seeds"})
    return pts[["variant", "x", "x_low", "x_high", "y", "y_low", "y_high", "n_seeds"]].sort_values(
        "variant").reset_index(drop=True)


def correlate_pair(summary: pd.DataFrame, x_metric: str, y_metric: str, n_boot: int = 2000,
                   seed: int = 0) -> Correlation:
    """The correlation over variants of one reasoning metric with one success metric."""
    pts = variant_points(summary, x_metric, y_metric)
    return correlation(pts["x"].to_numpy(), pts["y"].to_numpy(), x_metric, y_metric,
                       tuple(pts["variant"]), n_boot, seed)


def fit_line(corr: Correlation, x: np.ndarray) -> pd.DataFrame:
    """The fitted line's two end points over the range of ``x`` (empty unless the correlation is OK)."""
    if corr.status != OK or len(x) == 0:
        return pd.DataFrame({"x": [], "y": []})
    ends = np.array([np.min(x), np.max(x)], dtype=float)
    return pd.DataFrame({"x": ends, "y": corr.slope * ends + corr.intercept})


def metric_names(summary: pd.DataFrame, prefix: str) -> list[str]:
    """Metrics with ``prefix`` ("reasoning/" or "success/"), sorted, the average last."""
    names = sorted(m for m in summary["metric"].unique() if m.startswith(prefix))
    return sorted(names, key=lambda m: m.endswith("/avg"))


def correlate_all(summary: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> list[Correlation]:
    """Every reasoning metric (and the average) against every success metric (tasks and the average)."""
    return [correlate_pair(summary, x, y, n_boot, seed) for x in metric_names(summary, "reasoning/")
            for y in metric_names(summary, "success/")]


def heatmap_frame(corrs: list[Correlation]) -> pd.DataFrame:
    """Benchmark x target matrix in long form: benchmark, target, r (NaN unless OK), rho, n, status, label."""
    rows = [{"benchmark": c.x.removeprefix("reasoning/"), "target": c.y.removeprefix("success/"),
             "r": c.pearson_r if c.status == OK else np.nan,
             "rho": c.spearman_rho if c.status == OK else np.nan, "n": c.n, "status": c.status,
             "label": f"{c.pearson_r:.2f}" if c.status == OK else c.status} for c in corrs]
    return pd.DataFrame(rows, columns=["benchmark", "target", "r", "rho", "n", "status", "label"])


def external_correlations(published: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> list[Correlation]:
    """Published models' reasoning average against each published suite average (models named alike)."""
    from vlaser.evaluate.published import closed_loop_suites, external_points

    out = []
    for suite in closed_loop_suites(published):
        pts = external_points(published, "reasoning/avg", f"closed_loop/{suite}/avg")
        out.append(correlation(pts["x"].to_numpy(), pts["y"].to_numpy(), "reasoning/avg",
                               f"closed_loop/{suite}/avg", tuple(pts["model"]), n_boot, seed))
    return out


def correlation_report(summary: pd.DataFrame, published: pd.DataFrame | None = None, n_boot: int = 2000,
                       seed: int = 0) -> dict:
    """The JSON-able correlation summary (``vlaser correlate --json``, ``reports/correlation.json``)."""
    corrs = correlate_all(summary, n_boot, seed)
    return {
        "n_variants": int(summary["variant"].nunique()),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "over": "variants (means over seeds)"},
        "min_points": MIN_POINTS,
        "pairs": [c.to_dict() for c in corrs],
        "external": [] if published is None else [c.to_dict() for c in external_correlations(published, n_boot,
                                                                                             seed)],
    }
