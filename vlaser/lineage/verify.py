"""Workspace consistency: every recorded artifact exists on disk with its recorded digest.

Used by ``vlaser lineage --verify`` and by ``vlaser doctor``. Each problem names the path, what is
wrong and the repair, so the caller can print them as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from vlaser.errors import UserError
from vlaser.io import META, dir_digest, read_meta
from vlaser.lineage.registry import Registry, iter_artifact_folders, open_registry, rel_path

RERUN = "re-run the stage that writes it (`dvc repro` or `vlaser resume SWEEP`; `dvc checkout PATH` restores cached outputs)"


@dataclass(frozen=True)
class Problem:
    """One inconsistency: ``kind`` is missing | no-meta | bad-meta | changed | corrupt | unregistered."""

    path: str
    kind: str
    detail: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail} (fix: {self.fix})"


def _check_row(root: Path, path: str, digest: str, deep: bool) -> Problem | None:
    folder = Path(path) if Path(path).is_absolute() else root / path
    if not folder.is_dir():
        return Problem(path, "missing", f"recorded with digest {digest[:12]} but the folder is gone", RERUN)
    if not (folder / META).is_file():
        return Problem(path, "no-meta", "folder has no meta.json (unfinished or hand-made)", RERUN)
    try:
        meta = read_meta(folder)
    except UserError as err:
        return Problem(path, "bad-meta", str(err), RERUN)
    if meta.get("digest") != digest:
        return Problem(path, "changed", f"meta.json says {str(meta.get('digest'))[:12]}, registry recorded "
                       f"{digest[:12]} (written without registering)", "`vlaser lineage --rebuild`")
    if deep:
        actual = dir_digest(folder)
        if actual != digest:
            return Problem(path, "corrupt", f"content hashes to {actual[:12]}, recorded {digest[:12]} "
                           "(a file was edited, truncated or damaged)", "delete the folder, then " + RERUN)
    return None


def verify_registry(registry: Registry, deep: bool = True,
                    folders: tuple[str, ...] = ("data", "models", "reports")) -> list[Problem]:
    """Check every current row against the disk, and every artifact on disk against the registry."""
    problems: list[Problem] = []
    rows = registry.all(current_only=True)
    for row in rows:
        if (p := _check_row(registry.root, row.path, row.digest, deep)) is not None:
            problems.append(p)
    known = {r.path for r in rows}
    for folder in iter_artifact_folders(registry.root, folders):
        path = rel_path(folder, registry.root)
        if path not in known:
            problems.append(Problem(path, "unregistered", "artifact on disk is not in the lineage registry",
                                    "`vlaser lineage --rebuild`"))
    return problems


def verify(workspace: Path, url: str | None = None, deep: bool = True) -> list[Problem]:
    """Open the workspace's registry at ``url`` and return its problems (empty list: consistent).

    ``deep`` re-hashes every artifact's content (slow for big checkpoints); without it only
    existence and meta.json digests are compared.
    """
    with open_registry(url, workspace) as reg:
        return verify_registry(reg, deep)
