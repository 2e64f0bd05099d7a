"""Checks that run before any environment is made, so failures are clear errors, never hangs or prompts.

* Rendering: a throw-away subprocess creates a SAPIEN render system with a timeout. A broken Vulkan
  set-up then fails there (or segfaults there) instead of in the caller's process.
* Assets: ManiSkill would prompt on stdin for a missing download; we look in its asset folder first.
* Packages and task ids: checked against the live registry, with the valid choices in the message.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from vlaser.config.sim import SuiteSpec
from vlaser.config.tasks import KNOWN_TASKS
from vlaser.errors import UserError

SETUP_FIX = "run `bash scripts/setup.sh` (it installs Mesa lavapipe via scripts/cpu-vulkan.sh)"
_PROBE = "import sapien, sapien.render; sapien.render.RenderSystem('cpu'); print('vlaser-render-ok')"
_PROBE_TIMEOUT_S = 120
_render_ok: bool = False

# What the SimplerEnv WidowX tasks of ManiSkill 3.0.1 open (vlaser.sim.assets installs the same lists)
BRIDGE_MODELS = ("bridge_carrot_generated_modified", "bridge_plate_objaverse_larger", "eggplant",
                 "dummy_sink_target_plane", "sink", "bridge_spoon_generated_modified",
                 "table_cloth_generated_shorter", "baked_green_cube_3cm", "baked_yellow_cube_3cm")
BRIDGE_FILES = ("custom/info_bridge_custom_v0.json", "custom/info_bridge_custom_baked_tex_v0.json",
                "real_inpainting/bridge_real_eval_1.png", "real_inpainting/bridge_sink.png")
BRIDGE_STAGES = ("bridge_table_1_v1.glb", "bridge_table_1_v2.glb")  # under stages/
WIDOWX_FILES = ("wx250s.urdf", "wx250s.srdf")
# files whose presence proves an asset is installed (an interrupted download leaves an empty folder, a
# hand-copied one may lack files)
_ASSET_MARKERS = {
    "bridge_v2_real2sim": (*BRIDGE_FILES, *(f"stages/{s}" for s in BRIDGE_STAGES),
                           *(f"custom/models/{m}/collision.obj" for m in BRIDGE_MODELS)),
    "widowx250s": WIDOWX_FILES,
}
# robots whose model is a separate download, by TaskSpec.robot
_ROBOT_ASSETS = {"widowx": "widowx250s"}  # the Google Robot comes with simpler_env (its own interpreter)
# target folders (ManiSkill's DATA_SOURCES) of the assets the suites name, so the check needs no
# ManiSkill import (seconds); other ids are looked up in DATA_SOURCES
_ASSET_PATHS = {"bridge_v2_real2sim": "tasks/bridge_v2_real2sim_dataset", "widowx250s": "robots/widowx",
                "googlerobot": "robots/googlerobot"}


def check_rendering() -> None:
    """Raise UserError unless SAPIEN can create a Vulkan render system (probed once per process)."""
    global _render_ok
    if _render_ok:
        return
    icd = os.environ.get("VK_ICD_FILENAMES")
    if icd and not all(Path(p).is_file() for p in icd.split(os.pathsep) if p):
        raise UserError(f"Vulkan rendering unavailable: VK_ICD_FILENAMES={icd} names a missing file; {SETUP_FIX}, "
                        "or point VK_ICD_FILENAMES at an existing ICD json (e.g. /opt/lavapipe-bpo/lvp_icd.json)")
    try:
        res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                             timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UserError(f"Vulkan rendering probe hung for {_PROBE_TIMEOUT_S} s; {SETUP_FIX}") from None
    if res.returncode != 0 or "vlaser-render-ok" not in res.stdout:
        lines = [ln for ln in (res.stderr or "").strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {res.returncode}"
        raise UserError(f"Vulkan rendering unavailable ({why}): SAPIEN needs a Vulkan driver with "
                        f"descriptorBindingPartiallyBound (Mesa >= 23 lavapipe on CPU); {SETUP_FIX} and make sure "
                        "VK_ICD_FILENAMES points at /opt/lavapipe-bpo/lvp_icd.json")
    _render_ok = True


def asset_dir() -> Path:
    """ManiSkill's asset folder, as ManiSkill 3 resolves it: ``$MS_ASSET_DIR/data`` (default ~/.maniskill/data)."""
    return Path(os.environ.get("MS_ASSET_DIR", Path.home() / ".maniskill")) / "data"


def _asset_target(uid: str) -> str:
    if uid in _ASSET_PATHS:
        return _ASSET_PATHS[uid]
    from mani_skill.utils.assets.data import DATA_SOURCES

    if uid not in DATA_SOURCES:
        raise UserError(f"unknown ManiSkill asset id {uid!r} in requires_assets (params.yaml sim.suites)")
    return DATA_SOURCES[uid].target_path


def missing_asset_files(uid: str) -> list[str]:
    """What is missing of asset ``uid``: [] when installed, else the missing marker files (or its folder)."""
    folder = asset_dir() / _asset_target(uid)
    markers = _ASSET_MARKERS.get(uid)
    if markers is not None:
        return [str(folder / m) for m in markers if not (folder / m).is_file()]
    return [] if folder.is_dir() and any(folder.iterdir()) else [str(folder)]


def suite_asset_gaps(suite: SuiteSpec) -> dict[str, list[str]]:
    """Each ManiSkill asset the suite needs (its own and its robots') -> the files missing ([] = installed)."""
    needed = list(suite.requires_assets) + sorted({_ROBOT_ASSETS[t.robot] for t in suite.tasks
                                                  if t.robot in _ROBOT_ASSETS})
    return {uid: missing_asset_files(uid) for uid in dict.fromkeys(needed)}


def check_suite(suite_name: str, suite: SuiteSpec) -> None:
    """Task ids are known, required packages import and assets are on disk; else UserError naming the fix.

    Cheap on purpose (no ManiSkill import): ``check_registered`` checks the live registry later.
    """
    for task in suite.tasks:
        if task.id not in KNOWN_TASKS:
            raise UserError(f"suite {suite_name!r}: unknown task id {task.id!r}; expected one of "
                            f"{', '.join(sorted(KNOWN_TASKS))}")
    # a suite with its own `python:` has the package there (vlaser.sim.remote_env.worker_python checks it)
    if suite.requires_package and not suite.python and importlib.util.find_spec(suite.requires_package) is None:
        raise UserError(f"suite {suite_name!r} needs the python package {suite.requires_package!r}, which is not "
                        f"installed (install SimplerEnv: pip install -e <SimplerEnv checkout>), or pick another "
                        "suite")
    gaps = suite_asset_gaps(suite)
    missing = [uid for uid, files in gaps.items() if files]
    if missing:
        cmds = "; ".join(f"python -m mani_skill.utils.download_asset {uid} -y" for uid in missing)
        first = [f"{uid}: {gaps[uid][0]}" + (f" (+{len(gaps[uid]) - 1} more)" if len(gaps[uid]) > 1 else "")
                 for uid in missing]
        raise UserError(f"suite {suite_name!r} needs ManiSkill asset(s) {', '.join(missing)}, not complete under "
                        f"{asset_dir()} (missing {'; '.join(first)}). Install with: {cmds}")


def check_registered(task_id: str) -> None:
    """UserError unless ManiSkill's live registry has ``task_id`` (imports ManiSkill's tasks)."""
    if task_id not in registered_tasks():
        raise UserError(f"ManiSkill has no task {task_id!r} (mani-skill version mismatch?)")


def registered_tasks() -> set[str]:
    import mani_skill.envs  # noqa: F401  (registers the tasks)
    from mani_skill.utils.registration import REGISTERED_ENVS

    return set(REGISTERED_ENVS)


def find_task(suite_name: str, suite: SuiteSpec, task_id: str):
    """The TaskSpec of ``task_id`` in the suite, or UserError listing the suite's tasks."""
    for task in suite.tasks:
        if task.id == task_id:
            return task
    ids = ", ".join(t.id for t in suite.tasks)
    raise UserError(f"task {task_id!r} is not in suite {suite_name!r} (tasks: {ids})")
