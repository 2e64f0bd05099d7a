"""VLAPolicy: block mask, cached vs uncached sampling, padding, gradients, toy flow matching."""

from __future__ import annotations

import torch

from tests.model.conftest import make_batch, make_policy, small_cfg
from vlaser.model import attention as att

INSTRUCTIONS = ["pick up the red cube", "push", "stack the green cube on the yellow cube"]


def test_block_mask_matches_hand_written_matrix():
    # prefix p0 p1 p2(pad), state s, actions a0 a1 (the docstring's example)
    mask = att.full_mask(torch.tensor([[1, 1, 0]]), n_state=1, n_action=2)
    x, o = True, False
    expected = torch.tensor([
        #  p0 p1 p2 s  a0 a1
        [x, x, o, o, o, o],  # p0
        [x, x, o, o, o, o],  # p1
        [x, x, o, o, o, o],  # p2 (pad)
        [x, x, o, x, o, o],  # s
        [x, x, o, x, x, x],  # a0
        [x, x, o, x, x, x],  # a1
    ])
    assert torch.equal(mask[0], expected)


def test_positions_continue_after_valid_prefix():
    valid = torch.tensor([[0, 1, 1, 1], [1, 1, 0, 0]])
    assert att.prefix_positions(valid).tolist() == [[0, 0, 1, 2], [0, 1, 1, 1]]
    assert att.suffix_positions(valid, 0, 3).tolist() == [[3, 4, 5], [2, 3, 4]]


def test_cached_sampling_equals_uncached(cfg, tokenizer):
    policy = make_policy(cfg, tokenizer)
    batch = make_batch(cfg, tokenizer, INSTRUCTIONS)
    noise = torch.randn(3, cfg.chunk_size, cfg.action_dim, generator=torch.Generator().manual_seed(1))
    cached = policy.sample_actions(batch, noise=noise)
    naive = policy.sample_actions_naive(batch, noise=noise)
    assert cached.shape == (3, cfg.chunk_size, cfg.action_dim)
    assert (cached - naive).abs().max() < 1e-5
    # the untrained policy still moves the noise: the comparison is not between two copies of x0
    assert (cached - noise.clamp(-1, 1)).abs().max() > 1e-3


def test_padding_is_invisible(cfg, tokenizer):
    policy = make_policy(cfg, tokenizer)
    right = make_batch(cfg, tokenizer, INSTRUCTIONS, padding_side="right")
    left = make_batch(cfg, tokenizer, INSTRUCTIONS, padding_side="left")
    noise = torch.randn(3, cfg.chunk_size, cfg.action_dim)
    a = policy.sample_actions(right, noise=noise)
    assert (a - policy.sample_actions(left, noise=noise)).abs().max() < 1e-5
    garbled = dict(right, input_ids=right["input_ids"].masked_fill(right["attention_mask"] == 0, 7))
    assert (a - policy.sample_actions(garbled, noise=noise)).abs().max() < 1e-6


def test_prefix_never_sees_the_suffix(cfg, tokenizer):
    policy = make_policy(cfg, tokenizer)
    batch = make_batch(cfg, tokenizer, INSTRUCTIONS[:2])
    with torch.no_grad():
        prefix, valid, state = policy._inputs(batch)
        c1 = policy.build_cache(prefix, valid, state)
        c2 = policy.build_cache(prefix, valid, state + 0.5)
    lp = prefix.shape[1]
    for k1, k2 in zip(c1.keys, c2.keys, strict=True):
        assert torch.allclose(k1[:, :, :lp], k2[:, :, :lp])  # prefix keys independent of the state
        assert not torch.allclose(k1[:, :, lp:], k2[:, :, lp:])  # the state token's keys are not


def test_compute_loss_reaches_vlm_and_expert(cfg, tokenizer):
    policy = make_policy(cfg, tokenizer).train()
    batch = make_batch(cfg, tokenizer, INSTRUCTIONS)
    loss, info = policy.compute_loss(batch, noise_samples=2)
    loss.backward()
    assert torch.isfinite(loss) and info["loss"] > 0
    grads = {n: p.grad for n, p in policy.named_parameters() if p.grad is not None}
    for part in ("vlm.model.vision_tower.", "vlm.model.multi_modal_projector.", "vlm.model.language_model.layers.0.",
                 "expert.layers.0.", "expert.state_in.", "expert.action_in.", "expert.time_mlp_in.", "expert.action_out."):
        assert any(n.startswith(part) and g.abs().sum() > 0 for n, g in grads.items()), part
    ids = {id(p) for p in policy.action_expert_parameters()} | {id(p) for p in policy.vlm_parameters()}
    assert all(id(p) in ids for p in policy.parameters() if p.grad is not None)
    assert not ({id(p) for p in policy.action_expert_parameters()} & {id(p) for p in policy.vlm_parameters()})


def test_flow_learns_a_two_mode_distribution(tokenizer):
    """Constant observation; actions from a mixture of two 2-D Gaussians. Loss falls, samples match."""
    cfg = small_cfg(action_dim=2, chunk_size=1, exec_horizon=1, state_dim=2, expert_hidden_size=64,
                    expert_intermediate_size=128, text={"num_layers": 1}, vision={"num_layers": 1})
    policy = make_policy(cfg, tokenizer, seed=3).train()
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[-0.5, 0.3], [0.5, -0.3]])

    def draw(n):
        which = torch.randint(0, 2, (n,), generator=gen)
        return centers[which] + 0.08 * torch.randn(n, 2, generator=gen)

    obs = make_batch(cfg, tokenizer, ["push the cube"])
    obs.pop("actions")
    # a fixed evaluation batch (fixed data, noise and times): its loss before and after training
    held = dict(_repeat(obs, 256), actions=draw(256)[:, None, :], noise=torch.randn(256, 1, 2, generator=gen),
                time=torch.rand(256, generator=gen))
    with torch.no_grad():
        before = policy.compute_loss(held)[0].item()
    # the observation is constant, so only the expert needs to learn (the VLM's gradients are tested above)
    for p in policy.vlm_parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(policy.action_expert_parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / STEPS)
    for _ in range(STEPS):  # one observation repeated, 64 action draws per step
        loss, _ = policy.compute_loss(dict(_repeat(obs, 64), actions=draw(64)[:, None, :]), generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        after = policy.compute_loss(held)[0].item()
    assert after < 0.6 * before, (before, after)
    policy.eval()
    samples = policy.sample_actions(_repeat(obs, 1000), generator=gen)[:, 0]
    target = draw(20000)
    assert (samples.mean(0) - target.mean(0)).abs().max() < 0.1
    assert ((samples.std(0) - target.std(0)).abs() / target.std(0)).max() < 0.2
    right = (samples[:, 0] > 0).float().mean()
    assert 0.3 < right < 0.7  # both modes are populated ...
    gap = (samples[:, 0].abs() < 0.2).float().mean()
    assert gap < 0.15, gap  # ... and the gap between them stays empty (a single Gaussian would put ~30% there)


STEPS = 200


def _repeat(batch, n):
    return {k: v.expand(n, *v.shape[1:]).contiguous() for k, v in batch.items() if k != "actions"}
