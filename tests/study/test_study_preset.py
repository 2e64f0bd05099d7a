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
