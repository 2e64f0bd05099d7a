"""Open time of the dashboard's data for a synthetic 100-variant x 3-seed sweep.

Measures, in one run: writing the sweep, the first (uncached) load_sweep, a cached load_sweep, the
correlation heat map, and a full AppTest run of dashboard/app.py on the cached sweep. Prints seconds and
the cold/cached ratio. Run: .venv/bin/python benchmarks/bench_dashboard.py [N_VARIANTS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vlaser.runtime import apply_env_defaults  # noqa: E402

apply_env_defaults(REPO)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(n_variants: int = 100) -> None:
    from streamlit.testing.v1 import AppTest

    from vlaser.evaluate.correlate import correlate_all
    from vlaser.sweep_table import load_sweep
    from vlaser.synthetic_sweep import linear_sweep

    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        _, t_write = _timed(lambda: linear_sweep(reports, n_variants))
        _, t_cold = _timed(lambda: load_sweep(reports))
        sweep, t_warm = _timed(lambda: load_sweep(reports))
        _, t_corr = _timed(lambda: correlate_all(sweep.summary))
        sys.argv = ["app.py", "--reports", str(reports)]
        at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=600)
        _, t_app = _timed(at.run)
        _, t_app2 = _timed(at.run)
    print(f"sweep: {n_variants} variants x 3 seeds, {len(sweep.table)} table rows")
    print(f"write synthetic reports   {t_write:7.2f} s")
    print(f"load_sweep, cold          {t_cold:7.2f} s")
    print(f"load_sweep, cached        {t_warm:7.2f} s   (cold / cached = {t_cold / t_warm:.0f}x)")
    print(f"correlations (all pairs)  {t_corr:7.2f} s")
    print(f"app first run (AppTest)   {t_app:7.2f} s   (includes imports and the heat map)")
    print(f"app rerun (AppTest)       {t_app2:7.2f} s   (what opening the page again costs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
