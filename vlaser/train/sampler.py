"""Deterministic, resumable, rank-sharded order of training samples.

The sample stream is the concatenation of epoch permutations, each keyed by ``(seed, epoch)``.
Optimizer step ``s`` consumes stream positions ``[s*G, (s+1)*G)`` (``G`` = global batch); inside it,
micro step ``j`` gives process ``r`` the ``micro_batch`` positions starting at
``(j*world + r) * micro_batch``. The position in the data is therefore a pure function of the step:
resuming at step ``s`` continues exactly where an uninterrupted run would be, and every process sees
a disjoint shard of each global batch.
"""

from __future__ import annotations

import torch


class StepSampler:
    """Sample indices per optimizer step for one process."""

    def __init__(self, n: int, seed: int, micro_batch: int, accum: int, world_size: int = 1, rank: int = 0):
        if n <= 0:
            raise ValueError("cannot sample from an empty data set")
        self.n, self.seed = n, seed
        self.micro, self.accum, self.world, self.rank = micro_batch, accum, world_size, rank
        self._cache: dict[int, torch.Tensor] = {}

    @property
    def global_batch(self) -> int:
        return self.micro * self.accum * self.world

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._cache = {epoch: torch.randperm(self.n, generator=gen)}  # keep one epoch in memory
        return self._cache[epoch]

    def _at(self, pos: int) -> int:
        return int(self.permutation(pos // self.n)[pos % self.n])

    def step_indices(self, step: int) -> list[list[int]]:
        """``accum`` lists of ``micro_batch`` sample indices for this process at optimizer step ``step``."""
        base = step * self.global_batch
        out = []
        for j in range(self.accum):
            start = base + (j * self.world + self.rank) * self.micro
            out.append([self._at(p) for p in range(start, start + self.micro)])
        return out

    def position(self, step: int) -> dict[str, int]:
        """Where the data stream stands before optimizer step ``step`` (for the checkpoint)."""
        consumed = step * self.global_batch
        return {"samples_consumed": consumed, "epoch": consumed // self.n, "offset": consumed % self.n}

    def epochs_to_steps(self, epochs: float) -> int:
        """Optimizer steps that cover ``epochs`` passes over the data (at least one)."""
        return max(1, round(epochs * self.n / self.global_batch))
