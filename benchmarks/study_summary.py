"""The results section of docs/study.md, generated from a finished study workspace (nothing typed in).

    .venv/bin/python benchmarks/study_summary.py studies/default [--report studies/default/study-report]

Prints Markdown: the machine, the sweep's wall time and where it went (per stage kind, from
.vlaser/timings.jsonl), the orchestration overhead (benchmarks/bench_sweep.py), and the report's tables
(`vlaser report`: reasoning, closed loop, each variant against base, the reasoning-vs-success correlation
over variant means), with the scatter as an image link.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep import analyse  # noqa: E402


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "?")
    mem = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))) / 2**20
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, no GPU, Python {platform.python_version()}"


def timing_section(ws: Path, sweep_id: str) -> str:
    state = json.loads((ws / ".vlaser" / "sweeps" / f"{sweep_id}.json").read_text())
    r = analyse(ws, sweep_id)
    per_kind: dict[str, list[float]] = defaultdict(list)
    for line in (ws / ".vlaser" / "timings.jsonl").read_text().splitlines():
        t = json.loads(line)
        if t["sweep"] == sweep_id:
            per_kind[t["stage"].split("@")[0]].append(t["seconds"])
    rows = "\n".join(f"| {k} | {len(v)} | {sum(v) / 60:.1f} | {sum(v) / len(v):.0f} |" for k, v in per_kind.items())
    start = dt.datetime.fromisoformat(state["created"])
    return (f"- Sweep `{sweep_id}`, preset `{state['preset']}`, status **{state['status']}**, started {start:%Y-%m-%d %H:%M} "
            f"UTC.\n- Machine: {machine()}.\n- Wall time: **{r['wall'] / 60:.1f} min** from `vlaser sweep` to the "
            f"end of the aggregate stage (two chains at once); stage functions ran {r['summed'] / 60:.1f} min in "
            f"total; time with no stage running {r['wall'] - r['inside']:.0f} s, an orchestration overhead of "
            f"{100 * r['overhead']:.1f} % (`benchmarks/bench_sweep.py --analyse`).\n\n"
            f"| stage | runs | minutes inside stage functions (sum) | seconds per run (mean) |\n| --- | --- | --- | --- |\n"
            f"{rows}\n")


def versus_random(ws: Path, random_dir: Path | None) -> str:
    """Every trained policy of the study pooled, the weakest and strongest run, and the random policy."""
    from scipy.stats import fisher_exact

    from vlaser.evaluate.stats import rate

    runs = {}
    for path in sorted((ws / "reports" / "runs").glob("*/s*/closed_loop/closed_loop.json")):
        tasks = json.loads(path.read_text())["tasks"]
        runs[f"{path.parents[2].name} s{path.parents[1].name[1:]}"] = (
            sum(t["successes"] for t in tasks.values()), sum(t["n"] for t in tasks.values()))
    k, n = sum(v[0] for v in runs.values()), sum(v[1] for v in runs.values())
    lo, hi = min(runs.items(), key=lambda kv: kv[1][0]), max(runs.items(), key=lambda kv: kv[1][0])

    def cell(s: int, m: int) -> str:
        w = rate(s, m)
        return f"{s}/{m} ({100 * s / m:.1f} %, Wilson {100 * w['ci_low']:.1f}-{100 * w['ci_high']:.1f})"

    lines = ["| policies | episodes succeeded |", "| --- | --- |",
             f"| all {len(runs)} trained policies (6 variants x 3 seeds), pooled | {cell(k, n)} |",
             f"| weakest run ({lo[0]}) | {cell(*lo[1])} |", f"| strongest run ({hi[0]}) | {cell(*hi[1])} |"]
    if random_dir is not None:
        tasks = json.loads((random_dir / "closed_loop.json").read_text())["tasks"]
        rk, rn = sum(t["successes"] for t in tasks.values()), sum(t["n"] for t in tasks.values())
        lines.append(f"| random actions, same suite, seeds and cap | {cell(rk, rn)} |")
        p = fisher_exact([[lo[1][0], lo[1][1] - lo[1][0]], [rk, rn - rk]], alternative="greater").pvalue
        lines += ["", f"One-sided Fisher exact test, weakest trained run > random: p = {p:.2g}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--report", type=Path, default=None, help="`vlaser report` folder (default WORKSPACE/study-report)")
    ap.add_argument("--random", type=Path, default=None,
                    help="`vlaser eval closed-loop --policy random` output on the study suite, to compare with")
    a = ap.parse_args()
    report = a.report or a.workspace / "study-report"
    sweep_id = sorted((a.workspace / ".vlaser" / "sweeps").glob("*.json"))[-1].stem
    out = ["### Time and machine", "", timing_section(a.workspace, sweep_id),
           "### Trained policies against random", "", versus_random(a.workspace, a.random)]
    for title, name in (("Reasoning scores", "reasoning.md"), ("Closed-loop success", "closed_loop.md"),
                        ("Each variant against base", "vs_base.md")):
        body = (report / name).read_text().split("\n", 2)[2].strip()  # drop the file's own heading
        out += [f"### {title}", "", body, ""]
    corr = pd.read_csv(report / "correlation.csv")
    keep = corr[corr["success"] == "success/avg"]
    out += ["### Reasoning vs closed-loop success (variant means)", "",
            "| reasoning | vs success/avg |", "| --- | --- |",
            *[f"| {r.reasoning} | {r.summary} |" for r in keep.itertuples()], "",
            "![reasoning vs success](img/study_scatter.png)", ""]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
