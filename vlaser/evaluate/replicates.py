"""Intervals for a variant's mean over training seeds that count both seed and episode/item variance.

The statistic of one seed is the mean over its strata (tasks or benchmarks) of each stratum's item mean;
the variant's statistic is the mean of that over seeds. The bootstrap resamples seeds with replacement,
then items within every stratum of every drawn seed (independently per draw), as
``vlaser.evaluate.stats.hierarchical_bootstrap`` does for one stratum, but vectorised: 0/1 items are
drawn as binomials (the exact distribution of a resampled mean of Bernoulli items), so a 100-variant
sweep summarises in about a second. Pure functions on numbers; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Groups = Sequence[Sequence[Sequence[float]]]  # seeds -> strata -> items


def _resampled_means(items: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` bootstrap means of ``items`` (binomial draws when the items are 0/1)."""
    n = items.size
    if np.all((items == 0) | (items == 1)):
        return rng.binomial(n, float(items.mean()), size=count) / n
    return items[rng.integers(0, n, size=(count, n))].mean(axis=1)


def _seed_draws(strata: list[np.ndarray], count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` bootstrap values of one seed's statistic (mean over strata of resampled item means)."""
    return np.mean([_resampled_means(s, count, rng) for s in strata], axis=0)


def bootstrap_draws(groups: Groups, n_boot: int = 2000, seed: int = 0) -> tuple[float, np.ndarray]:
    """(mean, ``n_boot`` bootstrap values of the mean) over seeds, strata and items; (nan, empty) when no items.

    Seeds are resampled with replacement, then the items of every stratum of every drawn seed."""
    seeds = [[np.asarray(s, dtype=float) for s in g if len(s)] for g in groups]
    seeds = [g for g in seeds if g]
    if not seeds:
        return float("nan"), np.empty(0)
    rng = np.random.default_rng(seed)
    mean = float(np.mean([np.mean([s.mean() for s in g]) for g in seeds]))
    k = len(seeds)
    picks = rng.integers(0, k, size=(n_boot, k))
    values = np.empty((n_boot, k))
    for i, strata in enumerate(seeds):
        where = picks == i  # every (resample, slot) that drew seed i gets its own item resample
        values[where] = _seed_draws(strata, int(where.sum()), rng)
    return mean, values.mean(axis=1)


def nested_bootstrap(groups: Groups, n_boot: int = 2000, seed: int = 0,
                     alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean and percentile interval over seeds, strata and items.

    Args:
        groups: one entry per seed; each a list of strata (tasks or benchmarks), each a sequence of
            item values (1/0 for success/correct, or scores in [0, 1]). Empty strata are dropped.
        n_boot: bootstrap resamples.
        seed: random seed of the resampling (fixed: the same input gives the same interval).
        alpha: 1 - coverage.

    Returns:
        (mean, low, high); NaNs when there is no item at all. With one seed this is a stratified item
        bootstrap; when seeds disagree the interval widens.
    """
    mean, boots = bootstrap_draws(groups, n_boot, seed)
    if not boots.size:
        return mean, float("nan"), float("nan")
    return mean, float(np.quantile(boots, alpha / 2)), float(np.quantile(boots, 1 - alpha / 2))


def difference(a: Groups, b: Groups, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05) -> dict[str, float]:
    """Mean of ``a`` minus mean of ``b`` with a percentile interval; the two are resampled independently
    (different variants share no training run). ``p_le_0`` is the share of resamples with a difference
    <= 0 (a one-sided bootstrap p-value for "a is higher"), ``p_ge_0`` the same for "a is lower"."""
    ma, da = bootstrap_draws(a, n_boot, seed)
    mb, db = bootstrap_draws(b, n_boot, seed + 1)
    if not da.size or not db.size:
        nan = float("nan")
        return {"a_mean": ma, "b_mean": mb, "diff": nan, "ci_low": nan, "ci_high": nan, "p_le_0": nan, "p_ge_0": nan}
    d = da - db
    return {"a_mean": ma, "b_mean": mb, "diff": ma - mb, "ci_low": float(np.quantile(d, alpha / 2)), "ci_high": float(np.quantile(d, 1 - alpha / 2)),
            "p_le_0": float(np.mean(d <= 0)), "p_ge_0": float(np.mean(d >= 0))}
