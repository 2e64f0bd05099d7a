"""Read LeRobot-layout (v2.x) datasets from disk into ``Episode``s, without the lerobot package.

Layout read::

    meta/info.json        fps, features {name: {dtype, shape}}, data_path / video_path templates, chunks_size
    meta/tasks.jsonl      {"task_index", "task"} (the instruction)
    meta/episodes.jsonl   {"episode_index", "tasks", "length"} (optional)
    data/chunk-XXX/episode_XXXXXX.parquet    one row per frame: observation.state, action, frame_index,
                                             task_index, and image columns for dtype "image"
    videos/chunk-XXX/<camera>/episode_XXXXXX.mp4   frames for dtype "video"

Image columns of dtype "image" hold {"bytes": PNG/JPEG, "path": ...} structs; "video" cameras are
decoded with imageio-ffmpeg and indexed by frame_index. Frames are resized (area) to ``image_size``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from vlaser.errors import UserError
from vlaser.sim.geometry import area_resize
from vlaser.sim.types import Episode

STATE_KEY = "observation.state"
ACTION_KEY = "action"


def read_info(root: Path) -> dict:
    path = Path(root) / "meta" / "info.json"
    if not path.is_file():
        raise UserError(f"{path}: missing; not a LeRobot-layout dataset (expected meta/info.json)")
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    for key in ("features", "data_path"):
        if key not in info:
            raise UserError(f"{path}: key {key!r} missing (LeRobot v2.x info.json expected)")
    return info


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{i}: invalid JSON ({err.msg})") from None
    return rows


def pick_camera(info: dict, camera: str | None) -> str:
    cams = [k for k, f in info["features"].items() if f.get("dtype") in ("image", "video")]
    if camera is None:
        if not cams:
            raise UserError("LeRobot dataset has no image or video feature (meta/info.json features)")
        return cams[0]
    key = camera if camera in info["features"] else f"observation.images.{camera}"
    if key not in cams:
        raise UserError(f"camera {camera!r} not among the dataset's image features: {', '.join(cams)}")
    return key


def read_lerobot(root: Path, camera: str | None = None, image_size: int | None = None,
                 episodes: list[int] | None = None) -> list[Episode]:
    """Episodes of a LeRobot v2.x dataset folder, in episode-index order.

    Args:
        root: dataset folder (holds meta/ and data/).
        camera: feature name or short camera name (default: the first image/video feature).
        image_size: square output size (default: keep the stored size).
        episodes: episode indices to read (default: all files under data/).
    """
    import pyarrow.parquet as pq

    root = Path(root)
    info = read_info(root)
    cam = pick_camera(info, camera)
    tasks = {int(t["task_index"]): t["task"] for t in _jsonl(root / "meta" / "tasks.jsonl")}
    files = sorted((root / "data").glob("chunk-*/episode_*.parquet"))
    if not files:
        raise UserError(f"{root / 'data'}: no chunk-*/episode_*.parquet files")
    out = []
    for f in files:
        index = int(f.stem.split("_")[-1])
        if episodes is not None and index not in episodes:
            continue
        table = pq.read_table(f).to_pydict()
        for key in (STATE_KEY, ACTION_KEY):
            if key not in table:
                raise UserError(f"{f}: column {key!r} missing")
        n = len(table[ACTION_KEY])
        frames = _frames(root, info, cam, table, index, n, f)
        if image_size is not None:
            frames = np.stack([_resize(fr, image_size) for fr in frames])
        task_index = int(table["task_index"][0]) if "task_index" in table else 0
        success = bool(table["next.success"][-1]) if "next.success" in table else True
        out.append(Episode(task_id=str(info.get("robot_type", "lerobot")), seed=index,
                           instruction=tasks.get(task_index, ""), rgb=frames,
                           proprio=np.asarray(table[STATE_KEY], dtype=np.float32),
                           actions=np.asarray(table[ACTION_KEY], dtype=np.float32), success=success,
                           phases=[""] * n))
    return out


def _frames(root: Path, info: dict, cam: str, table: dict, index: int, n: int, f: Path) -> np.ndarray:
    from PIL import Image

    if info["features"][cam]["dtype"] == "image":
        if cam not in table:
            raise UserError(f"{f}: image column {cam!r} missing")
        imgs = []
        for cell in table[cam]:
            data = cell.get("bytes") if isinstance(cell, dict) else cell
            src = io.BytesIO(data) if data else root / cell["path"]
            imgs.append(np.asarray(Image.open(src).convert("RGB")))
        return np.stack(imgs)
    return _video_frames(root, info, cam, table, index, n)


def _video_frames(root: Path, info: dict, cam: str, table: dict, index: int, n: int) -> np.ndarray:
    import imageio.v2 as imageio

    chunk = index // int(info.get("chunks_size", 1000))
    template = info.get("video_path")
    if not template:
        raise UserError(f"{root}/meta/info.json: camera {cam!r} is a video but video_path is missing")
    path = root / template.format(episode_chunk=chunk, video_key=cam, episode_index=index)
    if not path.is_file():
        raise UserError(f"{path}: video file missing")
    video = np.stack(list(imageio.mimread(path, memtest=False)))
    idx = np.asarray(table.get("frame_index", range(n)), dtype=int)
    if idx.max(initial=0) >= len(video):
        raise UserError(f"{path}: has {len(video)} frames, parquet asks for frame {idx.max()}")
    return video[idx]


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == img.shape[1]:
        return area_resize(img, size)
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BOX))
