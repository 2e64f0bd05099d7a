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
    }
    for item in items:
        for mark, (skip, reason) in skips.items():
            if skip and mark in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
