"""Worker that runs one SimplerEnv (ManiSkill2 / SAPIEN 2) task in its own interpreter.

SAPIEN 2 (under ``simpler_env``) and SAPIEN 3 (under ManiSkill 3) are the same ``sapien`` package, so
the Google Robot tasks run in a second Python (the one named by the suite's ``python:``), driven by
``vlaser.sim.remote_env.RemoteSimEnv`` over this process's stdin/stdout. This file imports nothing
from vlaser (that interpreter does not have it): only the standard library, numpy and simpler_env.

Protocol: each message is an 8-byte little-endian length, then a pickle. Requests are
``(command, kwargs)``; replies are ``("ok", value)`` or ``("error", "Type: message")``. Commands:
``make(task, kwargs)``, ``reset(seed)``, ``step(action)``, ``close()``. Observations are
``{"rgb", "tcp_pose", "gripper", "base_pose", "instruction", "success", "terminated"}``.
Anything the simulator prints goes to stderr, so stdout carries only the protocol.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import traceback


def _read(stream):
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


def _write(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=4)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


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
        import numpy as np

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
        msg = _read(proto_in)
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
                _write(proto_out, ("ok", None))
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as err:  # reported to the parent, which raises it with the worker's traceback
            traceback.print_exc(file=sys.stderr)
            _write(proto_out, ("error", f"{type(err).__name__}: {err}"))
            continue
        _write(proto_out, ("ok", reply))


if __name__ == "__main__":
    main()
