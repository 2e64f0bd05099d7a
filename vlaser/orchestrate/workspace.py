"""Make a separate workspace (a copy of the pipeline definition and code) with its own DVC state.

Parallel sweeps need their own workspace (DVC takes a repo-wide lock); tests use this to run real
sweeps on tiny settings in a temporary folder. The copy holds dvc.yaml, params.yaml (with overrides),
pipelines/, flows/ and vlaser/ (the code DVC tracks as stage deps) and is DVC-initialised without git.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from vlaser.config.presets import deep_merge

COPIED = ("dvc.yaml", "pipelines", "flows", "vlaser", ".dvcignore")


def make_workspace(src: Path, dst: Path, overrides: dict[str, Any] | None = None) -> Path:
    """Copy the pipeline from ``src`` into ``dst`` (created), apply ``overrides`` to params.yaml, `dvc init`."""
    dst.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache")
    for name in COPIED:
        s = src / name
        if s.is_dir():
            shutil.copytree(s, dst / name, ignore=ignore, dirs_exist_ok=True)
        elif s.is_file():
            shutil.copy2(s, dst / name)
    write_params(dst, deep_merge(yaml.safe_load((src / "params.yaml").read_text()), overrides or {}))
    if not (dst / ".dvc").is_dir():
        subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=dst, check=True,
                       stdin=subprocess.DEVNULL)
    return dst


def write_params(root: Path, data: dict[str, Any]) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def update_params(root: Path, overrides: dict[str, Any]) -> None:
    """Deep-merge ``overrides`` into the workspace's params.yaml (comments are not kept)."""
    write_params(root, deep_merge(yaml.safe_load((root / "params.yaml").read_text()), overrides))
