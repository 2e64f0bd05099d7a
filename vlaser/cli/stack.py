"""`vlaser stack up|down|status` (the local tracking stack) and `vlaser deploy` (Prefect deployment)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

stack_app = typer.Typer(help="The tracking stack: PostgreSQL + MLflow server (+ Prefect server) on 127.0.0.1.",
                        no_args_is_help=True)

FOLDER_HELP = "Stack folder (default: <workspace>/.vlaser/stack)."


def _stack(folder: Path | None):
    from vlaser.runtime import state_dir
    from vlaser.scale.stack import Stack

    return Stack(folder or state_dir() / "stack")


@stack_app.command("up")
def up(
    folder: Path | None = typer.Option(None, "--folder", help=FOLDER_HELP),
    prefect: bool = typer.Option(False, "--prefect", help="Also start a Prefect server (database on the same PostgreSQL)."),
    pg_port: int | None = typer.Option(None, "--pg-port", help="PostgreSQL port (default: a free one, kept)."),
    mlflow_port: int | None = typer.Option(None, "--mlflow-port"),
    prefect_port: int | None = typer.Option(None, "--prefect-port"),
    mlflow_workers: int = typer.Option(1, "--mlflow-workers", min=1),
    timeout: float = typer.Option(600, "--timeout", help="Seconds to wait for the servers to answer."),
    as_json: bool = typer.Option(False, "--json", help="Print the stack description as JSON."),
) -> None:
    """Initialise (once) and start the stack; print the settings that point a workspace at it."""
    stack = _stack(folder)
    info = stack.up(prefect=prefect, pg_port=pg_port, mlflow_port=mlflow_port, prefect_port=prefect_port,
                    mlflow_workers=mlflow_workers, timeout_s=timeout)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    import yaml

    console = Console()
    console.print(f"[green]stack up[/green] in {stack.folder} (details: {stack.info_file})")
    console.print("put this in params.yaml (also written to "
                  f"{stack.folder / 'tracking.yaml'}):", highlight=False)
    print(yaml.safe_dump({"tracking": info["settings"]["tracking"]}, sort_keys=False), end="")
    for k, v in info["settings"]["env"].items():
        print(f"export {k}={v}")


@stack_app.command("down")
def down(folder: Path | None = typer.Option(None, "--folder", help=FOLDER_HELP)) -> None:
    """Stop the stack's servers and PostgreSQL (data stays in the folder)."""
    stopped = _stack(folder).down()
    Console().print(", ".join(f"{k} {'stopped' if v else 'was not running'}" for k, v in stopped.items()))


@stack_app.command("status")
def status(
    folder: Path | None = typer.Option(None, "--folder", help=FOLDER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which parts run, on which ports; exit 1 when any part is down."""
    parts = _stack(folder).status()
    if as_json:
        print(json.dumps(parts, indent=2))
    else:
        table = Table(title="vlaser stack", title_justify="left")
        for col in ("part", "state", "port", "where"):
            table.add_column(col)
        for name, p in parts.items():
            state = "[green]running[/green]" if p["running"] else "[red]down[/red]"
            table.add_row(name, state, str(p["port"] or "—"), str(p["url"] or "—"))
        Console().print(table)
    if not all(p["running"] for p in parts.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(stack_app, name="stack")

    @app.command("deploy")
    def deploy(
        api_url: str | None = typer.Option(None, "--api-url", help="Prefect API (default: PREFECT_API_URL)."),
        pool: str = typer.Option("vlaser-process", "--pool", help="Work pool (created if missing)."),
        name: str = typer.Option("sweep", "--name", help="Deployment name in prefect.yaml."),
        pool_type: str = typer.Option("process", "--pool-type", help="Work pool type when it is created."),
    ) -> None:
        """Register the sweep deployment of prefect.yaml on a work pool (then: `prefect worker start --pool P`)."""
        from vlaser.runtime import workspace_root
        from vlaser.scale.deploy import deploy as do_deploy

        root = workspace_root()
        do_deploy(root, api_url, pool, name, pool_type)
        Console().print(f"[green]deployed[/green] vlaser-sweep-entry/{name} on pool {pool} from {root}\n"
                        f"start a worker: prefect worker start --pool {pool}\n"
                        f"run it:         prefect deployment run vlaser-sweep-entry/{name}")
