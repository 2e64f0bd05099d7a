"""Calibrate the toy-scale study: the `base` variant's closed-loop success at a given training budget.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/calibrate_study.py \
        --tasks PushCube-v1 PullCube-v1 --demos 20 --steps 300 --micro-batch 16 --episodes 20 </dev/null

For one settings overlay (tasks, demos per task, finetune steps, batch, model width) this records expert
demos (cached under --work, keyed by suite and demo settings), builds the `base` VLM (pretrain with no
mixture: the random-init VLM after 0 steps, exactly as the pipeline's base variant), finetunes the VLA
(stage 2), and evaluates it in closed loop on fixed seeds (1000, 1001, ...). It prints per-task success
with 95% Wilson intervals and the CPU and wall time of each phase, and appends one JSON line to
--results (default benchmarks/calibration.jsonl) so docs/study.md can be built from measured runs only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vlaser.runtime import apply_env_defaults


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="cpu-default")
    ap.add_argument("--tasks", nargs="+", default=["PushCube-v1", "PullCube-v1"])
    ap.add_argument("--demos", type=int, default=20, help="demos per task")
    ap.add_argument("--steps", type=int, default=300, help="finetune steps")
    ap.add_argument("--micro-batch", type=int, default=16)
    ap.add_argument("--width", type=int, default=None, help="vision+text hidden size (default: params.yaml)")
    ap.add_argument("--layers", type=int, default=None, help="vision+text layers (default: params.yaml)")
    ap.add_argument("--episodes", type=int, default=20, help="closed-loop episodes per task")
    ap.add_argument("--max-steps", type=int, default=None, help="episode step limit of every task (default: params.yaml)")
    ap.add_argument("--eval-seed", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vlaser-calibrate"))
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("calibration.jsonl"))
    ap.add_argument("--label", default="")
    ap.add_argument("--reasoning", nargs=2, type=Path, metavar=("VLM_DIR", "DATA_DIR"),
                    help="only time the reasoning eval of VLM_DIR on the held-out sets under DATA_DIR and exit")
    ap.add_argument("--time-pretrain", type=Path, metavar="MIXTURE_DIR",
                    help="only time --steps stage-1 steps on MIXTURE_DIR (params.yaml pretrain batch) and exit")
    ap.add_argument("--table", action="store_true", help="print the Markdown table of --results and exit")
    ap.add_argument("--estimate-for", default=None, metavar="LABEL",
                    help="with --table: estimate the full study from this run (default: the last one)")
    ap.add_argument("--pretrain-steps", type=int, default=150, help="with --table: stage-1 steps of the study")
    ap.add_argument("--reasoning-items", type=int, default=200,
                    help="with --table: held-out items per reasoning eval (5 benchmarks x max_items)")
    return ap.parse_args(argv)


@contextmanager
def phase(times: dict[str, dict[str, float]], name: str):
    """Record the wall and CPU seconds (this process and its children) of one phase."""
    def cpu() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    w0, c0 = time.monotonic(), cpu()
    yield
    times[name] = {"wall_s": round(time.monotonic() - w0, 1), "cpu_s": round(cpu() - c0, 1)}
    print(f"[{name}] wall {times[name]['wall_s']:.1f} s, cpu {times[name]['cpu_s']:.1f} s", flush=True)


def overlay(args: argparse.Namespace) -> dict[str, Any]:
    """The settings overlay this run applies to params.yaml (recorded with the results)."""
    model: dict[str, Any] = {}
    if args.width is not None:
        w = args.width
        model = {"vision": {"hidden_size": w, "intermediate_size": 4 * w},
                 "text": {"hidden_size": w, "intermediate_size": 4 * w}}
    if args.layers is not None:
        model.setdefault("vision", {})["num_layers"] = args.layers
        model.setdefault("text", {})["num_layers"] = args.layers
    return {"demos": {"suite": args.suite, "episodes_per_task": args.demos},
            "finetune": {"steps": args.steps, "micro_batch": args.micro_batch, "global_batch": args.micro_batch,
                         "checkpoint_every": max(args.steps, 1)},
            **({"model": model} if model else {})}


def load_settings(args: argparse.Namespace):
    from vlaser.config import params_from_dict, read_yaml
    from vlaser.config.presets import deep_merge
    from vlaser.runtime import workspace_root

    base = read_yaml(workspace_root() / "params.yaml")
    p = params_from_dict(deep_merge(base, overlay(args)), "calibration overlay")
    suite = p.sim.suites[args.suite]
    tasks = [t for t in suite.tasks if t.id in args.tasks]
    if len(tasks) != len(args.tasks):
        sys.exit(f"unknown task among {args.tasks}; suite {args.suite} has {[t.id for t in suite.tasks]}")
    if args.max_steps is not None:
        tasks = [t.model_copy(update={"max_steps": args.max_steps}) for t in tasks]
    return p, suite.model_copy(update={"tasks": tasks})


def time_reasoning(p, vlm: Path, data: Path, out: Path, results: Path) -> int:
    """CPU and wall time of the reasoning eval (params.yaml eval_reasoning settings) per held-out item."""
    from vlaser.evaluate.benchmarks import heldout_benchmarks
    from vlaser.evaluate.reasoning import evaluate_reasoning

    cfg = p.eval_reasoning
    times: dict[str, dict[str, float]] = {}
    benches = heldout_benchmarks(data, cfg.benchmarks, cfg.max_items, public=cfg.public)
    with phase(times, "eval_reasoning"):
        report = evaluate_reasoning(vlm, benches, cfg, out)
    items = sum(b["n"] for b in report["benchmarks"].values())
    t = times["eval_reasoning"]
    print(f"{items} items: {t['cpu_s'] / items:.3f} CPU s/item, {t['wall_s'] / items:.3f} wall s/item", flush=True)
    with open(results.with_name("calibration_reasoning.jsonl"), "a") as f:
        f.write(json.dumps({"vlm": str(vlm), "data": str(data), "items": items, "times": times,
                            "batch_size": cfg.batch_size, "max_new_tokens": cfg.max_new_tokens,
                            "loadavg": os.getloadavg()}) + "\n")
    return 0


def time_pretrain(p, mixture: Path, steps: int, out: Path, results: Path) -> int:
    """CPU and wall time per stage-1 step at params.yaml's pretrain batch, on a real mixture."""
    import shutil

    from vlaser.train import pretrain

    cfg = p.pretrain.model_copy(update={"steps": steps, "checkpoint_every": steps, "warmup_steps": 1})
    shutil.rmtree(out, ignore_errors=True)
    times: dict[str, dict[str, float]] = {}
    with phase(times, "pretrain"):
        pretrain(cfg, p.model, mixture, out, seed=0)
    t = times["pretrain"]
    print(f"{steps} steps at micro {cfg.micro_batch}: {t['cpu_s'] / steps:.3f} CPU s/step, "
          f"{t['wall_s'] / steps:.3f} wall s/step (includes model build and save)", flush=True)
    with open(results.with_name("calibration_pretrain.jsonl"), "a") as f:
        f.write(json.dumps({"mixture": str(mixture), "steps": steps, "micro_batch": cfg.micro_batch,
                            "times": times, "loadavg": os.getloadavg()}) + "\n")
    return 0


def table(results: Path) -> str:
    """The calibration table of docs/study.md, from the recorded runs (nothing typed in)."""
    rows = ["| run | settings | task | final successes | 95% Wilson | ever | CPU s (pretrain / finetune / eval) "
            "| wall s (pretrain / finetune / eval) | load avg (1 min) at end |", "|" + " --- |" * 9]
    for line in results.read_text().splitlines():
        r = json.loads(line)
        ft, t = r["overlay"]["finetune"], r["times"]
        width = r["overlay"].get("model", {}).get("vision", {}).get("hidden_size", "yaml")
        cap = sorted(set(r.get("max_steps", {}).values())) or ["yaml (100)"]
        settings = (f"{r['overlay']['demos']['episodes_per_task']} demos/task, {ft['steps']} steps x batch "
                    f"{ft['micro_batch']}, width {width}, episode cap {'/'.join(map(str, cap))}, "
                    f"final loss {r['finetune']['final_loss']:.3f}")
        cpu = " / ".join(f"{t[k]['cpu_s']:.0f}" for k in ("pretrain", "finetune", "eval_closed_loop"))
        wall = " / ".join(f"{t[k]['wall_s']:.0f}" for k in ("pretrain", "finetune", "eval_closed_loop"))
        for tid, x in r["results"].items():
            rows.append(f"| {r['label']} | {settings} | {tid} | {x['successes']}/{x['n']} | "
                        f"{x['ci_low']:.2f}-{x['ci_high']:.2f} | {x['ever_successes']} | {cpu} | {wall} | "
                        f"{r['loadavg'][0]:.1f} |")
    return "\n".join(rows)


def estimate(results: Path, variants: int = 6, seeds: int = 3, cores: int = 2, pretrain_steps: int = 150,
             reasoning_items: int = 200, label: str | None = None) -> str:
    """The full study's CPU time from the measured per-phase CPU seconds (last run in ``results``).

    One process per core (OMP_NUM_THREADS=1), so wall time on idle cores ~ total CPU / cores. Stage 1 runs
    for the five non-base variants only; the reasoning eval is bounded by 5 benchmarks x max_items 100.
    """
    runs = [json.loads(x) for x in results.read_text().splitlines()]
    run = next((r for r in runs if r["label"] == label), None) if label else runs[-1]
    if run is None:
        sys.exit(f"no run labelled {label} in {results}")
    pre = json.loads(results.with_name("calibration_pretrain.jsonl").read_text().splitlines()[-1])
    rea = json.loads(results.with_name("calibration_reasoning.jsonl").read_text().splitlines()[-1])
    pre_step = pre["times"]["pretrain"]["cpu_s"] / pre["steps"]
    rea_item = rea["times"]["eval_reasoning"]["cpu_s"] / rea["items"]
    t = run["times"]
    per_run = {"pretrain (non-base)": pre_step * pretrain_steps, "finetune": t["finetune"]["cpu_s"],
               "eval_reasoning": rea_item * reasoning_items, "eval_closed_loop": t["eval_closed_loop"]["cpu_s"]}
    n = variants * seeds
    total = (per_run["pretrain (non-base)"] * (variants - 1) * seeds + t["pretrain"]["cpu_s"] * seeds
             + (per_run["finetune"] + per_run["eval_reasoning"] + per_run["eval_closed_loop"]) * n)
    lines = ["- per (variant, seed), CPU s: " + ", ".join(f"{k} {v:.0f}" for k, v in per_run.items()),
             f"  (stage 1: {pre_step:.2f} s/step x {pretrain_steps} steps; reasoning: {rea_item:.3f} s/item x "
             f"{reasoning_items} items; finetune and closed loop: run {run['label']})",
             f"- {variants} variants x {seeds} seeds = {n} runs: {total:.0f} CPU s = {total / 60:.0f} CPU min",
             f"- on {cores} idle cores, one process per core: about {total / cores / 60:.0f} min, plus the one-off "
             f"stages (demos: {t['demos']['cpu_s'] or 'cached'} CPU s in the first run; in-domain and OOD data, "
             "mixtures)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        print(table(args.results))
        print()
        print(estimate(args.results, pretrain_steps=args.pretrain_steps, reasoning_items=args.reasoning_items,
                       label=args.estimate_for))
        return 0
    apply_env_defaults()
    p, suite = load_settings(args)
    if args.time_pretrain:
        return time_pretrain(p, args.time_pretrain, args.steps, args.work / "pretrain_timing", args.results)
    if args.reasoning:
        return time_reasoning(p, *args.reasoning, args.work / "reasoning", args.results)
    from vlaser.evaluate.stats import rate
    from vlaser.model.agent import VLAAgent
    from vlaser.sim.demos import record_demos
    from vlaser.sim.harness import evaluate
    from vlaser.train import finetune, pretrain

    times: dict[str, dict[str, float]] = {}
    demos = args.work / "demos" / f"{'+'.join(t.id for t in suite.tasks)}_n{args.demos}"
    with phase(times, "demos"):
        if not (demos / "meta.json").is_file():
            record_demos(args.suite, suite, p.demos, demos)
    run = args.work / "runs" / f"{args.label or 'run'}_{os.getpid()}"
    with phase(times, "pretrain"):
        pretrain(p.pretrain, p.model, None, run / "vlm", seed=args.seed)
    with phase(times, "finetune"):
        ft = finetune(p.finetune, p.model, run / "vlm", demos, run / "vla", seed=args.seed)
    with phase(times, "eval_closed_loop"):
        agent = VLAAgent.from_checkpoint(run / "vla")
        report = evaluate(agent, args.suite, suite, args.episodes, args.eval_seed, run / "closed_loop", 0,
                          p.model.exec_horizon)
    tasks = {}
    for tid, r in report["tasks"].items():
        tasks[tid] = {k: r[k] for k in ("successes", "n", "rate", "ci_low", "ci_high", "ever_successes", "mean_steps")}
        w = rate(r["successes"], r["n"])
        print(f"{tid}: {r['successes']}/{r['n']} (95% Wilson {w['ci_low']:.2f}-{w['ci_high']:.2f}), "
              f"ever {r['ever_successes']}, mean steps {r['mean_steps']:.1f}", flush=True)
    params_count = sum(x.numel() for x in agent.policy.parameters()) if hasattr(agent, "policy") else None
    line = {"label": args.label, "overlay": overlay(args), "tasks_run": args.tasks, "episodes": args.episodes,
            "max_steps": {t.id: t.max_steps for t in suite.tasks},
            "eval_seed": args.eval_seed, "seed": args.seed, "finetune": {k: ft.get(k) for k in
            ("steps", "final_loss", "samples", "episodes")}, "params": params_count, "times": times,
            "results": tasks, "loadavg": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a") as f:
        f.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
