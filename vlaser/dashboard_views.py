"""View models for the Streamlit dashboard: tables the pages show, computed here (the app only draws).

Every function is pure over a loaded ``Sweep`` (vlaser.sweep_table) or reads one small file, so the
same numbers are testable without a browser and shared with ``vlaser correlate`` / ``vlaser report``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

from vlaser.evaluate.correlate import Correlation, correlate_pair, fit_line, variant_points
from vlaser.evaluate.published import external_points, published_metric
from vlaser.evaluate.stats import wilson_interval
from vlaser.sweep_runs import find_runs
from vlaser.sweep_table import Sweep

_STAGE_KEY = re.compile(r"(?P<stage>[a-z_]+)@(?P<variant>.+)-(?P<seed>\d+)")


def scatter_data(sweep: Sweep, x: str, y: str, published: pd.DataFrame | None = None, suite: str | None = None,
                 n_boot: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, Correlation]:
    """(points, fit line, correlation) for one reasoning metric against one success metric.

    Points: label, x, x_low, x_high, y, y_low, y_high, source ("this sweep" or "external: <source>"),
    external (bool). External points (published models having both metrics; ``suite`` names the
    published suite for ``success/avg``) are shown, never fitted.
    """
    own = variant_points(sweep.summary, x, y).rename(columns={"variant": "label"})
    own = own.assign(source="this sweep", external=False).drop(columns="n_seeds")
    corr = correlate_pair(sweep.summary, x, y, n_boot, seed)
    fit = fit_line(corr, own["x"].to_numpy())
    px, py = published_metric(x), published_metric(y, suite)
    if published is None or px is None or py is None:
        return own, fit, corr
    ext = external_points(published, px, py)
    ext = pd.DataFrame({"label": ext["model"], "x": ext["x"], "x_low": ext["x"], "x_high": ext["x"],
                        "y": ext["y"], "y_low": ext["y"], "y_high": ext["y"],
                        "source": "external: " + ext["source"], "external": True})
    return pd.concat([own, ext], ignore_index=True) if len(ext) else own, fit, corr


def variant_success(sweep: Sweep, variant: str) -> pd.DataFrame:
    """Success per task of one variant: episodes pooled over seeds with a Wilson interval, and the
    mean over seeds with the seed x episode bootstrap interval."""
    t = sweep.table[(sweep.table["variant"] == variant) & sweep.table["metric"].str.startswith("success/")]
    rows = []
    for metric, g in t.groupby("metric", sort=True):
        k, n = int(np.round(g["value"] * g["n"]).sum()), int(g["n"].sum())
        lo, hi = wilson_interval(k, n)
        s = sweep.summary[(sweep.summary["variant"] == variant) & (sweep.summary["metric"] == metric)].iloc[0]
        rows.append({"task": metric.removeprefix("success/"), "successes": k, "episodes": n, "rate": k / n if n
                     else float("nan"), "wilson_low": lo, "wilson_high": hi, "seeds": len(g),
                     "mean_over_seeds": s["mean"], "boot_low": s["ci_low"], "boot_high": s["ci_high"]})
    return pd.DataFrame(rows)


def variant_reasoning(sweep: Sweep, variant: str) -> pd.DataFrame:
    """Score per benchmark of one variant (mean over seeds with the seed x item interval)."""
    s = sweep.summary[(sweep.summary["variant"] == variant) & sweep.summary["metric"].str.startswith("reasoning/")]
    return pd.DataFrame({"benchmark": s["metric"].str.removeprefix("reasoning/"), "score": s["mean"],
                         "ci_low": s["ci_low"], "ci_high": s["ci_high"], "seeds": s["n_seeds"],
                         "items": s["n_items"]}).reset_index(drop=True)


def variant_videos(sweep: Sweep, variant: str) -> list[Path]:
    """Sample videos of a variant's runs (``videos/*.mp4`` beside each closed_loop.json)."""
    return [v for r in find_runs(sweep.root) if r.variant == variant for v in r.videos]


def stage_states(workspace: Path) -> pd.DataFrame | None:
    """The latest sweep's stage states (``.vlaser/sweeps/<id>.json``), or None when there is none."""
    if importlib.util.find_spec("vlaser.orchestrate") is None:
        return None
    from vlaser.orchestrate.state import latest_sweep, load_state

    sweep_id = latest_sweep(workspace)
    if sweep_id is None:
        return None
    state = load_state(workspace, sweep_id)
    rows = []
    for key, st in state.stages.items():
        m = _STAGE_KEY.fullmatch(key)
        rows.append({"sweep": sweep_id, "status": state.status, "stage": m["stage"] if m else key,
                     "variant": m["variant"] if m else "", "seed": int(m["seed"]) if m else None,
                     "state": st.state, "seconds": st.seconds, "attempts": st.attempts, "error": st.error})
    return pd.DataFrame(rows)


def lineage_available() -> bool:
    """Whether the lineage registry (vlaser.lineage) is installed: the lineage page shows only then."""
    return importlib.util.find_spec("vlaser.lineage") is not None


def default_lineage_target(sweep: Sweep) -> str:
    """The first run's closed-loop (else reasoning) report folder, for the lineage page's first view."""
    for run in find_runs(sweep.root):
        report = run.closed_loop or run.reasoning
        if report is not None:
            return str(report.parent)
    return ""


def lineage_rows(target: str, workspace: Path) -> pd.DataFrame:
    """The lineage tree of a checkpoint/report path (or run id) as indented rows, root first."""
    from vlaser.lineage import lineage_tree

    node = lineage_tree(target, root=workspace)
    rows = []

    def visit(n, depth: int) -> None:
        rows.append({"tree": "    " * depth + ("└─ " if depth else "") + n.path, "kind": n.kind,
                     "digest": n.short, "status": n.status, "stage": n.stage, "variant": n.variant,
                     "seed": n.seed, "mlflow_run": n.mlflow_run_id, "code": n.code_commit, "created": n.created})
        for p in n.parents:
            visit(p, depth + 1)

    visit(node, 0)
    return pd.DataFrame(rows)
