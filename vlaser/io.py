"""Atomic outputs, content digests and ``meta.json`` — the contract every stage writes by.

A stage writes into ``atomic_dir(dest)``: a temporary sibling folder that is renamed onto ``dest`` only
when the block finishes without an exception, so a killed or failed stage leaves nothing that looks
finished. ``meta.json`` in each artifact folder records kind, content digest, parents' digests,
params digest and code version; the lineage registry indexes these files.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

META = "meta.json"
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def dir_digest(path: Path, exclude: tuple[str, ...] = (META,)) -> str:
    """sha256 over sorted relative paths and file contents (``meta.json`` excluded: it holds the digest)."""
    path = Path(path)
    if path.is_file():
        return file_digest(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel in exclude:
            continue
        h.update(rel.encode() + b"\0" + file_digest(f).encode() + b"\n")
    return h.hexdigest()


def json_digest(obj: Any) -> str:
    """Digest of a JSON-able object in canonical form (sorted keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` atomically (temp file in the same folder + rename): readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename); sorted keys so equal content is equal bytes."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def atomic_dir(dest: Path | str) -> Iterator[Path]:
    """Yield a temp folder beside ``dest``; on success replace ``dest`` with it, on failure delete it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = dest.with_name(f".{dest.name}.old")
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def code_version(root: Path | None = None) -> dict[str, Any]:
    """Git commit and dirty flag of the code that produced an artifact (``unknown`` outside git)."""
    cwd = root or Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty": True}
    return {"commit": commit, "dirty": dirty}


def write_meta(folder: Path, kind: str, params: Any = None, parents: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``folder/meta.json`` (call last, inside ``atomic_dir``). Returns the meta dict.

    Args:
        folder: the artifact folder (its content is digested, meta.json excluded).
        kind: artifact kind, e.g. "demos", "mixture", "vlm", "vla", "report".
        params: the stage's own settings (a pydantic section or a dict); digested.
        parents: {path of parent artifact: its digest}.
        extra: small extra facts (counts, metrics) for humans and the registry.
    """
    if hasattr(params, "model_dump"):
        params = params.model_dump(mode="json")
    meta = {
        "kind": kind,
        "digest": dir_digest(folder),
        "parents": dict(sorted((parents or {}).items())),
        "params_digest": json_digest(params),
        "params": params,
        "code": code_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **({"extra": extra} if extra else {}),
    }
    write_json(Path(folder) / META, meta)
    return meta


def read_meta(folder: Path) -> dict[str, Any]:
    from vlaser.errors import UserError

    path = Path(folder) / META
    if not path.is_file():
        raise UserError(f"{path}: no meta.json (not a finished Vlaser artifact)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: corrupt meta.json ({err.msg})") from None
