"""Test-wide setup: environment defaults before heavy imports; skips for GPU/browser/postgres marks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vlaser.runtime import apply_env_defaults

REPO = Path(__file__).resolve().parents[1]
apply_env_defaults(REPO)


def pytest_collection_modifyitems(config, items):
    import torch

    skips = {
        "gpu": (not torch.cuda.is_available(), "needs a CUDA GPU (none on this machine)"),
        "browser": (shutil.which("chromium") is None, "needs chromium (scripts/setup.sh installs it)"),
        "postgres": (not Path("/usr/lib/postgresql").is_dir(), "needs PostgreSQL (scripts/setup.sh installs it)"),
        "bridge_assets": (_bridge_assets_missing(), "needs the SimplerEnv WidowX assets (a download: "
                          "python -m mani_skill.utils.download_asset bridge_v2_real2sim -y, and widowx250s)"),
        "simpler_env": (not _simpler_env_ready(), "needs .venv-simpler with simpler_env (scripts/simpler-env.sh "
                        "SIMPLERENV_CHECKOUT; the package and its scenes are not on PyPI)"),
    }
    for item in items:
        for mark, (skip, reason) in skips.items():
            if skip and mark in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _bridge_assets_missing() -> bool:
    from vlaser.sim.checks import missing_asset_files

    return bool(missing_asset_files("bridge_v2_real2sim") or missing_asset_files("widowx250s"))


def _simpler_env_ready() -> bool:
    import subprocess

    python = REPO / ".venv-simpler" / "bin" / "python"
    return python.is_file() and subprocess.run([str(python), "-c", "import simpler_env"],
                                               capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
