"""The `study` preset: the calibrated toy-scale study (docs/study.md) validates and is a real study."""

from __future__ import annotations

from pathlib import Path

from vlaser.config import load_params

REPO = Path(__file__).resolve().parents[2]


def test_study_preset_validates_with_replicates_and_six_variants():
    p = load_params(REPO / "params.yaml", preset="study")
    assert p.preset == "study"
    assert len(p.sweep.seeds) >= 3 and len(set(p.sweep.seeds)) == len(p.sweep.seeds)
    assert set(p.sweep.variants) == {"base", "ood", "qa", "spatial", "grounding", "all"}
    assert all(v in p.mixture.variants for v in p.sweep.variants)


def test_study_suite_is_shared_by_demos_data_and_closed_loop():
    p = load_params(REPO / "params.yaml", preset="study")
    suite = p.eval_closed_loop.suite
    assert p.demos.suite == suite and p.indomain.suite == suite
    assert len(p.sim.suites[suite].tasks) >= 2


def test_tiny_preset_is_unchanged_by_study():
    tiny, study = load_params(REPO / "params.yaml", preset="tiny"), load_params(REPO / "params.yaml", preset="study")
    assert tiny.sweep.seeds == [0]
    assert tiny.finetune.steps != study.finetune.steps or tiny.sweep.seeds != study.sweep.seeds


def test_writing_the_study_preset_puts_what_dvc_reads_into_the_file(tmp_path):
    import shutil

    from vlaser.config import read_yaml
    from vlaser.config.materialize import check_dvc_sees_preset, write_preset

    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    comment = next(line for line in path.read_text().splitlines() if line.startswith("# "))
    assert write_preset(path, "study") is True
    raw = read_yaml(path)
    assert raw["preset"] == "study" and raw["sweep"]["seeds"] == [0, 1, 2] and raw["demos"]["suite"] == "study"
    assert comment in path.read_text(), "comments of params.yaml are kept"
    assert load_params(path).model_dump() == load_params(REPO / "params.yaml", preset="study").model_dump()
    check_dvc_sees_preset(path)
    assert write_preset(path, "study") is False, "a second write changes nothing"


def test_a_hand_edited_preset_that_dvc_cannot_see_is_refused(tmp_path):
    import shutil

    import pytest

    from vlaser.config.materialize import check_dvc_sees_preset
    from vlaser.errors import UserError

    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    path.write_text(path.read_text().replace("preset: tiny", "preset: study", 1))
    with pytest.raises(UserError, match=r"params.yaml: preset 'study' changes sweep.seeds.*vlaser sweep --preset study"):
        check_dvc_sees_preset(path)


def test_vlaser_workspace_makes_a_study_workspace_and_refuses_a_foreign_folder(tmp_path):
    import os
    import subprocess
    import sys

    from vlaser.config import read_yaml

    env = {**os.environ, "VLASER_WORKSPACE": str(REPO), "VLASER_QUIET": "1"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "vlaser", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)

    ws = tmp_path / "study"
    res = cli("workspace", str(ws), "--preset", "study")
    assert res.returncode == 0, res.stderr
    assert (ws / ".dvc").is_dir() and (ws / "dvc.yaml").is_file() and (ws / "vlaser" / "stages.py").is_file()
    assert read_yaml(ws / "params.yaml")["sweep"]["seeds"] == [0, 1, 2]
    assert read_yaml(REPO / "params.yaml")["preset"] == "tiny", "the checkout's own params.yaml is left alone"
    assert cli("workspace", str(ws), "--preset", "study").returncode == 0, "refreshing a workspace works"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = cli("workspace", str(foreign))
    assert res.returncode == 2 and "not a Vlaser workspace" in res.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
