"""Nested state (optimizer, scheduler, RNG) to safetensors + JSON and back, without pickle.

``save_tree(obj, folder, name)`` writes ``<name>.safetensors`` (every tensor, keyed by its path in the
tree) and ``<name>.json`` (the tree with each tensor replaced by ``{"__tensor__": key}``). Dicts whose
keys are not all strings (torch optimizer state is keyed by int), tuples and enums are tagged so that
``load_tree`` gives back the same Python types. Anything else (an arbitrary object) raises ``TypeError``:
callers drop such entries explicitly rather than pickling them.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from vlaser.errors import UserError

_T, _TUP, _DICT, _FLOAT = "__tensor__", "__tuple__", "__dict__", "__float__"


def _encode(obj: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = path or "root"
        # clone: safetensors refuses tensors that share storage (views into a flat buffer)
        tensors[key] = obj.detach().to("cpu").clone().contiguous()
        return {_T: key}
    if isinstance(obj, enum.Enum):
        return _encode(obj.value, path, tensors)
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, float):
        # JSON has no inf/nan: keep them as a tagged string
        return obj if math.isfinite(obj) else {_FLOAT: repr(obj)}
    if isinstance(obj, tuple):
        return {_TUP: [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not ({_T, _TUP, _DICT, _FLOAT} & set(obj)):
            return {k: _encode(v, f"{path}.{k}", tensors) for k, v in obj.items()}
        return {_DICT: [[_encode(k, f"{path}.k{i}", tensors), _encode(v, f"{path}.{i}", tensors)]
                        for i, (k, v) in enumerate(obj.items())]}
    raise TypeError(f"cannot store {type(obj).__name__} at '{path}' without pickle")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if _T in obj:
        return tensors[obj[_T]]
    if _FLOAT in obj:
        return float(obj[_FLOAT])
    if _TUP in obj:
        return tuple(_decode(v, tensors) for v in obj[_TUP])
    if _DICT in obj:
        return {_hashable(_decode(k, tensors)): _decode(v, tensors) for k, v in obj[_DICT]}
    return {k: _decode(v, tensors) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def save_tree(obj: Any, folder: Path, name: str) -> None:
    """Write ``folder/<name>.json`` and ``folder/<name>.safetensors`` (the latter always, maybe empty)."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(obj, "", tensors)
    save_file(tensors, str(Path(folder) / f"{name}.safetensors"))
    (Path(folder) / f"{name}.json").write_text(json.dumps(skeleton, indent=1, sort_keys=True) + "\n")


def load_tree(folder: Path, name: str) -> Any:
    """Inverse of ``save_tree``; a missing or corrupt file raises ``UserError`` naming it."""
    js, st = Path(folder) / f"{name}.json", Path(folder) / f"{name}.safetensors"
    for f in (js, st):
        if not f.is_file():
            raise UserError(f"{f}: missing (incomplete training checkpoint)")
    try:
        skeleton = json.loads(js.read_text())
        tensors = load_file(str(st))
    except Exception as err:  # json, OS and safetensors' own error types
        raise UserError(f"{folder}/{name}.*: corrupt training checkpoint ({err})") from None
    return _decode(skeleton, tensors)
