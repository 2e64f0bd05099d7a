"""Offline install of the WidowX assets from checkouts: complete copies, refusals, labelled stand-ins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vlaser.errors import UserError
from vlaser.sim import checks
from vlaser.sim.assets import BRIDGE_FILES, BRIDGE_MODELS, BRIDGE_STAGES, install_bridge_from_git


def _checkouts(root: Path, with_stages: bool, eggplant_visual: bool) -> tuple[Path, Path]:
    real2sim, widowx = root / "ManiSkill2_real2sim", root / "ManiSkill-WidowX250S"
    data = real2sim / "data"
    for rel in BRIDGE_FILES:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(rel)
    for model in BRIDGE_MODELS:
        folder = data / "custom" / "models" / model
        folder.mkdir(parents=True)
        (folder / "collision.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n")
        if model != "eggplant" or eggplant_visual:
            (folder / "textured.dae").write_text(model)
    if with_stages:
        stages = data / "hab2_bench_assets" / "stages"
        stages.mkdir(parents=True)
        for s in BRIDGE_STAGES:
            (stages / s).write_text(s)
    widowx.mkdir()
    for name in ("wx250s.urdf", "wx250s.srdf", "meshes_wx250s/base.stl"):
        (widowx / name).parent.mkdir(parents=True, exist_ok=True)
        (widowx / name).write_text(name)
    return real2sim, widowx


@pytest.fixture()
def ms_assets(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("MS_ASSET_DIR", str(tmp_path / "ms"))
    return tmp_path / "ms" / "data"


def test_complete_checkouts_install_everything_the_tasks_open(ms_assets, tmp_path):
    real2sim, widowx = _checkouts(tmp_path, with_stages=True, eggplant_visual=True)
    summary = install_bridge_from_git(real2sim, widowx)
    assert summary["stand_ins"] == []
    assert checks.missing_asset_files("bridge_v2_real2sim") == [] and checks.missing_asset_files("widowx250s") == []
    bridge = ms_assets / "tasks" / "bridge_v2_real2sim_dataset"
    assert (bridge / "stages" / "bridge_table_1_v1.glb").read_text() == "bridge_table_1_v1.glb"
    assert (bridge / "custom" / "models" / "eggplant" / "textured.dae").read_text() == "eggplant"
    assert (ms_assets / "robots" / "widowx" / "meshes_wx250s" / "base.stl").is_file()
    assert not (bridge / "STAND-INS.txt").exists()


def test_incomplete_checkout_is_refused_unless_stand_ins_are_asked_for(ms_assets, tmp_path):
    real2sim, widowx = _checkouts(tmp_path, with_stages=False, eggplant_visual=False)
    with pytest.raises(UserError, match="stages/bridge_table_1_v1.glb.*eggplant/textured"):
        install_bridge_from_git(real2sim, widowx)
    assert not (ms_assets / "tasks").exists()  # nothing half-installed

    summary = install_bridge_from_git(real2sim, widowx, stand_in_missing=True)
    assert set(summary["stand_ins"]) == {"stages/bridge_table_1_v1.glb", "stages/bridge_table_1_v2.glb",
                                         "custom/models/eggplant/textured.*"}
    bridge = ms_assets / "tasks" / "bridge_v2_real2sim_dataset"
    label = (bridge / "STAND-INS.txt").read_text()
    assert "stages/bridge_table_1_v2.glb" in label and "custom/models/eggplant/textured.obj" in label
    assert checks.missing_asset_files("bridge_v2_real2sim") == []

    import trimesh

    # the slab, placed as ManiSkill places the stage (x quarter turn, then the offset), tops out at the table
    stage = trimesh.load(bridge / "stages" / "bridge_table_1_v1.glb", force="mesh")
    turn = trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3]
    world = stage.vertices @ turn.T + np.array([2.0634, 2.8313, 0.0])
    assert world[:, 2].max() == pytest.approx(0.87, abs=1e-4)


def test_a_missing_model_folder_is_never_stood_in(ms_assets, tmp_path):
    real2sim, widowx = _checkouts(tmp_path, with_stages=True, eggplant_visual=True)
    import shutil

    shutil.rmtree(real2sim / "data" / "custom" / "models" / "sink")
    with pytest.raises(UserError, match="custom/models/sink"):
        install_bridge_from_git(real2sim, widowx, stand_in_missing=True)
    with pytest.raises(UserError, match="ManiSkill-WidowX250S"):
        install_bridge_from_git(real2sim, tmp_path / "nowhere")


def test_real2sim_stand_ins_fill_only_gaps_and_say_so(tmp_path):
    from vlaser.sim.assets import stand_in_real2sim

    data = tmp_path / "ManiSkill2_real2sim" / "data"
    models = data / "custom" / "models"
    for name, visual in (("coke_can", "textured.dae"), ("redbull_can", None)):
        (models / name).mkdir(parents=True)
        (models / name / "collision.obj").write_text("v 0 0 0\n")
        if visual:
            (models / name / visual).write_text("real")
    made = stand_in_real2sim(tmp_path / "ManiSkill2_real2sim")
    assert set(made) == {"hab2_bench_assets/stages/google_pick_coke_can_1_v4.glb",
                         "custom/models/redbull_can/textured.obj"}
    assert not (models / "coke_can" / "textured.obj").exists()  # a real visual is never replaced
    assert "redbull_can/textured.obj" in (data / "STAND-INS.txt").read_text()
    assert stand_in_real2sim(tmp_path / "ManiSkill2_real2sim") == []  # idempotent

    import trimesh

    # SimplerEnv's table in front of the Google Robot, top at the scene's table height once placed
    stage = trimesh.load(data / "hab2_bench_assets" / "stages" / "google_pick_coke_can_1_v4.glb", force="mesh")
    turn = trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3]
    world = stage.vertices @ turn.T + np.array([1.6616, 3.0337, 0.0])
    assert world[:, 2].max() == pytest.approx(0.87, abs=1e-4)
    assert world[:, 0].max() == pytest.approx(0.02, abs=1e-3)  # ends before the robot at x = 0.35
