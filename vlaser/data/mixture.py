"""Variant mixtures: weights over data sources -> ``data/mixtures/<variant>/``.

Output folder::

    train.jsonl          sampled records; "image" paths are relative to this folder (e.g.
                         "../../indomain/grounding/images/ab12.png"), ids are "<source>:<id>"
    internvl_meta.json   InternVL meta file {"vlaser_<variant>": {"root": ".", "annotation": "train.jsonl", ...}};
                         InternVL resolves relative paths against its working directory, so launch its
                         finetune script from this folder (or rewrite root/annotation to absolute paths)
    manifest.json        counts per source, kind and question type; weights; pool sizes; train.jsonl digest
    card.md              a short dataset card
    meta.json            vlaser.io meta (content digest, parents = the sources' digests)

Sampling is deterministic: each source's records are drawn by a generator seeded from
(``mixture.seed``, source name), so variants that share a source share its draw. Records are
de-duplicated by (image digests, human turns) within and across sources before drawing. A source
smaller than its share contributes all of its records (no repeats); the manifest shows requested vs taken.
No held-out scene may reach training: scene seeds listed as held-out by any source of the same domain
("indomain" for all in-domain kinds, the source name otherwise), and any held-out image digest, are
checked against every sampled record; a hit stops the stage.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.config.data import MixtureSection, VariantSpec
from vlaser.data.indomain import stable_int
from vlaser.data.records import image_paths, meta_entry, read_jsonl, read_meta_file, write_jsonl
from vlaser.errors import UserError
from vlaser.io import atomic_dir, file_digest, json_digest, read_meta, write_json, write_meta
from vlaser.log import get_logger

log = get_logger("data.mixture")


class _Digests:
    """File digests, computed once per path."""

    def __init__(self) -> None:
        self._cache: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        if path not in self._cache:
            self._cache[path] = file_digest(path)
        return self._cache[path]


def domain(source: str) -> str:
    """In-domain kinds share scenes (one domain); every other source is its own domain."""
    return "indomain" if source.startswith("indomain/") else source


def _annotations(path: Path) -> list[tuple[Path, Path]]:
    """(JSONL, image root) pairs of a source: a data folder (train.jsonl) or an InternVL meta file."""
    if path.is_dir():
        return [(path / "train.jsonl", path)]
    if path.suffix == ".json":
        return [(Path(e["annotation"]), Path(e["root"])) for e in read_meta_file(path).values()]
    raise UserError(f"{path}: a mixture source is a data folder (with train.jsonl) or an InternVL meta .json file")


def _key(rec: dict, root: Path, digests: _Digests) -> str:
    images = [digests((root / p).resolve()) for p in image_paths(rec)]
    human = [t["value"] for t in rec["conversations"] if t.get("from") == "human"]
    return json_digest([images, human])


def load_pool(name: str, path: Path, digests: _Digests, seen: set[str]) -> tuple[list[tuple[dict, Path]], int]:
    """De-duplicated (record, image root) pairs of one source; ``seen`` carries keys across sources."""
    pool, dups = [], 0
    for ann, root in _annotations(path):
        for rec in read_jsonl(ann, root=root):
            key = _key(rec, root, digests)
            if key in seen:
                dups += 1
                continue
            seen.add(key)
            pool.append((rec, root))
    return pool, dups


def heldout_index(sources: dict[str, Path], digests: _Digests) -> tuple[dict[str, set[int]], set[str]]:
    """Held-out scene seeds per domain (from split.json / heldout.jsonl) and held-out image digests."""
    scenes: dict[str, set[int]] = {}
    images: set[str] = set()
    for name, path in sources.items():
        if not path.is_dir():
            continue
        bucket = scenes.setdefault(domain(name), set())
        split = path / "split.json"
        if split.is_file():
            info = json.loads(split.read_text())
            bucket.update(info.get("heldout_scene_seeds", []))
            if rng := info.get("heldout_seed_range"):
                bucket.update(range(*rng))
        if (path / "heldout.jsonl").is_file():
            for rec in read_jsonl(path / "heldout.jsonl", check_images=False):
                if isinstance(rec.get("scene_seed"), int):
                    bucket.add(rec["scene_seed"])
                images.update(digests((path / p).resolve()) for p in image_paths(rec))
    return scenes, images


def allocate(size: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``size`` records by weight (ties broken by name)."""
    total = sum(weights.values())
    exact = {k: size * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (-(exact[k] - counts[k]), k))[: size - sum(counts.values())]:
        counts[k] += 1
    return counts


def build_mixture(variant_name: str, spec: VariantSpec, cfg: MixtureSection, sources: dict[str, Path],
                  out: Path) -> dict[str, Any]:
    """Write ``out`` (``data/mixtures/<variant>``) for one variant; returns its manifest (+ "digest").

    Args:
        variant_name: the variant's name (``mixture.variants`` key).
        spec: its weights over sources.
        cfg: the ``mixture`` settings (size, seed).
        sources: source name -> data folder (``data/indomain/<kind>``, ``data/ood/<name>``) or an
            InternVL meta file. Pass every built source: held-out scenes are collected from all of them.
        out: the mixture folder.
    """
    out = Path(out)
    weights = {k: w for k, w in sorted(spec.sources.items()) if w > 0}
    missing = sorted(set(weights) - set(sources))
    if missing:
        raise UserError(f"mixture.variants.{variant_name}: source(s) {missing} not built; available: {sorted(sources)}")
    digests = _Digests()
    held_scenes, held_images = heldout_index(sources, digests)
    counts = allocate(cfg.size, weights) if weights else {}
    rows, per_source, seen = [], {}, set()
    for name in weights:
        pool, dups = load_pool(name, Path(sources[name]), digests, seen)
        rng = np.random.default_rng([cfg.seed, stable_int(name)])
        take = min(counts[name], len(pool))
        if take < counts[name]:
            log.warning("mixture %s: source %s has %d records, %d requested", variant_name, name, len(pool), counts[name])
        picked = [pool[i] for i in sorted(rng.choice(len(pool), size=take, replace=False))] if take else []
        for rec, root in picked:
            _check_leak(name, rec, root, held_scenes, held_images, digests)
            rows.append(_rewrite(name, rec, root, out))
        # the path relative to the mixture folder, so the manifest (and digest) does not depend on where
        # the workspace lives
        rel = os.path.relpath(Path(sources[name]).resolve(), out.resolve())
        per_source[name] = _source_stats(rel, sources[name], spec.sources[name], len(pool), dups,
                                         counts[name], picked)
    order = np.random.default_rng([cfg.seed, stable_int(variant_name)]).permutation(len(rows))
    rows = [rows[i] for i in order]
    with atomic_dir(out) as tmp:
        write_jsonl(tmp / "train.jsonl", rows)
        meta = {f"vlaser_{variant_name}": meta_entry(".", "train.jsonl", len(rows))} if rows else {}
        write_json(tmp / "internvl_meta.json", meta)
        manifest = _manifest(variant_name, spec, cfg, rows, per_source, tmp)
        write_json(tmp / "manifest.json", manifest)
        (tmp / "card.md").write_text(_card(manifest))
        parents = {str(p): _parent_digest(Path(p)) for n, p in sorted(sources.items()) if n in weights}
        info = write_meta(tmp, "mixture", params={"variant": spec.model_dump(mode="json"),
                                                    "mixture": cfg.model_dump(mode="json", exclude={"variants"})},
                          parents=parents, extra={"records": len(rows)})
    log.info("mixture %s: %d records, digest %s", variant_name, len(rows), info["digest"][:12])
    return {**manifest, "digest": info["digest"]}


def _check_leak(name: str, rec: dict, root: Path, held_scenes: dict[str, set[int]], held_images: set[str],
                digests: _Digests) -> None:
    seed = rec.get("scene_seed")
    if isinstance(seed, int) and seed in held_scenes.get(domain(name), set()):
        raise RuntimeError(f"held-out scene {seed} of domain '{domain(name)}' in training record "
                           f"{rec.get('id')} of source {name}: the split is broken")
    for p in image_paths(rec):
        if digests((root / p).resolve()) in held_images:
            raise UserError(f"{root / p}: image of training record {rec.get('id')} (source {name}) "
                            "is also in a held-out split")


def _rewrite(name: str, rec: dict, root: Path, out: Path) -> dict:
    """A training copy: id prefixed with the source, image paths relative to the mixture folder."""
    new = {k: v for k, v in rec.items() if k != "eval"}
    new["id"] = f"{name}:{rec.get('id')}"
    paths = [os.path.relpath((root / p).resolve(), out.resolve()) for p in image_paths(rec)]
    if paths:
        new["image"] = paths[0] if isinstance(rec["image"], str) else paths
    new.setdefault("source", name)
    return new


def _tally(recs, key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for rec in recs:
        out[str(rec.get(key, "unknown"))] = out.get(str(rec.get(key, "unknown")), 0) + 1
    return dict(sorted(out.items()))


def _source_stats(rel_path, path, weight, pool, dups, requested, picked) -> dict[str, Any]:
    recs = [r for r, _ in picked]
    return {"path": rel_path, "weight": weight, "pool": pool, "duplicates_removed": dups,
            "requested": requested, "taken": len(recs), "digest": _parent_digest(Path(path)),
            "kinds": _tally(recs, "kind"), "qtypes": _tally(recs, "qtype")}


def _parent_digest(path: Path) -> str:
    if path.is_dir() and (path / "meta.json").is_file():
        return read_meta(path)["digest"]
    return file_digest(path) if path.is_file() else "unknown"


def _manifest(variant, spec, cfg, rows, per_source, folder: Path) -> dict[str, Any]:
    return {"variant": variant, "description": spec.description, "seed": cfg.seed, "size_requested": cfg.size,
            "records": len(rows), "weights": dict(sorted(spec.sources.items())), "sources": per_source,
            "by_kind": _tally(rows, "kind"), "by_source": _tally(rows, "source"),
            "train_digest": file_digest(folder / "train.jsonl")}


def _card(m: dict[str, Any]) -> str:
    lines = [f"# Mixture `{m['variant']}`", "", m["description"] or "(no description)", "",
             f"- records: {m['records']} (requested {m['size_requested']}, seed {m['seed']})",
             f"- train.jsonl sha256: `{m['train_digest']}`", ""]
    if not m["sources"]:
        lines += ["No sources: this variant has no stage-1 pretraining data.", ""]
    else:
        lines += ["| source | weight | pool | taken | kinds |", "|---|---|---|---|---|"]
        for name, s in m["sources"].items():
            kinds = ", ".join(f"{k} {n}" for k, n in s["kinds"].items())
            lines.append(f"| {name} | {s['weight']} | {s['pool']} | {s['taken']} | {kinds} |")
        lines.append("")
    lines += ["Format: InternVL chat JSONL; image paths relative to this folder. Held-out scenes are excluded",
              "(checked per record). Train with InternVL's scripts using internvl_meta.json from this folder.", ""]
    return "\n".join(lines)
