"""`vlaser eval reasoning`: score a VLM checkpoint on held-out and public reasoning benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vlaser.cli.common import state
from vlaser.errors import UserError


def _names(text: str | None, default: list[str]) -> list[str]:
    if text is None:
        return list(default)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError(f"--benchmarks {text!r}: expected comma-separated benchmark names")
    return names


def register(app: typer.Typer) -> None:
    @app.command("reasoning")
    def reasoning(
        ctx: typer.Context,
        checkpoint: Path = typer.Argument(..., help="VLM checkpoint folder (models/<variant>/s<seed>/vlm)."),
        out: Path = typer.Option(..., "--out", help="Report folder (replaced atomically)."),
        benchmarks: str | None = typer.Option(
            None, "--benchmarks", help="Comma-separated names (default: eval_reasoning.benchmarks): grounding, "
                                       "spatial, qa, planning, ood, ood/<source>, or eval_reasoning.public keys."),
        data_root: Path | None = typer.Option(None, "--data-root", help="Data folder (default: <workspace>/data)."),
        where2place: Path | None = typer.Option(None, "--where2place", help="A Where2Place folder to add."),
        erqa: Path | None = typer.Option(None, "--erqa", help="An ERQA folder or erqa.tfrecord to add."),
        max_items: int | None = typer.Option(None, "--max-items", min=1, help="Items per benchmark."),
        batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Prompts per generation batch."),
        max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", min=1, help="Answer length limit."),
    ) -> None:
        """Answer every benchmark item greedily; write reasoning.json and reasoning_items.jsonl to --out."""
        from vlaser.config.evaluate import PublicBenchmark
        from vlaser.runtime import workspace_root

        params = state(ctx).params()
        cfg = params.eval_reasoning
        if not checkpoint.is_dir():
            raise UserError(f"{checkpoint}: no such checkpoint folder (expected a VLM folder written by pretraining)")
        root = workspace_root()
        public = {k: v.model_copy(update={"path": str(root / v.path)}) for k, v in cfg.public.items()}
        names = _names(benchmarks, cfg.benchmarks)
        for name, layout, path in (("where2place", "where2place", where2place), ("erqa", "erqa", erqa)):
            if path is not None:
                public[name] = PublicBenchmark(layout=layout, path=str(path))
                names += [] if name in names else [name]
        overrides = {"max_items": max_items, "batch_size": batch_size, "max_new_tokens": max_new_tokens}
        cfg = cfg.model_copy(update={"public": public, **{k: v for k, v in overrides.items() if v is not None}})

        from vlaser.evaluate.benchmarks import build_benchmarks
        from vlaser.evaluate.reasoning import evaluate_reasoning

        benches = build_benchmarks(names, data_root or root / "data", cfg.max_items, public)
        report = evaluate_reasoning(checkpoint, benches, cfg, out)
        summary = {k: round(v["score"], 4) for k, v in report["benchmarks"].items()}
        typer.echo(json.dumps({"out": str(out), "average": report["average"], "benchmarks": summary}))
