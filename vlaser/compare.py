"""Each variant against a baseline (``base``): the difference in every metric with an interval over seeds
and items, and a plain verdict. This is the study's answer to "which pretraining data makes a better
policy": a difference is called only when its 95% interval excludes zero; otherwise "no detectable
difference", whatever the point estimate says.

Pure on the per-seed items of ``vlaser.sweep_runs`` (the same items the summary intervals are built from);
the two variants are resampled independently (``vlaser.evaluate.replicates.difference``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vlaser.errors import UserError
from vlaser.evaluate.replicates import difference
from vlaser.sweep_runs import RunItems, find_runs, read_run

COLUMNS = ["variant", "metric", "variant_mean", "baseline_mean", "diff", "ci_low", "ci_high", "p_le_0", "p_ge_0",
           "n_seeds", "verdict"]


def verdict(lo: float, hi: float) -> str:
    if lo > 0:
        return "higher"
    if hi < 0:
        return "lower"
    return "no detectable difference"


def per_seed_items(runs: list[RunItems]) -> dict[tuple[str, str], list[list]]:
    """{(variant, metric): [strata of seed 1, strata of seed 2, ...]}."""
    out: dict[tuple[str, str], list[list]] = {}
    for run in sorted(runs, key=lambda r: (r.ref.variant, r.ref.seed)):
        for metric, (_value, strata) in run.metrics.items():
            out.setdefault((run.ref.variant, metric), []).append(strata)
    return out


def versus_baseline(runs: list[RunItems], baseline: str = "base", n_boot: int = 4000,
                    seed: int = 0) -> pd.DataFrame:
    """One row per (variant != baseline, metric the baseline also has): difference, interval, verdict."""
    items = per_seed_items(runs)
    if not any(v == baseline for v, _ in items):
        raise UserError(f"no runs of the baseline variant '{baseline}' in this sweep; "
                        f"variants: {sorted({v for v, _ in items})}")
    rows = []
    for (variant, metric), groups in sorted(items.items()):
        base = items.get((baseline, metric))
        if variant == baseline or base is None:
            continue
        d = difference(groups, base, n_boot=n_boot, seed=seed)
        rows.append({"variant": variant, "metric": metric, "variant_mean": d["a_mean"], "baseline_mean": d["b_mean"], **d,
                     "n_seeds": len(groups), "verdict": verdict(d["ci_low"], d["ci_high"])})
    return pd.DataFrame(rows, columns=COLUMNS)


def load_versus_baseline(reports: Path, baseline: str = "base", n_boot: int = 4000, seed: int = 0) -> pd.DataFrame:
    return versus_baseline([read_run(r) for r in find_runs(Path(reports))], baseline, n_boot, seed)


def markdown_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The table for people: averages first, differences in percentage points with their interval."""
    order = {m: (0 if m.endswith("/avg") else 1, m) for m in df["metric"].unique()}
    df = df.assign(_k=df["metric"].map(order)).sort_values(["_k", "variant"]).drop(columns="_k")
    return pd.DataFrame({
        "metric": df["metric"], "variant": df["variant"],
        "variant %": [f"{100 * v:.1f}" for v in df["variant_mean"]],
        "baseline %": [f"{100 * v:.1f}" for v in df["baseline_mean"]],
        "difference, points [95% CI]": [f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
                                        for d, lo, hi in zip(df["diff"], df["ci_low"], df["ci_high"], strict=True)],
        "P(diff <= 0)": [f"{p:.3f}" for p in df["p_le_0"]],
        "seeds": df["n_seeds"], "verdict": df["verdict"]})
