"""`vlaser lineage PATH-or-RUN [--json]`, `--verify`, `--rebuild`; `vlaser tracking flush|runs`."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from vlaser.cli.common import state
from vlaser.errors import UserError


def _tracking_settings(ctx: typer.Context):  # noqa: ANN202 - TrackingSection
    """The workspace's tracking section; its defaults when the workspace has no params.yaml."""
    from vlaser.config.sweep import TrackingSection
    from vlaser.runtime import workspace_root

    st = state(ctx)
    if st.params_path is None and not (workspace_root() / "params.yaml").is_file():
        return TrackingSection()
    return st.params().tracking


def lineage(
    ctx: typer.Context,
    target: str | None = typer.Argument(None, metavar="PATH-or-RUN",
                                        help="Artifact folder (or a file in it), MLflow run id, or digest prefix."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the tree, or the problems with --verify)."),
    do_verify: bool = typer.Option(False, "--verify", help="Check every recorded artifact against the disk."),
    quick: bool = typer.Option(False, "--quick", help="With --verify: compare meta.json digests, skip re-hashing."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Re-index every artifact folder from its meta.json."),
) -> None:
    """Show an artifact's lineage back to the raw sources, simulator settings, code and MLflow runs."""
    from vlaser.lineage import lineage_tree, open_registry
    from vlaser.lineage.render import to_rich
    from vlaser.lineage.verify import verify_registry
    from vlaser.runtime import workspace_root

    if sum(map(bool, (target, do_verify, rebuild))) != 1:
        raise UserError("vlaser lineage: give exactly one of PATH-or-RUN, --verify or --rebuild")
    console = Console()
    with open_registry(_tracking_settings(ctx).lineage_url, workspace_root()) as reg:
        if rebuild:
            console.print(f"re-indexed {reg.rebuild()} artifact folders into {reg!r}")
            return
        if do_verify:
            problems = verify_registry(reg, deep=not quick)
            if as_json:
                typer.echo(json.dumps([p.to_dict() for p in problems], indent=2))
            else:
                for p in problems:
                    console.print(f"[red]{p.kind}[/] {p.path}: {p.detail}\n  [dim]fix: {p.fix}[/]", highlight=False)
                console.print("[green]consistent[/]" if not problems else f"{len(problems)} problem(s)")
            if problems:  # SystemExit, not typer.Exit: main() runs click with standalone_mode=False,
                raise SystemExit(1)  # which turns typer.Exit into a return value and drops the code
            return
        node = lineage_tree(target, reg)
    if as_json:
        typer.echo(json.dumps(node.to_dict(), indent=2, default=str))
    else:
        console.print(to_rich(node))


tracking_app = typer.Typer(help="MLflow records: replay buffered records, list a sweep's runs.",
                           no_args_is_help=True)


@tracking_app.command("flush")
def flush(ctx: typer.Context) -> None:
    """Replay records buffered while the tracking store was unreachable (.vlaser/tracking-buffer/)."""
    from vlaser.tracking import open_tracking

    done = open_tracking(_tracking_settings(ctx), mode="fail").flush_buffer()
    Console().print(f"replayed {done} buffered record(s)")


@tracking_app.command("runs")
def runs(ctx: typer.Context, sweep: str = typer.Argument(..., help="Sweep id."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """List a sweep's parent run and its variant × seed child runs."""
    from vlaser.tracking import open_tracking

    found = open_tracking(_tracking_settings(ctx), mode="fail").find_runs(sweep)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
        return
    console = Console()
    console.print(f"sweep {sweep}: parent run {found.parent.info.run_id} ({found.parent.info.status})")
    for r in found.children:
        t = r.data.tags
        console.print(f"  {t.get('vlaser.variant')} s{t.get('vlaser.seed')}: {r.info.run_id} ({r.info.status}), "
                      f"{len(r.data.metrics)} metrics")


def register(app: typer.Typer) -> None:
    app.command("lineage")(lineage)
    app.add_typer(tracking_app, name="tracking")
