"""`vlaser correlate`, `vlaser report`, `vlaser dashboard`: one module computes (vlaser.evaluate.correlate,
vlaser.report), these verbs and the Streamlit app only show."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vlaser.cli.common import state
from vlaser.errors import UserError

_APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _settings(ctx: typer.Context, published: Path | None, no_published: bool):
    """(bootstrap resamples, bootstrap seed, published DataFrame or None) from params.yaml and options."""
    from vlaser.evaluate.published import load_published, resolve_published
    from vlaser.runtime import workspace_root

    cfg = state(ctx).params().aggregate
    if no_published:
        return cfg.bootstrap, cfg.seed, None
    path = published or (resolve_published(cfg.published_csv, workspace_root()) if cfg.published_csv else None)
    return cfg.bootstrap, cfg.seed, load_published(path) if path else None


def _short(metric: str) -> str:
    return metric.split("/", 1)[1]


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from vlaser.evaluate.correlate import Correlation

    console = Console()
    for key, title in (("pairs", f"reasoning vs success over {report['n_variants']} variants (means over seeds)"),
                       ("external", "published results (external, models named alike in the CSV)")):
        if not report[key]:
            continue
        table = Table(title=title)
        for col in ("reasoning", "success", "n", "Pearson r [95% CI]", "p", "Spearman ρ [95% CI]", "p"):
            table.add_column(col)
        for d in report[key]:
            c = Correlation(**{**d, "labels": tuple(d["labels"])})
            if c.status != "ok":
                table.add_row(_short(c.x), _short(c.y), str(c.n), c.status, "", "", "")
                continue
            table.add_row(_short(c.x), _short(c.y), str(c.n), f"{c.pearson_r:.3f} [{c.pearson_ci[0]:.2f}, {c.pearson_ci[1]:.2f}]",
                          f"{c.pearson_p:.3g}", f"{c.spearman_rho:.3f} [{c.spearman_ci[0]:.2f}, "
                          f"{c.spearman_ci[1]:.2f}]", f"{c.spearman_p:.3g}")
        console.print(table)


def correlate_cmd(
    ctx: typer.Context,
    sweep_dir: Path = typer.Option(Path("reports"), "--sweep-dir", help="Sweep folder (reports/)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    published: Path | None = typer.Option(None, "--published", help="Published-results CSV (default: params)."),
    no_published: bool = typer.Option(False, "--no-published", help="Leave out published results."),
) -> None:
    """Correlation of reasoning scores with closed-loop success across the sweep's variants."""
    from vlaser.evaluate.correlate import correlation_report
    from vlaser.sweep_table import load_sweep

    n_boot, seed, pub = _settings(ctx, published, no_published)
    sweep = load_sweep(sweep_dir, n_boot=n_boot, boot_seed=seed)
    report = {"sweep": sweep.name, "sweep_dir": str(sweep_dir), **correlation_report(sweep.summary, pub, n_boot, seed)}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_table(report)


def report_cmd(
    ctx: typer.Context,
    sweep: Path | None = typer.Argument(None, help="Sweep folder (same as --reports)."),
    reports: Path = typer.Option(Path("reports"), "--reports", help="Sweep folder (reports/)."),
    out: Path = typer.Option(..., "--out", help="Folder for the tables (Markdown, CSV) and scatter.png."),
    published: Path | None = typer.Option(None, "--published", help="Published-results CSV (default: params)."),
    no_published: bool = typer.Option(False, "--no-published", help="Leave out published results."),
) -> None:
    """Paper-style tables (reasoning per benchmark, success per task, with intervals) and the scatter."""
    from vlaser.report import write_report
    from vlaser.sweep_table import load_sweep

    n_boot, seed, pub = _settings(ctx, published, no_published)
    loaded = load_sweep(sweep or reports, n_boot=n_boot, boot_seed=seed)
    for name, path in write_report(loaded, out, pub, n_boot, seed).items():
        typer.echo(f"{name}: {path}")


def dashboard_argv(app: Path, host: str, port: int, reports: Path) -> list[str]:
    """The streamlit command line: headless, no usage statistics, bound to ``host``."""
    import sys

    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--", "--reports", str(reports)]


def dashboard_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1: this machine only)."),
    port: int = typer.Option(8501, "--port", help="Port."),
    reports: Path = typer.Option(Path("reports"), "--reports", help="Sweep folder shown first."),
) -> None:
    """Start the Streamlit dashboard (overview, correlation, variant detail, lineage, published)."""
    import os
    import sys

    if not _APP.is_file():
        raise UserError(f"{_APP}: dashboard app not found (run from a source checkout)")
    typer.echo(f"dashboard on http://{host}:{port}  (Ctrl+C stops it)")
    sys.stdout.flush()
    # become streamlit (no wrapper process): a signal to `vlaser dashboard` reaches the server itself,
    # so stopping it never leaves an orphaned server behind
    argv = dashboard_argv(_APP, host, port, reports.resolve())
    os.execv(argv[0], argv)


def register(app: typer.Typer) -> None:
    app.command("correlate")(correlate_cmd)
    app.command("report")(report_cmd)
    app.command("dashboard")(dashboard_cmd)
