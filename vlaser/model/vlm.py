"""The vision-language model: transformers' InternVL classes, tiny (random init) or a local folder.

``tiny``: ``InternVLConfig(InternVLVisionConfig, Qwen2Config)`` built from ``ModelSection`` and
randomly initialised (64 px tiles, patch 8, pixel shuffle 0.5 -> 16 image tokens per tile; a small
Qwen2), vocabulary from a BPE tokenizer trained on the project's text.
``local``: ``from_pretrained`` of an InternVL3-*-hf folder with ``local_files_only`` (no downloads).
``internvl3_2b_config()`` states the published InternVL3-2B shapes, for building on the meta device.

Generation is greedy, batched with left padding, through the KV cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vlaser.errors import UserError
from vlaser.model.image import ImageProcessor
from vlaser.model.tokenizer import (
    build_tokenizer,
    encode_conversation,
    encode_prompts,
    special_ids,
    tokens_per_tile,
)

__all__ = ["ImageProcessor", "build_tokenizer", "encode_conversation", "init_vlm", "load_local_vlm",
           "base_vlm", "greedy_generate", "internvl_config", "internvl3_2b_config", "torch_dtype"]

DOWNSAMPLE_RATIO = 0.5  # InternVL's pixel shuffle: 2x2 patches -> one token


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]


def internvl_config(cfg, tokenizer):
    """InternVLConfig for the tiny preset from ``cfg`` (ModelSection) and the tokenizer's special ids."""
    from transformers import InternVLConfig, InternVLVisionConfig, Qwen2Config

    ids = special_ids(tokenizer)
    v, t = cfg.vision, cfg.text
    vision = InternVLVisionConfig(
        hidden_size=v.hidden_size, num_hidden_layers=v.num_layers, num_attention_heads=v.num_heads,
        intermediate_size=v.intermediate_size, image_size=v.image_size, patch_size=v.patch_size,
        attention_bias=True, use_qk_norm=False, norm_type="layer_norm", hidden_act="gelu",
    )
    text = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=t.hidden_size, num_hidden_layers=t.num_layers,
        num_attention_heads=t.num_heads, num_key_value_heads=t.num_kv_heads, intermediate_size=t.intermediate_size,
        max_position_embeddings=max(4 * t.max_length, 512), rope_theta=10000.0, tie_word_embeddings=True,
        pad_token_id=ids["pad"], eos_token_id=ids["im_end"], bos_token_id=None, use_sliding_window=False,
    )
    return InternVLConfig(
        vision_config=vision, text_config=text, image_token_id=ids["image"], image_seq_length=tokens_per_tile(cfg),
        downsample_ratio=DOWNSAMPLE_RATIO, tie_word_embeddings=True,
    )


def internvl3_2b_config():
    """The published InternVL3-2B(-hf) shapes: InternViT-300M-448px-V2_5 + Qwen2.5-1.5B, untied LM head.

    Vocabulary 151,674 (Qwen2.5's 151,643 + InternVL's added tokens); ``tie_word_embeddings`` is false
    in InternVL3-2B (unlike Qwen2.5-1.5B alone), so the output head is a separate 151,674 x 1,536 matrix.
    """
    from transformers import InternVLConfig, InternVLVisionConfig, Qwen2Config

    vision = InternVLVisionConfig(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        image_size=448, patch_size=14, attention_bias=True, use_qk_norm=False, norm_type="layer_norm",
    )
    text = Qwen2Config(
        vocab_size=151674, hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
        intermediate_size=8960, max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=False,
        bos_token_id=151643, eos_token_id=151645, use_sliding_window=False,
    )
    return InternVLConfig(vision_config=vision, text_config=text, image_token_id=151667, image_seq_length=256,
                          downsample_ratio=DOWNSAMPLE_RATIO, tie_word_embeddings=False)


def init_vlm(cfg, tokenizer, seed: int):
    """A randomly initialised InternVLForConditionalGeneration of the tiny preset (same seed -> same weights)."""
    import torch
    from transformers import InternVLForConditionalGeneration

    config = internvl_config(cfg, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = InternVLForConditionalGeneration(config)
    return model.to(torch_dtype(cfg.dtype)).eval()


def _check_local(cfg, model) -> None:
    vc = model.config.vision_config
    size, patch = tuple(vc.image_size)[0], tuple(vc.patch_size)[0]
    if (size, patch) != (cfg.vision.image_size, cfg.vision.patch_size):
        raise UserError(f"{cfg.path}: the model's vision tower takes {size} px tiles with patch {patch}, but "
                        f"model.vision says {cfg.vision.image_size}/{cfg.vision.patch_size}; make them agree")


def load_hf_folder(path: Path, dtype: str):
    """An InternVL-hf folder's model and tokenizer, offline; an unloadable folder is a UserError."""
    from transformers import AutoTokenizer, InternVLForConditionalGeneration

    try:
        model = InternVLForConditionalGeneration.from_pretrained(path, local_files_only=True,
                                                                 dtype=torch_dtype(dtype))
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot load the InternVL model/tokenizer ({err})") from err
    return model, tokenizer


def load_local_vlm(cfg):
    """(model, tokenizer) from the local InternVL3-*-hf folder ``cfg.path`` (no network)."""
    path = Path(cfg.path)
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: not an InternVL3-*-hf folder (no config.json); set model.path")
    model, tokenizer = load_hf_folder(path, cfg.dtype)
    _check_local(cfg, model)
    special_ids(tokenizer)
    return model.eval(), tokenizer


def base_vlm(cfg, corpus: Sequence[str] | None, seed: int):
    """The stage-1 starting point: (model, tokenizer). tiny: BPE on ``corpus`` + random init; local: load."""
    if cfg.source == "local":
        return load_local_vlm(cfg)
    if not corpus:
        raise UserError("model.source 'tiny' needs a text corpus to train its tokenizer (got none)")
    tokenizer = build_tokenizer(corpus, cfg.text.vocab_size)
    return init_vlm(cfg, tokenizer, seed), tokenizer


def greedy_generate(model, tokenizer, processor: ImageProcessor, images: Sequence, prompts: Sequence[str],
                    max_new_tokens: int, cfg=None) -> list[str]:
    """Greedy answers for a batch of (image, prompt) pairs; left padding, KV cache.

    Args:
        model: InternVLForConditionalGeneration.
        tokenizer: its tokenizer.
        processor: ImageProcessor (its tile settings decide the image tokens per prompt).
        images: one image per prompt (path, PIL or uint8 array), or None for a text-only prompt.
        prompts: the user's questions (without ``<image>``; the image block is put first).
        max_new_tokens: generation limit per answer.
        cfg: ModelSection for the image-token count (default: derived from the processor's tile size).

    Returns:
        The decoded answers, cut at ``<|im_end|>``, control tokens removed.
    """
    import torch

    from vlaser.model.tokenizer import PAD, SPECIAL_TOKENS

    cfg = cfg or _cfg_from_model(model)
    with_image = [im for im in images if im is not None]
    pixel_values, tiles = processor(with_image)
    tile_iter = iter(tiles)
    per_prompt = [next(tile_iter) if im is not None else 0 for im in images]
    batch = encode_prompts(tokenizer, cfg, prompts, per_prompt, padding_side="left")
    ids = special_ids(tokenizer)
    dtype = next(model.parameters()).dtype
    kwargs = {"pixel_values": pixel_values.to(dtype)} if len(with_image) else {}
    with torch.no_grad():
        out = model.generate(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **kwargs,
            max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, use_cache=True,
            eos_token_id=ids["im_end"], pad_token_id=ids["pad"],
        )
    answers = []
    drop = set(SPECIAL_TOKENS) | {PAD}
    for row in out[:, batch["input_ids"].shape[1]:].tolist():
        if ids["im_end"] in row:
            row = row[: row.index(ids["im_end"])]
        tokens = [t for t in tokenizer.convert_ids_to_tokens(row) if t not in drop]
        answers.append(tokenizer.convert_tokens_to_string(tokens).strip())
    return answers


def _cfg_from_model(model):
    """A minimal stand-in for ModelSection with the vision sizes of ``model`` (for the token count)."""
    from types import SimpleNamespace

    vc = model.config.vision_config
    vision = SimpleNamespace(image_size=tuple(vc.image_size)[0], patch_size=tuple(vc.patch_size)[0])
    return SimpleNamespace(vision=vision)
