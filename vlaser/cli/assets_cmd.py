"""`vlaser assets`: which simulator assets each suite needs and whether they are installed; offline install."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vlaser.cli.common import state

assets_app = typer.Typer(help="Simulator assets: check what each suite needs; install the WidowX assets offline.",
                         no_args_is_help=True)


@assets_app.command("check")
def check(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Per suite: the ManiSkill assets (or second interpreter) it needs, and whether they are there (exit 0)."""
    from vlaser.errors import UserError
    from vlaser.sim.checks import asset_dir, suite_asset_gaps
    from vlaser.sim.remote_env import worker_python

    params = state(ctx).params()
    rows = {name: suite_asset_gaps(suite) for name, suite in params.sim.suites.items()}
    interpreters = {}
    for name, suite in params.sim.suites.items():
        if suite.python:
            try:
                interpreters[name] = {"python": str(worker_python(name, suite)), "ready": True}
            except UserError as err:
                interpreters[name] = {"python": suite.python, "ready": False, "why": str(err)}
    if as_json:
        typer.echo(json.dumps({"asset_dir": str(asset_dir()), "suites": rows, "interpreters": interpreters},
                              indent=2))
        return
    table = Table(title=f"ManiSkill assets under {asset_dir()}")
    for col in ("suite", "asset", "status"):
        table.add_column(col)
    for name, gaps in rows.items():
        if name in interpreters:
            info = interpreters[name]
            table.add_row(name, f"python {info['python']}", "ready" if info["ready"] else "missing: see "
                          "scripts/simpler-env.sh")
        elif not gaps:
            table.add_row(name, "-", "needs none")
        for uid, missing in gaps.items():
            status = "installed" if not missing else f"missing {len(missing)} file(s), e.g. {missing[0]}"
            table.add_row(name, uid, status)
    Console().print(table)


@assets_app.command("install-bridge")
def install_bridge(
    real2sim: Path = typer.Option(..., "--real2sim", help="Checkout of simpler-env/ManiSkill2_real2sim."),
    widowx: Path = typer.Option(..., "--widowx", help="Checkout of haosulab/ManiSkill-WidowX250S (tag v0.2.0)."),
    stand_in_missing: bool = typer.Option(False, "--stand-in-missing",
                                          help="Write stand-ins for missing table stages / visual meshes."),
) -> None:
    """Install the SimplerEnv WidowX assets from git checkouts (no network); see docs/sim.md."""
    from vlaser.sim.assets import install_bridge_from_git

    summary = install_bridge_from_git(real2sim, widowx, stand_in_missing=stand_in_missing)
    typer.echo(json.dumps(summary))


@assets_app.command("stand-in-real2sim")
def stand_in_real2sim_cmd(
    real2sim: Path = typer.Option(..., "--real2sim", help="Checkout of simpler-env/ManiSkill2_real2sim."),
) -> None:
    """Write labelled stand-ins for the Google scene stage and missing visual meshes of a checkout (in place)."""
    from vlaser.sim.assets import stand_in_real2sim

    typer.echo(json.dumps({"stand_ins": stand_in_real2sim(real2sim)}))


def register(app: typer.Typer) -> None:
    app.add_typer(assets_app, name="assets")
