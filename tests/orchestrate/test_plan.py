"""Which stages a sweep may skip without asking DVC: everything downstream of a change still runs."""

from __future__ import annotations

from vlaser.config import load_params
from vlaser.orchestrate.plan import make_plan
from vlaser.runtime import workspace_root


def plan():
    params = load_params(workspace_root() / "params.yaml")
    return make_plan(params, ["base", "grounding"])


def test_nothing_changed_skips_every_stage():
    p = plan()
    assert p.skippable(set()) == set(p.all_stages())


def test_a_changed_shared_stage_runs_everything_after_it():
    p = plan()
    skip = p.skippable({"indomain"})
    assert not (skip & set(p.mixtures.values()))
    assert not any(stage in skip for chain in p.chains.values() for stage in chain)
    assert p.aggregate not in skip


def test_a_changed_mixture_reruns_only_its_variant():
    p = plan()
    skip = p.skippable({"mixture@grounding"})
    assert set(p.shared) <= skip and "mixture@base" in skip
    for (variant, _seed), chain in p.chains.items():
        ran = [s for s in chain if s not in skip]
        assert ran == (list(chain) if variant == "grounding" else [])
    assert p.aggregate not in skip


def test_a_change_mid_chain_runs_that_stage_and_the_rest_of_its_chain():
    p = plan()
    (variant, seed), chain = next(iter(p.chains.items()))
    skip = p.skippable({chain[1]})
    assert chain[0] in skip
    assert not any(s in skip for s in chain[1:])
    other = [c for k, c in p.chains.items() if k != (variant, seed)]
    assert all(s in skip for c in other for s in c)
    assert p.aggregate not in skip


def test_only_the_aggregate_changed():
    p = plan()
    skip = p.skippable({p.aggregate})
    assert skip == set(p.all_stages()) - {p.aggregate}
