"""In-domain questions from one frame's ground truth (pure functions: FrameGT -> items).

Every answer is computed from privileged state: masks give boxes and points, world poses and the
camera give spatial relations, the simulator's flags give gripper state and success, the expert's
phase list gives the plan. A relation is asked only when it is clear (the two values differ by more
than a margin); otherwise the item is skipped and counted as ``ambiguous``, like items whose object
is hidden or has fewer than ``min_pixels`` visible pixels.

Conventions (docs/data.md): left/right compares the projected centres' image columns; above/below
compares world heights (z up); in front/behind compares depth along the camera's optical axis;
nearer/farther compares Euclidean distance to the camera centre; distances are between object
centres (metres). The first object of ``FrameGT.objects`` is the manipulated one, the second the target.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlaser.data import phrasings as P
from vlaser.data.geometry import mask_box, mask_points
from vlaser.data.records import format_box, format_points
from vlaser.sim.groundtruth import FrameGT

MARGIN_PX = 2.0  # left/right: projected centres must differ by this many pixels
MARGIN_M = 0.015  # above/below, front/behind, nearer/farther, gripper: metres of difference
BIN_EDGE_M = 0.005  # distance questions skipped within this many metres of a bin edge
N_POINTS = 3  # points per "points" item

# Phase name -> sub-goal text ({obj}: manipulated object, {target}: the second object or "goal").
SUBGOALS = {
    "reach": "move the gripper to the {obj}", "lower": "lower the gripper beside the {obj}",
    "push": "push the {obj} to the {target}", "pull": "pull the {obj} to the {target}",
    "descend": "lower the gripper onto the {obj}", "grasp": "grasp the {obj}", "lift": "lift the {obj}",
    "move": "move the {obj} to the {target}", "place": "place the {obj} on the {target}",
    "release": "release the {obj}", "retreat": "move the gripper away",
}


@dataclass
class Item:
    """One question/answer about a frame, with what scoring needs."""

    kind: str  # grounding | spatial | qa | planning
    qtype: str  # key of phrasings.TEMPLATES
    question: str
    answer: str
    eval: dict[str, Any]  # contract "eval" without the mask path
    mask: np.ndarray | None = None  # point items: the target's mask (saved as PNG for held-out)
    facts: dict[str, Any] = field(default_factory=dict)  # what the answer was computed from


class Context:
    """Per-frame helpers: a seeded rng, template choice, skip counter, visible objects."""

    def __init__(self, frame: FrameGT, rng: np.random.Generator, min_pixels: int, skipped: Counter):
        self.frame, self.rng, self.min_pixels, self.skipped = frame, rng, min_pixels, skipped

    def template(self, qtype: str) -> P.Template:
        ts = P.TEMPLATES[qtype]
        return ts[int(self.rng.integers(len(ts)))]

    def visible(self, kind: str) -> list[str]:
        """Names of objects with enough visible pixels; counts the others as skipped."""
        names = []
        for name, obj in self.frame.objects.items():
            if obj.pixels >= self.min_pixels:
                names.append(name)
            else:
                self.skipped[f"{kind}/{'hidden' if obj.pixels == 0 else 'too_small'}"] += 1
        return names


# ---------------------------------------------------------------------------------------- grounding
def grounding(ctx: Context) -> list[Item]:
    items = []
    for name in ctx.visible("grounding"):
        mask = ctx.frame.objects[name].mask
        box = mask_box(mask)
        items.append(Item("grounding", "box", ctx.template("box").text.format(obj=name),
                          format_box(box, ref=name), {"type": "box", "answer": format_box(box), "box": box}))
        qtype = "points" if ctx.rng.random() < 0.3 else "point"
        pts = mask_points(mask, N_POINTS if qtype == "points" else 1, ctx.rng)
        text = ctx.template(qtype).text.format(obj=name, k=len(pts))
        items.append(Item("grounding", qtype, text, format_points(pts),
                          {"type": "point", "answer": format_points(pts)}, mask=mask))
    return items


# ------------------------------------------------------------------------------------------ spatial
def relation_values(frame: FrameGT, a: str, b: str) -> dict[str, tuple[float, float]]:
    """(value, margin) per relation, positive value = ``a`` has the first relation word to ``b``."""
    pa, pb = frame.objects[a].position, frame.objects[b].position
    ua, ub = frame.project(pa)[0], frame.project(pb)[0]
    rot, t = frame.extrinsic[:, :3], frame.extrinsic[:, 3]
    cam = -rot.T @ t  # camera centre in world
    return {
        "left_right": (ub - ua, MARGIN_PX),
        "above_below": (float(pa[2] - pb[2]), MARGIN_M),
        "front_behind": (frame.camera_coords(pb)[2] - frame.camera_coords(pa)[2], MARGIN_M),
        "near_far": (float(np.linalg.norm(pb - cam) - np.linalg.norm(pa - cam)), MARGIN_M),
        "gripper_closer": (float(np.linalg.norm(pb - frame.tcp_position) - np.linalg.norm(pa - frame.tcp_position)),
                           MARGIN_M),
    }


def relation_item(tpl: P.Template, qtype: str, a: str, b: str, positive: bool, kind: str = "spatial") -> Item:
    """Phrase a two-object relation whose truth is ``positive`` (a <first word> b) with template ``tpl``."""
    pos, neg = P.RELATION_WORDS[qtype]
    holds = positive if tpl.polarity > 0 else not positive  # does the asked relation hold?
    if tpl.mode == "rel":
        answer, choices = (pos if positive else neg), [pos, neg]
    elif tpl.mode == "name":
        answer, choices = (a if holds else b), [a, b]
    else:
        answer, choices = ("yes" if holds else "no"), list(P.ANSWERS_YESNO)
    return Item(kind, qtype, tpl.text.format(a=a, b=b), answer,
                {"type": "choice", "answer": answer, "choices": choices},
                facts={"a": a, "b": b, "positive": positive, "mode": tpl.mode, "polarity": tpl.polarity})


def distance_item(ctx: Context, qtype: str, d: float, **names: str) -> Item | None:
    if any(abs(d - edge) < BIN_EDGE_M for edge, _ in P.DISTANCE_BINS):
        ctx.skipped["spatial/ambiguous"] += 1
        return None
    choices = [label for _, label in P.DISTANCE_BINS]
    answer = P.distance_bin(d)
    text = ctx.template(qtype).text.format(options=", ".join(choices), **names)
    return Item("spatial", qtype, text, answer, {"type": "choice", "answer": answer, "choices": choices},
                facts={"distance": d, **names})


def spatial(ctx: Context) -> list[Item]:
    frame, items = ctx.frame, []
    names = ctx.visible("spatial")
    for a, b in itertools.combinations(names, 2):
        if ctx.rng.random() < 0.5:
            a, b = b, a
        for qtype, (value, margin) in relation_values(frame, a, b).items():
            if abs(value) < margin:
                ctx.skipped["spatial/ambiguous"] += 1
                continue
            items.append(relation_item(ctx.template(qtype), qtype, a, b, value > 0))
        d = float(np.linalg.norm(frame.objects[a].position - frame.objects[b].position))
        if item := distance_item(ctx, "distance", d, a=a, b=b):
            items.append(item)
    for name in names:
        d = float(np.linalg.norm(frame.objects[name].position - frame.tcp_position))
        if item := distance_item(ctx, "distance_gripper", d, obj=name):
            items.append(item)
    return items


# --------------------------------------------------------------------------------------- general QA
def category(name: str) -> str:
    """The noun of an object name ("red cube" -> "cube", "goal region" -> "region")."""
    return name.split()[-1]


def _exact(qtype: str, text: str, answer: str, **facts: Any) -> Item:
    return Item("qa", qtype, text, answer, {"type": "exact", "answer": answer}, facts=facts)


def general_qa(ctx: Context) -> list[Item]:
    frame, items = ctx.frame, []
    names = ctx.visible("qa")
    if names:
        listed = ", ".join(sorted(names))
        items.append(_exact("objects", ctx.template("objects").text, listed, names=sorted(names)))
    cats = Counter(category(n) for n in names)
    for cat, n in sorted(cats.items()):
        partial = [o for o in frame.objects if category(o) == cat and 0 < frame.objects[o].pixels < ctx.min_pixels]
        if partial:  # a barely visible one makes the count ambiguous
            ctx.skipped["qa/ambiguous"] += 1
            continue
        items.append(_exact("count", ctx.template("count").text.format(cats=P.plural(cat)), str(n), category=cat))
    for name in names:
        color = frame.objects[name].color
        if color is None:
            ctx.skipped["qa/no_color"] += 1
            continue
        items.append(_exact("color", ctx.template("color").text.format(obj=name), color, obj=name))
    tpl = ctx.template("gripper")
    opened = frame.gripper_open
    if tpl.mode == "rel":
        answer, choices = ("open" if opened else "closed"), list(P.GRIPPER_WORDS)
    else:
        answer, choices = ("yes" if opened == (tpl.polarity > 0) else "no"), list(P.ANSWERS_YESNO)
    items.append(Item("qa", "gripper", tpl.text, answer, {"type": "choice", "answer": answer, "choices": choices},
                      facts={"gripper_open": opened}))
    done = "yes" if frame.success else "no"
    items.append(Item("qa", "done", ctx.template("done").text.format(instruction=frame.instruction), done,
                      {"type": "choice", "answer": done, "choices": list(P.ANSWERS_YESNO)},
                      facts={"success": frame.success}))
    return items


# ----------------------------------------------------------------------------------------- planning
def subgoals(frame: FrameGT) -> list[str]:
    """The expert's phases (consecutive repeats merged) as sub-goal sentences."""
    names = list(frame.objects)
    obj = names[0] if names else "object"
    target = names[1] if len(names) > 1 else "goal"
    steps: list[str] = []
    for phase in frame.phases:
        text = SUBGOALS.get(phase, phase.replace("_", " ")).format(obj=obj, target=target)
        if not steps or steps[-1] != text:
            steps.append(text)
    return steps


def planning(ctx: Context, whole_plan: bool) -> list[Item]:
    """``whole_plan``: also ask for the full plan (once per episode, on its first frame)."""
    frame, items = ctx.frame, []
    steps = subgoals(frame)
    if not steps:
        ctx.skipped["planning/no_phases"] += 1
        return items
    if whole_plan:
        answer = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        text = ctx.template("plan").text.format(instruction=frame.instruction)
        items.append(Item("planning", "plan", text, answer, {"type": "plan", "answer": answer, "steps": steps}))
    if frame.phase is None or frame.phase not in frame.phases:
        ctx.skipped["planning/no_phase"] += 1
        return items
    current = subgoals(FrameGT(**{**frame.__dict__, "phases": (frame.phase,)}))[0]
    at = steps.index(current)
    if at + 1 >= len(steps):
        ctx.skipped["planning/last_phase"] += 1
        return items
    text = ctx.template("next").text.format(instruction=frame.instruction)
    items.append(Item("planning", "next", text, steps[at + 1], {"type": "exact", "answer": steps[at + 1]},
                      facts={"phase": frame.phase}))
    return items


def frame_items(frame: FrameGT, kinds: list[str], rng: np.random.Generator, min_pixels: int,
                skipped: Counter, first_frame: bool) -> list[Item]:
    """All items of the requested kinds for one frame."""
    ctx = Context(frame, rng, min_pixels, skipped)
    out: list[Item] = []
    for kind in kinds:
        if kind == "grounding":
            out += grounding(ctx)
        elif kind == "spatial":
            out += spatial(ctx)
        elif kind == "qa":
            out += general_qa(ctx)
        elif kind == "planning":
            out += planning(ctx, whole_plan=first_frame)
    return out
