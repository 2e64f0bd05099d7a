"""Procedural out-of-domain scenes: flat 2-D shapes on patterned backgrounds, unlike the robot camera.

A scene is drawn from its own seed; every answer comes from the generator's own masks (which the
drawing uses too), so boxes, points, counts and left/right/above/below are exact by construction.
Shapes never overlap (rejection sampling with a gap), so each mask is fully visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlaser.data import phrasings as P
from vlaser.data.geometry import mask_box, mask_points
from vlaser.data.questions import Item, relation_item
from vlaser.data.records import format_box, format_points

COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 230), "yellow": (240, 220, 40),
           "purple": (150, 60, 200), "orange": (250, 140, 20), "white": (250, 250, 250), "black": (15, 15, 15)}
SHAPES = ("circle", "square", "triangle", "ring", "cross", "diamond")
BACKGROUNDS = ("stripes", "checker", "gradient", "noise", "dots", "plain")
MARGIN_PX = 2.0


@dataclass(frozen=True)
class Shape:
    name: str  # "red circle"
    shape: str
    colour: str
    mask: np.ndarray  # bool [S, S]
    centre: tuple[float, float]  # (x, y) pixels


def shape_mask(kind: str, cx: float, cy: float, r: float, size: int) -> np.ndarray:
    """Pixel-centre rasterisation of one shape of radius ``r`` centred at (cx, cy)."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    dx, dy = x - cx, y - cy
    if kind == "circle":
        return dx**2 + dy**2 <= r**2
    if kind == "square":
        return (np.abs(dx) <= r * 0.8) & (np.abs(dy) <= r * 0.8)
    if kind == "ring":
        d2 = dx**2 + dy**2
        return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    if kind == "cross":
        w = r * 0.35
        return ((np.abs(dx) <= w) & (np.abs(dy) <= r)) | ((np.abs(dy) <= w) & (np.abs(dx) <= r))
    if kind == "diamond":
        return np.abs(dx) + np.abs(dy) <= r
    # triangle pointing up: inside the three half-planes
    return (dy <= r * 0.7) & (dy >= -r + 1.7 * np.abs(dx))


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A patterned background in muted tones (kept apart from the named shape colours)."""
    c1, c2 = rng.integers(90, 170, size=(2, 3))
    y, x = np.mgrid[0:size, 0:size]
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    period = int(rng.integers(4, 12))
    if kind == "stripes":
        ang = rng.uniform(0, np.pi)
        sel = ((x * np.cos(ang) + y * np.sin(ang)) // period) % 2 == 0
    elif kind == "checker":
        sel = ((x // period) + (y // period)) % 2 == 0
    elif kind == "dots":
        sel = ((x % period) - period / 2) ** 2 + ((y % period) - period / 2) ** 2 < (period / 4) ** 2
    elif kind == "noise":
        sel = rng.random((size, size)) < 0.5
    else:
        sel = np.zeros((size, size), bool)
    img = np.where(sel[..., None], c1, c2).astype(np.float64)
    if kind == "gradient":
        t = (x / size)[..., None]
        img = (1 - t) * c1 + t * c2
    return img.clip(0, 255).astype(np.uint8)


def draw_scene(seed: int, size: int) -> tuple[np.ndarray, list[Shape]]:
    """A seeded scene of 2-5 non-overlapping shapes with unique colour+shape names."""
    rng = np.random.default_rng(seed)
    img = background(rng, size)
    shapes: list[Shape] = []
    placed: list[tuple[float, float, float]] = []
    target = int(rng.integers(2, 6))
    for _ in range(200):
        if len(shapes) == target:
            break
        r = rng.uniform(0.08, 0.17) * size
        cx, cy = rng.uniform(r + 1, size - r - 1, size=2)
        kind, colour = SHAPES[int(rng.integers(len(SHAPES)))], list(COLOURS)[int(rng.integers(len(COLOURS)))]
        name = f"{colour} {kind}"
        if any(s.name == name for s in shapes) or any((cx - px) ** 2 + (cy - py) ** 2 < (r + pr + 2) ** 2
                                                        for px, py, pr in placed):
            continue
        mask = shape_mask(kind, cx, cy, r, size)
        if mask.sum() < 6:
            continue
        rgb = np.array(COLOURS[colour], np.float64)
        if rng.random() < 0.4:  # a texture: stripes of a darker shade of the same colour
            stripe = ((np.mgrid[0:size, 0:size][1] // 2) % 2 == 0)[..., None]
            img[mask] = np.where(stripe, rgb * 0.7, rgb)[mask].astype(np.uint8)
        else:
            img[mask] = rgb.astype(np.uint8)
        ys, xs = np.nonzero(mask)
        shapes.append(Shape(name, kind, colour, mask, (float(xs.mean() + 0.5), float(ys.mean() + 0.5))))
        placed.append((cx, cy, r))
    return img, shapes


def scene_items(shapes: list[Shape], rng: np.random.Generator) -> list[Item]:
    """Every question the scene supports (grounding, counting, image-plane spatial)."""
    items: list[Item] = []

    def pick(qtype: str) -> P.Template:
        ts = P.TEMPLATES[qtype]
        return ts[int(rng.integers(len(ts)))]

    for s in shapes:
        box = mask_box(s.mask)
        items.append(Item("ood", "box", pick("box").text.format(obj=s.name), format_box(box, ref=s.name),
                          {"type": "box", "answer": format_box(box), "box": box}))
        pts = mask_points(s.mask, 1, rng)
        items.append(Item("ood", "point", pick("point").text.format(obj=s.name), format_points(pts),
                          {"type": "point", "answer": format_points(pts)}, mask=s.mask))
    for cat in sorted({s.shape for s in shapes} | {"shape"}):
        n = len(shapes) if cat == "shape" else sum(s.shape == cat for s in shapes)
        items.append(Item("ood", "count", pick("count").text.format(cats=P.plural(cat)), str(n),
                          {"type": "exact", "answer": str(n)}))
    for i, a in enumerate(shapes):
        for b in shapes[i + 1:]:
            for qtype, value in (("left_right", b.centre[0] - a.centre[0]),
                                 ("image_above_below", b.centre[1] - a.centre[1])):
                if abs(value) >= MARGIN_PX:
                    items.append(relation_item(pick(qtype), qtype, a.name, b.name, value > 0, kind="ood"))
    return items
