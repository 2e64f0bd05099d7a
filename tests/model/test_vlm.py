"""The InternVL VLM: tiny init, LM loss on answers, batched greedy generation, the 2B shapes on meta."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlaser.errors import UserError
from vlaser.model.image import ImageProcessor
from vlaser.model.tokenizer import encode_conversation, pad_batch, special_ids
from vlaser.model.vlm import greedy_generate, init_vlm, internvl3_2b_config, load_local_vlm

# InternVL3-2B on the Hugging Face hub (OpenGVLab/InternVL3-2B and -hf): "Model size 2.09B params"
# (InternViT-300M-448px-V2_5 + MLP projector + Qwen2.5-1.5B with an untied 151,674-token output head).
PUBLISHED_2B_PARAMS = 2.09e9


def _examples(cfg):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (cfg.vision.image_size,) * 2 + (3,), dtype=np.uint8) for _ in range(2)]
    qa = [("where is the red cube?", "<box>[[120, 340, 560, 780]]</box>"),
          ("is the cube left of the plate? answer yes or no", "no")]
    return images, qa


def test_init_is_seeded_and_images_reach_the_llm(cfg, tokenizer):
    a, b = init_vlm(cfg, tokenizer, 0), init_vlm(cfg, tokenizer, 0)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert a.config.image_token_id == special_ids(tokenizer)["image"]
    assert a.config.text_config.vocab_size == len(tokenizer)


def test_answers_are_learned_and_generated_in_a_batch(cfg, tokenizer):
    torch.manual_seed(0)
    model = init_vlm(cfg, tokenizer, 0).train()
    proc = ImageProcessor(cfg)
    images, qa = _examples(cfg)
    convs = [[{"from": "human", "value": f"<image>\n{q}"}, {"from": "gpt", "value": a}] for q, a in qa]
    batch = pad_batch([encode_conversation(tokenizer, cfg, c, n_images=1) for c in convs],
                      special_ids(tokenizer)["pad"])
    pixel_values, _ = proc(images)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = model(**batch, pixel_values=pixel_values).loss
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    model.eval()
    answers = greedy_generate(model, tokenizer, proc, images, [q for q, _ in qa], max_new_tokens=24)
    assert answers == [a for _, a in qa]
    one_by_one = [greedy_generate(model, tokenizer, proc, [im], [q], 24)[0] for im, (q, _) in zip(images, qa, strict=True)]
    assert one_by_one == answers
    text_only = greedy_generate(model, tokenizer, proc, [None], ["pick up the red cube"], 4)
    assert isinstance(text_only[0], str)


def test_internvl3_2b_shapes_build_on_meta_with_published_size():
    from transformers import InternVLForConditionalGeneration

    config = internvl3_2b_config()
    with torch.device("meta"):
        model = InternVLForConditionalGeneration(config)
    total = sum(p.numel() for p in model.parameters())
    assert abs(total - PUBLISHED_2B_PARAMS) / PUBLISHED_2B_PARAMS < 0.01, total
    assert model.lm_head.weight is not model.model.language_model.embed_tokens.weight  # untied head
    assert model.lm_head.weight.shape == (151674, 1536)
    vision = sum(p.numel() for p in model.model.vision_tower.parameters())
    assert abs(vision - 304e6) / 304e6 < 0.01, vision  # InternViT-300M-448px: ~304 M


def test_local_source_loads_an_hf_folder(tmp_path, cfg, tokenizer):
    from tests.model.conftest import small_cfg
    from vlaser.model.checkpoint import save_vlm

    missing = small_cfg(source="local", path=str(tmp_path / "InternVL3-2B-hf"))
    with pytest.raises(UserError, match="InternVL3-2B-hf: not an InternVL3"):
        load_local_vlm(missing)
    model = init_vlm(cfg, tokenizer, 2)
    save_vlm(tmp_path / "hf", model, tokenizer, cfg)  # the same layout as a hub InternVL3-*-hf folder
    local, tok = load_local_vlm(small_cfg(source="local", path=str(tmp_path / "hf")))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), local.state_dict().values(), strict=True))
    assert tok.encode("where is the red cube?") == tokenizer.encode("where is the red cube?")
    with pytest.raises(UserError, match="takes 32 px tiles with patch 8"):
        load_local_vlm(small_cfg(source="local", path=str(tmp_path / "hf"), vision={"image_size": 64}))
