"""Checkpoints of the VLM (stage 1) and the VLA (stage 2): safetensors + JSON, nothing pickled.

Layout (a VLM folder is a plain InternVL-hf folder, so transformers/InternVL tools can load it)::

    models/<variant>/s<seed>/vlm/
    ├── vlaser_model.json        {"schema_version", "kind": "vlm", "model": ModelSection}
    ├── config.json              InternVLConfig (transformers)
    ├── generation_config.json
    ├── model.safetensors        VLM weights (a tied LM head is stored once)
    ├── tokenizer.json           tokenizer (+ tokenizer_config.json, chat template if any)
    ├── tokenizer_config.json
    └── meta.json                written last by the stage (vlaser.io.write_meta)
    models/<variant>/s<seed>/vla/
    ├── vlaser_model.json        {"schema_version", "kind": "vla", "model": ModelSection}
    ├── config.json, generation_config.json, model.safetensors, tokenizer*   the VLM inside the policy
    ├── expert.safetensors       action expert (layers, state/action/time in, velocity out)
    ├── norm_stats.json          {"state": NormStats, "action": NormStats}
    └── meta.json

Saving writes into ``folder`` (callers wrap it in ``vlaser.io.atomic_dir``). Loading first reads every
safetensors header and compares names and shapes with the model the config describes (built on the
meta device, no memory): a missing, truncated or mismatching file raises UserError naming the file
and the first mismatching tensor. Weights are then loaded by safetensors/transformers only.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from vlaser.errors import UserError
from vlaser.io import write_json

SCHEMA_VERSION = 1
MODEL_JSON = "vlaser_model.json"
WEIGHTS = "model.safetensors"
EXPERT = "expert.safetensors"
STATS = "norm_stats.json"
_VLM_FILES = (MODEL_JSON, "config.json", WEIGHTS, "tokenizer.json")


# -- safetensors header checks -----------------------------------------------------------------------
def read_header(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors header; UserError if missing or truncated."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: weights file missing")
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise UserError(f"{path}: truncated safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", raw)
        if 8 + n > size:
            raise UserError(f"{path}: truncated safetensors file (header of {n} bytes, file of {size})")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: corrupt safetensors header ({err})") from err
    header.pop("__metadata__", None)
    end = max((int(v["data_offsets"][1]) for v in header.values()), default=0)
    if 8 + n + end > size:
        raise UserError(f"{path}: truncated safetensors file (data ends at byte {8 + n + end}, file has {size})")
    return {k: tuple(v["shape"]) for k, v in header.items()}


def check_tensors(path: Path, found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]],
                  optional: set[str] = frozenset()) -> None:
    """UserError naming ``path`` and the first tensor whose name or shape differs from ``expected``."""
    for name in sorted(expected.keys() | found.keys()):
        if name not in found and name not in optional:
            raise UserError(f"{path}: tensor '{name}' missing (expected shape {list(expected[name])}); "
                            "the checkpoint does not match this model configuration")
        if name not in expected:
            raise UserError(f"{path}: unexpected tensor '{name}' (shape {list(found[name])}); "
                            "the checkpoint does not match this model configuration")
        if name in found and found[name] != expected[name]:
            raise UserError(f"{path}: tensor '{name}' has shape {list(found[name])}, the model expects "
                            f"{list(expected[name])}")


def _shapes(module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


# -- config -------------------------------------------------------------------------------------------
def _read_model_json(folder: Path, kind: str):
    from vlaser.config.model import ModelSection

    for name in _VLM_FILES:
        if not (folder / name).is_file():
            raise UserError(f"{folder / name}: missing; {folder} is not a complete {kind.upper()} checkpoint")
    path = folder / MODEL_JSON
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: unreadable ({err})") from err
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:  # migrations go here when the format changes
        raise UserError(f"{path}: schema_version {version!r}; this code reads version {SCHEMA_VERSION}")
    if meta.get("kind") != kind:
        raise UserError(f"{path}: a '{meta.get('kind')}' checkpoint, expected '{kind}'")
    try:
        return ModelSection.model_validate(meta["model"])
    except (KeyError, ValueError) as err:
        raise UserError(f"{path}: invalid model settings ({err})") from err


def _write_model_json(folder: Path, kind: str, cfg, extra: dict[str, Any] | None = None) -> None:
    write_json(folder / MODEL_JSON, {"schema_version": SCHEMA_VERSION, "kind": kind,
                                     "model": cfg.model_dump(mode="json"), **(extra or {})})


# -- VLM ----------------------------------------------------------------------------------------------
def _save_hf(folder: Path, model) -> None:
    """The VLM as transformers writes it (hub names, a tied head once), without ``save_pretrained``.

    ``save_pretrained`` goes through accelerate's unwrap, which imports deepspeed (~15 s per process
    here); the files are the same: ``config.json``, ``generation_config.json``, ``model.safetensors``.
    """
    from safetensors.torch import save_file
    from transformers.core_model_loading import revert_weight_conversion

    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    state = revert_weight_conversion(model, state)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(folder / WEIGHTS),
              metadata={"format": "pt"})
    model.config.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(folder)


def save_vlm(folder: Path, model, tokenizer, cfg) -> Path:
    """Write a VLM checkpoint (weights, config, tokenizer, settings) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _save_hf(folder, model)
    tokenizer.save_pretrained(folder)
    _write_model_json(folder, "vlm", cfg)
    return folder


def _expected_vlm_tensors(config) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """On-disk names and shapes of the VLM's weights (+ the names that may be absent: a tied head).

    transformers writes InternVL weights under the hub's (llava-style) names, e.g.
    ``language_model.model.layers.0...``; ``revert_weight_conversion`` gives the same renaming.
    """
    import torch
    from transformers import InternVLForConditionalGeneration
    from transformers.core_model_loading import revert_weight_conversion

    with torch.device("meta"):
        skeleton = InternVLForConditionalGeneration(config)
    names = revert_weight_conversion(skeleton, skeleton.state_dict())
    expected = {k: tuple(v.shape) for k, v in names.items()}
    tied = {k for k in expected if k.endswith("lm_head.weight")} if config.tie_word_embeddings else set()
    return expected, tied


def _load_vlm_weights(folder: Path, cfg):
    from huggingface_hub.errors import StrictDataclassError
    from transformers import InternVLConfig

    from vlaser.model.vlm import load_hf_folder

    try:
        config = InternVLConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError, StrictDataclassError) as err:
        raise UserError(f"{folder / 'config.json'}: not a readable InternVL config ({err})") from err
    check_tensors(folder / WEIGHTS, read_header(folder / WEIGHTS), *_expected_vlm_tensors(config))
    model, tokenizer = load_hf_folder(folder, cfg.dtype)
    return model.eval(), tokenizer


def load_vlm(folder: Path):
    """(model, tokenizer, ModelSection) from a folder written by ``save_vlm`` (or a VLA folder's VLM)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such checkpoint folder")
    kind = _peek_kind(folder)
    cfg = _read_model_json(folder, kind)
    model, tokenizer = _load_vlm_weights(folder, cfg)
    return model, tokenizer, cfg


def _peek_kind(folder: Path) -> str:
    try:
        return str(json.loads((folder / MODEL_JSON).read_text()).get("kind", "vlm"))
    except (OSError, json.JSONDecodeError):
        return "vlm"  # _read_model_json reports the missing/broken file


# -- VLA ----------------------------------------------------------------------------------------------
def save_vla(folder: Path, policy, stats: dict, cfg, tokenizer=None) -> Path:
    """Write a VLA checkpoint: the VLM inside (HF layout), the expert, the normalisation stats.

    Args:
        folder: destination (created).
        policy: VLAPolicy.
        stats: ``{"state": NormStats, "action": NormStats}``.
        cfg: ModelSection.
        tokenizer: the VLM's tokenizer (default: ``policy.tokenizer``).
    """
    from safetensors.torch import save_file

    from vlaser.model.normalize import save_stats

    for key in ("state", "action"):
        if key not in stats:
            raise ValueError(f"stats need a '{key}' entry (NormStats); got {sorted(stats)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _save_hf(folder, policy.vlm)
    tokenizer = tokenizer if tokenizer is not None else getattr(policy, "tokenizer", None)
    if tokenizer is None:
        raise ValueError("no tokenizer: pass tokenizer= or set policy.tokenizer")
    tokenizer.save_pretrained(folder)
    tensors = {k: v.detach().contiguous().cpu() for k, v in policy.expert.state_dict().items()}
    save_file(tensors, str(folder / EXPERT), metadata={"format": "pt", "schema_version": str(SCHEMA_VERSION)})
    save_stats(folder / STATS, stats)
    _write_model_json(folder, "vla", cfg)
    return folder


def load_vla(folder: Path):
    """(policy, stats, ModelSection) from a folder written by ``save_vla``; ``policy.tokenizer`` is set."""
    from safetensors.torch import load_file

    from vlaser.model.normalize import load_stats
    from vlaser.model.policy import VLAPolicy

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such checkpoint folder")
    cfg = _read_model_json(folder, "vla")
    stats = load_stats(folder / STATS)
    vlm, tokenizer = _load_vlm_weights(folder, cfg)
    policy = VLAPolicy(vlm, cfg)
    check_tensors(folder / EXPERT, read_header(folder / EXPERT), _shapes(policy.expert))
    policy.expert.load_state_dict(load_file(str(folder / EXPERT)), strict=True)
    policy.tokenizer = tokenizer
    for key, dim in (("state", cfg.state_dim), ("action", cfg.action_dim)):
        if stats[key].dim != dim:
            raise UserError(f"{folder / STATS}: '{key}' stats have {stats[key].dim} dims, the model has {dim}")
    return policy.eval(), stats, cfg
