"""Checkpoints: save -> load -> identical outputs; wrong path, shape mismatch, truncation -> UserError."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.model.conftest import make_batch, make_policy, small_cfg
from vlaser.errors import UserError
from vlaser.model.checkpoint import load_vla, load_vlm, save_vla, save_vlm
from vlaser.model.normalize import NormStats
from vlaser.model.vlm import init_vlm


def _stats(cfg):
    rng = np.random.default_rng(0)
    return {"state": NormStats.from_data(rng.normal(size=(200, cfg.state_dim))),
            "action": NormStats.from_data(rng.uniform(-1, 1, (200, cfg.action_dim)), binary=[cfg.action_dim - 1])}


@pytest.fixture(scope="module")
def vla_dir(tmp_path_factory, cfg, tokenizer):
    policy = make_policy(cfg, tokenizer, seed=5)
    folder = save_vla(tmp_path_factory.mktemp("ck") / "vla", policy, _stats(cfg), cfg, tokenizer=tokenizer)
    return folder, policy


def test_vlm_round_trip_gives_identical_logits(tmp_path, cfg, tokenizer):
    model = init_vlm(cfg, tokenizer, 1)
    save_vlm(tmp_path / "vlm", model, tokenizer, cfg)
    back, tok, cfg2 = load_vlm(tmp_path / "vlm")
    assert cfg2 == cfg and tok.encode("pick up the red cube") == tokenizer.encode("pick up the red cube")
    batch = make_batch(cfg, tokenizer, ["pick up the red cube", "push"])
    with torch.no_grad():
        a = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                  pixel_values=batch["pixel_values"]).logits
        b = back(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 pixel_values=batch["pixel_values"]).logits
    assert torch.equal(a, b)


def test_vla_round_trip_gives_identical_actions(vla_dir, cfg, tokenizer):
    folder, policy = vla_dir
    back, stats, cfg2 = load_vla(folder)
    assert cfg2 == cfg and set(stats) == {"state", "action"}
    assert np.array_equal(stats["action"].high, _stats(cfg)["action"].high)
    batch = make_batch(cfg, tokenizer, ["pick up the red cube", "stack the green cube on the yellow cube"])
    noise = torch.randn(2, cfg.chunk_size, cfg.action_dim)
    assert torch.equal(policy.sample_actions(batch, noise=noise), back.sample_actions(batch, noise=noise))


def test_wrong_path_and_missing_files(tmp_path, vla_dir):
    with pytest.raises(UserError, match="no such checkpoint folder"):
        load_vla(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"empty/vlaser_model.json: missing"):
        load_vlm(tmp_path / "empty")
    folder, _ = vla_dir
    model, _, _ = _copy_and(tmp_path / "full", folder, lambda d: None, loader=load_vlm)  # a VLA's VLM loads
    assert model.config.image_token_id > 0
    with pytest.raises(UserError, match=r"norm_stats.json: normalisation stats missing"):
        _copy_and(tmp_path / "nostats", folder, lambda d: (d / "norm_stats.json").unlink())


def test_shape_mismatch_names_file_and_tensor(tmp_path, vla_dir):
    folder, _ = vla_dir

    def widen_expert(d):
        meta = json.loads((d / "vlaser_model.json").read_text())
        meta["model"]["expert_hidden_size"] = 48
        (d / "vlaser_model.json").write_text(json.dumps(meta))

    with pytest.raises(UserError, match=r"expert.safetensors: tensor 'action_in.bias' has shape \[32\], "
                                        r"the model expects \[48\]"):
        _copy_and(tmp_path / "wide", folder, widen_expert)

    def narrower_mlp(d):
        config = json.loads((d / "config.json").read_text())
        config["text_config"]["intermediate_size"] = 96
        (d / "config.json").write_text(json.dumps(config))

    with pytest.raises(UserError, match=r"model.safetensors: tensor 'language_model.model.layers.0.mlp.down_proj.weight' "
                                        r"has shape \[64, 128\], the model expects \[64, 96\]"):
        _copy_and(tmp_path / "narrow", folder, narrower_mlp)

    def broken_config(d):
        config = json.loads((d / "config.json").read_text())
        config["text_config"]["num_hidden_layers"] = 3  # layer_types still lists 2
        (d / "config.json").write_text(json.dumps(config))

    with pytest.raises(UserError, match=r"config.json: not a readable InternVL config"):
        _copy_and(tmp_path / "deep", folder, broken_config)


def test_truncated_weights_raise(tmp_path, vla_dir):
    folder, _ = vla_dir

    def truncate(d):
        data = (d / "model.safetensors").read_bytes()
        (d / "model.safetensors").write_bytes(data[: len(data) // 2])

    with pytest.raises(UserError, match=r"model.safetensors: truncated safetensors file"):
        _copy_and(tmp_path / "cut", folder, truncate)

    def garble(d):
        (d / "expert.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")

    with pytest.raises(UserError, match=r"expert.safetensors: corrupt safetensors header"):
        _copy_and(tmp_path / "garbled", folder, garble)


def test_other_settings_load_with_their_own_shapes(tmp_path, tokenizer):
    cfg = small_cfg(text={"hidden_size": 32, "num_heads": 2, "num_kv_heads": 1}, action_dim=3, chunk_size=2,
                    exec_horizon=2)
    policy = make_policy(cfg, tokenizer)
    save_vla(tmp_path / "vla", policy, _stats(cfg), cfg, tokenizer=tokenizer)
    back, _, cfg2 = load_vla(tmp_path / "vla")
    assert cfg2.action_dim == 3 and back.expert.action_out.out_features == 3


def _copy_and(dest, folder, edit, loader=load_vla):
    import shutil

    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(folder, dest)
    edit(dest)
    return loader(dest)
