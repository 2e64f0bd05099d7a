"""The root schema of ``params.yaml``: one section per stage, plus cross-section checks."""

from __future__ import annotations

from pydantic import model_validator

from vlaser.config.base import Section
from vlaser.config.data import IndomainSection, MixtureSection, OodSection
from vlaser.config.evaluate import AggregateSection, EvalClosedLoopSection, EvalReasoningSection
from vlaser.config.model import ModelSection
from vlaser.config.sim import DemosSection, SimSection
from vlaser.config.sweep import SweepSection, TrackingSection
from vlaser.config.tasks import KNOWN_TASKS
from vlaser.config.train import FinetuneSection, PretrainSection


class Params(Section):
    schema_version: int = 1
    preset: str = "tiny"  # the overlay applied on top of this file (vlaser/config/presets.py)
    sweep: SweepSection
    tracking: TrackingSection = TrackingSection()
    sim: SimSection
    demos: DemosSection = DemosSection()
    indomain: IndomainSection = IndomainSection()
    ood: OodSection
    mixture: MixtureSection
    model: ModelSection = ModelSection()
    pretrain: PretrainSection = PretrainSection()
    finetune: FinetuneSection = FinetuneSection()
    eval_reasoning: EvalReasoningSection = EvalReasoningSection()
    eval_closed_loop: EvalClosedLoopSection = EvalClosedLoopSection()
    aggregate: AggregateSection = AggregateSection()

    @model_validator(mode="after")
    def _cross_checks(self):
        errors: list[str] = []
        for suite_name, suite in self.sim.suites.items():
            for i, task in enumerate(suite.tasks):
                if task.id not in KNOWN_TASKS:
                    errors.append(
                        f"sim.suites.{suite_name}.tasks.{i}.id: unknown task id '{task.id}'; "
                        f"expected one of {sorted(KNOWN_TASKS)}"
                    )
        for key, suite in (
            ("demos.suite", self.demos.suite),
            ("indomain.suite", self.indomain.suite),
            ("eval_closed_loop.suite", self.eval_closed_loop.suite),
        ):
            if suite not in self.sim.suites:
                errors.append(f"{key}: unknown suite '{suite}'; expected one of {sorted(self.sim.suites)}")
        sources = {f"indomain/{k}" for k in self.indomain.kinds} | {f"ood/{k}" for k in self.ood.sources}
        for vname, variant in self.mixture.variants.items():
            for src in variant.sources:
                if src not in sources:
                    errors.append(
                        f"mixture.variants.{vname}.sources: unknown source '{src}'; expected one of {sorted(sources)}"
                    )
        for i, v in enumerate(self.sweep.variants):
            if v not in self.mixture.variants:
                errors.append(
                    f"sweep.variants.{i}: unknown variant '{v}'; expected one of {sorted(self.mixture.variants)}"
                )
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def section(self, name: str) -> Section:
        """One stage's own section (stages read only theirs)."""
        if name not in type(self).model_fields or name in ("schema_version", "preset"):
            raise KeyError(name)
        return getattr(self, name)
