"""The lineage registry: index every artifact's ``meta.json`` with its sweep, variant, seed and run.

    reg = open_registry(params.tracking.lineage_url)        # migrates to head on open
    reg.register("models/ood/s0/vlm", sweep="s-0001", variant="ood", seed=0, stage="pretrain",
                 mlflow_run_id=run_id)                      # idempotent upsert
    reg.get("models/ood/s0/vlm").parents                    # {parent path: digest}

Rows are keyed by (path, digest): registering the same folder twice updates one row; a folder that
now holds new content gets a new row, which becomes the path's ``current`` version. The registry is
only an index of the ``meta.json`` files, so a lost or damaged database is rebuilt by ``rebuild()``.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from vlaser.errors import UserError
from vlaser.io import META, read_meta
from vlaser.lineage.db import DEFAULT_URL, open_engine, open_error, shown
from vlaser.lineage.models import Artifact, Edge
from vlaser.runtime import workspace_root


@dataclass(frozen=True)
class ArtifactInfo:
    """A detached snapshot of one registry row (safe to use after the session closes)."""

    id: int
    path: str
    kind: str
    digest: str
    params_digest: str
    code_commit: str
    code_dirty: bool
    created: str
    current: bool
    sweep: str | None = None
    variant: str | None = None
    seed: int | None = None
    stage: str | None = None
    mlflow_run_id: str | None = None
    params: Any = None
    extra: Any = None
    parents: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Artifact) -> ArtifactInfo:
        return cls(
            id=row.id, path=row.path, kind=row.kind, digest=row.digest, params_digest=row.params_digest,
            code_commit=row.code_commit, code_dirty=row.code_dirty, created=row.created, current=row.current,
            sweep=row.sweep, variant=row.variant, seed=row.seed, stage=row.stage,
            mlflow_run_id=row.mlflow_run_id, params=row.params, extra=row.extra,
            parents={e.parent_path: e.parent_digest for e in row.parents},
        )


def rel_path(path: Path | str, root: Path) -> str:
    """Posix path relative to the workspace ``root`` when inside it, else absolute."""
    p = Path(path)
    p = (p if p.is_absolute() else root / p).resolve()
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


class Registry:
    """Open handle on the lineage database; ``root`` anchors relative artifact paths."""

    def __init__(self, url: str = DEFAULT_URL, root: Path | None = None, busy_timeout_s: float = 30.0):
        self.root = Path(root or workspace_root()).resolve()
        self.engine, self.url = open_engine(url, self.root, busy_timeout_s)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _write(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202 - internal retry wrapper
        """Run ``fn(session, ...)`` in one transaction; a unique-key race (PostgreSQL) retries once."""
        for attempt in range(2):
            try:
                with self._session() as s, s.begin():
                    return fn(s, *args, **kwargs)
            except IntegrityError:
                if attempt:
                    raise
            except (DBAPIError, sqlite3.Error) as err:
                raise open_error(self.url, err) from None
        raise AssertionError("unreachable")

    def register(self, folder: Path | str, *, sweep: str | None = None, variant: str | None = None,
                 seed: int | None = None, stage: str | None = None,
                 mlflow_run_id: str | None = None) -> ArtifactInfo:
        """Read ``folder/meta.json`` and upsert its row and parent edges; returns the row.

        Idempotent: the same (path, digest) always maps to one row. Context given as None keeps what
        the row already has, so a later call can add the MLflow run id without repeating the rest.
        """
        folder = Path(folder)
        folder = folder if folder.is_absolute() else self.root / folder
        meta = read_meta(folder)
        for key in ("kind", "digest", "params_digest", "code", "created"):
            if key not in meta:
                raise UserError(f"{folder / META}: missing key '{key}' (not written by vlaser.io.write_meta)")
        context = {"sweep": sweep, "variant": variant, "seed": seed, "stage": stage,
                   "mlflow_run_id": mlflow_run_id}
        return self._write(self._upsert, rel_path(folder, self.root), meta, context)

    def _upsert(self, s: Session, path: str, meta: dict[str, Any], context: dict[str, Any]) -> ArtifactInfo:
        row = s.scalars(select(Artifact).where(Artifact.path == path, Artifact.digest == meta["digest"])
                        .options(selectinload(Artifact.parents))).first()
        if row is None:
            row = Artifact(path=path, digest=meta["digest"])
            s.add(row)
        row.kind = meta["kind"]
        row.params_digest = meta["params_digest"]
        row.params = meta.get("params")
        row.code_commit = str(meta["code"].get("commit", "unknown"))
        row.code_dirty = bool(meta["code"].get("dirty", True))
        row.created = str(meta["created"])
        row.extra = meta.get("extra")
        row.registered = _dt.datetime.now(_dt.UTC)
        row.current = True
        for key, value in context.items():
            if value is not None:
                setattr(row, key, value)
        parents = {rel_path(p, self.root): d for p, d in (meta.get("parents") or {}).items()}
        # Edit edges in place: replacing the list would insert before deleting and trip the unique key.
        existing = {e.parent_path: e for e in row.parents}
        for p, d in sorted(parents.items()):
            if p in existing:
                existing[p].parent_digest = d
            else:
                row.parents.append(Edge(parent_path=p, parent_digest=d))
        for p, edge in existing.items():
            if p not in parents:
                row.parents.remove(edge)
        s.flush()
        s.execute(update(Artifact).where(Artifact.path == path, Artifact.id != row.id).values(current=False))
        return ArtifactInfo.from_row(row)

    def _read(self, stmt) -> list[ArtifactInfo]:  # noqa: ANN001 - a select()
        try:
            with self._session() as s:
                rows = s.scalars(stmt.options(selectinload(Artifact.parents))).all()
                return [ArtifactInfo.from_row(r) for r in rows]
        except (DBAPIError, sqlite3.Error) as err:
            raise open_error(self.url, err) from None

    def get(self, path: Path | str, digest: str | None = None) -> ArtifactInfo | None:
        """The row for ``path`` (its current version, or the version with ``digest``)."""
        q = select(Artifact).where(Artifact.path == rel_path(path, self.root))
        q = q.where(Artifact.digest == digest) if digest else q.where(Artifact.current.is_(True))
        rows = self._read(q.order_by(Artifact.registered.desc()))
        return rows[0] if rows else None

    def find_digest(self, digest_or_prefix: str) -> list[ArtifactInfo]:
        """Rows whose digest equals or starts with ``digest_or_prefix`` (current versions first)."""
        q = select(Artifact).where(Artifact.digest.startswith(digest_or_prefix.lower(), autoescape=True))
        return self._read(q.order_by(Artifact.current.desc(), Artifact.registered.desc()))

    def by_run(self, mlflow_run_id: str) -> list[ArtifactInfo]:
        return self._read(select(Artifact).where(Artifact.mlflow_run_id == mlflow_run_id).order_by(Artifact.id))

    def all(self, current_only: bool = True) -> list[ArtifactInfo]:
        q = select(Artifact)
        if current_only:
            q = q.where(Artifact.current.is_(True))
        return self._read(q.order_by(Artifact.id))

    def rebuild(self, folders: tuple[str, ...] = ("data", "models", "reports")) -> int:
        """Re-index every finished artifact folder under ``folders`` of the workspace; returns the count.

        Variant and seed are read back from the workspace layout (``models/<variant>/s<seed>/...``,
        ``reports/<variant>/s<seed>/...``, ``data/mixtures/<variant>``); context already in the
        database (sweep, MLflow run) is kept.
        """
        n = 0
        for folder in iter_artifact_folders(self.root, folders):
            self.register(folder, **layout_context(rel_path(folder, self.root)))
            n += 1
        return n

    def __repr__(self) -> str:
        return f"Registry({shown(self.url)!r})"


def iter_artifact_folders(root: Path, folders: tuple[str, ...]) -> Iterator[Path]:
    """Folders holding a meta.json, skipping hidden ones (``atomic_dir`` temp folders start with '.')."""
    for top in folders:
        base = root / top
        if not base.is_dir():
            continue
        for meta in sorted(base.rglob(META)):
            rel = meta.parent.relative_to(root).parts
            if not any(part.startswith(".") for part in rel):
                yield meta.parent


_STAGE_OF = {"demos": "demos", "indomain": "indomain", "ood": "ood", "mixtures": "mixture",
             "vlm": "pretrain", "vla": "finetune"}


def layout_context(path: str) -> dict[str, Any]:
    """Variant, seed and stage implied by the workspace layout of docs/contracts (empty if none)."""
    parts = path.split("/")
    out: dict[str, Any] = {}
    if len(parts) >= 2 and parts[0] == "data":
        out["stage"] = _STAGE_OF.get(parts[1])
        if parts[1] == "mixtures" and len(parts) >= 3:
            out["variant"] = parts[2]
    elif len(parts) >= 3 and parts[0] in ("models", "reports"):
        out["variant"] = parts[1]
        if parts[2][:1] == "s" and parts[2][1:].isdigit():
            out["seed"] = int(parts[2][1:])
        if parts[0] == "models" and len(parts) >= 4:
            out["stage"] = _STAGE_OF.get(parts[3])
    return {k: v for k, v in out.items() if v is not None}


def open_registry(url: str | None = None, root: Path | None = None, busy_timeout_s: float = 30.0) -> Registry:
    """Open (creating and migrating if needed) the registry at ``url`` (default: the workspace's sqlite)."""
    return Registry(url or DEFAULT_URL, root, busy_timeout_s)


def register_artifact(folder: Path | str, *, url: str | None = None, root: Path | None = None,
                      **context: Any) -> ArtifactInfo:
    """One-shot ``open_registry(url, root).register(folder, **context)`` for stage entry points."""
    with open_registry(url, root) as reg:
        return reg.register(folder, **context)
