"""Orchestration overhead of a real sweep, and the time of a no-change re-sweep.

    .venv/bin/python benchmarks/bench_sweep.py [--params FILE-or-smoke] [--keep DIR]

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


def main() -> None:
    from tests.orchestrate.conftest import SMOKE
    from vlaser.orchestrate.workspace import make_workspace

    ap = argparse.ArgumentParser()
    ap.add_argument("--default", action="store_true", help="use params.yaml as is (the default sweep)")
    ap.add_argument("--keep", type=Path, help="workspace folder to use and keep")
    a = ap.parse_args()
    ws = a.keep or Path(tempfile.mkdtemp(prefix="vlaser-bench-"))
    make_workspace(REPO, ws, None if a.default else SMOKE)
    wall = run(ws)
    sweep_id = sorted((ws / ".vlaser" / "sweeps").glob("*.json"))[-1].stem
    state = json.loads((ws / ".vlaser" / "sweeps" / f"{sweep_id}.json").read_text())
    timings = [json.loads(ln) for ln in (ws / ".vlaser" / "timings.jsonl").read_text().splitlines()]
    inside = sum(t["seconds"] for t in timings if t["sweep"] == sweep_id)
    per_stage = sum(s["seconds"] or 0 for s in state["stages"].values())
    again = run(ws)
    print(f"workspace: {ws}")
    print(f"sweep wall time               {wall:8.1f} s  ({len(timings)} stages ran)")
    print(f"time inside stage functions   {inside:8.1f} s")
    print(f"stage process start-up        {per_stage - inside:8.1f} s  (DVC + Python imports, per stage)")
    print(f"sweep bookkeeping             {wall - per_stage:8.1f} s  (Prefect API start, DVC status, state)")
    print(f"orchestration overhead ratio  {(wall - inside) / wall:8.3f}  (aim <= 0.05)")
    print(f"no-change re-sweep            {again:8.1f} s  (aim < 15 s)")


if __name__ == "__main__":
    main()
