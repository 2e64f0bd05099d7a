"""Child process for the kill/resume test: trains the toy model, optionally hangs at a step.

    python -m tests.train.run_toy OUT STEPS EVERY [HANG_AT]
    (env: TOY_ENGINE=torch|deepspeed, TOY_NOISE=<input noise scale>; works under torchrun too)

With HANG_AT, the process writes OUT.hang when step HANG_AT has been logged and then sleeps, so the
test can SIGKILL it at a known step. Prints the loop's summary as JSON on the last line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from vlaser.runtime import apply_env_defaults

apply_env_defaults()

from tests.train.toy import ListTracker, ToyData, ToyModel, collate  # noqa: E402
from vlaser.config.train import PretrainSection  # noqa: E402
from vlaser.train.loop import train_loop  # noqa: E402


class HangTracker(ListTracker):
    def __init__(self, marker: Path, hang_at: int | None):
        super().__init__()
        self.marker, self.hang_at = marker, hang_at

    def log_metrics(self, metrics: dict, step: int) -> None:
        super().log_metrics(metrics, step)
        if step == self.hang_at:
            self.marker.write_text(str(step))
            time.sleep(600)  # waiting for SIGKILL


def main() -> None:
    out, steps, every = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    hang_at = int(sys.argv[4]) if len(sys.argv) > 4 else None
    engine = {"kind": os.environ.get("TOY_ENGINE", "torch"), "zero_stage": 1}
    cfg = PretrainSection(steps=steps, micro_batch=4, global_batch=8, lr=1e-2, warmup_steps=2,
                          checkpoint_every=every, seed=3, engine=engine)
    model = ToyModel(noise=float(os.environ.get("TOY_NOISE", "0.05")))
    tracker = HangTracker(out.with_suffix(".hang"), hang_at)
    summary = train_loop(model, model.groups(cfg.lr, 3e-2), ToyData(n=20), collate, cfg, out,
                         {"pretrain": cfg.model_dump(mode="json")}, tracker, prefix="toy")
    summary["losses"] = tracker.series("toy/loss")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
