"""Install the SimplerEnv WidowX assets from git checkouts, for machines that cannot reach ManiSkill's hosts.

With internet, ``python -m mani_skill.utils.download_asset bridge_v2_real2sim -y`` (and ``widowx250s``) is
the way. Offline, copy two git checkouts over instead and lay them out as ManiSkill expects:

* ``haosulab/ManiSkill-WidowX250S`` (tag v0.2.0, what ManiSkill 3.0.1 downloads) -> ``robots/widowx``;
* ``simpler-env/ManiSkill2_real2sim``, whose ``data/`` holds the same Bridge scene files (object models,
  model info json, the green-screen photos, the table stages) -> ``tasks/bridge_v2_real2sim_dataset``.

Only the files the four WidowX tasks open are copied. A checkout that lacks some (e.g. a snapshot
without its large files) is an error naming them, unless ``stand_in_missing`` is set: then each
missing table stage becomes a flat slab at the table's height and a missing visual mesh becomes the
collision mesh, all listed in ``STAND-INS.txt``. The green screen hides the stage, so images match; the
physics of the table top is the slab's. Stand-ins are for wiring checks, not for published numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vlaser.errors import UserError
from vlaser.io import atomic_dir
from vlaser.sim.checks import BRIDGE_FILES, BRIDGE_MODELS, BRIDGE_STAGES, WIDOWX_FILES, asset_dir

VISUAL_NAMES = ("textured.obj", "textured.dae", "textured.glb")  # a model's visual mesh, in loading order

# Stage stand-ins, as world-frame boxes (centre, extents). A stage file is y-up and placed with an x-axis
# quarter turn, then at minus the scene offset (ManiSkill 3.0.1 bridge_dataset_eval/base_env.py;
# ManiSkill2_real2sim custom_scenes/base_env.py), so the box is written in the file's own frame.
# Bridge: a slab under the WidowX and its objects, top at 0.87 m (objects spawn at 0.869-0.888).
# Google: SimplerEnv's own "dummy_tabletop" table (0.63 x 0.615 m, in front of the robot), top at the
# scene's table height, 0.87 m.
STAGE_BOXES = {
    "bridge_table_1_v1.glb": ((2.0634, 2.8313, 0.0), (0.3, 0.0, 0.82), (2.0, 2.0, 0.1)),
    "bridge_table_1_v2.glb": ((2.0634, 2.8313, 0.0), (0.3, 0.0, 0.82), (2.0, 2.0, 0.1)),
    "google_pick_coke_can_1_v4.glb": ((1.6616, 3.0337, 0.0), (-0.295, 0.21, 0.4435), (0.63, 0.615, 0.853)),
}
GOOGLE_STAGES = ("google_pick_coke_can_1_v4.glb",)


def install_bridge_from_git(real2sim: Path, widowx: Path, stand_in_missing: bool = False,
                            target: Path | None = None) -> dict:
    """Copy the WidowX robot and the Bridge scene files into ManiSkill's asset folder; returns a summary."""
    target = target or asset_dir()
    data = real2sim / "data"
    if not (data / "custom").is_dir():
        raise UserError(f"--real2sim {real2sim}: no data/custom folder; expected a checkout of "
                        "simpler-env/ManiSkill2_real2sim")
    if not all((widowx / f).is_file() for f in WIDOWX_FILES):
        raise UserError(f"--widowx {widowx}: no {' / '.join(WIDOWX_FILES)}; expected a checkout of haosulab/ManiSkill-WidowX250S")

    copies: list[tuple[Path, str]] = [(data / f, f) for f in BRIDGE_FILES]
    # ManiSkill 3 keeps the stages under stages/, ManiSkill2_real2sim under hab2_bench_assets/stages/
    copies += [(data / "hab2_bench_assets" / "stages" / s, f"stages/{s}") for s in BRIDGE_STAGES]
    for model in BRIDGE_MODELS:
        folder = data / "custom" / "models" / model
        if not folder.is_dir():
            copies.append((folder, f"custom/models/{model}"))
            continue
        copies += [(p, f"custom/models/{model}/{p.name}") for p in sorted(folder.iterdir()) if p.is_file()]
    missing = [rel for src, rel in copies if not src.is_file()]
    missing += [f"custom/models/{m}/textured.*" for m in BRIDGE_MODELS
                if (data / "custom" / "models" / m).is_dir()
                and not any((data / "custom" / "models" / m / v).is_file() for v in VISUAL_NAMES)]
    stand_ins = [rel for rel in missing if rel.startswith("stages/") or rel.endswith("/textured.*")]
    fatal = [rel for rel in missing if rel not in stand_ins or not stand_in_missing]
    if fatal:
        raise UserError(f"--real2sim {real2sim}: missing {', '.join(fatal)} (a snapshot without its large files?); "
                        "use a full git clone, or --stand-in-missing for the stages and visual meshes")

    # each is built beside its target and swapped in: an interrupted copy never looks installed
    with atomic_dir(target / "robots" / "widowx") as tmp:
        shutil.copytree(widowx, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    with atomic_dir(target / "tasks" / "bridge_v2_real2sim_dataset") as tmp:
        _copy_bridge(copies, missing, tmp)
    return {"target": str(target), "bridge_files": sum(1 for _, r in copies if r not in missing),
            "stand_ins": stand_ins}


def _copy_bridge(copies: list[tuple[Path, str]], missing: list[str], dst: Path) -> None:
    for src, rel in copies:
        if rel in missing:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst / rel)
    made = []
    for rel in missing:
        if rel.startswith("stages/"):
            write_stage_box(dst / rel)
        else:  # custom/models/<m>/textured.*
            rel = str(_visual_from_collision((dst / rel).parent).relative_to(dst))
        made.append(rel)
    _label_stand_ins(dst, made)


def _visual_from_collision(model: Path) -> Path:
    """The stand-in of a model's missing visual mesh: its collision mesh, untextured."""
    shutil.copyfile(model / "collision.obj", model / "textured.obj")
    return model / "textured.obj"


def _label_stand_ins(folder: Path, made: list[str]) -> None:
    """List the stand-ins (relative paths) in ``folder/STAND-INS.txt``, keeping those listed before."""
    if not made:
        return
    label = folder / "STAND-INS.txt"
    old = label.read_text().splitlines()[1:-1] if label.is_file() else []
    lines = sorted({*(x.strip() for x in old), *made})
    label.write_text("Stand-ins written by vlaser (vlaser/sim/assets.py) for files the source checkout lacked:\n"
                     + "".join(f"  {m}\n" for m in lines)
                     + "Images are unaffected where the green screen hides them; do not publish numbers from these.\n")


def write_stage_box(path: Path) -> None:
    """The stand-in of stage ``path.name`` (STAGE_BOXES), in the stage file's own (y-up) frame."""
    import numpy as np
    import trimesh

    offset, centre, extents = STAGE_BOXES[path.name]
    path.parent.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box(extents=list(extents))
    box.apply_translation(list(centre))
    quarter_turn = trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3]
    local = (box.vertices - np.asarray(offset)) @ quarter_turn  # R^T (world - offset), row vectors
    trimesh.Trimesh(local, box.faces).export(path)


def stand_in_real2sim(real2sim: Path) -> list[str]:
    """Fill a ManiSkill2_real2sim checkout's gaps for the Google Robot tasks, in place; returns what was made.

    The Google scene stage becomes SimplerEnv's box table and every object model without a visual mesh gets
    its collision mesh as one; all listed in ``data/STAND-INS.txt``. Files that exist are never touched.
    """
    data = real2sim / "data"
    if not (data / "custom" / "models").is_dir():
        raise UserError(f"--real2sim {real2sim}: no data/custom/models; expected a checkout of "
                        "simpler-env/ManiSkill2_real2sim")
    made = []
    for stage in GOOGLE_STAGES:
        path = data / "hab2_bench_assets" / "stages" / stage
        if not path.is_file():
            write_stage_box(path)
            made.append(str(path.relative_to(data)))
    for folder in sorted(p for p in (data / "custom" / "models").iterdir() if p.is_dir()):
        if (folder / "collision.obj").is_file() and not any((folder / v).is_file() for v in VISUAL_NAMES):
            made.append(str(_visual_from_collision(folder).relative_to(data)))
    _label_stand_ins(data, made)
    return made
