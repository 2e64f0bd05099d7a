"""Write a preset's values into params.yaml, and check that DVC sees what the sweep runs.

DVC reads params.yaml itself: ``dvc.yaml`` builds its stages from ``sweep.variants`` x ``sweep.seeds``, the
demo folder from ``demos.suite`` and the OOD stages from ``ood.sources``, and it tracks each stage's
params keys in the file. A preset applied only as an overlay at load time would be invisible to it (a
study with seeds 0, 1, 2 would ask DVC for stages it does not have). ``write_preset`` therefore merges
the preset into the file (ruamel round trip: comments and order kept) and sets ``preset:``; the file then
says exactly what ran, and ``git diff params.yaml`` shows what a preset changed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from vlaser.config import load_params, read_yaml
from vlaser.config.presets import get_preset
from vlaser.errors import UserError
from vlaser.io import write_text_atomic

# the keys dvc.yaml interpolates: they shape the DAG itself
DVC_KEYS: tuple[tuple[str, ...], ...] = (("sweep", "variants"), ("sweep", "seeds"), ("demos", "suite"),
                                         ("ood", "sources"))


def _merge(doc: Any, overlay: dict[str, Any]) -> None:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            _merge(doc[key], value)
        else:
            doc[key] = value


def write_preset(path: Path, preset: str) -> bool:
    """Merge ``preset`` into the params file at ``path`` and set ``preset:``; True when the file changed."""
    from ruamel.yaml import YAML

    load_params(path, preset)  # an unknown or invalid preset is refused before the file is touched
    rt = YAML(typ="rt")  # round trip: plain YAML types with their comments, never arbitrary objects
    rt.width = 120
    text = path.read_text()
    doc = rt.load(text)
    _merge(doc, get_preset(preset))
    doc["preset"] = preset
    buf = io.StringIO()
    rt.dump(doc, buf)
    if buf.getvalue() == text:
        return False
    write_text_atomic(path, buf.getvalue())
    load_params(path)  # what was written must read back valid
    return True


def _get(data: dict[str, Any], key: tuple[str, ...]) -> Any:
    for k in key:
        data = data.get(k) if isinstance(data, dict) else None
    return data


def check_dvc_sees_preset(path: Path) -> None:
    """Refuse a params file whose preset changes keys that DVC reads from the file itself (``DVC_KEYS``).

    That happens when ``preset:`` was edited by hand: the overlay changes, say, the seeds, but DVC's stages
    are still those of the file's seeds."""
    raw = read_yaml(path)
    overlay = get_preset(str(raw.get("preset") or "tiny"))
    differ = [".".join(k) for k in DVC_KEYS if _get(overlay, k) is not None and _get(raw, k) != _get(overlay, k)]
    if differ:
        raise UserError(
            f"{path}: preset '{raw.get('preset')}' changes {', '.join(differ)}, which dvc.yaml reads from the file "
            f"itself; write the preset into the file with `vlaser sweep --preset {raw.get('preset')}`")
