"""Replicates for real: a sweep with two training seeds gives two child runs per variant, and the report's
interval accounts for the seeds (it widens when the seeds disagree, at the same mean)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pytest

from tests.orchestrate.conftest import SMOKE, sweep_state, swept_workspace
from vlaser.sweep_table import load_sweep

pytestmark = [pytest.mark.sim]

TWO_SEEDS = {**SMOKE, "sweep": {**SMOKE["sweep"], "variants": ["base"], "seeds": [0, 1]},
             "eval_closed_loop": {**SMOKE["eval_closed_loop"], "episodes": 2}}


@pytest.fixture(scope="module")
def two_seed_ws(tmp_path_factory) -> Path:
    return swept_workspace(tmp_path_factory.mktemp("seeds") / "ws", TWO_SEEDS)


def test_two_seeds_give_two_child_runs_per_variant(two_seed_ws):
    state = sweep_state(two_seed_ws)
    mlflow.set_tracking_uri(f"sqlite:///{two_seed_ws / '.vlaser' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["vlaser"], output_format="list")
    children = [r for r in runs if r.data.tags.get("vlaser.sweep_id") == state["sweep_id"]
                and "vlaser.variant" in r.data.tags]
    assert sorted((r.data.tags["vlaser.variant"], r.data.tags["vlaser.seed"]) for r in children) == [
        ("base", "0"), ("base", "1")]
    assert all("eval_closed_loop/success/avg" in r.data.metrics for r in children)
    summary = load_sweep(two_seed_ws / "reports").summary
    assert set(summary.loc[summary.variant == "base", "n_seeds"]) == {2}


def _set_successes(reports: Path, seed: int, k: int, n: int = 10) -> None:
    """Rewrite one seed's closed-loop report as n episodes per task of which k succeeded (the sweep's own
    file, with its episodes repeated: 2 real episodes cannot make seeds agree and disagree at one mean)."""
    path = reports / "runs" / "base" / f"s{seed}" / "closed_loop" / "closed_loop.json"
    obj = json.loads(path.read_text())
    template = {ep["task_id"]: ep for ep in obj["episodes"]}
    obj["episodes"] = [{**template[tid], "seed": 1000 + i, "success": i < k} for tid in obj["tasks"] for i in range(n)]
    for t in obj["tasks"].values():
        t.update(n=n, successes=k, rate=k / n)
    obj["average"]["rate"] = k / n
    path.write_text(json.dumps(obj))


def _width(reports: Path) -> tuple[float, float]:
    s = load_sweep(reports).summary.set_index(["variant", "metric"]).loc[("base", "success/avg")]
    return float(s["mean"]), float(s["ci_high"] - s["ci_low"])


def test_interval_widens_when_the_seeds_disagree(two_seed_ws, tmp_path):
    episodes = json.loads((two_seed_ws / "reports/runs/base/s0/closed_loop/closed_loop.json").read_text())["episodes"]
    assert len(episodes) == 2 * len(SMOKE["sim"]["suites"]["smoke"]["tasks"]), "per-episode results are reported"
    agree, disagree = tmp_path / "agree", tmp_path / "disagree"
    for d, (k0, k1) in ((agree, (5, 5)), (disagree, (1, 9))):
        shutil.copytree(two_seed_ws / "reports", d)
        shutil.rmtree(d / "summary")
        _set_successes(d, 0, k0)
        _set_successes(d, 1, k1)
    (mean_a, width_a), (mean_d, width_d) = _width(agree), _width(disagree)
    assert mean_a == pytest.approx(0.5) and mean_d == pytest.approx(0.5)
    assert width_d > 1.5 * width_a
