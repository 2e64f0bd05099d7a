"""Per-dimension normalisation of states and actions to [-1, 1] from the 1st/99th percentiles.

``normalize``: ``y = 2 (x - q01) / (q99 - q01) - 1``, clipped to [-1, 1] (the flow sampler clips its
output to the same range, so training targets and samples live in one box). A dimension whose
percentiles coincide (constant in the data) maps to 0 and back to ``q01``. Binarised dimensions (a
gripper command) map to -1/+1 by the midpoint of their range and back to ``q01``/``q99``.
Stats are JSON; a missing or malformed file is a UserError, never a silent identity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlaser.errors import UserError
from vlaser.io import write_json

_EPS = 1e-6
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class NormStats:
    """Percentile box per dimension.

    Attributes:
        low: 1st percentile per dimension.
        high: 99th percentile per dimension.
        binary: indices of binarised dimensions (e.g. the gripper action).
        mean, std: kept for the record (not used to normalise).
    """

    low: np.ndarray
    high: np.ndarray
    binary: tuple[int, ...] = ()
    mean: np.ndarray | None = field(default=None, compare=False)
    std: np.ndarray | None = field(default=None, compare=False)

    @classmethod
    def from_data(cls, x: np.ndarray, binary: tuple[int, ...] | list[int] = ()) -> NormStats:
        """Stats of ``x`` ``[N, dim]`` (or ``[..., dim]``, flattened)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
        if x.shape[0] == 0:
            raise UserError("cannot compute normalisation stats from zero samples")
        low, high = np.percentile(x, 1, axis=0), np.percentile(x, 99, axis=0)
        for d in binary:
            if not 0 <= d < x.shape[1]:
                raise UserError(f"binary dimension {d} is outside the data's {x.shape[1]} dimensions")
            low[d], high[d] = x[:, d].min(), x[:, d].max()
        return cls(low.astype(np.float32), high.astype(np.float32), tuple(int(d) for d in binary),
                   x.mean(0).astype(np.float32), x.std(0).astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.low.shape[0])

    def _check(self, x: np.ndarray) -> None:
        if np.shape(x)[-1] != self.dim:
            raise ValueError(f"data has {np.shape(x)[-1]} dimensions, the stats have {self.dim}")

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Raw -> [-1, 1] (float32)."""
        self._check(x)
        x = np.asarray(x, dtype=np.float32)
        span = self.high - self.low
        safe = np.where(span > _EPS, span, 1.0)
        y = np.where(span > _EPS, 2.0 * (x - self.low) / safe - 1.0, 0.0)
        for d in self.binary:
            mid = 0.5 * (self.low[d] + self.high[d])
            y[..., d] = np.where(x[..., d] > mid, 1.0, -1.0)
        return np.clip(y, -1.0, 1.0).astype(np.float32)

    def unnormalize(self, y: np.ndarray) -> np.ndarray:
        """[-1, 1] -> raw units (float32)."""
        self._check(y)
        y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
        x = (y + 1.0) * 0.5 * (self.high - self.low) + self.low
        for d in self.binary:
            x[..., d] = np.where(y[..., d] > 0.0, self.high[d], self.low[d])
        return x.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"low": self.low.tolist(), "high": self.high.tolist(), "binary": list(self.binary)}
        if self.mean is not None and self.std is not None:
            out |= {"mean": self.mean.tolist(), "std": self.std.tolist()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "stats") -> NormStats:
        try:
            low, high = np.asarray(d["low"], np.float32), np.asarray(d["high"], np.float32)
            binary = tuple(int(i) for i in d.get("binary", ()))
            mean = np.asarray(d["mean"], np.float32) if "mean" in d else None
            std = np.asarray(d["std"], np.float32) if "std" in d else None
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"{where}: malformed normalisation stats ({err!r}); expected low/high lists") from err
        if low.shape != high.shape or low.ndim != 1:
            raise UserError(f"{where}: low and high must be lists of the same length")
        return cls(low, high, binary, mean, std)

    def save(self, path: Path) -> None:
        write_json(Path(path), {"schema_version": SCHEMA_VERSION, **self.to_dict()})

    @classmethod
    def load(cls, path: Path) -> NormStats:
        return cls.from_dict(_read(Path(path)), str(path))


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: normalisation stats missing (a VLA checkpoint must carry them)")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: unreadable normalisation stats ({err})") from err


def save_stats(path: Path, stats: dict[str, NormStats]) -> None:
    """Several named stats (``{"state": ..., "action": ...}``) in one JSON file."""
    write_json(Path(path), {"schema_version": SCHEMA_VERSION, **{k: v.to_dict() for k, v in stats.items()}})


def load_stats(path: Path, required: tuple[str, ...] = ("state", "action")) -> dict[str, NormStats]:
    """Inverse of ``save_stats``; UserError if the file or one of ``required`` is missing."""
    path = Path(path)
    raw = _read(path)
    missing = [k for k in required if k not in raw]
    if missing:
        raise UserError(f"{path}: normalisation stats for {missing} missing; expected keys {list(required)}")
    return {k: NormStats.from_dict(v, f"{path}:{k}") for k, v in raw.items() if k != "schema_version"}
