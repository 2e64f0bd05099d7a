"""The `vlaser` command line (typer + rich).

Each area registers its own sub-commands in its own module; a verb appears here only once its
capability exists, so `--help` never lists a verb that does nothing. Bad input raises ``UserError``,
which ``main`` prints (no traceback) and turns into exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from vlaser.runtime import apply_env_defaults

apply_env_defaults()  # before any heavy import below or in sub-commands

from vlaser.cli import config_cmd  # noqa: E402
from vlaser.cli.common import CliState  # noqa: E402
from vlaser.errors import UserError  # noqa: E402
from vlaser.log import setup_logging  # noqa: E402

app = typer.Typer(
    name="vlaser",
    help="Vlaser experiment platform: data -> VLM -> VLA -> reasoning and closed-loop evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    params: Path | None = typer.Option(None, "--params", help="Settings file (default: ./params.yaml)."),
    preset: str | None = typer.Option(None, "--preset", help="Preset overlay (tiny, internvl3-2b, ...)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Warnings only, no progress bars."),
) -> None:
    verbosity = 1 if verbose else (-1 if quiet else 0)
    if quiet:
        import os

        os.environ["VLASER_QUIET"] = "1"
    setup_logging(verbosity)
    ctx.obj = CliState(params_path=params, preset=preset, verbosity=verbosity)


app.add_typer(config_cmd.app, name="config")

from vlaser.cli import eval_cmd  # noqa: E402

if eval_cmd._EVAL_AREAS:  # `eval` appears once an evaluation kind exists
    app.add_typer(eval_cmd.app, name="eval")

# Areas register their verbs here as they land (one line each).
_AREAS: list[str] = ["sweep_cmd", "lineage", "analysis", "doctor", "stack", "assets_cmd"]
for _name in _AREAS:
    __import__(f"vlaser.cli.{_name}", fromlist=["register"]).register(app)


def main() -> None:
    try:
        code = app(standalone_mode=False)  # click returns the code of `typer.Exit(n)` in this mode
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as err:
        err_console = Console(stderr=True)
        err_console.print("[bold red]error:[/bold red] ", end="")
        err_console.print(str(err), markup=False, highlight=False)
        sys.exit(err.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:  # click usage errors carry their own exit code (2)
        if isinstance(e, _click_errors()):
            e.show()
            sys.exit(e.exit_code)
        if _disk_full(e):  # not a bug: say so in one line, and how to finish what was interrupted
            where = f" writing {e.filename}" if getattr(e, "filename", None) else ""
            Console(stderr=True).print(f"error: no space left on device{where}. Free space, then `vlaser resume "
                                       "SWEEP` (`vlaser status` names it) finishes what was interrupted; nothing "
                                       "unfinished is recorded as done.", markup=False, highlight=False)
            sys.exit(1)
        raise


def _disk_full(err: BaseException | None) -> bool:
    """True when ``err`` or an exception it was raised from is ENOSPC/EDQUOT (a full disk or quota)."""
    import errno

    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        err = err.__cause__ or err.__context__
    return False


def _click_errors() -> tuple[type[Exception], ...]:
    """Usage-error classes: click's, and the copy of click that typer >= 0.2x vendors and raises."""
    import click

    try:
        from typer._click.exceptions import ClickException as vendored
    except ImportError:
        return (click.ClickException,)
    return (click.ClickException, vendored)
