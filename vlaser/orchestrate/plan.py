"""Which DVC stages a sweep runs, in which order: shared data stages, then a chain per variant x seed,
then the aggregate."""

from __future__ import annotations

from dataclasses import dataclass

from vlaser.config import Params
from vlaser.errors import UserError

CHAIN = ("pretrain", "finetune", "eval_reasoning", "eval_closed_loop")


@dataclass(frozen=True)
class SweepPlan:
    shared: tuple[str, ...]  # demos, indomain, ood@<source>...
    mixtures: dict[str, str]  # variant -> mixture stage
    chains: dict[tuple[str, int], tuple[str, ...]]  # (variant, seed) -> ordered stage names
    aggregate: str = "aggregate"

    def all_stages(self) -> list[str]:
        out = list(self.shared) + list(self.mixtures.values())
        for chain in self.chains.values():
            out.extend(chain)
        return [*out, self.aggregate]


def make_plan(params: Params, variants: list[str] | None = None) -> SweepPlan:
    """The stages for ``variants`` (default: all of ``sweep.variants``) and every seed."""
    chosen = variants or list(params.sweep.variants)
    unknown = [v for v in chosen if v not in params.sweep.variants]
    if unknown:
        raise UserError(
            f"variant(s) {', '.join(unknown)} not in params.yaml sweep.variants {params.sweep.variants}; "
            "add them there (dvc.yaml builds its stages from that list)"
        )
    shared = ("demos", "indomain", *(f"ood@{s}" for s in params.ood.sources))
    mixtures = {v: f"mixture@{v}" for v in chosen}
    chains = {(v, s): tuple(f"{st}@{v}-{s}" for st in CHAIN) for v in chosen for s in params.sweep.seeds}
    return SweepPlan(shared, mixtures, chains)
