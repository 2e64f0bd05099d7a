"""Tokenizer and conversation encoding: InternVL chat records -> token ids and labels.

The tiny preset trains a byte-level BPE tokenizer (``tokenizers``) on the project's own text and
saves it with the checkpoint as ``tokenizer.json`` (a ``PreTrainedTokenizerFast``). The ``local``
preset uses the tokenizer of the InternVL3-*-hf folder. Both carry the tokens InternVL needs.

Chat template (InternVL2.5/3, Qwen style; the system turn only when a system message is given)::

    <|im_start|>system\\n{system}<|im_end|>\\n
    <|im_start|>user\\n{human}<|im_end|>\\n
    <|im_start|>assistant\\n{gpt}<|im_end|>\\n

``<image>`` in a human turn becomes ``<img>`` + ``<IMG_CONTEXT>`` x (tokens per tile x tiles) + ``</img>``.
Labels are -100 everywhere except the assistant's answer and its closing ``<|im_end|>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vlaser.errors import UserError

IMG_START, IMG_END, IMG_CONTEXT = "<img>", "</img>", "<IMG_CONTEXT>"
IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
IMAGE_PLACEHOLDER = "<image>"
IGNORE_INDEX = -100
# control tokens: never split, skipped when decoding
SPECIAL_TOKENS = [PAD, IM_START, IM_END, IMG_START, IMG_END, IMG_CONTEXT]
# InternVL's grounding markup: single tokens, but kept when decoding (answers contain them)
MARKUP_TOKENS = ["<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>"]
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def build_tokenizer(texts: Iterable[str], vocab_size: int):
    """Train a byte-level BPE tokenizer on ``texts`` (same corpus -> same tokenizer).

    Args:
        texts: the training corpus (e.g. every conversation turn of the data mixture).
        vocab_size: target size including the special tokens (smaller if the corpus runs out of merges).

    Returns:
        A ``transformers.PreTrainedTokenizerFast`` with pad/eos = ``<|endoftext|>``/``<|im_end|>``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    # sorted + de-duplicated so the merge table does not depend on the order records were read in
    tok.train_from_iterator(sorted(set(texts)), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in MARKUP_TOKENS])
    return wrap_tokenizer(tok)


def wrap_tokenizer(tok):
    """Wrap a ``tokenizers.Tokenizer`` as a ``PreTrainedTokenizerFast`` with InternVL's token roles."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, eos_token=IM_END,
        additional_special_tokens=[IM_START, IMG_START, IMG_END, IMG_CONTEXT],
    )


def special_ids(tokenizer) -> dict[str, int]:
    """Ids of the tokens the model code needs; UserError if the tokenizer lacks one."""
    ids = {}
    for name, token in (("image", IMG_CONTEXT), ("img_start", IMG_START), ("img_end", IMG_END),
                        ("im_start", IM_START), ("im_end", IM_END)):
        tid = tokenizer.convert_tokens_to_ids(token)
        if tid is None or tid == tokenizer.unk_token_id:
            raise UserError(f"tokenizer has no '{token}' token; expected an InternVL tokenizer")
        ids[name] = int(tid)
    ids["pad"] = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ids["im_end"])
    return ids


def image_block(tokens_per_tile: int, tiles: int) -> str:
    return IMG_START + IMG_CONTEXT * (tokens_per_tile * tiles) + IMG_END


def _expand_images(text: str, tiles: list[int], tokens_per_tile: int) -> str:
    parts = text.split(IMAGE_PLACEHOLDER)
    if len(parts) - 1 != len(tiles):
        raise UserError(f"conversation has {len(parts) - 1} '<image>' placeholders but {len(tiles)} images")
    out = parts[0]
    for n, rest in zip(tiles, parts[1:], strict=True):
        out += image_block(tokens_per_tile, n) + rest
    return out


def _turns(conversations: Sequence[dict[str, Any]], tiles: list[int], system: str | None) -> list[tuple[str, str]]:
    turns = [("system", system)] if system else []
    n_placeholders = sum(str(c.get("value", "")).count(IMAGE_PLACEHOLDER) for c in conversations)
    for i, turn in enumerate(conversations):
        role = _ROLES.get(str(turn.get("from")))
        if role is None:
            raise UserError(f"conversation turn {i}: unknown role {turn.get('from')!r}; expected human or gpt")
        turns.append((role, str(turn.get("value", ""))))
    if tiles and n_placeholders == 0:  # InternVL's rule: an image without placeholder goes first
        first = next(i for i, (r, _) in enumerate(turns) if r == "user")
        turns[first] = ("user", "\n".join([IMAGE_PLACEHOLDER] * len(tiles)) + "\n" + turns[first][1])
    return turns


def encode_conversation(tokenizer, cfg, conversations: Sequence[dict[str, Any]], n_images: int | Sequence[int] = 0,
                        system: str | None = None, max_length: int | None = None) -> dict[str, list[int]]:
    """Encode one InternVL chat record's ``conversations`` with the chat template.

    Args:
        tokenizer: the model's tokenizer.
        cfg: ModelSection (image tokens per tile come from ``cfg.vision``).
        conversations: ``[{"from": "human"|"gpt", "value": str}, ...]``.
        n_images: number of images (one tile each), or a list of tile counts per image.
        system: optional system message.
        max_length: truncate to this many tokens (default ``cfg.text.max_length``); never inside an image.

    Returns:
        ``{"input_ids", "labels", "attention_mask"}`` as lists of ints (labels -100 outside answers).
    """
    tiles = [1] * n_images if isinstance(n_images, int) else list(n_images)
    per_tile = tokens_per_tile(cfg)
    ids: list[int] = []
    labels: list[int] = []
    for role, value in _turns(conversations, tiles, system):
        head = tokenizer.encode(f"{IM_START}{role}\n", add_special_tokens=False)
        body_text = _expand_images(value, tiles, per_tile) if role == "user" else value
        tiles = tiles if role != "user" else []  # images are consumed by the first user turn that names them
        body = tokenizer.encode(body_text + IM_END, add_special_tokens=False)
        tail = tokenizer.encode("\n", add_special_tokens=False)
        ids += head + body + tail
        labels += [IGNORE_INDEX] * len(head) + (body if role == "assistant" else [IGNORE_INDEX] * len(body))
        labels += [IGNORE_INDEX] * len(tail)
    limit = max_length or cfg.text.max_length
    if len(ids) > limit:
        image_id = tokenizer.convert_tokens_to_ids(IMG_CONTEXT)
        if image_id in ids[limit:]:
            raise UserError(f"conversation needs {len(ids)} tokens and its image tokens do not fit in "
                            f"max_length={limit}; raise model.text.max_length or use fewer tiles")
        ids, labels = ids[:limit], labels[:limit]
    return {"input_ids": ids, "labels": labels, "attention_mask": [1] * len(ids)}


def tokens_per_tile(cfg) -> int:
    """Image tokens one tile becomes: (image_size / patch_size)^2 patches, pixel shuffle 0.5 -> / 4."""
    side = cfg.vision.image_size // cfg.vision.patch_size
    if side % 2:
        raise UserError(f"model.vision: image_size/patch_size = {side} must be even for pixel shuffle 0.5")
    return (side // 2) ** 2


def prompt_text(instruction: str, tiles: int, cfg) -> str:
    """The user turn that asks for a generation: image block, instruction, then the assistant header."""
    image = f"{image_block(tokens_per_tile(cfg), tiles)}\n" if tiles else ""  # text-only prompts: no block
    return f"{IM_START}user\n{image}{instruction}{IM_END}\n{IM_START}assistant\n"


def encode_prompts(tokenizer, cfg, instructions: Sequence[str], tiles: Sequence[int] | None = None,
                   padding_side: str = "left") -> dict[str, Any]:
    """Tokenize generation/policy prompts (each with its image block) into a padded batch of tensors."""
    tiles = list(tiles) if tiles is not None else [1] * len(instructions)
    seqs = [tokenizer.encode(prompt_text(text, n, cfg), add_special_tokens=False)
            for text, n in zip(instructions, tiles, strict=True)]
    return pad_batch([{"input_ids": s, "attention_mask": [1] * len(s)} for s in seqs],
                     special_ids(tokenizer)["pad"], padding_side)


def pad_batch(items: Sequence[dict[str, list[int]]], pad_id: int, padding_side: str = "right") -> dict[str, Any]:
    """Pad encoded sequences to one length: input_ids with ``pad_id``, labels with -100, mask with 0."""
    import torch

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    width = max(len(it["input_ids"]) for it in items)
    fill = {"input_ids": pad_id, "labels": IGNORE_INDEX, "attention_mask": 0}
    out: dict[str, Any] = {}
    for key in items[0]:
        rows = []
        for it in items:
            pad = [fill[key]] * (width - len(it[key]))
            rows.append(pad + list(it[key]) if padding_side == "left" else list(it[key]) + pad)
        out[key] = torch.tensor(rows, dtype=torch.long)
    return out
