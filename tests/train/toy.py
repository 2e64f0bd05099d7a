"""A tiny model and data set for the training-machinery tests (any ``compute_loss`` module works)."""

from __future__ import annotations

import torch
from torch import nn


class ToyModel(nn.Module):
    """Two-group MLP regressor whose loss draws noise from the global RNG (as flow matching does)."""

    def __init__(self, dim: int = 6, hidden: int = 16, seed: int = 0, noise: float = 0.05):
        super().__init__()
        self.noise = noise
        gen = torch.Generator().manual_seed(seed)
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, 2)
        for p in self.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        self.nan_from_call: int | None = None  # poison: compute_loss call number N (1-based) onwards is NaN
        self.calls = 0

    def groups(self, lr: float, head_lr: float) -> list[dict]:
        return [{"name": "body", "params": list(self.body.parameters()), "lr": lr},
                {"name": "head", "params": list(self.head.parameters()), "lr": head_lr}]

    def compute_loss(self, batch: dict) -> tuple[torch.Tensor, dict]:
        x = batch["x"] + self.noise * torch.randn_like(batch["x"]) if self.noise else batch["x"]
        loss = ((self.head(self.body(x)) - batch["y"]) ** 2).mean()
        self.calls += 1
        if self.nan_from_call is not None and self.calls >= self.nan_from_call:
            loss = loss * float("nan")
        return loss, {"mse": loss.detach()}


class ToyData:
    """``n`` fixed random samples ``{"x": [dim], "y": [2]}``."""

    def __init__(self, n: int = 64, dim: int = 6, seed: int = 1):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, dim, generator=gen)
        self.y = torch.stack([self.x[:, :3].sum(1), self.x[:, 3:].prod(1)], 1)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"x": self.x[i], "y": self.y[i]}


def collate(items: list[dict]) -> dict:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class ListTracker:
    """Keeps what the loop logs, in memory."""

    def __init__(self):
        self.params: dict = {}
        self.metrics: list[tuple[int, dict]] = []

    def log_params(self, params: dict) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: dict, step: int) -> None:
        self.metrics.append((step, dict(metrics)))

    def series(self, key: str) -> list[float]:
        return [m[key] for _, m in self.metrics]
