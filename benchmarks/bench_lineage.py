"""Lineage registry and tracking-buffer timings on this machine (one run; prints numbers and ratios).

    .venv/bin/python benchmarks/bench_lineage.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lineage.conftest import make_artifact, make_sweep  # noqa: E402
from vlaser.lineage import lineage_tree, open_registry, verify  # noqa: E402

N = 100
WRITER = """
import sys
from pathlib import Path
from vlaser.lineage import open_registry
root, w, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with open_registry(None, root) as reg:
    for i in range(n):
        reg.register(f"data/ood/w{w}-{i:03d}")
"""


def timed(fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-lineage-"))
    for w in range(2):
        for i in range(N):
            make_artifact(root, f"data/ood/w{w}-{i:03d}", "ood")
    _, t_fresh = timed(lambda: open_registry(None, root).close())
    _, t_open = timed(lambda: open_registry(None, root).close())
    reg = open_registry(None, root)
    _, t_one = timed(lambda: [reg.register(f"data/ood/w0-{i:03d}") for i in range(N)])
    _, t_again = timed(lambda: [reg.register(f"data/ood/w0-{i:03d}") for i in range(N)])
    reg.close()
    (root / ".vlaser" / "lineage.db").unlink()
    for suffix in ("-wal", "-shm"):
        (root / ".vlaser" / f"lineage.db{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(w), str(N)]) for w in range(2)]
    assert all(p.wait() == 0 for p in procs)
    t_two = time.perf_counter() - t
    with open_registry(None, root) as reg:
        rows = len(reg.all())
        make_sweep(root)
        reg.rebuild()
        _, t_tree = timed(lambda: lineage_tree("reports/all/s0/closed_loop", reg))
    _, t_verify = timed(lambda: verify(root))
    print(f"open + migrate a new sqlite registry: {t_fresh * 1e3:.0f} ms; open an existing one: {t_open * 1e3:.1f} ms")
    print(f"register, one process: {N / t_one:.0f} artifacts/s new, {N / t_again:.0f}/s re-register (idempotent)")
    print(f"two processes x {N} concurrently on a fresh db (incl. interpreter start): {t_two:.2f} s, "
          f"{rows} rows of {2 * N} (lost: {2 * N - rows})")
    print(f"lineage_tree, 7-node sweep: {t_tree * 1e3:.1f} ms; deep verify of {rows + 7} artifacts: {t_verify:.2f} s")
    print(f"ratio fresh-open / existing-open: {t_fresh / t_open:.0f}x")


def bench_tracking() -> None:
    """MLflow on sqlite: store creation, one stage record, buffered writes while down, replay."""
    import socket

    from vlaser.runtime import apply_env_defaults

    root = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    apply_env_defaults(root)
    from vlaser.tracking import Tracking

    tr = Tracking(root=root, mode="fail")
    _, t_create = timed(tr.experiment_id)
    run = tr.variant_run("bench", "ood", 0)
    _, t_rec = timed(lambda: [tr.record_stage(run, f"s{i}", params={"a": i}, metrics={"m": i}) for i in range(20)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    down = Tracking(uri=url, root=root, mode="buffer", timeout_s=2)
    _, t_probe = timed(lambda: down.variant_run("bench", "base", 0))
    ref = down.variant_run("bench", "base", 0)
    _, t_buf = timed(lambda: [down.tracker(ref, "pretrain").log_metrics({"loss": 1 / (i + 1)}, i) for i in range(100)])
    n, t_flush = timed(tr.flush_buffer)
    print(f"MLflow sqlite store creation: {t_create:.1f} s; record_stage: {t_rec / 20 * 1e3:.0f} ms each")
    print(f"store down: first op (probe, refused) {t_probe:.2f} s; buffered record {t_buf / 100 * 1e3:.1f} ms each; "
          f"replay {n} records: {t_flush:.2f} s ({n / t_flush:.0f}/s)")


if __name__ == "__main__":
    main()
    bench_tracking()
