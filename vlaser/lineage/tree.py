"""Lineage trees: from a report, checkpoint or MLflow run back to the raw sources and their settings.

The tree follows ``meta.json`` parents on disk and fills in what only the registry knows (sweep,
variant, seed, MLflow run). A parent whose folder is gone is a ``missing`` node, one whose folder now
holds other content is ``changed``; both keep whatever the registry recorded about the version that
was used (including its own parents), so a deleted intermediate does not cut the tree. Nothing here
raises for a broken parent: only an unknown target is a ``UserError``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlaser.errors import UserError
from vlaser.io import META, read_meta
from vlaser.lineage.registry import ArtifactInfo, Registry, rel_path
from vlaser.runtime import workspace_root

SHORT = 12  # digest characters shown to humans
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_HEX = re.compile(r"^[0-9a-f]{6,64}$")


@dataclass
class LineageNode:
    """One artifact version in a lineage tree; ``status`` is ok | missing | changed | unreadable | run."""

    path: str
    digest: str | None
    status: str = "ok"
    kind: str | None = None
    params_digest: str | None = None
    params: Any = None
    code_commit: str | None = None
    code_dirty: bool | None = None
    created: str | None = None
    sweep: str | None = None
    variant: str | None = None
    seed: int | None = None
    stage: str | None = None
    mlflow_run_id: str | None = None
    note: str | None = None
    parents: list[LineageNode] = field(default_factory=list)

    @property
    def short(self) -> str:
        return (self.digest or "?")[:SHORT]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (``short`` digest added for convenience)."""
        d = asdict(self)
        d["short"] = self.short
        d["parents"] = [p.to_dict() for p in self.parents]
        return d

    def walk(self):  # noqa: ANN201 - generator of LineageNode
        yield self
        for p in self.parents:
            yield from p.walk()


def _fill(node: LineageNode, meta: dict[str, Any] | None, row: ArtifactInfo | None) -> None:
    src: dict[str, Any] = {}
    if row is not None:
        src.update({k: getattr(row, k) for k in ("kind", "params_digest", "params", "code_commit",
                                                   "code_dirty", "created")})
    if meta is not None:
        code = meta.get("code") or {}
        src.update(kind=meta.get("kind"), params_digest=meta.get("params_digest"), params=meta.get("params"),
                   code_commit=code.get("commit"), code_dirty=code.get("dirty"), created=meta.get("created"))
    if row is not None:
        src.update(sweep=row.sweep, variant=row.variant, seed=row.seed, stage=row.stage,
                   mlflow_run_id=row.mlflow_run_id)
    for key, value in src.items():
        setattr(node, key, value)


class _Builder:
    def __init__(self, root: Path, registry: Registry | None):
        self.root, self.registry = root, registry
        self.memo: dict[tuple[str, str | None], LineageNode] = {}

    def _row(self, path: str, digest: str | None) -> ArtifactInfo | None:
        return self.registry.get(path, digest) if self.registry is not None else None

    def node(self, path: str, digest: str | None, stack: frozenset = frozenset()) -> LineageNode:
        key = (path, digest)
        if key in self.memo:
            return self.memo[key]
        folder = Path(path) if Path(path).is_absolute() else self.root / path
        node = LineageNode(path=path, digest=digest)
        meta, parents = None, {}
        if (folder / META).is_file():
            try:
                meta = read_meta(folder)
            except UserError as err:
                node.status, node.note = "unreadable", str(err)
        if meta is not None and digest not in (None, meta.get("digest")):
            node.status = "changed"
            node.note = f"folder now holds {str(meta.get('digest'))[:SHORT]}; showing the recorded version"
            meta = None
        elif meta is None and node.status == "ok":
            node.status, node.note = "missing", "folder or its meta.json is gone"
        row = self._row(path, digest if digest else (meta or {}).get("digest"))
        if meta is not None:
            node.digest = meta.get("digest")
            parents = meta.get("parents") or {}
        elif row is not None:
            parents = row.parents
        _fill(node, meta, row)
        self.memo[key] = node
        if key in stack:  # a cycle can only come from hand-edited meta files; stop rather than loop
            node.note = "cycle in recorded parents"
            return node
        node.parents = [self.node(rel_path(p, self.root), d, stack | {key}) for p, d in sorted(parents.items())]
        return node


def _as_folder(target: str, root: Path) -> Path | None:
    for cand in (Path(target), root / target):
        if cand.exists():
            cand = cand.resolve()
            if cand.is_file():  # a report file: its folder is the artifact
                cand = cand.parent
            if not (cand / META).is_file():
                raise UserError(f"{cand}: no meta.json here (not a finished Vlaser artifact folder)")
            return cand
    return None


def lineage_tree(target: str | Path, registry: Registry | None = None, root: Path | None = None) -> LineageNode:
    """The lineage of ``target``: an artifact folder (or a file in one), an MLflow run id or a digest prefix.

    For a run id the root is a ``run`` node whose parents are the run's final artifacts (those not
    used by another artifact of the same run). Needs ``registry`` for run ids and digests.
    """
    root = Path(root or (registry.root if registry else workspace_root())).resolve()
    b = _Builder(root, registry)
    target = str(target)
    folder = _as_folder(target, root)
    if folder is not None:
        return b.node(rel_path(folder, root), None)
    where = f" in {registry!r}" if registry else " (no lineage database given)"
    key = target.lower()
    if registry is not None and _RUN_ID.match(key) and (rows := registry.by_run(key)):
        used = {(p, d) for r in rows for p, d in r.parents.items()}
        finals = [r for r in rows if (r.path, r.digest) not in used]
        node = LineageNode(path=f"mlflow run {key}", digest=None, status="run", kind="run", mlflow_run_id=key,
                           sweep=rows[0].sweep, variant=rows[0].variant, seed=rows[0].seed)
        node.parents = [b.node(r.path, r.digest) for r in finals]
        return node
    if registry is not None and _HEX.match(key) and (rows := registry.find_digest(key)):
        if len({r.digest for r in rows}) > 1:
            raise UserError(f"digest prefix '{target}' matches {len(rows)} artifacts{where}; give more characters")
        return b.node(rows[0].path, rows[0].digest)
    raise UserError(f"'{target}' is neither an artifact folder (relative to {root} or the current folder) nor "
                    f"an MLflow run id or artifact digest known{where}")
