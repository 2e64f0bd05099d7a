"""Worker that runs one SimplerEnv (ManiSkill2 / SAPIEN 2) task in its own interpreter.

SAPIEN 2 (under ``simpler_env``) and SAPIEN 3 (under ManiSkill 3) are the same ``sapien`` package, so
the Google Robot tasks run in a second Python (the one named by the suite's ``python:``), driven by
``vlaser.sim.remote_env.RemoteSimEnv`` over this process's stdin/stdout. This file imports nothing
from vlaser (that interpreter does not have it): only the standard library, numpy and simpler_env
(``RemoteSimEnv`` imports its message functions).

Protocol (no pickle: nothing executable crosses the pipe): each message is an 8-byte little-endian
length, a JSON header, then the raw bytes of the numpy arrays it names (``{"__array__": i}`` in the JSON
body, dtype and shape in the header; only plain numeric dtypes). Requests are ``[command, kwargs]``;
replies are ``["ok", value]`` or ``["error", "Type: message"]``. Commands:
``make(task, kwargs)``, ``reset(seed)``, ``step(action)``, ``close()``. Observations are
``{"rgb", "tcp_pose", "gripper", "base_pose", "instruction", "success", "terminated"}``.
Anything the simulator prints goes to stderr, so stdout carries only the protocol.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import traceback

import numpy as np

DTYPES = {"|u1", "|b1", "<f4", "<f8", "<i4", "<i8"}  # what an array in a message may be


def _encode(obj, arrays: list):
    if isinstance(obj, np.ndarray):
        arrays.append(np.ascontiguousarray(obj))
        return {"__array__": len(arrays) - 1}
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode(obj, arrays: list):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def write_message(stream, obj) -> None:
    arrays: list = []
    body = _encode(obj, arrays)
    header = json.dumps({"body": body, "arrays": [[a.dtype.str, list(a.shape)] for a in arrays]}).encode()
    stream.write(struct.pack("<Q", len(header)) + header + b"".join(a.tobytes() for a in arrays))
    stream.flush()


def read_message(stream):
    """The next message, or None at end of stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    header = json.loads(stream.read(struct.unpack("<Q", head)[0]))
    arrays = []
    for dtype, shape in header["arrays"]:
        if dtype not in DTYPES:
            raise ValueError(f"array dtype {dtype!r} not allowed in a worker message")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        arrays.append(np.frombuffer(stream.read(size), dtype=dtype).reshape(shape).copy())
    return _decode(header["body"], arrays)


class Task:
    def __init__(self, task: str, kwargs: dict) -> None:
        import simpler_env
        from simpler_env.utils.env.observation_utils import get_image_from_maniskill2_obs_dict

        self.env = simpler_env.make(task, **kwargs)
        self.image = get_image_from_maniskill2_obs_dict
        robot = self.env.unwrapped.agent.robot
        names = [j.get_name() for j in robot.get_active_joints()]
        self.fingers = [i for i, n in enumerate(names) if "finger" in n]

    def observe(self, obs, info: dict, terminated: bool = False) -> dict:
        qpos = obs["agent"]["qpos"]
        return {"rgb": np.asarray(self.image(self.env, obs), dtype=np.uint8),
                "tcp_pose": np.asarray(obs["extra"]["tcp_pose"], dtype=np.float32),
                "gripper": np.asarray([qpos[i] for i in self.fingers], dtype=np.float32),
                "base_pose": np.asarray(obs["agent"]["base_pose"], dtype=np.float32),
                "instruction": self.env.unwrapped.get_language_instruction(),
                "success": bool(info.get("success", False)), "terminated": bool(terminated)}

    def reset(self, seed: int) -> dict:
        obs, info = self.env.reset(seed=int(seed))
        return self.observe(obs, info)

    def step(self, action) -> dict:
        obs, _, terminated, _, info = self.env.step(action)
        return self.observe(obs, info, terminated)


def main() -> None:
    proto_in, proto_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the simulator's prints go to stderr from now on
    sys.stdout = sys.stderr
    task = None
    while True:
        msg = read_message(proto_in)
        if msg is None:
            break
        cmd, kwargs = msg
        try:
            if cmd == "make":
                task = Task(kwargs["task"], kwargs.get("kwargs", {}))
                reply = {"sapien": __import__("sapien").__version__}
            elif cmd == "reset":
                reply = task.reset(kwargs["seed"])
            elif cmd == "step":
                reply = task.step(kwargs["action"])
            elif cmd == "close":
                if task is not None:
                    task.env.close()
                write_message(proto_out, ["ok", None])
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as err:  # reported to the parent, which raises it with the worker's traceback
            traceback.print_exc(file=sys.stderr)
            write_message(proto_out, ["error", f"{type(err).__name__}: {err}"])
            continue
        write_message(proto_out, ["ok", reply])


if __name__ == "__main__":
    main()
