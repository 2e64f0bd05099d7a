"""The flow-matching time convention (flow.py): t=0 noise, t=1 data, times skewed toward noise."""

from __future__ import annotations

import torch

from vlaser.model import flow


def test_path_endpoints_and_target():
    x0, x1 = torch.randn(5, 4, 3), torch.randn(5, 4, 3)
    assert torch.allclose(flow.interpolate(x0, x1, torch.zeros(5)), x0)
    assert torch.allclose(flow.interpolate(x0, x1, torch.ones(5)), x1 + flow.SIGMA_MIN * x0)
    # the target is the time derivative of the path
    t, h = torch.full((5,), 0.3), 1e-3
    numeric = (flow.interpolate(x0, x1, t + h) - flow.interpolate(x0, x1, t)) / h
    assert torch.allclose(numeric, flow.target_velocity(x0, x1), atol=1e-3)


def test_times_are_skewed_toward_noise():
    t = flow.sample_time(200_000, torch.Generator().manual_seed(0))
    assert t.min() >= 0 and t.max() <= flow.T_MAX
    # 1 - t/0.999 ~ Beta(1.5, 1): mean 0.6, so E[t] = 0.999 * 0.4
    assert abs(t.mean().item() - 0.999 * 0.4) < 0.005
    assert (t < 0.5).float().mean() > 0.6  # more mass near noise (t = 0) than near data


def test_euler_follows_the_exact_velocity_to_the_data():
    x0 = torch.randn(6, 4, 2, generator=torch.Generator().manual_seed(0))
    x1 = torch.rand(6, 4, 2, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    out = flow.euler_sample(lambda x, t: flow.target_velocity(x0, x1), x0, num_steps=10, clip=False)
    assert torch.allclose(out, x1 + flow.SIGMA_MIN * x0, atol=1e-5)
    far = flow.euler_sample(lambda x, t: torch.full_like(x, 5.0), x0, num_steps=4)
    assert far.max() <= 1.0 and far.min() >= -1.0


def test_time_embedding_shape_and_distinctness():
    emb = flow.time_embedding(torch.tensor([0.0, 0.5, 1.0]), 16)
    assert emb.shape == (3, 16)
    assert (emb[0] - emb[1]).abs().max() > 0.1 and (emb[1] - emb[2]).abs().max() > 0.1
