"""Training step time: DeepSpeed engine versus the plain PyTorch engine, and samples/s of both stages.

Builds the ``tiny`` preset's VLM and VLA (shapes from params.yaml) and a synthetic batch at each
stage's micro batch size, then measures optimizer steps of the plain engine and of the DeepSpeed
engine (one CPU process, gloo, the preset's ZeRO stage) on identical copies of the same model,
alternating engines in rounds so that load from other processes hits both alike. Prints the median
wall and CPU time per step, their ratios (DeepSpeed / plain; the aim is <= 1.15) and samples/s,
measured in this run. On a shared machine run it with one thread: OpenMP threads that spin-wait
while other processes hold the cores make two-thread steps 10-30x slower and pure noise.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_train.py [--rounds 5] [--steps 3] [--zero 1]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("VLASER_QUIET", "1")

from vlaser.runtime import apply_env_defaults  # noqa: E402

apply_env_defaults()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vlaser.config import load_params  # noqa: E402
from vlaser.train.engine import DeepSpeedEngine, TorchEngine  # noqa: E402

TEXTS = ["push the cube to the goal region", "what colour is the cube?", "the cube is red",
         "pick up the cube and move it to the goal", "stack the red cube on the green cube"]


def stage1_setup(params):
    from vlaser.model.image import ImageProcessor
    from vlaser.model.tokenizer import special_ids
    from vlaser.model.vlm import base_vlm
    from vlaser.train.sft_data import SftCollate, VLMLoss

    m, cfg = params.model, params.pretrain
    model, tok = base_vlm(m, TEXTS * 20, seed=0)
    rng = np.random.default_rng(0)
    from vlaser.model.tokenizer import encode_conversation

    proc = ImageProcessor(m)
    items = []
    for i in range(cfg.micro_batch):
        conv = [{"from": "human", "value": "<image>\n" + TEXTS[i % 5]}, {"from": "gpt", "value": TEXTS[(i + 1) % 5]}]
        img = rng.integers(0, 255, (m.vision.image_size, m.vision.image_size, 3), dtype=np.uint8)
        items.append({**encode_conversation(tok, m, conv, 1), "pixel_values": proc.tiles(img)})
    return VLMLoss(model.train()), SftCollate(special_ids(tok)["pad"])(items), cfg


def stage2_setup(params):
    from vlaser.model.image import ImageProcessor
    from vlaser.model.policy import VLAPolicy
    from vlaser.model.vlm import base_vlm
    from vlaser.train.demo_data import DemoCollate, FlowLoss

    m, cfg = params.model, params.finetune
    vlm, tok = base_vlm(m, TEXTS * 20, seed=0)
    torch.manual_seed(0)
    policy = VLAPolicy(vlm, m).train()
    rng = np.random.default_rng(0)
    s = m.vision.image_size
    items = [{"rgb": rng.integers(0, 255, (s, s, 3), dtype=np.uint8),
              "state": rng.uniform(-1, 1, m.state_dim).astype(np.float32),
              "actions": rng.uniform(-1, 1, (m.chunk_size, m.action_dim)).astype(np.float32),
              "instruction": TEXTS[i % 5]} for i in range(cfg.micro_batch)]
    batch = DemoCollate(tok, ImageProcessor(m), m, cfg.image_shift)(items)
    return FlowLoss(policy, cfg.noise_samples), batch, cfg


def one_batch_cfg(cfg, kind: str, zero: int):
    return cfg.model_copy(update={"global_batch": cfg.micro_batch, "engine": cfg.engine.model_copy(
        update={"kind": kind, "zero_stage": zero, "precision": "fp32"})})


def groups(module):
    return [{"name": "all", "params": [p for p in module.parameters() if p.requires_grad]}]


def timed(engine, batch, steps: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds per step; CPU seconds of this process per step appended to ``cpu``."""
    out = []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        engine.train_step([batch])
        out.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.process_time() - c)
    return out


def compare(name: str, module, batch, cfg, rounds: int, steps: int, zero: int) -> None:
    plain = TorchEngine(copy.deepcopy(module), groups(module), one_batch_cfg(cfg, "torch", zero))
    ds_module = copy.deepcopy(module)
    ds = DeepSpeedEngine(ds_module, groups(ds_module), one_batch_cfg(cfg, "deepspeed", zero))
    timed(plain, batch, 2)
    timed(ds, batch, 2)  # warm-up: allocator, first-call paths
    t_plain, t_ds, c_plain, c_ds = [], [], [], []
    for _ in range(rounds):  # alternate so that outside load hits both engines alike
        t_plain += timed(plain, batch, steps, c_plain)
        t_ds += timed(ds, batch, steps, c_ds)
    b = cfg.micro_batch
    print(f"{name}: micro batch {b}, {len(t_plain)} steps each, ZeRO {zero}")
    for label, wall, cpu in (("plain    ", t_plain, c_plain), ("deepspeed", t_ds, c_ds)):
        w = statistics.median(wall)
        print(f"  {label} wall median {w * 1000:8.1f} ms/step ({b / w:7.1f} samples/s), min {min(wall) * 1000:8.1f} ms;"
              f" CPU median {statistics.median(cpu) * 1000:8.1f} ms/step")
    print(f"  ratio deepspeed/plain: wall median {statistics.median(t_ds) / statistics.median(t_plain):.3f}, "
          f"wall min {min(t_ds) / min(t_plain):.3f}, CPU median {statistics.median(c_ds) / statistics.median(c_plain):.3f}"
          " (aim <= 1.15)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--zero", type=int, default=1)
    ap.add_argument("--micro", type=int, default=None, help="override both stages' micro batch")
    ap.add_argument("--stages", default="1,2", help="which stages to measure")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    params = load_params()
    if args.micro:
        over = {"micro_batch": args.micro, "global_batch": args.micro}
        params = params.model_copy(update={"pretrain": params.pretrain.model_copy(update=over),
                                           "finetune": params.finetune.model_copy(update=over)})
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cuda {torch.cuda.is_available()}",
          flush=True)
    if "1" in args.stages:
        compare("stage 1 (VLM SFT)", *stage1_setup(params), args.rounds, args.steps, args.zero)
    if "2" in args.stages:
        compare("stage 2 (VLA flow matching)", *stage2_setup(params), args.rounds, args.steps, args.zero)


if __name__ == "__main__":
    main()
