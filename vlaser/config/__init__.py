"""Settings: ``params.yaml`` is the one source of truth; this package is its only reader.

    params = load_params()                 # params.yaml in the workspace, its own preset applied
    params = load_params(preset="internvl3-2b")
    cfg = params.pretrain                   # one stage's typed, frozen section

Every problem becomes a ``UserError`` naming the file, the key path (with its line when known),
the value and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vlaser.config.presets import PRESETS, deep_merge, get_preset
from vlaser.config.schema import Params
from vlaser.errors import UserError

__all__ = ["Params", "PRESETS", "load_params", "params_from_dict", "read_yaml", "key_lines"]


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: settings file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return data


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path in a YAML document to its 1-based line (list items by index)."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = (*path, str(k.value))
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                p = (*path, str(i))
                lines[p] = item.start_mark.line + 1
                walk(item, p)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _format_errors(err: ValidationError, source: str, lines: dict[tuple[str, ...], int]) -> str:
    out = [f"{source}: invalid settings"]
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        key = ".".join(loc) or "(top level)"
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        where = f" (line {line})" if line else ""
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (misspelt? not a setting of this section)"
        value = e.get("input")
        shown = "" if e["type"] in ("missing",) or isinstance(value, dict) else f"; got {value!r}"
        if "\n" in msg:  # cross-section checks carry their own key paths
            out.extend(f"  - {m}" for m in msg.splitlines())
        else:
            out.append(f"  - {key}{where}: {msg}{shown}")
    return "\n".join(out)


def params_from_dict(data: dict[str, Any], source: str = "<settings>", preset: str | None = None,
                     text: str = "") -> Params:
    """Validate a settings tree, with ``preset`` (or the tree's own ``preset`` key) overlaid."""
    name = preset or data.get("preset", "tiny")
    if not isinstance(name, str):
        raise UserError(f"{source}: key 'preset' must be a string, got {name!r}")
    merged = deep_merge(data, get_preset(name))
    merged["preset"] = name
    try:
        return Params.model_validate(merged)
    except ValidationError as err:
        raise UserError(_format_errors(err, source, key_lines(text))) from None


def load_params(path: Path | str | None = None, preset: str | None = None) -> Params:
    """Load and validate ``params.yaml`` (default: the workspace's)."""
    if path is None:
        from vlaser.runtime import workspace_root

        path = workspace_root() / "params.yaml"
    path = Path(path)
    data = read_yaml(path)
    return params_from_dict(data, str(path), preset, path.read_text())
