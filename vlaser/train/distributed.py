"""Process-group facts from the environment, so one code path serves 1 CPU process and N GPUs.

The ``deepspeed`` launcher and ``torchrun`` both set ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT``. A plain ``python``/``vlaser`` run sets none: ``ensure_env`` fills in
a one-process group on 127.0.0.1 with a free port, so DeepSpeed (which always wants a process group)
runs unchanged. Users' own values always win.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistInfo:
    rank: int
    local_rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_env() -> DistInfo:
    """Set the process-group variables that are unset (single process) and return them."""
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if "MASTER_PORT" not in os.environ:
        os.environ["MASTER_PORT"] = str(free_port())
    return info()


def info() -> DistInfo:
    return DistInfo(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")),
                    int(os.environ.get("WORLD_SIZE", "1")))


def device() -> torch.device:
    """``cuda:<LOCAL_RANK>`` when CUDA is there, else the CPU."""
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"


def initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def init_torch_group() -> None:
    """Start the torch process group (plain engine with more than one process)."""
    if not initialized():
        ensure_env()
        torch.distributed.init_process_group(backend=backend())


def barrier() -> None:
    if initialized() and torch.distributed.get_world_size() > 1:
        torch.distributed.barrier()


def mean_across(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over all processes (identity for one process)."""
    if initialized() and torch.distributed.get_world_size() > 1:
        value = value.clone()
        torch.distributed.all_reduce(value)
        value /= torch.distributed.get_world_size()
    return value
