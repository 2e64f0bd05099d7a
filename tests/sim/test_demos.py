"""Demonstrations: recorded through the expert, loadable, byte-identical for the same settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vlaser.errors import UserError
from vlaser.io import json_digest
from vlaser.sim.demos import load_demos, record_demos

pytestmark = pytest.mark.sim


def test_demos_load_as_episodes(sim_demo_dir, small_demo_suite, small_demo_cfg):
    episodes = load_demos(sim_demo_dir)
    manifest = json.loads((sim_demo_dir / "manifest.json").read_text())
    assert len(episodes) == manifest["counts"]["episodes"] == 2 * len(small_demo_suite.tasks)
    size = small_demo_suite.image_size
    for ep in episodes:
        t = ep.length
        assert ep.success and t > 0
        assert ep.rgb.shape == (t, size, size, 3) and ep.rgb.dtype == np.uint8
        assert ep.proprio.shape == (t, 9) and ep.proprio.dtype == np.float32
        assert ep.actions.shape == (t, 7) and ep.actions.dtype == np.float32
        assert np.all(np.abs(ep.actions) <= 1.0 + 1e-6)
        assert len(ep.phases) == t and ep.phases[0] == "reach"
        assert ep.instruction == next(x.instruction for x in small_demo_suite.tasks if x.id == ep.task_id)
    assert (sim_demo_dir / "meta.json").is_file()
    counts = manifest["counts"]["tasks"]
    assert all(c["kept"] == 2 and c["attempted"] == c["kept"] + c["failed"] for c in counts.values())


def test_demos_are_byte_identical(sim_demo_dir, small_demo_suite, small_demo_cfg, tmp_path):
    """Re-record one task of the session's demo set with the same settings: the same bytes."""
    one = small_demo_suite.model_copy(update={"tasks": small_demo_suite.tasks[:1]})
    again = tmp_path / "cpu-default"
    record_demos("cpu-default", one, small_demo_cfg, again)
    files = sorted(p.relative_to(again) for p in (again / "episodes").rglob("*") if p.is_file())
    assert len(files) == small_demo_cfg.episodes_per_task
    for rel in files:
        assert (again / rel).read_bytes() == (sim_demo_dir / rel).read_bytes(), rel
    entries = {e["file"]: e for e in json.loads((sim_demo_dir / "manifest.json").read_text())["episodes"]}
    for e in json.loads((again / "manifest.json").read_text())["episodes"]:
        assert e == entries[e["file"]]
    manifest = json.loads((again / "manifest.json").read_text())
    assert manifest["digest"] == json_digest([e["digest"] for e in manifest["episodes"]])


def test_altered_demo_file_is_a_clear_error(sim_demo_dir, tmp_path):
    import shutil

    copy = tmp_path / "demos"
    shutil.copytree(sim_demo_dir, copy)
    victim = sorted(copy.rglob("*.safetensors"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(UserError, match="digest"):
        load_demos(copy)
    with pytest.raises(UserError, match="manifest"):
        load_demos(tmp_path / "nowhere")
