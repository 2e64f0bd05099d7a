"""Readers for one run's reports: ``<reports>/<variant>/s<seed>/`` -> table rows and per-item values.

Validates the closed_loop.json / reasoning.json / reasoning_items.jsonl contracts (docs/dashboard.md):
a missing key or a bad line raises ``UserError`` naming the file, the key or line, and what was expected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.errors import UserError
from vlaser.evaluate.replicates import nested_bootstrap

CLOSED_LOOP = "closed_loop.json"
REASONING = "reasoning.json"
ITEMS = "reasoning_items.jsonl"
_SEED_DIR = re.compile(r"s(\d+)")


@dataclass(frozen=True)
class RunRef:
    """One (variant, seed) report folder; each report sits in it or in a sub-folder of its own name
    (``s0/closed_loop.json`` as in the contract, or ``s0/closed_loop/closed_loop.json`` as the DVC
    stages write it)."""

    variant: str
    seed: int
    folder: Path

    def _find(self, name: str, sub: str) -> Path | None:
        for f in (self.folder / name, self.folder / sub / name):
            if f.is_file():
                return f
        return None

    @property
    def closed_loop(self) -> Path | None:
        return self._find(CLOSED_LOOP, "closed_loop")

    @property
    def reasoning(self) -> Path | None:
        return self._find(REASONING, "reasoning")

    @property
    def items(self) -> Path | None:
        f = self.reasoning.parent / ITEMS if self.reasoning else None
        return f if f is not None and f.is_file() else None

    @property
    def videos(self) -> list[Path]:
        """Sample videos written beside closed_loop.json (``videos/*.mp4``)."""
        folder = self.closed_loop.parent / "videos" if self.closed_loop else None
        return sorted(folder.glob("*.mp4")) if folder is not None and folder.is_dir() else []

    def files(self) -> list[Path]:
        return [f for f in (self.closed_loop, self.reasoning, self.items) if f is not None]


def runs_root(reports: Path) -> Path:
    """``reports/runs`` when the sweep folder has one (the DVC stages' layout), else ``reports``."""
    return reports / "runs" if (Path(reports) / "runs").is_dir() else Path(reports)


@dataclass
class RunItems:
    """A run's table rows and, per metric, (value, strata of item values) for the bootstrap."""

    ref: RunRef
    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, tuple[float, list[np.ndarray]]] = field(default_factory=dict)

    def add(self, metric: str, value: float, n: int, lo: float, hi: float, strata: list[np.ndarray]) -> None:
        self.rows.append({"variant": self.ref.variant, "seed": self.ref.seed, "metric": metric,
                          "value": float(value), "n": int(n), "ci_low": float(lo), "ci_high": float(hi)})
        self.metrics[metric] = (float(value), strata)


def find_runs(reports: Path) -> list[RunRef]:
    """Every ``<variant>/s<seed>/`` under ``reports`` (or ``reports/runs``) holding a report."""
    runs = []
    base = runs_root(reports)
    for vdir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for sdir in sorted(p for p in vdir.iterdir() if p.is_dir()):
            m = _SEED_DIR.fullmatch(sdir.name)
            ref = RunRef(vdir.name, int(m.group(1)), sdir) if m else None
            if ref is not None and (ref.closed_loop or ref.reasoning):
                runs.append(ref)
    return sorted(runs, key=lambda r: (r.variant, r.seed))


def _load_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object at the top level")
    return obj


def _need(obj: Any, key: str, path: Path, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise UserError(f"{path}: missing key {where}{key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float, (int, float)):
        raise UserError(f"{path}: {where}{key!r} should be {getattr(kind, '__name__', 'a number')}, "
                        f"got {value!r}")
    return value


def _binary_items(score: float, n: int) -> np.ndarray | None:
    """0/1 items reconstructed from an accuracy and its count, when score * n is whole."""
    k = score * n
    return None if n <= 0 or abs(k - round(k)) > 1e-6 else np.r_[np.ones(round(k)), np.zeros(n - round(k))]


def _read_closed_loop(run: RunItems, path: Path) -> None:
    obj = _load_json(path)
    tasks = _need(obj, "tasks", path, "", dict)
    episodes = obj.get("episodes") or []
    by_task: dict[str, list[float]] = {}
    for i, ep in enumerate(episodes):
        tid = _need(ep, "task_id", path, f"episodes[{i}].", str)
        by_task.setdefault(tid, []).append(float(_need(ep, "success", path, f"episodes[{i}].", (bool, int))))
    strata = []
    for tid, t in tasks.items():
        n = _need(t, "n", path, f"tasks.{tid}.", int)
        value = _need(t, "rate", path, f"tasks.{tid}.", (int, float))
        items = np.asarray(by_task[tid]) if tid in by_task else _binary_items(value, n)
        items = items if items is not None else np.array([value])
        strata.append(items)
        run.add(f"success/{tid}", value, n, _need(t, "ci_low", path, f"tasks.{tid}.", (int, float)),
                _need(t, "ci_high", path, f"tasks.{tid}.", (int, float)), [items])
    avg = _need(obj, "average", path, "", dict)
    run.add("success/avg", _need(avg, "rate", path, "average.", (int, float)), sum(len(s) for s in strata),
            _need(avg, "ci_low", path, "average.", (int, float)),
            _need(avg, "ci_high", path, "average.", (int, float)), strata)


def _read_items(path: Path) -> dict[str, list[float]]:
    """reasoning_items.jsonl -> {benchmark: [correct as 0/1 or score]}."""
    out: dict[str, list[float]] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
            bench = _need(rec, "benchmark", path, f"line {lineno}: ", str)
            out.setdefault(bench, []).append(float(_need(rec, "correct", path, f"line {lineno}: ",
                                                         (bool, int, float))))
    return out


def _read_reasoning(run: RunItems, path: Path, n_boot: int, boot_seed: int) -> None:
    obj = _load_json(path)
    benches = _need(obj, "benchmarks", path, "", dict)
    items = _read_items(path.parent / ITEMS) if (path.parent / ITEMS).is_file() else {}
    strata = []
    for name, b in benches.items():
        n = _need(b, "n", path, f"benchmarks.{name}.", int)
        score = _need(b, "score", path, f"benchmarks.{name}.", (int, float))
        vals = np.asarray(items[name]) if name in items else _binary_items(score, n)
        vals = vals if vals is not None else np.array([score])  # no items, not an accuracy: seed-level only
        strata.append(vals)
        run.add(f"reasoning/{name}", score, n, _need(b, "ci_low", path, f"benchmarks.{name}.", (int, float)),
                _need(b, "ci_high", path, f"benchmarks.{name}.", (int, float)), [vals])
    average = _need(obj, "average", path, "", (int, float))
    _, lo, hi = nested_bootstrap([strata], n_boot=n_boot, seed=boot_seed)
    run.add("reasoning/avg", average, sum(int(b["n"]) for b in benches.values()), lo, hi, strata)


def read_run(ref: RunRef, n_boot: int = 2000, boot_seed: int = 0) -> RunItems:
    """Rows and per-item values of one run folder (closed-loop and/or reasoning)."""
    run = RunItems(ref)
    if ref.closed_loop is not None:
        _read_closed_loop(run, ref.closed_loop)
    if ref.reasoning is not None:
        _read_reasoning(run, ref.reasoning, n_boot, boot_seed)
    return run
