"""``vlaser report``: the paper-style tables and the reasoning-vs-success scatter of a sweep.

Writes into ``out/``: ``reasoning.{md,csv}`` (score per benchmark and variant), ``closed_loop.{md,csv}``
(success per task and variant), ``vs_base.{md,csv}`` (each variant minus ``base``, with intervals and a
verdict; vlaser.compare), ``correlation.{md,csv}`` and ``scatter.png``. Every own number is a
mean over seeds with the seed x item bootstrap interval (vlaser.sweep_table); the paper's published
figures stand beside the variants they correspond to (vlaser.evaluate.published.VARIANT_MODELS),
marked as external, and never enter a fit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vlaser.compare import markdown_rows, versus_baseline
from vlaser.evaluate.correlate import Correlation, correlate_all, correlate_pair, metric_names, variant_points
from vlaser.evaluate.published import VARIANT_MODELS, closed_loop_suites, external_points, published_metric
from vlaser.sweep_runs import find_runs, read_run
from vlaser.sweep_table import Sweep


def pct_cell(mean: float, lo: float, hi: float) -> str:
    """``45.0 [38.2, 51.1]`` (percent)."""
    return f"{100 * mean:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _paper_values(published: pd.DataFrame, variant: str, metric: str) -> tuple[float, str] | None:
    for model in VARIANT_MODELS.get(variant, ()):
        hit = published[(published["model"] == model) & (published["metric"] == metric)]
        if len(hit):
            return float(hit["value_pct"].iloc[0]), model
    return None


def paper_columns(summary: pd.DataFrame, prefix: str, published: pd.DataFrame) -> list[str]:
    """Published metrics to set beside ``prefix`` metrics: same-named benchmarks/tasks and suite averages."""
    if prefix == "reasoning/":
        wanted = [published_metric(m) for m in metric_names(summary, prefix)]
    else:
        wanted = [published_metric(m) for m in metric_names(summary, prefix)]
        wanted += [f"closed_loop/{s}/avg" for s in closed_loop_suites(published)]
    return [m for m in dict.fromkeys(w for w in wanted if w)
            if any(_paper_values(published, v, m) for v in summary["variant"].unique())]


def tidy_table(sweep: Sweep, prefix: str, published: pd.DataFrame | None) -> pd.DataFrame:
    """Long CSV form: source, variant, model, metric, mean, ci_low, ci_high, n_seeds, n_items, external."""
    own = sweep.summary[sweep.summary["metric"].str.startswith(prefix)]
    rows = own.assign(source="this sweep", model="", external=False)
    rows = rows[["source", "variant", "model", "metric", "mean", "ci_low", "ci_high", "n_seeds", "n_items",
                 "external"]]
    if published is None:
        return rows.reset_index(drop=True)
    ext = []
    for metric in paper_columns(sweep.summary, prefix, published):
        for variant in sweep.variants:
            hit = _paper_values(published, variant, metric)
            if hit:
                src = published[(published["model"] == hit[1]) & (published["metric"] == metric)]["source"].iloc[0]
                ext.append({"source": src, "variant": variant, "model": hit[1], "metric": metric,
                            "mean": round(hit[0] / 100, 6), "ci_low": float("nan"), "ci_high": float("nan"),
                            "n_seeds": 0, "n_items": 0, "external": True})
    if not ext:
        return rows.reset_index(drop=True)
    return pd.concat([rows, pd.DataFrame(ext, columns=rows.columns)], ignore_index=True)


def wide_table(sweep: Sweep, prefix: str, published: pd.DataFrame | None) -> pd.DataFrame:
    """Variants x metrics of ``mean [low, high]`` in percent, plus ``<metric> (paper)`` columns."""
    s = sweep.summary[sweep.summary["metric"].str.startswith(prefix)]
    cells = s.assign(cell=[pct_cell(m, lo, hi) for m, lo, hi in zip(s["mean"], s["ci_low"], s["ci_high"],
                                                                     strict=True)])
    wide = cells.pivot(index="variant", columns="metric", values="cell")[metric_names(s, prefix)]
    wide.columns = [c.removeprefix(prefix) for c in wide.columns]
    wide.insert(0, "seeds", s.groupby("variant")["n_seeds"].max())
    if published is not None:
        for metric in paper_columns(sweep.summary, prefix, published):
            vals = {v: _paper_values(published, v, metric) for v in wide.index}
            wide[f"{metric} (paper)"] = [f"{h[0]:.1f} ({h[1]})" if h else "" for h in vals.values()]
    return wide.reset_index()


def markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(False)]
    return "\n".join([head, rule, *body]) + "\n"


def correlation_table(corrs: list[Correlation]) -> pd.DataFrame:
    """One row per (reasoning metric, success metric) with the one-line summary and raw numbers."""
    return pd.DataFrame([{"reasoning": c.x, "success": c.y, "n": c.n, "status": c.status,
                          "pearson_r": c.pearson_r, "pearson_p": c.pearson_p, "spearman_rho": c.spearman_rho,
                          "spearman_p": c.spearman_p, "summary": c.summary()} for c in corrs])


def scatter_png(sweep: Sweep, path: Path, published: pd.DataFrame | None, x: str = "reasoning/avg",
                y: str = "success/avg", n_boot: int = 2000, seed: int = 0) -> Correlation:
    """Variant means with their intervals, the least-squares fit, and the paper's points (external)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = variant_points(sweep.summary, x, y)
    corr = correlate_pair(sweep.summary, x, y, n_boot, seed)
    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    ax.errorbar(100 * pts["x"], 100 * pts["y"], xerr=[100 * (pts["x"] - pts["x_low"]), 100 * (pts["x_high"] - pts["x"])],
                yerr=[100 * (pts["y"] - pts["y_low"]), 100 * (pts["y_high"] - pts["y"])], fmt="o", capsize=3,
                label=f"{sweep.name} variants (mean over seeds, 95% CI)")
    for _, p in pts.iterrows():
        ax.annotate(p["variant"], (100 * p["x"], 100 * p["y"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if corr.slope is not None:
        xs = pd.Series([pts["x"].min(), pts["x"].max()])
        ax.plot(100 * xs, 100 * (corr.slope * xs + corr.intercept), "-", color="C0", alpha=0.6, label="least-squares fit")
    if published is not None:
        for color, suite in zip(("C3", "C1", "C2", "C4", "C5"), closed_loop_suites(published), strict=False):
            ext = external_points(published, x, f"closed_loop/{suite}/avg") if y == "success/avg" else pd.DataFrame()
            if len(ext):
                ax.scatter(100 * ext["x"], 100 * ext["y"], marker="^", facecolors="none", edgecolors=color,
                           label=f"external: paper, {suite} (not in fit)")
                for _, p in ext.iterrows():
                    ax.annotate(p["model"], (100 * p["x"], 100 * p["y"]), textcoords="offset points",
                                xytext=(4, -10), fontsize=7, color=color)
    ax.set_xlabel(f"{x} (%)")
    ax.set_ylabel(f"{y} (%)")
    ax.set_title(corr.summary(), fontsize=8)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return corr


def write_report(sweep: Sweep, out: Path, published: pd.DataFrame | None = None, n_boot: int = 2000,
                 seed: int = 0, baseline: str = "base") -> dict[str, Path]:
    """Write the tables (Markdown + CSV) and the scatter into ``out``; returns {name: path}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, prefix in (("reasoning", "reasoning/"), ("closed_loop", "success/")):
        if not metric_names(sweep.summary, prefix):
            continue
        (out / f"{name}.md").write_text(f"# {name.replace('_', ' ')}: {sweep.name}\n\nPercent, mean over seeds "
                                        "[95% bootstrap CI over seeds and items]; (paper) columns are external.\n\n"
                                        + markdown(wide_table(sweep, prefix, published)))
        tidy_table(sweep, prefix, published).to_csv(out / f"{name}.csv", index=False)
        files[f"{name}.md"], files[f"{name}.csv"] = out / f"{name}.md", out / f"{name}.csv"
    runs = [read_run(r, n_boot, seed) for r in find_runs(sweep.root)]
    if any(r.ref.variant == baseline for r in runs):
        vs = versus_baseline(runs, baseline, n_boot=max(n_boot, 4000), seed=seed)
        vs.to_csv(out / "vs_base.csv", index=False)
        (out / "vs_base.md").write_text(
            f"# each variant against `{baseline}`: {sweep.name}\n\nDifference of the mean over seeds, in percentage "
            "points, with a 95% bootstrap interval (seeds and items of both variants resampled independently); "
            "a difference is called only when the interval excludes zero.\n\n" + markdown(markdown_rows(vs)))
        files["vs_base.csv"], files["vs_base.md"] = out / "vs_base.csv", out / "vs_base.md"
    corr = correlation_table(correlate_all(sweep.summary, n_boot, seed))
    corr.to_csv(out / "correlation.csv", index=False)
    (out / "correlation.md").write_text(f"# reasoning vs closed-loop success: {sweep.name}\n\n"
                                        + markdown(corr[["reasoning", "success", "summary"]]))
    files["correlation.csv"], files["correlation.md"] = out / "correlation.csv", out / "correlation.md"
    if metric_names(sweep.summary, "reasoning/") and metric_names(sweep.summary, "success/"):
        scatter_png(sweep, out / "scatter.png", published, n_boot=n_boot, seed=seed)
        files["scatter.png"] = out / "scatter.png"
    return files
