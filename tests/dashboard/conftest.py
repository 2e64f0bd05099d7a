"""Fixtures: synthetic, schema-true sweep folders with known values (tests/dashboard/sweeps.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.sweeps import write_known_sweep


@pytest.fixture
def known_sweep(tmp_path: Path) -> Path:
    """Five variants x two seeds under tmp/reports with the counts in KNOWN."""
    return write_known_sweep(tmp_path / "reports")
