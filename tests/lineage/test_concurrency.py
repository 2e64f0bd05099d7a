"""Two real processes registering at once on a fresh SQLite registry lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.lineage.conftest import make_artifact
from vlaser.lineage import open_registry

N_PER_PROCESS = 50

WRITER = """
import sys, time
from pathlib import Path
from vlaser.lineage import open_registry
root, worker, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
while not (root / "go").exists():  # start both writers together, both on a database not yet created
    time.sleep(0.005)
reg = open_registry(None, root)
for i in range(n):
    # one transaction per artifact, as stage processes do
    reg.register(f"data/ood/w{worker}-{i:03d}", sweep="race", variant=f"v{worker}", seed=i)
reg.close()
"""


def test_two_processes_registering_concurrently_lose_nothing(workspace: Path) -> None:
    parent = make_artifact(workspace, "data/demos/cpu", "demos")
    for w in range(2):
        for i in range(N_PER_PROCESS):
            make_artifact(workspace, f"data/ood/w{w}-{i:03d}", "ood", {"data/demos/cpu": parent},
                          params={"w": w, "i": i})
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(workspace), str(w), str(N_PER_PROCESS)],
                              cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE, text=True)
             for w in range(2)]
    (workspace / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    with open_registry(None, workspace) as reg:
        rows = reg.all()
        assert len(rows) == 2 * N_PER_PROCESS
        assert {r.path for r in rows} == {f"data/ood/w{w}-{i:03d}" for w in range(2) for i in range(N_PER_PROCESS)}
        assert all(r.parents == {"data/demos/cpu": parent} for r in rows)
        assert {(r.variant, r.seed) for r in rows} == {(f"v{w}", i) for w in range(2) for i in range(N_PER_PROCESS)}
