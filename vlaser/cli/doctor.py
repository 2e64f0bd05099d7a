"""`vlaser doctor [--json] [--quick]`: verify a workspace (lineage digests, DVC, MLflow, sweep states)."""

from __future__ import annotations

import json

import typer
from rich.console import Console


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quick: bool = typer.Option(False, "--quick", help="Compare meta.json digests only (skip re-hashing content)."),
) -> None:
    """Check that every recorded artifact exists with its digest, DVC is up to date, every report has its
    MLflow run and no sweep was left interrupted; print each problem with its repair. Exit 1 on problems."""
    from vlaser.doctor import diagnose
    from vlaser.runtime import workspace_root

    report = diagnose(workspace_root(), deep=not quick)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        console = Console()
        for f in report.findings:
            style = "red" if f.severity == "problem" else "yellow"
            console.print(f"[{style}]{f.check}/{f.kind}[/] {f.subject}: {f.detail}\n  [dim]fix: {f.fix}[/]",
                          highlight=False)
        summary = ", ".join(f"{k} {v}" for k, v in report.checks.items())
        console.print(("[green]consistent[/] " if report.ok else f"[red]{len(report.problems)} problem(s)[/] ")
                      + f"({summary})", highlight=False)
    if not report.ok:  # SystemExit: main() runs click with standalone_mode=False (typer.Exit codes are dropped)
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
