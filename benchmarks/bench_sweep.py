"""Orchestration overhead of a real sweep, and the time of a no-change re-sweep.

    .venv/bin/python benchmarks/bench_sweep.py [--default] [--keep DIR]
    .venv/bin/python benchmarks/bench_sweep.py --analyse studies/default    # a finished sweep, e.g. the study

Runs a sweep in a fresh temporary workspace (default: the smoke settings of the orchestration tests,
two variants), then again with nothing changed. Prints:
  overhead = (sweep wall time - time inside stage functions) / sweep wall time   (aim <= 5%)
  the part of it spent starting stage processes (DVC + Python imports), and Prefect/DVC bookkeeping
  no-change re-sweep wall time (aim < 15 s)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run(ws: Path) -> float:
    env = {**os.environ, "VLASER_WORKSPACE": str(ws), "VLASER_QUIET": "1"}
    env.pop("PREFECT_HOME", None)
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "vlaser", "sweep"], cwd=ws, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"sweep failed:\n{res.stdout}\n{res.stderr}")
    return time.monotonic() - t0


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one stage function was running (the union of the spans)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def analyse(ws: Path, sweep_id: str, wall: float | None = None) -> dict[str, float]:
    """Overhead of one finished sweep from its state file and ``.vlaser/timings.jsonl``.

    With several chains at once (``sweep.concurrency``), "time inside stages" is the time during which at
    least one stage function ran; the rest of the wall time is orchestration (Prefect, DVC, process starts).
    """
    import datetime as dt

    state = json.loads((ws / ".vlaser" / "sweeps" / f"{sweep_id}.json").read_text())
    if wall is None:
        wall = (dt.datetime.fromisoformat(state["finished"]) - dt.datetime.fromisoformat(state["created"])).total_seconds()
    timings = [t for t in (json.loads(ln) for ln in (ws / ".vlaser" / "timings.jsonl").read_text().splitlines())
               if t["sweep"] == sweep_id]
    spans = [(t["start"], t["end"]) for t in timings if "start" in t]
    inside = covered(spans) if len(spans) == len(timings) else sum(t["seconds"] for t in timings)
    return {"wall": wall, "stages": len(timings), "inside": inside, "summed": sum(t["seconds"] for t in timings),
            "overhead": (wall - inside) / wall}


def report(r: dict[str, float]) -> None:
    print(f"sweep wall time                       {r['wall']:8.1f} s  ({r['stages']} stages ran)")
    print(f"time inside stage functions (union)   {r['inside']:8.1f} s")
    print(f"stage-function time summed            {r['summed']:8.1f} s  (> union when chains ran at once)")
    print(f"orchestration overhead ratio          {r['overhead']:8.3f}  (aim <= 0.05)")


def main() -> None:
    from tests.orchestrate.conftest import SMOKE
    from vlaser.orchestrate.workspace import make_workspace

    ap = argparse.ArgumentParser()
    ap.add_argument("--default", action="store_true", help="use params.yaml as is (the default sweep)")
    ap.add_argument("--keep", type=Path, help="workspace folder to use and keep")
    ap.add_argument("--analyse", type=Path, metavar="WORKSPACE",
                    help="only analyse the latest finished sweep of WORKSPACE (e.g. studies/default)")
    a = ap.parse_args()
    if a.analyse:
        sweep_id = sorted((a.analyse / ".vlaser" / "sweeps").glob("*.json"))[-1].stem
        print(f"workspace: {a.analyse}, sweep {sweep_id}")
        report(analyse(a.analyse, sweep_id))
        return
    ws = a.keep or Path(tempfile.mkdtemp(prefix="vlaser-bench-"))
    make_workspace(REPO, ws, None if a.default else SMOKE)
    wall = run(ws)
    sweep_id = sorted((ws / ".vlaser" / "sweeps").glob("*.json"))[-1].stem
    r = analyse(ws, sweep_id, wall)
    again = run(ws)
    print(f"workspace: {ws}")
    report(r)
    print(f"no-change re-sweep                    {again:8.1f} s  (aim < 15 s)")


if __name__ == "__main__":
    main()
