"""Lineage trees from reports back to sources; missing and changed parents; verify; the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.lineage.conftest import make_artifact, make_sweep
from vlaser.errors import UserError
from vlaser.lineage import lineage_tree, open_registry, verify
from vlaser.lineage.render import to_rich

RUN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def sweep(workspace: Path) -> dict[str, str]:
    digests = make_sweep(workspace)
    with open_registry(None, workspace) as reg:
        reg.rebuild()
        for path in ("models/all/s0/vlm", "models/all/s0/vla", "reports/all/s0/closed_loop"):
            reg.register(path, sweep="sw-1", mlflow_run_id=RUN)
    return digests


def test_tree_from_a_report_reaches_the_sources_and_simulator_settings(workspace, sweep) -> None:
    with open_registry(None, workspace) as reg:
        tree = lineage_tree("reports/all/s0/closed_loop", reg)
    nodes = {n.path: n for n in tree.walk()}
    assert set(nodes) == set(sweep)
    assert all(n.status == "ok" and n.digest == sweep[p] for p, n in nodes.items())
    assert [p.path for p in tree.parents] == ["models/all/s0/vla"]
    demos = nodes["data/demos/cpu-default"]
    assert demos.kind == "demos" and demos.parents == [] and demos.params["suite"] == "cpu-default"
    assert nodes["models/all/s0/vlm"].mlflow_run_id == RUN and nodes["models/all/s0/vlm"].sweep == "sw-1"
    assert len(nodes["models/all/s0/vlm"].code_commit) >= 7
    assert {p.path for p in nodes["data/mixtures/all"].parents} == {"data/indomain/spatial", "data/ood/procedural"}
    assert tree.short == sweep["reports/all/s0/closed_loop"][:12]


def test_a_missing_parent_is_shown_missing_with_what_the_registry_knows(workspace, sweep) -> None:
    shutil.rmtree(workspace / "data/mixtures/all")
    with open_registry(None, workspace) as reg:
        tree = lineage_tree(workspace / "reports/all/s0/closed_loop" / "data.txt", reg)  # a file in the folder
    nodes = {n.path: n for n in tree.walk()}
    mix = nodes["data/mixtures/all"]
    assert mix.status == "missing" and mix.kind == "mixture" and mix.digest == sweep["data/mixtures/all"]
    assert {p.path for p in mix.parents} == {"data/indomain/spatial", "data/ood/procedural"}  # from the registry
    # without a registry the tree still builds: the missing node just has no recorded parents
    bare = {n.path: n for n in lineage_tree("reports/all/s0/closed_loop", None, workspace).walk()}
    assert bare["data/mixtures/all"].status == "missing" and bare["data/mixtures/all"].parents == []


def test_a_rebuilt_parent_is_shown_changed(workspace, sweep) -> None:
    make_artifact(workspace, "models/all/s0/vlm", "vlm", content="retrained")
    with open_registry(None, workspace) as reg:
        vlm = next(n for n in lineage_tree("reports/all/s0/closed_loop", reg).walk() if n.path == "models/all/s0/vlm")
    assert vlm.status == "changed" and vlm.digest == sweep["models/all/s0/vlm"]
    assert [p.path for p in vlm.parents] == ["data/mixtures/all"]  # the recorded version's parents


def test_tree_from_a_run_id_and_from_a_digest_prefix(workspace, sweep) -> None:
    with open_registry(None, workspace) as reg:
        run = lineage_tree(RUN, reg)
        assert run.status == "run" and [p.path for p in run.parents] == ["reports/all/s0/closed_loop"]
        by_digest = lineage_tree(sweep["data/mixtures/all"][:10], reg)
        assert by_digest.path == "data/mixtures/all"
        with pytest.raises(UserError, match="neither an artifact folder"):
            lineage_tree("f" * 32, reg)
        with pytest.raises(UserError, match="neither an artifact folder"):
            lineage_tree("no/such/folder", reg)


def test_rich_rendering_names_every_node(workspace, sweep) -> None:
    from rich.console import Console

    shutil.rmtree(workspace / "data/ood/procedural")
    with open_registry(None, workspace) as reg:
        console = Console(record=True, width=200)
        console.print(to_rich(lineage_tree("reports/all/s0/closed_loop", reg)))
    out = console.export_text()
    assert all(p in out for p in sweep) and "MISSING" in out and "suite=cpu-default" in out
    assert "parents shown above" not in out or out.count("data/demos/cpu-default") >= 2


def test_verify_finds_missing_corrupt_and_unregistered_artifacts(workspace, sweep) -> None:
    assert verify(workspace) == []
    shutil.rmtree(workspace / "data/ood/procedural")
    (workspace / "models/all/s0/vla/data.txt").write_text("flipped bits")
    make_artifact(workspace, "reports/all/s0/reasoning", "reasoning")
    problems = {p.path: p for p in verify(workspace)}
    assert {k: p.kind for k, p in problems.items()} == {
        "data/ood/procedural": "missing", "models/all/s0/vla": "corrupt", "reports/all/s0/reasoning": "unregistered"}
    assert all(p.fix for p in problems.values())
    assert "models/all/s0/vla" not in {p.path for p in verify(workspace, deep=False)}


def test_cli_lineage_json_tree_verify_and_errors(workspace, sweep, monkeypatch, repo_root) -> None:
    from vlaser.cli import app

    shutil.copy(repo_root / "params.yaml", workspace / "params.yaml")  # the real settings name the lineage URL
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    res = runner.invoke(app, ["lineage", "reports/all/s0/closed_loop", "--json"])
    assert res.exit_code == 0, res.output
    tree = json.loads(res.output)
    assert tree["kind"] == "closed_loop" and tree["parents"][0]["path"] == "models/all/s0/vla"
    assert tree["parents"][0]["mlflow_run_id"] == RUN and tree["short"] == tree["digest"][:12]
    res = runner.invoke(app, ["lineage", RUN])
    assert res.exit_code == 0 and "data/demos/cpu-default" in res.output
    assert runner.invoke(app, ["lineage", "--verify"]).exit_code == 0
    shutil.rmtree(workspace / "data/indomain/spatial")
    res = runner.invoke(app, ["lineage", "--verify", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)[0]["kind"] == "missing"
    res = runner.invoke(app, ["lineage", "nowhere"])
    assert isinstance(res.exception, UserError)
