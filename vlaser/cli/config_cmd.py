"""`vlaser config show|check`: see or check the resolved settings."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.syntax import Syntax

from vlaser.cli.common import state
from vlaser.config import load_params

app = typer.Typer(help="See or check the resolved settings.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    preset: str | None = typer.Option(None, "--preset", help="Overlay this preset (default: the file's own)."),
    section: str | None = typer.Option(None, "--section", help="Show one section only, e.g. pretrain."),
) -> None:
    """Print the resolved settings (params.yaml with its preset applied) as YAML."""
    st = state(ctx)
    params = load_params(st.params_path, preset or st.preset)
    data = params.model_dump(mode="json")
    if section:
        if section not in data:
            from vlaser.errors import UserError

            raise UserError(f"unknown section '{section}'; expected one of {', '.join(data)}")
        data = {section: data[section]}
    text = yaml.safe_dump(data, sort_keys=False)
    Console().print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))


@app.command("check")
def check(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A params YAML file to validate."),
    preset: str | None = typer.Option(None, "--preset", help="Validate with this preset overlaid."),
) -> None:
    """Validate a settings file; exit 2 with the offending key, line and expectation if it is bad."""
    params = load_params(file, preset or state(ctx).preset)
    Console().print(f"[green]ok[/green] {file} (preset {params.preset}, {len(params.sweep.variants)} variants)")
