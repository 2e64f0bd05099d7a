"""Made-up artifact folders, written the way stages write them (atomic_dir + vlaser.io.write_meta)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlaser.io import atomic_dir, write_meta


def make_artifact(root: Path, path: str, kind: str, parents: dict[str, str] | None = None,
                  params: dict | None = None, content: str | None = None) -> str:
    """Write ``root/path`` with one data file and meta.json; returns its digest."""
    with atomic_dir(root / path) as d:
        (d / "data.txt").write_text(content if content is not None else f"{kind} at {path}")
        meta = write_meta(d, kind, params if params is not None else {"name": path}, parents or {})
    return meta["digest"]


def make_sweep(root: Path) -> dict[str, str]:
    """A small sweep's artifacts, sources to reports; returns {path: digest}."""
    sim = {"suite": "cpu-default", "episodes": 4, "backend": "physx_cpu", "image_size": 64}
    d: dict[str, str] = {}
    d["data/demos/cpu-default"] = make_artifact(root, "data/demos/cpu-default", "demos", {}, sim)
    d["data/indomain/spatial"] = make_artifact(root, "data/indomain/spatial", "indomain",
                                               {"data/demos/cpu-default": d["data/demos/cpu-default"]})
    d["data/ood/procedural"] = make_artifact(root, "data/ood/procedural", "ood", {}, {"generator": "shapes", "n": 50})
    d["data/mixtures/all"] = make_artifact(root, "data/mixtures/all", "mixture", {
        "data/indomain/spatial": d["data/indomain/spatial"], "data/ood/procedural": d["data/ood/procedural"]})
    d["models/all/s0/vlm"] = make_artifact(root, "models/all/s0/vlm", "vlm",
                                           {"data/mixtures/all": d["data/mixtures/all"]})
    d["models/all/s0/vla"] = make_artifact(root, "models/all/s0/vla", "vla", {
        "models/all/s0/vlm": d["models/all/s0/vlm"], "data/demos/cpu-default": d["data/demos/cpu-default"]})
    d["reports/all/s0/closed_loop"] = make_artifact(root, "reports/all/s0/closed_loop", "closed_loop",
                                                    {"models/all/s0/vla": d["models/all/s0/vla"]})
    return d


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "params.yaml").write_text("# test workspace\n")
    return tmp_path
