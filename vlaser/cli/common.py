"""Shared CLI state: the global options and the resolved settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from vlaser.config import Params, load_params


@dataclass
class CliState:
    params_path: Path | None = None  # None: the workspace's params.yaml
    preset: str | None = None  # None: the file's own `preset:`
    verbosity: int = 0

    def params(self) -> Params:
        return load_params(self.params_path, self.preset)


def state(ctx: typer.Context) -> CliState:
    """The CliState from the root command (sub-apps walk up to it)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
