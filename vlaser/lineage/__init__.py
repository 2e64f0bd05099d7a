"""Lineage registry: every artifact with its digest, kind, params digest, code version and parents.

Public API (see docs/lineage.md):
    open_registry(url=None, root=None) -> Registry      # .register(folder, sweep=, variant=, seed=, stage=,
                                                         #   mlflow_run_id=), .get, .by_run, .rebuild
    register_artifact(folder, url=None, root=None, **context) -> ArtifactInfo
    lineage_tree(target, registry=None, root=None) -> LineageNode   # path, run id or digest prefix
    verify(workspace, url=None, deep=True) -> list[Problem]
"""

from vlaser.lineage.db import DEFAULT_URL
from vlaser.lineage.registry import ArtifactInfo, Registry, open_registry, register_artifact
from vlaser.lineage.tree import LineageNode, lineage_tree
from vlaser.lineage.verify import Problem, verify

__all__ = [
    "DEFAULT_URL",
    "ArtifactInfo",
    "LineageNode",
    "Problem",
    "Registry",
    "lineage_tree",
    "open_registry",
    "register_artifact",
    "verify",
]
