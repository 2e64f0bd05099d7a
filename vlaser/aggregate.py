"""The ``aggregate`` stage: a sweep's reports -> sweep table, per-variant summary and correlation summary.

``aggregate(runs_dir, cfg, out)`` writes, atomically, ``out/`` with ``sweep.parquet`` (long table),
``sweep_summary.parquet`` (per-variant means with seed x item bootstrap intervals), ``correlation.json``
(vlaser.evaluate.correlate.correlation_report, with the published CSV's external pairs) and meta.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlaser.config.evaluate import AggregateSection
from vlaser.io import atomic_dir, write_json, write_meta
from vlaser.runtime import workspace_root


def aggregate(runs_dir: Path, cfg: AggregateSection, out: Path, sweep: str | None = None) -> dict[str, Any]:
    """Summarise every run under ``runs_dir`` into ``out``; returns headline numbers (for MLflow).

    Raises:
        UserError: no reports under ``runs_dir``, a malformed report, or a malformed published CSV.
    """
    from vlaser.evaluate.correlate import correlation_report
    from vlaser.evaluate.published import load_published, resolve_published
    from vlaser.sweep_table import SUMMARY_FILE, TABLE_FILE, build

    runs_dir = Path(runs_dir)
    table, summary = build(runs_dir, sweep, cfg.bootstrap, cfg.seed)
    published = load_published(resolve_published(cfg.published_csv, workspace_root())) if cfg.published_csv else None
    report = correlation_report(summary, published, cfg.bootstrap, cfg.seed)
    with atomic_dir(out) as tmp:
        table.to_parquet(tmp / TABLE_FILE, index=False)
        summary.to_parquet(tmp / SUMMARY_FILE, index=False)
        write_json(tmp / "correlation.json", report)
        write_meta(tmp, "summary", cfg, extra={"runs": int(table[["variant", "seed"]].drop_duplicates().shape[0])})
    headline = {f"corr/{p['x'].split('/')[1]}_vs_{p['y'].split('/')[1]}/pearson_r": p["pearson_r"]
                for p in report["pairs"] if p["pearson_r"] is not None and p["x"].endswith("/avg")}
    return {"n_variants": report["n_variants"], "n_runs": int(table[["variant", "seed"]].drop_duplicates().shape[0]),
            **headline}
