"""Image preprocessing for InternVL without torchvision (PIL + numpy).

One image becomes one or more square tiles of ``cfg.vision.image_size`` pixels, normalised with the
ImageNet mean and std, as float32 ``[tiles, 3, S, S]``. With ``cfg.dynamic_tiling`` the image is cut
as InternVL does: choose the grid (columns x rows, at most ``cfg.max_tiles`` tiles) whose aspect ratio
is closest to the image's (ties go to the larger grid when the image has the pixels for it), resize
to that grid, cut it into tiles, and append a thumbnail of the whole image when there is more than
one tile. Each tile becomes ``tokenizer.tokens_per_tile(cfg)`` image tokens in the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vlaser.errors import UserError

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def tile_grid(width: int, height: int, tile: int, max_tiles: int, min_tiles: int = 1) -> tuple[int, int]:
    """(columns, rows) of the tile grid whose aspect ratio is closest to ``width / height``."""
    aspect = width / height
    grids = sorted({(i, j) for n in range(min_tiles, max_tiles + 1) for i in range(1, n + 1)
                    for j in range(1, n + 1) if min_tiles <= i * j <= max_tiles}, key=lambda g: g[0] * g[1])
    best, best_diff = (1, 1), float("inf")
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and width * height > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)  # an equally good, larger grid when the image has the pixels for it
    return best


def to_tiles(image, tile: int, max_tiles: int, dynamic: bool):
    """Cut a PIL image into square tiles (list of PIL images)."""
    from PIL import Image

    if not dynamic or max_tiles == 1:
        return [image.resize((tile, tile), Image.BICUBIC)]
    cols, rows = tile_grid(image.width, image.height, tile, max_tiles)
    resized = image.resize((tile * cols, tile * rows), Image.BICUBIC)
    tiles = [resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile))
             for r in range(rows) for c in range(cols)]
    if len(tiles) > 1:
        tiles.append(image.resize((tile, tile), Image.BICUBIC))
    return tiles


def normalize_uint8(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[..., H, W, 3]`` -> float32 ``[..., 3, H, W]`` with ImageNet normalisation."""
    x = (rgb.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


class ImageProcessor:
    """PIL/numpy images -> ``pixel_values`` for ``InternVLForConditionalGeneration``.

    Args:
        cfg: ModelSection (``vision.image_size``, ``dynamic_tiling``, ``max_tiles``).
    """

    def __init__(self, cfg):
        self.size = cfg.vision.image_size
        self.dynamic = cfg.dynamic_tiling
        self.max_tiles = cfg.max_tiles

    def _load(self, image):
        from PIL import Image

        if isinstance(image, (str, Path)):
            try:
                with Image.open(image) as im:
                    return im.convert("RGB")
            except (OSError, ValueError) as err:
                raise UserError(f"{image}: cannot read image ({err})") from err
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(f"expected a uint8 [H, W, 3] array, got {image.dtype} {image.shape}")
            return Image.fromarray(image)
        return image.convert("RGB")

    def tiles(self, image) -> np.ndarray:
        """One image (path, PIL or uint8 array) -> float32 ``[tiles, 3, S, S]``."""
        pil = self._load(image)
        parts = to_tiles(pil, self.size, self.max_tiles, self.dynamic)
        return normalize_uint8(np.stack([np.asarray(p, dtype=np.uint8) for p in parts]))

    def __call__(self, images: Sequence) -> tuple:
        """Images -> (``pixel_values`` tensor ``[sum of tiles, 3, S, S]``, tiles per image)."""
        import torch

        arrays = [self.tiles(im) for im in images]
        if not arrays:
            return torch.zeros(0, 3, self.size, self.size), []
        return torch.from_numpy(np.concatenate(arrays)), [len(a) for a in arrays]

    def batch_uint8(self, rgb: np.ndarray):
        """Fast path for robot frames: uint8 ``[B, H, W, 3]`` -> ``[B, 3, S, S]`` (one tile each, no tiling)."""
        import torch

        if rgb.ndim != 4 or rgb.shape[-1] != 3:
            raise ValueError(f"expected uint8 [B, H, W, 3], got {rgb.shape}")
        if rgb.shape[1:3] != (self.size, self.size):
            from PIL import Image

            rgb = np.stack([np.asarray(Image.fromarray(f).resize((self.size, self.size), Image.BICUBIC))
                            for f in rgb])
        return torch.from_numpy(normalize_uint8(rgb))
