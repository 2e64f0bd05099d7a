"""Records kept on disk while the tracking store is unreachable, replayed in order later.

One JSON file per record, ``<time_ns>-<pid>-<seq>-<op>.json`` under ``.vlaser/tracking-buffer/``,
written atomically (a killed process leaves either a whole record or none). Names sort in time
order across processes. A replayed file is deleted right after its record is in the store, so a
crash during a flush repeats at most one record (params are then identical; a metric point may
appear twice). Flushes hold an exclusive lock so two processes never replay the same file.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlaser.errors import UserError
from vlaser.io import write_json

_seq = itertools.count()


class Buffer:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def write(self, op: str, payload: dict[str, Any]) -> Path:
        path = self.folder / f"{time.time_ns():020d}-{os.getpid()}-{next(_seq):06d}-{op}.json"
        write_json(path, {"op": op, "payload": payload})
        return path

    def pending(self) -> list[Path]:
        """Whole records waiting, oldest first (temp files of unfinished writes start with '.')."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    @staticmethod
    def read(path: Path) -> tuple[str, dict[str, Any]]:
        try:
            rec = json.loads(path.read_text())
            return rec["op"], rec["payload"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise UserError(f"{path}: damaged tracking buffer record ({err}); move it aside and flush again") from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
