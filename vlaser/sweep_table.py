"""The sweep table: every report of a sweep folder in one long table, and per-variant means.

Reads ``<reports>/<variant>/s<seed>/{closed_loop.json, reasoning.json, reasoning_items.jsonl}`` (the
contracts in docs/dashboard.md; also ``<reports>/runs/<variant>/s<seed>/{closed_loop,reasoning}/``, the
DVC stages' layout) into

* the long table (``reports/sweep.parquet``), one row per (variant, seed, metric) with the columns
  ``sweep, variant, seed, metric, value, n, ci_low, ci_high`` — metrics ``reasoning/<benchmark>``,
  ``reasoning/avg``, ``success/<task_id>``, ``success/avg``, values in [0, 1];
* the summary (``reports/sweep_summary.parquet``), one row per (variant, metric): the mean over seeds
  with a bootstrap interval over seeds and episodes/items (vlaser.evaluate.replicates).

Both files carry a fingerprint of the inputs (paths, sizes, mtimes) in their parquet metadata; when it
matches, ``load_sweep`` reads them instead of recomputing, so a 100-variant sweep opens in well under 2 s.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vlaser.errors import UserError
from vlaser.evaluate.replicates import nested_bootstrap
from vlaser.log import get_logger
from vlaser.sweep_runs import RunItems, RunRef, find_runs, read_run

log = get_logger(__name__)

COLUMNS = ["sweep", "variant", "seed", "metric", "value", "n", "ci_low", "ci_high"]
SUMMARY_COLUMNS = ["sweep", "variant", "metric", "mean", "ci_low", "ci_high", "n_seeds", "n_items", "seed_sd"]
TABLE_FILE = "sweep.parquet"
SUMMARY_FILE = "sweep_summary.parquet"
_FORMAT = "2"  # bump when the table layout or the interval method changes: invalidates caches
_META_KEY = b"vlaser.fingerprint"


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the long per-seed table and the per-variant summary."""

    name: str
    root: Path
    table: pd.DataFrame  # COLUMNS
    summary: pd.DataFrame  # SUMMARY_COLUMNS
    fingerprint: str

    @property
    def variants(self) -> list[str]:
        return sorted(self.summary["variant"].unique())

    def metrics(self, prefix: str) -> list[str]:
        """Metric names starting with ``prefix`` ("reasoning/" or "success/"), the average last."""
        from vlaser.evaluate.correlate import metric_names

        return metric_names(self.summary, prefix)


def default_sweep_name(reports: Path) -> str:
    """The workspace folder's name for ``<workspace>/reports``, else the folder's own name."""
    reports = Path(reports).resolve()
    return reports.parent.name if reports.name == "reports" else reports.name


def fingerprint(reports: Path, runs: list[RunRef], sweep: str, n_boot: int, boot_seed: int) -> str:
    """Digest of every input file's relative path, size and mtime, plus the summary settings."""
    h = hashlib.sha256(f"{_FORMAT}|{sweep}|{n_boot}|{boot_seed}".encode())
    for run in runs:
        for f in run.files():
            st = f.stat()
            h.update(f"{f.relative_to(reports).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _summary_row(variant: str, metric: str, per_seed: list[tuple[float, list[np.ndarray]]],
                 n_boot: int, boot_seed: int) -> dict:
    values = np.array([v for v, _ in per_seed], dtype=float)
    _, lo, hi = nested_bootstrap([strata for _, strata in per_seed], n_boot=n_boot, seed=boot_seed)
    return {"variant": variant, "metric": metric, "mean": float(values.mean()), "ci_low": lo, "ci_high": hi,
            "n_seeds": len(values), "n_items": int(sum(sum(len(s) for s in st) for _, st in per_seed)),
            "seed_sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}


def summarize(runs: list[RunItems], n_boot: int = 2000, boot_seed: int = 0) -> pd.DataFrame:
    """Per-variant means over seeds with intervals over seeds and items (see module docstring)."""
    grouped: dict[tuple[str, str], list[tuple[float, list[np.ndarray]]]] = {}
    for run in runs:
        for metric, (value, strata) in run.metrics.items():
            grouped.setdefault((run.ref.variant, metric), []).append((value, strata))
    rows = [_summary_row(v, m, per_seed, n_boot, boot_seed) for (v, m), per_seed in sorted(grouped.items())]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS[1:])


def build(reports: Path, sweep: str | None = None, n_boot: int = 2000,
          boot_seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every run under ``reports``: (long table, summary), without touching any cache."""
    reports = Path(reports)
    name = sweep or default_sweep_name(reports)
    items = [read_run(r, n_boot, boot_seed) for r in find_runs(reports)]
    table = pd.DataFrame([{"sweep": name, **row} for it in items for row in it.rows], columns=COLUMNS)
    table = table.astype({"seed": "int64", "n": "int64"}).sort_values(["variant", "seed", "metric"])
    summary = summarize(items, n_boot, boot_seed)
    summary.insert(0, "sweep", name)
    return table.reset_index(drop=True), summary


def _read_cached(path: Path, fp: str) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    meta = pq.read_schema(path).metadata or {}
    if meta.get(_META_KEY, b"").decode() != fp:
        return None
    return pq.read_table(path).to_pandas()


def _write_cached(df: pd.DataFrame, path: Path, fp: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: fp.encode()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def load_sweep(reports: Path | str, sweep: str | None = None, n_boot: int = 2000, boot_seed: int = 0,
               cache: bool = True) -> Sweep:
    """The sweep under ``reports``; reads the cached parquet files when the inputs are unchanged.

    Raises:
        UserError: the folder is missing or holds no ``<variant>/s<seed>/`` report, or a report is malformed.
    """
    reports = Path(reports)
    if not reports.is_dir():
        raise UserError(f"{reports}: no such sweep folder (expected <reports>/<variant>/s<seed>/ reports)")
    runs = find_runs(reports)
    if not runs:
        raise UserError(f"{reports}: no reports found (expected <variant>/s<seed>/closed_loop.json or "
                        "reasoning.json)")
    name = sweep or default_sweep_name(reports)
    fp = fingerprint(reports, runs, name, n_boot, boot_seed)
    if cache:
        table = _read_cached(reports / TABLE_FILE, fp)
        summary = _read_cached(reports / SUMMARY_FILE, fp)
        if table is not None and summary is not None:
            return Sweep(name, reports, table, summary, fp)
    table, summary = build(reports, name, n_boot, boot_seed)
    if cache:
        try:
            _write_cached(table, reports / TABLE_FILE, fp)
            _write_cached(summary, reports / SUMMARY_FILE, fp)
        except OSError as err:  # a read-only sweep folder still opens, just without the cache
            log.warning("could not write the sweep cache in %s: %s", reports, err)
    return Sweep(name, reports, table, summary, fp)

