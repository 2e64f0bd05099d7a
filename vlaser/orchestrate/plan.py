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

    def skippable(self, changed: set[str]) -> set[str]:
        """Stages that need no `dvc repro` call, given the stages ``dvc status`` reported as changed.

        `dvc status` compares each stage with what is on disk now, so a stage downstream of a changed one is
        not reported until that one has re-run. Conservatively, everything after the first changed stage of
        an ordered group runs: the shared data stages feed every mixture and chain, a mixture feeds its
        variant's chains. Skipped stages are the ones DVC would answer "didn't change, skipping" for anyway;
        the saving is the DVC start-up per call (seconds each), which dominates a resume of a large sweep.
        """
        skip: set[str] = set()
        shared_changed = any(s in changed for s in self.shared)
        if not shared_changed:
            skip.update(self.shared)
        for variant, mixture in self.mixtures.items():
            feeds_changed = shared_changed or mixture in changed
            if not feeds_changed:
                skip.add(mixture)
            for (v, _seed), chain in self.chains.items():
                if v != variant:
                    continue
                for stage in chain:
                    if feeds_changed or stage in changed:
                        break  # this stage and every later one of the chain run
                    skip.add(stage)
        if len(skip) == len(self.all_stages()) - 1 and self.aggregate not in changed:
            skip.add(self.aggregate)
        return skip


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
