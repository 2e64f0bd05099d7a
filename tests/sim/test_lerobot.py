"""LeRobot v2.x layout reader on a tiny dataset written here (image and video cameras)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vlaser.errors import UserError
from vlaser.sim.lerobot import read_lerobot

H = 32


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _write_dataset(root: Path, video: bool) -> list[np.ndarray]:
    """Two episodes (lengths 3 and 5) of 32x32 frames whose colour encodes (episode, frame)."""
    cam = "observation.images.front"
    feats = {"observation.state": {"dtype": "float32", "shape": [4]}, "action": {"dtype": "float32", "shape": [2]},
             cam: {"dtype": "video" if video else "image", "shape": [H, H, 3]}}
    info = {"codebase_version": "v2.1", "robot_type": "so100", "fps": 10, "chunks_size": 1000, "features": feats,
            "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
            "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"}
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(info))
    (root / "meta" / "tasks.jsonl").write_text('{"task_index": 0, "task": "pick the block"}\n'
                                               '{"task_index": 1, "task": "open the drawer"}\n')
    all_frames = []
    for ep, length in enumerate((3, 5)):
        frames = np.stack([np.full((H, H, 3), (40 * ep + 30 * t, 200 - 30 * t, 90), np.uint8) for t in range(length)])
        all_frames.append(frames)
        cols = {"observation.state": [[ep, t, 0.5, -0.5] for t in range(length)],
                "action": [[t * 0.1, -t * 0.1] for t in range(length)],
                "frame_index": list(range(length)), "episode_index": [ep] * length, "task_index": [ep] * length}
        if video:
            import imageio.v2 as imageio

            vpath = root / "videos" / "chunk-000" / cam / f"episode_{ep:06d}.mp4"
            vpath.parent.mkdir(parents=True, exist_ok=True)
            imageio.mimwrite(vpath, list(frames), fps=10, codec="libx264", quality=10, macro_block_size=1)
        else:
            cols[cam] = [{"bytes": _png(fr), "path": None} for fr in frames]
        dpath = root / "data" / "chunk-000" / f"episode_{ep:06d}.parquet"
        dpath.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(cols), dpath)
    return all_frames


@pytest.mark.parametrize("video", [False, True])
def test_reads_episodes(tmp_path, video):
    frames = _write_dataset(tmp_path, video)
    eps = read_lerobot(tmp_path)
    assert [e.seed for e in eps] == [0, 1] and [e.instruction for e in eps] == ["pick the block", "open the drawer"]
    for ep, want in zip(eps, frames, strict=True):
        assert ep.rgb.shape == want.shape and ep.rgb.dtype == np.uint8
        assert ep.proprio.shape == (len(want), 4) and ep.actions.shape == (len(want), 2)
        assert ep.proprio.dtype == np.float32 and ep.success and len(ep.phases) == len(want)
        tol = 12 if video else 0  # h264 is lossy
        assert np.abs(ep.rgb.astype(int) - want.astype(int)).max() <= tol
    np.testing.assert_allclose(eps[1].actions[:, 0], [0, 0.1, 0.2, 0.3, 0.4], atol=1e-6)
    small = read_lerobot(tmp_path, camera="front", image_size=16, episodes=[1])
    assert len(small) == 1 and small[0].rgb.shape == (5, 16, 16, 3)


def test_bad_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="info.json"):
        read_lerobot(tmp_path)
    _write_dataset(tmp_path, video=False)
    with pytest.raises(UserError, match="wrist"):
        read_lerobot(tmp_path, camera="wrist")
