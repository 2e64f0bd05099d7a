"""`vlaser sweep | resume | status | stage | workspace`: run sweeps, see where they stand, run one stage by hand,
make a separate workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vlaser.cli.common import state as cli_state
from vlaser.errors import UserError

STATE_STYLE = {"done": "green", "cached": "cyan", "failed": "bold red", "running": "yellow", "pending": "dim",
               "skipped": "magenta", "changed": "yellow", "up to date": "cyan"}


def _root(ctx: typer.Context):
    from vlaser.runtime import workspace_root

    st = cli_state(ctx)
    if st.params_path is not None and st.params_path.name != "params.yaml":
        raise UserError("sweeps read the workspace's params.yaml (DVC tracks it); --params is for `config` verbs")
    root = workspace_root()
    if st.preset is not None:
        _set_preset(root / "params.yaml", st.preset)
    return root


def _set_preset(path, preset: str) -> None:
    """Write the preset's values and ``preset:`` into params.yaml (DVC reads the file: see config.materialize)."""
    from vlaser.config.materialize import write_preset

    if write_preset(path, preset):
        Console(stderr=True).print(f"params.yaml: preset {preset} written into the file (git diff shows what changed)")


def _run(ctx: typer.Context, variants: list[str] | None, resume: str | None) -> None:
    from vlaser.orchestrate.sweep import SweepFailed, run_sweep

    root = _root(ctx)
    try:
        state = run_sweep(root, variants, resume)
    except SweepFailed as err:
        Console(stderr=True).print(f"[bold red]{err}[/bold red]")
        _table(root, err.sweep_id)
        sys.exit(err.exit_code)
    _table(root, state.sweep_id)


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    def sweep(
        ctx: typer.Context,
        variants: str | None = typer.Option(None, "--variants", help="Comma list (default: sweep.variants)."),
        preset: str | None = typer.Option(None, "--preset", help="Set params.yaml's preset first (tiny, study...)."),
    ) -> None:
        """Run a full data-to-eval sweep (every variant x seed) through DVC stages under Prefect."""
        if preset:
            cli_state(ctx).preset = preset
        chosen = [v.strip() for v in variants.split(",") if v.strip()] if variants else None
        _run(ctx, chosen, None)

    @app.command("workspace")
    def workspace(
        path: Path = typer.Argument(..., help="Folder of the workspace (created, or refreshed if it exists)."),
        preset: str | None = typer.Option(None, "--preset", help="Write this preset into its params.yaml."),
    ) -> None:
        """Make a separate workspace: this checkout's pipeline and code, its own DVC state and params.yaml.

        Sweeps there leave this checkout's params.yaml and outputs alone; run them with
        `VLASER_WORKSPACE=PATH vlaser sweep` (or from inside PATH). Refreshing copies the current code again."""
        from filelock import Timeout

        from vlaser.config.materialize import write_preset
        from vlaser.orchestrate.sweep import sweep_lock
        from vlaser.orchestrate.workspace import make_workspace
        from vlaser.runtime import workspace_root

        src, dst = workspace_root(), path.resolve()
        if dst == src:
            raise UserError(f"{path}: that is this checkout itself; give a new folder")
        if dst.exists() and not (dst / "dvc.yaml").is_file() and any(dst.iterdir()):
            raise UserError(f"{path}: exists and is not a Vlaser workspace (no dvc.yaml); give a new or empty folder")
        lock = sweep_lock(dst) if dst.is_dir() else None
        try:
            if lock is not None:
                lock.acquire(timeout=0)
        except Timeout:
            raise UserError(f"{path}: a sweep is running there; refresh it when that sweep has finished") from None
        try:
            make_workspace(src, dst)
            if preset:
                write_preset(dst / "params.yaml", preset)
        finally:
            if lock is not None:
                lock.release()
        Console().print(f"[green]workspace[/green] {dst} (preset {preset or 'of params.yaml'}); "
                        f"run: VLASER_WORKSPACE={dst} vlaser sweep")

    @app.command("resume")
    def resume(ctx: typer.Context, sweep_id: str = typer.Argument(..., help="Sweep id (see `vlaser status`).")) -> None:
        """Re-run only the failed or unfinished stages of a sweep (DVC's status decides)."""
        _run(ctx, None, sweep_id)

    @app.command("status")
    def status(
        ctx: typer.Context,
        sweep_id: str | None = typer.Argument(None, help="Sweep id (default: the latest)."),
    ) -> None:
        """A table of variants x stages with state and duration."""
        from vlaser.orchestrate.state import latest_sweep

        root = _root(ctx)
        sweep_id = sweep_id or latest_sweep(root)
        if sweep_id is None:
            raise UserError(f"no sweep has run in {root} yet; start one with `vlaser sweep`")
        _table(root, sweep_id)

    @app.command("stage")
    def stage(
        ctx: typer.Context,
        name: str = typer.Argument(..., help="Stage name as in dvc.yaml (demos, mixture, pretrain, ...)."),
        variant: str | None = typer.Option(None, "--variant"),
        seed: int | None = typer.Option(None, "--seed"),
        source: str | None = typer.Option(None, "--source"),
        suite: str | None = typer.Option(None, "--suite"),
    ) -> None:
        """Run one stage by hand in this process (what DVC calls); it is recorded like any other."""
        from vlaser.config import load_params
        from vlaser.stages import StageKey, run_stage

        root = _root(ctx)
        result = run_stage(StageKey(name, variant, seed, source, suite), load_params(root / "params.yaml"), root)
        Console().print(f"[green]done[/green] {result.out}")


def _table(root, sweep_id: str) -> None:
    """Print variants x stages for a sweep, from its state file."""
    from vlaser.orchestrate.plan import CHAIN
    from vlaser.orchestrate.state import load_state

    state = load_state(root, sweep_id)
    console = Console()
    head = Table(title=f"sweep {state.sweep_id} — {state.status} (preset {state.preset}, created {state.created})",
                 title_justify="left")
    head.add_column("variant")
    head.add_column("seed", justify="right")
    columns = ["mixture", *CHAIN]
    for c in columns:
        head.add_column(c)
    for variant in state.variants:
        for seed in state.seeds:
            cells = []
            for c in columns:
                name = f"mixture@{variant}" if c == "mixture" else f"{c}@{variant}-{seed}"
                st = state.stages.get(name)
                if st is None:
                    cells.append("[dim]—[/dim]")
                    continue
                dur = f" {st.seconds:.0f}s" if st.seconds else ""
                cells.append(f"[{STATE_STYLE.get(st.state, 'white')}]{st.state}[/]{dur}")
            head.add_row(variant, str(seed), *cells)
    console.print(head)
    shared = [(k, v) for k, v in state.stages.items() if "@" not in k or k.startswith("ood@") or k == "aggregate"]
    if shared:
        console.print("shared: " + ", ".join(
            f"{k} [{STATE_STYLE.get(v.state, 'white')}]{v.state}[/]" + (f" {v.seconds:.0f}s" if v.seconds else "")
            for k, v in shared))
    for name, st in state.failed().items():
        console.print(f"[bold red]failed[/bold red] {name}: {st.error}" + (f"\n  log: {st.log}" if st.log else ""))
