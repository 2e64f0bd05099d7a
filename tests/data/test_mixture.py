"""Mixtures: every default variant builds from the tiny settings; sampling, de-duplication, no leaks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.data.synth import frame_source
from tests.data.test_records import internvl_style_load
from vlaser.config import load_params
from vlaser.data.indomain import build_indomain
from vlaser.data.mixture import allocate, build_mixture
from vlaser.data.ood import build_ood
from vlaser.data.records import read_jsonl
from vlaser.errors import UserError


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, repo_root: Path):
    """The repo's params.yaml (tiny preset) with small counts; in-domain from synthetic frames."""
    params = load_params(repo_root / "params.yaml")
    root = tmp_path_factory.mktemp("ws")
    ind = params.indomain.model_copy(update={"train_seeds": [0, 4], "heldout_seeds": [500, 502],
                                             "frames_per_episode": 1})
    suite = params.sim.suites[ind.suite]
    suite = suite.model_copy(update={"tasks": suite.tasks[:2]})
    build_indomain(ind, suite, root / "data/indomain", frame_source=frame_source)
    sources = {f"indomain/{k}": root / "data/indomain" / k for k in ind.kinds}
    for name, src in params.ood.sources.items():
        small = src.model_copy(update={"n_train": 60, "n_heldout": 10})
        build_ood(name, small, root / "data/ood" / name)
        sources[f"ood/{name}"] = root / "data/ood" / name
    mix = params.mixture.model_copy(update={"size": 80})
    return root, sources, mix, params


def test_every_default_variant_builds(workspace):
    root, sources, mix, params = workspace
    assert set(params.sweep.variants) == {"base", "ood", "qa", "spatial", "grounding", "all"}
    for variant in params.sweep.variants:
        spec = mix.variants[variant]
        out = root / "data/mixtures" / variant
        manifest = build_mixture(variant, spec, mix, sources, out)
        assert (out / "meta.json").is_file() and (out / "card.md").read_text().startswith(f"# Mixture `{variant}`")
        assert json.loads((out / "manifest.json").read_text())["records"] == manifest["records"]
        assert len(manifest["digest"]) == 64
        recs = list(read_jsonl(out / "train.jsonl"))  # image paths resolve from the mixture folder
        assert len(recs) == manifest["records"]
        if variant == "base":
            assert recs == [] and json.loads((out / "internvl_meta.json").read_text()) == {}
            continue
        assert 0 < len(recs) <= mix.size
        assert set(manifest["by_source"]) == {s for s, w in spec.sources.items() if w > 0}
        assert internvl_style_load(out / "internvl_meta.json") == len(recs)
        held = set(range(*params.indomain.heldout_seeds)) | {500, 501}
        assert not any(r["scene_seed"] in held for r in recs if r["source"].startswith("indomain/"))
        assert all("eval" not in r for r in recs)
    all_m = json.loads((root / "data/mixtures/all/manifest.json").read_text())
    assert sum(s["taken"] for s in all_m["sources"].values()) == all_m["records"]


def test_sampling_is_deterministic_and_deduplicated(workspace, tmp_path: Path):
    root, sources, mix, _ = workspace
    spec = mix.variants["all"]
    a = build_mixture("all", spec, mix, sources, tmp_path / "a")
    b = build_mixture("all", spec, mix, sources, tmp_path / "b")
    assert a["train_digest"] == b["train_digest"]
    recs = list(read_jsonl(tmp_path / "a/train.jsonl"))
    keys = {(tuple(sorted(r["image"] if isinstance(r["image"], list) else [r["image"]])),
             r["conversations"][0]["value"]) for r in recs}
    assert len(keys) == len(recs)
    # a source listed twice (same records under two names) contributes no duplicates
    dup_sources = {**sources, "ood/copy": sources["ood/procedural"]}
    spec2 = spec.model_copy(update={"sources": {"ood/procedural": 1.0, "ood/copy": 1.0}})
    m = build_mixture("dup", spec2, mix.model_copy(update={"size": 100}), dup_sources, tmp_path / "d")
    first, second = m["sources"]["ood/copy"], m["sources"]["ood/procedural"]  # drawn in name order
    assert second["pool"] == 0 and second["duplicates_removed"] == first["pool"] > 0
    assert m["records"] == first["taken"] == 50


def test_heldout_scene_in_training_stops_the_stage(workspace, tmp_path: Path):
    root, sources, mix, _ = workspace
    leaky = tmp_path / "qa"
    shutil.copytree(sources["indomain/qa"], leaky)
    held = (leaky / "heldout.jsonl").read_text().splitlines()[0]
    with open(leaky / "train.jsonl", "a") as f:
        f.write(held + "\n")
    spec = mix.variants["qa"]
    with pytest.raises(RuntimeError, match="held-out scene 50[01]"):
        build_mixture("qa", spec, mix.model_copy(update={"size": 10_000}), {**sources, "indomain/qa": leaky},
                      tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_user_meta_file_as_source(workspace, tmp_path: Path):
    root, sources, mix, _ = workspace
    ood = sources["ood/procedural"]
    meta = {"theirs": {"root": os.path.relpath(ood, tmp_path), "annotation": os.path.relpath(ood / "train.jsonl", tmp_path),
                       "data_augment": False, "repeat_time": 1, "length": 60}}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    spec = mix.variants["ood"].model_copy(update={"sources": {"user": 1.0}})
    m = build_mixture("user", spec, mix.model_copy(update={"size": 30}), {"user": tmp_path / "meta.json"}, tmp_path / "u")
    assert m["records"] == 30 and len(list(read_jsonl(tmp_path / "u/train.jsonl"))) == 30
    with pytest.raises(UserError, match="not built"):
        build_mixture("user", spec, mix, {}, tmp_path / "v")


def test_allocate_largest_remainder():
    assert allocate(10, {"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 4, "b": 3, "c": 3}
    assert allocate(7, {"a": 3.0, "b": 0.5}) == {"a": 6, "b": 1}
