"""Private workspaces for parallel workers: one DVC repository each, one shared DVC cache and remote.

DVC takes a repository-wide lock, so two sweeps in one workspace would wait on each other (or collide).
A worker therefore runs in its own copy (``make_workspace``: pipeline, code, params with overrides, a
fresh ``.dvc``) whose cache is the source's (``dvc cache dir --local``): a stage that any workspace
already ran with the same deps, params and command is restored from DVC's run-cache instead of run,
and nothing is stored twice. The source's default remote is copied too, so ``dvc push`` from a worker
lands where the team's remote is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from vlaser.errors import UserError
from vlaser.orchestrate.workspace import make_workspace


def _dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise UserError(f"dvc {' '.join(args)} failed in {root}:\n{(res.stderr or res.stdout).strip()[-1500:]}")
    return res


def cache_dir(root: Path) -> Path:
    """The DVC cache folder of the workspace ``root``."""
    return Path(_dvc(root, "cache", "dir").stdout.strip()).resolve()


def default_remote(root: Path) -> tuple[str, str] | None:
    """``(name, url)`` of the default DVC remote of ``root`` (local paths made absolute), or None."""
    name = _dvc(root, "remote", "default", check=False).stdout.strip()
    if not name:
        return None
    for line in _dvc(root, "remote", "list").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            url = parts[1]
            if "://" not in url and not Path(url).is_absolute():
                url = str((root / ".dvc" / url).resolve())  # DVC resolves relative URLs from .dvc/
            return name, url
    return None


def set_remote(root: Path, name: str, url: str) -> None:
    """Make ``url`` the default remote of ``root`` (in .dvc/config.local: not part of the pipeline)."""
    _dvc(root, "remote", "add", "--local", "--force", "--default", name, url)


def worker_workspace(source: Path, dest: Path, overrides: dict[str, Any] | None = None,
                     share_cache: bool = True) -> Path:
    """A private workspace at ``dest`` copied from ``source`` (see the module docstring); returns ``dest``."""
    source, dest = Path(source).resolve(), Path(dest).resolve()
    if not (source / "dvc.yaml").is_file() or not (source / "params.yaml").is_file():
        raise UserError(f"{source}: not a Vlaser workspace (needs dvc.yaml and params.yaml)")
    if dest == source:
        raise UserError(f"{dest}: a worker workspace must be a folder of its own, not the source workspace")
    ws = make_workspace(source, dest, overrides)
    if share_cache and (source / ".dvc").is_dir():
        _dvc(ws, "cache", "dir", "--local", str(cache_dir(source)))
    remote = default_remote(source) if (source / ".dvc").is_dir() else None
    if remote is not None:
        set_remote(ws, *remote)
    return ws


def push(root: Path, remote: str | None = None) -> str:
    """``dvc push`` every stage's outputs of ``root`` to its default (or the named) remote."""
    return _dvc(root, "push", *(["-r", remote] if remote else [])).stdout


def pull(root: Path, remote: str | None = None) -> str:
    """``dvc pull``: restore every stage's outputs of ``root`` from the remote."""
    return _dvc(root, "pull", *(["-r", remote] if remote else [])).stdout
