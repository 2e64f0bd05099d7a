"""`vlaser eval ...`: evaluate any policy in closed loop, score any VLM on reasoning benchmarks.

Each evaluation kind registers its own command here from its own module.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Evaluate policies (closed loop) and VLMs (reasoning benchmarks).", no_args_is_help=True)

# modules under vlaser/cli/ that define `register(app)` for an `eval` command
_EVAL_AREAS: list[str] = ["eval_closed_loop", "eval_reasoning"]
for _name in _EVAL_AREAS:
    __import__(f"vlaser.cli.{_name}", fromlist=["register"]).register(app)
