"""Shared simulator fixtures: the cpu-default suite and one small demo set recorded once per session.

Other areas may reuse ``sim_demo_dir`` (a finished data/demos/<suite>/ folder: PushCube + PickCube, two
successful expert episodes each, 64x64 frames) instead of recording their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vlaser.config import load_params
from vlaser.config.sim import DemosSection, SuiteSpec


@pytest.fixture(scope="session")
def sim_params(repo_root: Path):
    return load_params(repo_root / "params.yaml")


@pytest.fixture(scope="session")
def cpu_suite(sim_params) -> SuiteSpec:
    return sim_params.sim.suites["cpu-default"]


@pytest.fixture(scope="session")
def small_demo_suite(cpu_suite: SuiteSpec) -> SuiteSpec:
    tasks = [t for t in cpu_suite.tasks if t.id in ("PushCube-v1", "PickCube-v1")]
    return cpu_suite.model_copy(update={"tasks": tasks})


@pytest.fixture(scope="session")
def small_demo_cfg() -> DemosSection:
    return DemosSection(suite="cpu-default", episodes_per_task=2, seed=0, max_attempts_factor=2.0, frame_stride=1)


@pytest.fixture(scope="session")
def sim_demo_dir(tmp_path_factory, small_demo_suite, small_demo_cfg) -> Path:
    from vlaser.sim.demos import record_demos

    out = tmp_path_factory.mktemp("demos") / "cpu-default"
    record_demos("cpu-default", small_demo_suite, small_demo_cfg, out)
    return out
