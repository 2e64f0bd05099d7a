"""Child process of the two-process training test: stage 2 (finetune) on tiny settings, 1 or N processes.

    python -m tests.scale.run_finetune VLM DEMOS OUT                                   # one process
    python -m torch.distributed.run --nproc_per_node 2 -m tests.scale.run_finetune VLM DEMOS OUT

The global batch is the same either way (8): one process accumulates 2 micro batches of 4, two processes
take one micro batch of 4 each. Process 0 prints the summary and the per-step losses as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vlaser.runtime import apply_env_defaults

apply_env_defaults()

from tests.train.fixtures import TINY_MODEL  # noqa: E402
from tests.train.toy import ListTracker  # noqa: E402
from vlaser.config.train import FinetuneSection  # noqa: E402
from vlaser.train import distributed as dist  # noqa: E402
from vlaser.train import finetune  # noqa: E402

# The DeepSpeed engine (ZeRO 1, fp32, gloo): the plain engine's DistributedDataParallel stops on parameters
# that get no gradient in the VLA (reported to the training area; it needs find_unused_parameters).
CFG = FinetuneSection(steps=6, micro_batch=4, global_batch=8, lr=1e-3, expert_lr=3e-3, warmup_steps=1,
                      checkpoint_every=6, noise_samples=8, image_shift=0,
                      engine={"kind": "deepspeed", "zero_stage": 1, "precision": "fp32"})


def main() -> None:
    vlm, demos, out = (Path(a) for a in sys.argv[1:4])
    tracker = ListTracker()
    summary = finetune(CFG, TINY_MODEL, vlm, demos, out, seed=0, tracker=tracker)
    if dist.info().is_main:
        print(json.dumps({"summary": {k: v for k, v in summary.items() if isinstance(v, int | float | str)},
                          "losses": tracker.series("finetune/loss")}))


if __name__ == "__main__":
    main()
