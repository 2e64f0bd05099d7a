"""Stage 1 and stage 2 on the real tiny InternVL model and the real data formats (tiny settings)."""

from __future__ import annotations

import json

import pytest

from tests.train.fixtures import TINY_MODEL, make_demos, make_mixture
from tests.train.toy import ListTracker
from vlaser.config.train import FinetuneSection, PretrainSection
from vlaser.errors import UserError
from vlaser.io import dir_digest, read_meta
from vlaser.train import finetune, pretrain


def _pre(**kw) -> PretrainSection:
    return PretrainSection(**{"steps": 6, "micro_batch": 4, "global_batch": 8, "lr": 3e-3, "warmup_steps": 1,
                              "checkpoint_every": 3, **kw})


def _fine(**kw) -> FinetuneSection:
    return FinetuneSection(**{"steps": 4, "micro_batch": 4, "global_batch": 8, "lr": 1e-3, "expert_lr": 3e-3,
                              "warmup_steps": 1, "checkpoint_every": 2, "noise_samples": 2, "image_shift": 2, **kw})


@pytest.fixture(scope="module")
def vlm_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage1")
    mixture = make_mixture(root / "mixture")
    tracker = ListTracker()
    metrics = pretrain(_pre(), TINY_MODEL, mixture, root / "vlm", seed=0, tracker=tracker,
                       extra_texts=["do PushCube-v1", "do PullCube-v1"])
    return root / "vlm", metrics, tracker


def test_pretrain_trains_on_answers_and_writes_a_loadable_vlm(vlm_dir):
    from vlaser.model.checkpoint import load_vlm

    out, metrics, tracker = vlm_dir
    losses = tracker.series("pretrain/loss")
    assert len(losses) == 6 and metrics["final_loss"] == losses[-1]
    assert losses[-1] < losses[0]
    assert all(m["pretrain/extra/answer_tokens"] > 0 for _, m in tracker.metrics)
    meta = read_meta(out)
    assert meta["kind"] == "vlm" and meta["digest"] == dir_digest(out) == metrics["digest"]
    assert not (out / ".train_state").exists()
    assert tracker.params["pretrain.checkpoint.digest"] == meta["digest"]
    model, tokenizer, cfg = load_vlm(out)
    assert cfg == TINY_MODEL and json.loads((out / "train_summary.json").read_text())["steps"] == 6


def test_base_variant_writes_the_initial_vlm(tmp_path):
    metrics = pretrain(_pre(), TINY_MODEL, None, tmp_path / "vlm", seed=0)
    assert metrics["steps"] == 0 and read_meta(tmp_path / "vlm")["kind"] == "vlm"


def test_finetune_trains_policy_with_stats_and_expert_lr(vlm_dir, tmp_path):
    from vlaser.model.checkpoint import load_vla

    demos = make_demos(tmp_path / "demos")
    tracker = ListTracker()
    metrics = finetune(_fine(), TINY_MODEL, vlm_dir[0], demos, tmp_path / "vla", seed=0, tracker=tracker)
    assert metrics["samples"] == 40 and metrics["steps"] == 4
    m = tracker.metrics[1][1]
    assert m["finetune/lr/expert"] == pytest.approx(3e-3) and m["finetune/lr/vlm"] == pytest.approx(1e-3)
    policy, stats, cfg = load_vla(tmp_path / "vla")
    assert stats["action"].binary == (6,) and stats["state"].dim == 9
    assert read_meta(tmp_path / "vla")["parents"].keys() == {str(vlm_dir[0]), str(demos)}


def test_finetune_frozen_vlm_and_epochs(vlm_dir, tmp_path):
    from safetensors.torch import load_file

    demos = make_demos(tmp_path / "demos")
    tracker = ListTracker()
    metrics = finetune(_fine(freeze_vlm=True, epochs=0.4), TINY_MODEL, vlm_dir[0], demos, tmp_path / "vla", seed=0,
                       tracker=tracker)
    assert metrics["steps"] == 2  # 0.4 x 40 samples / 8
    assert "finetune/lr/vlm" not in tracker.metrics[0][1]
    before = load_file(str(vlm_dir[0] / "model.safetensors"))
    after = load_file(str(tmp_path / "vla" / "model.safetensors"))
    assert all((before[k] == after[k]).all() for k in before)


def test_finetune_rejects_mismatched_demos(vlm_dir, tmp_path):
    demos = make_demos(tmp_path / "demos")
    with pytest.raises(UserError, match="model.state_dim"):
        finetune(_fine(), TINY_MODEL.model_copy(update={"state_dim": 8}), vlm_dir[0], demos, tmp_path / "vla", 0)
