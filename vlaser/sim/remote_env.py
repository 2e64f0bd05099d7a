"""A suite task run in a second Python interpreter (SimplerEnv's Google Robot tasks), behind SimEnv's interface.

``simpler_env`` drives ManiSkill2 on SAPIEN 2, which cannot be imported beside ManiSkill 3 (both are the
``sapien`` package). ``RemoteSimEnv`` starts ``vlaser/sim/simpler_worker.py`` with the suite's ``python:``
(made by ``scripts/simpler-env.sh``), sends it actions already converted to the robot's units
(``vlaser.sim.robots``) and turns its replies into the platform's ``Observation``s.

On Mesa lavapipe (the CPU Vulkan driver) SAPIEN 2's renderer asks for ``VK_KHR_external_semaphore_fd``,
which lavapipe lacks; ``scripts/simpler-env.sh`` builds a small Vulkan layer
(``vlaser/sim/vklayer/``) that reports the extension and drops it at device creation, and this module
enables it for the worker when it is there.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.errors import UserError
from vlaser.sim.geometry import area_resize
from vlaser.sim.robots import robot_spec
from vlaser.sim.types import Observation

WORKER = Path(__file__).with_name("simpler_worker.py")
LAYER_NAME = "VK_LAYER_VLASER_lavapipe_compat"
_START_TIMEOUT_S = 600  # the first make compiles shaders and loads meshes: minutes on 2 busy cores


def worker_python(suite_name: str, suite: SuiteSpec) -> Path:
    """The suite's second interpreter, checked to exist and to import ``requires_package``."""
    from vlaser.runtime import workspace_root

    if not suite.python:
        raise UserError(f"suite {suite_name!r} runs in a second Python that has {suite.requires_package!r}; set "
                        f"`python:` of the suite in params.yaml (scripts/simpler-env.sh makes .venv-simpler)")
    python = Path(suite.python)
    python = python if python.is_absolute() else workspace_root() / python
    if not python.is_file():
        raise UserError(f"suite {suite_name!r} needs a second Python with {suite.requires_package!r}: {python} "
                        "does not exist; run scripts/simpler-env.sh SIMPLERENV_CHECKOUT (see docs/sim.md)")
    why = _import_error(str(python), suite.requires_package) if suite.requires_package else None
    if why is not None:
        raise UserError(f"suite {suite_name!r}: {python} cannot import {suite.requires_package!r} ({why}); "
                        "run scripts/simpler-env.sh SIMPLERENV_CHECKOUT")
    return python


@functools.cache
def _import_error(python: str, package: str) -> str | None:
    """Why ``python`` cannot import ``package`` (None: it can); asked once per process, not once per task."""
    res = subprocess.run([python, "-c", f"import {package}"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=300)
    return None if res.returncode == 0 else (res.stderr.strip().splitlines() or ["?"])[-1]


def worker_env(python: Path) -> dict[str, str]:
    """The worker's environment: ours, plus the lavapipe compatibility layer when it was built."""
    env = dict(os.environ)
    layer_dir = python.parent.parent / "share" / "vlaser-vklayer"
    if (layer_dir / f"{LAYER_NAME}.json").is_file():
        env["VK_LAYER_PATH"] = str(layer_dir)
        layers = [x for x in env.get("VK_INSTANCE_LAYERS", "").split(":") if x]
        env["VK_INSTANCE_LAYERS"] = ":".join([LAYER_NAME, *[x for x in layers if x != LAYER_NAME]])
    return env


class RemoteSimEnv:
    """One SimplerEnv task in a worker process; same methods as ``vlaser.sim.envs.SimEnv``."""

    def __init__(self, suite_name: str, suite: SuiteSpec, task: TaskSpec, segmentation: bool = False,
                 render: bool = True) -> None:
        if segmentation:
            raise UserError(f"suite {suite_name!r}: ground-truth frames need a ManiSkill 3 suite (this one runs "
                            "through simpler_env)")
        from vlaser.sim.checks import check_suite

        check_suite(suite_name, suite)
        self.suite, self.task, self.render = suite, task, True  # the twins always render (green screen)
        self.robot = robot_spec(task.robot)
        python = worker_python(suite_name, suite)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the worker; closed in close())
        self.proc = subprocess.Popen([str(python), "-u", str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, env=worker_env(python))
        self._last: dict = {}
        self.info = self._call("make", task=task.id, kwargs={}, timeout=_START_TIMEOUT_S)

    # ------------------------------------------------------------------ protocol
    def _call(self, cmd: str, timeout: float = 300, **kwargs):
        import threading

        from vlaser.sim.simpler_worker import read_message, write_message

        timer = threading.Timer(timeout, self.proc.kill)  # a hung simulator must not hang the caller
        timer.start()
        try:
            write_message(self.proc.stdin, [cmd, kwargs])
            reply = read_message(self.proc.stdout)
            if reply is None:
                raise EOFError("worker exited" + (f" (killed after {timeout:.0f} s)" if not timer.is_alive() else ""))
            status, value = reply
        except (BrokenPipeError, EOFError) as err:
            raise UserError(f"simpler_env worker for {self.task.id} died during {cmd!r} ({err}); its log ends:\n"
                            f"{self._log_tail()}") from None
        finally:
            timer.cancel()
        if status != "ok":
            raise UserError(f"simpler_env worker, {self.task.id}, {cmd!r}: {value}\n{self._log_tail()}")
        return value

    def _log_tail(self, lines: int = 15) -> str:
        self._log.seek(0)
        return "\n".join(self._log.read().decode(errors="replace").strip().splitlines()[-lines:])

    # ------------------------------------------------------------------ SimEnv interface
    @property
    def action_dim(self) -> int:
        return 7

    def reset(self, seed: int) -> Observation:
        return self._observation(self._call("reset", seed=int(seed)))

    def step(self, action: np.ndarray):
        from vlaser.sim.envs import StepResult

        a = np.asarray(action, dtype=np.float32).reshape(-1)
        if a.shape[0] != self.action_dim:
            raise ValueError(f"{self.task.id}: action has {a.shape[0]} dims, expected {self.action_dim}")
        reply = self._call("step", action=self.robot.to_env(a).astype(np.float64))
        return StepResult(self._observation(reply), reply["success"], reply["terminated"])

    def _observation(self, reply: dict) -> Observation:
        self._last = reply
        return Observation(rgb=area_resize(reply["rgb"], self.suite.image_size), proprio=self.proprio(),
                           instruction=reply["instruction"] or self.task.instruction, task_id=self.task.id)

    def proprio(self) -> np.ndarray:
        return np.concatenate([self._last["tcp_pose"], self._last["gripper"]]).astype(np.float32)

    def base_pose(self) -> np.ndarray:
        return np.asarray(self._last["base_pose"], dtype=np.float32)

    def raw_rgb(self) -> np.ndarray:
        return self._last["rgb"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._call("close", timeout=60)
            finally:
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        self._log.close()
