"""`vlaser eval closed-loop`: run any policy (expert, random, a VLA checkpoint) on a simulator suite."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vlaser.cli.common import state
from vlaser.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command("closed-loop")
    def closed_loop(
        ctx: typer.Context,
        policy: str = typer.Option(..., "--policy", help="expert | random | path of a VLA checkpoint folder."),
        suite: str | None = typer.Option(None, "--suite", help="Suite name (default: eval_closed_loop.suite)."),
        episodes: int | None = typer.Option(None, "--episodes", min=1, help="Episodes per task."),
        out: Path = typer.Option(..., "--out", help="Report folder (replaced atomically)."),
        seed: int | None = typer.Option(None, "--seed", min=0, help="First episode seed."),
        task: list[str] | None = typer.Option(None, "--task", help="Only these task ids (repeatable)."),
        videos: int | None = typer.Option(None, "--videos", min=0, help="Videos per task."),
    ) -> None:
        """Evaluate a policy in closed loop: closed_loop.json, episodes.csv and videos in --out."""
        params = state(ctx).params()
        cfg = params.eval_closed_loop
        suite_name = suite or cfg.suite
        if suite_name not in params.sim.suites:
            raise UserError(f"--suite {suite_name!r}: unknown suite (params.yaml sim.suites has "
                            f"{', '.join(sorted(params.sim.suites))})")
        from vlaser.sim.harness import evaluate
        from vlaser.sim.policies import make_policy

        first_seed = cfg.seed if seed is None else seed
        agent, horizon = make_policy(policy, seed=first_seed)
        if horizon is None and policy not in ("expert", "random"):
            horizon = params.model.exec_horizon
        report = evaluate(agent, suite_name, params.sim.suites[suite_name], episodes or cfg.episodes, first_seed,
                          out, cfg.videos_per_task if videos is None else videos, horizon, tasks=task or None)
        summary = {t: f"{r['successes']}/{r['n']}" for t, r in report["tasks"].items()}
        typer.echo(json.dumps({"out": str(out), "average": report["average"]["rate"], "tasks": summary}))
