"""Flow matching: the ONE statement of the time convention (open-pi-zero's), used by policy and tests.

Convention:
    * ``t = 0`` is pure noise ``x0 ~ N(0, I)``; ``t = 1`` is data ``x1`` (a normalised action chunk).
    * Path: ``x_t = (1 - (1 - sigma) * t) * x0 + t * x1`` with ``sigma = 0.001``.
    * Velocity target (d x_t / d t): ``u = x1 - (1 - sigma) * x0``; the loss is MSE(v_theta(x_t, t), u).
    * Training times are skewed toward noise: ``t = 0.999 * (1 - u)`` with ``u ~ Beta(1.5, 1)``
      (density of ``t`` highest near 0, never exactly 1).
    * Sampling: K Euler steps from ``t = 0`` (noise) to ``t = 1`` (data), ``x += v * (1 / K)``, then clip
      to [-1, 1] (the range of the normalised actions).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

SIGMA_MIN = 0.001
T_MAX = 0.999
BETA_ALPHA, BETA_BETA = 1.5, 1.0


def sample_time(batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Training times ``[batch]`` in [0, 0.999], skewed toward noise (t = 0)."""
    # Beta(a, 1) by inverse CDF (torch's Beta has no generator argument): u = U^(1/a)
    uniform = torch.rand(batch, generator=generator, device=device)
    u = uniform.pow(1.0 / BETA_ALPHA)
    return T_MAX * (1.0 - u)


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``x_t`` on the path from noise ``x0`` (t=0) to data ``x1`` (t=1); ``t`` is ``[B]``."""
    t = t.view(-1, *([1] * (x1.dim() - 1))).to(x1.dtype)
    return (1.0 - (1.0 - SIGMA_MIN) * t) * x0 + t * x1


def target_velocity(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The regression target ``d x_t / d t = x1 - (1 - sigma) x0``."""
    return x1 - (1.0 - SIGMA_MIN) * x0


def euler_sample(velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x0: torch.Tensor,
                 num_steps: int, clip: bool = True) -> torch.Tensor:
    """Integrate ``dx/dt = velocity(x, t)`` from noise ``x0`` at t=0 to t=1 in ``num_steps`` Euler steps.

    Args:
        velocity: ``(x_t [B, ...], t [B]) -> v [B, ...]``.
        x0: the starting noise.
        num_steps: K.
        clip: clip the result to [-1, 1].
    """
    x = x0
    dt = 1.0 / num_steps
    for k in range(num_steps):
        t = torch.full((x.shape[0],), k * dt, dtype=x.dtype, device=x.device)
        x = x + dt * velocity(x, t)
    return x.clamp(-1.0, 1.0) if clip else x


def time_embedding(t: torch.Tensor, dim: int, min_period: float = 4e-3, max_period: float = 4.0) -> torch.Tensor:
    """Sinusoidal embedding ``[B, dim]`` of ``t`` in [0, 1] (periods from ``min_period`` to ``max_period``)."""
    if dim % 2:
        raise ValueError(f"time embedding width must be even, got {dim}")
    fraction = torch.linspace(0.0, 1.0, dim // 2, dtype=torch.float32, device=t.device)
    period = min_period * (max_period / min_period) ** fraction
    angle = t.float()[:, None] * (2.0 * torch.pi / period)[None, :]
    return torch.cat([angle.sin(), angle.cos()], dim=-1)
