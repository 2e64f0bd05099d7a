"""Benchmark the VLA's denoising: K cached Euler steps vs one prefix forward vs the naive loop; memory.

Run: ``.venv/bin/python benchmarks/bench_model.py [--batch 1] [--steps 10] [--repeats 20] [--threads 1]``

Times (median of ``--repeats``) in one process on the params.yaml model (tiny preset):
  * prefix forward: the VLM's own forward over image + instruction (vision tower, projector, LLM);
  * cached denoise: ``sample_actions`` (prefix+state keys/values once, then K expert-only steps);
  * naive denoise: ``sample_actions_naive`` (everything recomputed in each of the K steps).
Memory: parameter counts and bytes of the VLM and the expert, the prefix cache size, peak RSS.
``--size medium`` runs a wider model (224 px tiles, 512-wide 8-layer LLM) where compute, not per-op
launch overhead, starts to dominate; the analytic line gives the same ratio in FLOPs for InternVL3-2B.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from vlaser.runtime import apply_env_defaults

apply_env_defaults()


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# a mid-size model: compute starts to outweigh per-op overhead on a CPU
MEDIUM = {"vision": {"image_size": 224, "patch_size": 14, "hidden_size": 384, "num_layers": 6, "num_heads": 6,
                     "intermediate_size": 1536},
          "text": {"hidden_size": 512, "num_layers": 8, "num_heads": 8, "num_kv_heads": 2, "intermediate_size": 2048},
          "expert_hidden_size": 256, "expert_intermediate_size": 1024}


def _setup(batch: int, size: str = "tiny"):
    import numpy as np
    import torch

    from vlaser.config import load_params
    from vlaser.config.model import ModelSection
    from vlaser.config.presets import deep_merge
    from vlaser.model.image import ImageProcessor
    from vlaser.model.policy import VLAPolicy
    from vlaser.model.tokenizer import build_tokenizer, encode_prompts
    from vlaser.model.vlm import init_vlm

    cfg = load_params().model
    if size == "medium":
        cfg = ModelSection.model_validate(deep_merge(cfg.model_dump(), MEDIUM))
    corpus = ["pick up the red cube and place it on the green target", "push the cube to the goal region",
              "stack the green cube on the yellow cube", "where is the red cube?"] * 20
    tokenizer = build_tokenizer(corpus, cfg.text.vocab_size)
    policy = VLAPolicy(init_vlm(cfg, tokenizer, 0), cfg).eval()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (batch, cfg.vision.image_size, cfg.vision.image_size, 3), dtype=np.uint8)
    obs = {"pixel_values": ImageProcessor(cfg).batch_uint8(rgb),
           **encode_prompts(tokenizer, cfg, ["push the cube to the goal region"] * batch),
           "state": torch.rand(batch, cfg.state_dim) * 2 - 1}
    return cfg, policy, obs


def internvl3_2b_flops(steps: int, text_tokens: int = 30, chunk: int = 4) -> str:
    """Analytic ratio for InternVL3-2B + the 2B preset's expert (1024 wide): matmul FLOPs ~ 2 x weights x tokens."""
    import torch
    from transformers import InternVLForConditionalGeneration

    from vlaser.model.expert import ActionExpert
    from vlaser.model.vlm import internvl3_2b_config

    config = internvl3_2b_config()
    with torch.device("meta"):
        vlm = InternVLForConditionalGeneration(config)
        expert = ActionExpert(config.text_config, 1024, 4096, 9, 7)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    vit_tokens = (448 // 14) ** 2 + 1
    llm_weights = n(vlm.model.language_model) - n(vlm.model.language_model.embed_tokens)
    prefix = 2 * (n(vlm.model.vision_tower) * vit_tokens + llm_weights * (256 + text_tokens))
    step = 2 * n(expert.layers) * chunk
    return (f"InternVL3-2B (analytic, matmul FLOPs): prefix {prefix / 1e12:.2f} TFLOP, K={steps} expert steps "
            f"{steps * step / 1e12:.3f} TFLOP -> cached denoise / prefix forward = {1 + steps * step / prefix:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1, help="observations per call (closed loop: 1)")
    ap.add_argument("--steps", type=int, default=10, help="K Euler steps")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared 2-core machine)")
    ap.add_argument("--size", choices=["tiny", "medium"], default="tiny")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    cfg, policy, obs = _setup(args.batch, args.size)
    noise = torch.randn(args.batch, cfg.chunk_size, cfg.action_dim)
    with torch.inference_mode():
        cached = policy.sample_actions(obs, args.steps, noise=noise)
        naive = policy.sample_actions_naive(obs, args.steps, noise=noise)
        prefix_s = _median_time(lambda: policy.vlm.model(input_ids=obs["input_ids"], attention_mask=obs["attention_mask"],
                                                         pixel_values=obs["pixel_values"]), args.repeats)
        cache_s = _median_time(lambda: policy.build_cache(*policy._inputs(obs)), args.repeats)
        cached_s = _median_time(lambda: policy.sample_actions(obs, args.steps, noise=noise), args.repeats)
        naive_s = _median_time(lambda: policy.sample_actions_naive(obs, args.steps, noise=noise),
                               max(3, args.repeats // 4))
        cache = policy.build_cache(*policy._inputs(obs))

    n_vlm = sum(p.numel() for p in policy.vlm_parameters())
    n_exp = sum(p.numel() for p in policy.action_expert_parameters())
    size = {p.dtype.itemsize for p in policy.parameters()}.pop()
    print(f"model: {args.size} (params.yaml model section{'' if args.size == 'tiny' else ' + MEDIUM'}), batch {args.batch}, K={args.steps}, torch threads {args.threads}, "
          f"prefix {obs['input_ids'].shape[1]} tokens, chunk P={cfg.chunk_size}")
    print(f"max |cached - naive| = {(cached - naive).abs().max().item():.2e}")
    print(f"prefix forward (VLM)          {prefix_s * 1e3:8.2f} ms")
    print(f"prefix+state cache (joint)    {cache_s * 1e3:8.2f} ms")
    print(f"cached denoise, K={args.steps:<2d}          {cached_s * 1e3:8.2f} ms   "
          f"ratio to prefix forward {cached_s / prefix_s:5.2f} (aim <= 1.5)")
    print(f"naive denoise, K={args.steps:<2d}           {naive_s * 1e3:8.2f} ms   "
          f"ratio to prefix forward {naive_s / prefix_s:5.2f}; naive / cached {naive_s / cached_s:5.2f}")
    print(f"parameters: VLM {n_vlm / 1e6:.3f} M, expert {n_exp / 1e6:.3f} M "
          f"({(n_vlm + n_exp) * size / 2**20:.1f} MiB), prefix cache {cache.nbytes() / 2**10:.1f} KiB")
    print(internvl3_2b_flops(args.steps))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB (whole process)")


if __name__ == "__main__":
    main()
