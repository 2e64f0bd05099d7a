"""Writing a stage's final output folder: model files, a training summary and ``meta.json``, atomically.

The folder is built beside ``out`` and renamed onto it when complete (``vlaser.io.atomic_dir``); the
rename also drops ``out/.train_state`` (the resumable state of the finished run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlaser.io import atomic_dir, read_meta, write_json, write_meta

SUMMARY = "train_summary.json"


def parent_digest(folder: Path | None) -> dict[str, str]:
    """``{path: digest}`` of an input artifact from its meta.json (empty for None)."""
    if folder is None:
        return {}
    return {str(folder): read_meta(folder)["digest"]}


def finalize(out: Path, write: Callable[[Path], None], kind: str, params: dict[str, Any],
             parents: dict[str, str], summary: dict[str, Any]) -> dict[str, Any]:
    """Write the final artifact (only on process 0); returns its meta.

    Args:
        out: the stage's output folder.
        write: writes the model files into the folder it is given (the model area's save function).
        kind: "vlm" or "vla".
        params: the settings recorded in meta.json.
        parents: input artifacts by path and digest.
        summary: the training summary (final loss, steps, timing), also in meta's ``extra``.
    """
    with atomic_dir(out) as tmp:
        write(tmp)
        write_json(tmp / SUMMARY, summary)
        meta = write_meta(tmp, kind, params, parents, extra={k: v for k, v in summary.items()
                                                              if isinstance(v, int | float | str)})
    return meta
