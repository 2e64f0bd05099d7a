"""Fast checks of the scale-out pieces: clear errors (exit 2) for missing tools and settings, task runners."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.scale.conftest import cli
from vlaser.errors import UserError
from vlaser.scale.entry import group_destinations, make_task_runner
from vlaser.scale.postgres import PgCluster
from vlaser.scale.procs import free_port, port_free, require_binary
from vlaser.scale.workspaces import worker_workspace


def test_missing_binary_names_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        require_binary("vlaser-no-such-tool", "install it with apt-get", [tmp_path])
    assert "vlaser-no-such-tool" in str(err.value) and "apt-get" in str(err.value)
    assert err.value.exit_code == 2


def test_start_without_initdb_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="vlaser stack up"):
        PgCluster(tmp_path / "pg").start(free_port())


def test_task_runner_specs() -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    runner = make_task_runner("threads", 3)
    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 3
    with pytest.raises(UserError, match="expected threads"):
        make_task_runner("slurm://head")
    for kind, pkg in (("dask", "prefect_dask"), ("ray", "prefect_ray")):
        if importlib.util.find_spec(pkg) is None:
            with pytest.raises(UserError, match=pkg.replace("_", "-")):
                make_task_runner(f"{kind}://head:1")


def test_group_workspaces_are_distinct(tmp_path: Path) -> None:
    assert group_destinations(tmp_path, "run-a", 1) == [tmp_path / "run-a"]
    assert group_destinations(tmp_path, "run-a", 3) == [tmp_path / f"run-a-g{i}" for i in range(3)]


def test_worker_workspace_needs_a_vlaser_workspace(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a Vlaser workspace"):
        worker_workspace(tmp_path, tmp_path / "copy")


def test_port_free_sees_a_bound_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not port_free(s.getsockname()[1])


def test_cli_deploy_without_server_and_status_of_a_stopped_stack(tmp_path: Path) -> None:
    res = cli("deploy", env={"PREFECT_API_URL": ""})
    assert res.returncode == 2 and "PREFECT_API_URL" in res.stderr
    res = cli("stack", "status", "--folder", str(tmp_path / "none"), "--json")
    assert res.returncode == 1 and json.loads(res.stdout)["postgres"]["running"] is False
