"""Scoring one model answer against one reference: pure functions, no I/O.

Every scorer returns a ``Score(value, parsed)``: ``value`` in [0, 1] (1 = fully right) and ``parsed``
False when nothing usable could be read from the answer. Unparseable answers score 0 and are counted
as parse failures by the caller.

Metrics (docs/reasoning.md has the conventions and the sources they follow):

- point-in-mask (Where2Place): all predicted points are scored; the item's score is the fraction of
  them that land inside the mask, as in RoboPoint's ``robopoint/eval/summarize_vqa.py``. Points outside
  the image count as outside. Soft (JPEG) masks contribute their value in [0, 1], as there.
- box: the first predicted box is correct when its IoU with the reference box is >= 0.5.
- exact: normalised prediction == normalised answer.
- choice: the prediction is mapped to one of the choices (by text or by option letter).
- plan: fraction of the reference steps matched, in order (longest common subsequence).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vlaser.data.records import COORD_MAX, parse_boxes, parse_points

IOU_THRESHOLD = 0.5
ARTICLES = frozenset({"a", "an", "the"})
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
NUMBER_WORDS = {w: str(i) for i, w in enumerate(_WORDS)}
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


@dataclass(frozen=True)
class Score:
    value: float  # in [0, 1]
    parsed: bool  # False: nothing usable in the answer (counted as a parse failure, value 0)


FAILED = Score(0.0, False)


# ---------------------------------------------------------------------------------------- parsing
# Where2Place's own answer format: tuples "(x, y)" (floats in [0, 1] or integer pixels), or 4-tuples
_TUPLE = re.compile(r"\(([-+]?\d+\.?\d*(?:,\s*[-+]?\d+\.?\d*)*?)\)")


def answer_points_px(text: str, width: int, height: int) -> np.ndarray | None:
    """All points an answer names, in (possibly out-of-image) integer pixels [N, 2] (x, y); None if none.

    The project's ``<point>`` tags (0..1000 units) come first; failing those, Where2Place's own tuple
    format as its official ``text2pts`` reads it: ``(x, y)`` with floats = fractions of the image and
    integers = pixels, and ``(x0, y0, x1, y1)`` = every pixel of that box.
    """
    pts = parse_points(text)  # the project's one parser (vlaser.data.records)
    if pts:
        arr = np.asarray(pts, dtype=float)
        # 0..1000 -> pixel index; 1000 is the far edge, so it maps onto the last pixel
        x = np.where(arr[:, 0] == COORD_MAX, width - 1, np.floor(arr[:, 0] * width / COORD_MAX))
        y = np.where(arr[:, 1] == COORD_MAX, height - 1, np.floor(arr[:, 1] * height / COORD_MAX))
        return np.stack([x, y], axis=1).astype(np.int64)
    out: list[tuple[int, int]] = []
    for match in _TUPLE.findall(text):
        raw = [s.strip() for s in match.split(",")]
        frac = any("." in s for s in raw)
        vals = [float(s) for s in raw]
        if len(vals) == 2:
            x, y = vals
            out.append((int(x * width), int(y * height)) if frac else (int(x), int(y)))
        elif len(vals) == 4:
            x0, y0, x1, y1 = vals
            if frac:
                x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
            # clipped to the image, as text2pts' mask[y0:y1, x0:x1] is (a huge box must not allocate)
            ys, xs = np.mgrid[min(max(int(y0), 0), height):min(max(int(y1), 0), height),
                              min(max(int(x0), 0), width):min(max(int(x1), 0), width)]
            out.extend(zip(xs.ravel().tolist(), ys.ravel().tolist(), strict=True))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2) if out else None


# ----------------------------------------------------------------------------------------- points
def points_in_mask(points_px: np.ndarray, mask: np.ndarray) -> float:
    """Mean mask value at the points (Where2Place): points outside the image count 0.

    Args:
        points_px: int [N, 2] (x, y) pixels, N >= 1.
        mask: float [H, W] in [0, 1] (1 = a right place).
    """
    h, w = mask.shape[:2]
    x, y = points_px[:, 0], points_px[:, 1]
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    vals = np.zeros(len(points_px), dtype=float)
    vals[inside] = mask[y[inside], x[inside]]
    return float(vals.mean())


def score_point(prediction: str, mask: np.ndarray) -> Score:
    """Where2Place point-in-mask accuracy of one answer (all its points) against a [H, W] mask."""
    pts = answer_points_px(prediction, mask.shape[1], mask.shape[0])
    if pts is None or len(pts) == 0:
        return FAILED
    return Score(points_in_mask(pts, mask), True)


# ------------------------------------------------------------------------------------------ boxes
def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two [x1, y1, x2, y2] boxes (corner order normalised; 0 for empty boxes)."""
    ax1, ax2 = sorted((a[0], a[2]))
    ay1, ay2 = sorted((a[1], a[3]))
    bx1, bx2 = sorted((b[0], b[2]))
    by1, by2 = sorted((b[1], b[3]))
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def score_box(prediction: str, box: Sequence[float], threshold: float = IOU_THRESHOLD) -> Score:
    """1 when the answer's first box overlaps ``box`` (both in [0, 1000]) with IoU >= threshold."""
    boxes = parse_boxes(prediction)  # the project's one parser (vlaser.data.records)
    if not boxes:
        return FAILED
    return Score(float(box_iou(boxes[0], box) >= threshold), True)


# ---------------------------------------------------------------------------------------- answers
def normalize_answer(text: str) -> str:
    """Lower case, punctuation to spaces, articles dropped, number words as digits, single spaces.

    An answer that is only an article ("a", as an option letter) keeps it rather than vanishing.
    """
    tokens = text.lower().translate(_PUNCT).split()
    tokens = [NUMBER_WORDS.get(t, t) for t in tokens]
    kept = [t for t in tokens if t not in ARTICLES]
    return " ".join(kept or tokens)


def score_exact(prediction: str, answer: str) -> Score:
    """Exact match after ``normalize_answer``; an empty answer is a parse failure."""
    pred = normalize_answer(prediction)
    if not pred:
        return FAILED
    return Score(float(pred == normalize_answer(answer)), True)


_LETTER_ONLY = re.compile(r"^\(?([A-Za-z])\)?[.):]?$")
_LETTER_LEAD = re.compile(r"^\(?([A-Z])[.):]\s")  # "A. the red cube", "(B) blue" (upper case only)
# "the answer is C", "Answer: (b)"; a bare lower-case letter here is an article ("the answer is a cube")
_LETTER_SAID = re.compile(r"\b(?i:answer)(?:\s+is)?\s*:?\s*(?:\(([A-Za-z])\)|([A-Z])\b)")


def _letter_index(prediction: str, n: int) -> int | None:
    text = prediction.strip()
    for pattern in (_LETTER_ONLY, _LETTER_LEAD, _LETTER_SAID):
        m = pattern.search(text)
        if m:
            letter = next(g for g in m.groups() if g)
            idx = ord(letter.upper()) - ord("A")
            return idx if 0 <= idx < n else None
    return None


def parse_choice(prediction: str, choices: Sequence[str]) -> int | None:
    """Index of the choice an answer picks, or None.

    In order: the whole answer equals a choice (normalised); an option letter ("A", "(a)", "B.",
    "the answer is C"); exactly one choice appears in the answer as whole words.
    """
    norm = [normalize_answer(c) for c in choices]
    pred = normalize_answer(prediction)
    if pred and pred in norm:
        return norm.index(pred)
    idx = _letter_index(prediction, len(choices))
    if idx is not None:
        return idx
    padded = f" {pred} "
    hits = [i for i, c in enumerate(norm) if c and f" {c} " in padded]
    return hits[0] if len(hits) == 1 else None


def answer_index(answer: str, choices: Sequence[str]) -> int:
    """Index of the reference answer among ``choices`` (by text, else by option letter)."""
    idx = parse_choice(answer, choices)
    if idx is None:
        raise ValueError(f"reference answer {answer!r} is none of the choices {list(choices)}")
    return idx


def score_choice(prediction: str, choices: Sequence[str], answer: str) -> Score:
    """Multiple-choice accuracy: 1 when the answer picks the reference choice."""
    picked = parse_choice(prediction, choices)
    if picked is None:
        return FAILED
    return Score(float(picked == answer_index(answer, choices)), True)


def chance_level(choice_counts: Sequence[int]) -> float:
    """Expected accuracy of uniform guessing over items with these numbers of choices."""
    if not choice_counts:
        raise ValueError("no items")
    return float(np.mean([1.0 / k for k in choice_counts]))


# ------------------------------------------------------------------------------------------ plans
_STEP_NUMBER = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):]\s*|^\s*[-*•]\s*", re.I)
_INLINE_NUMBER = re.compile(r"(?:^|\s)(?:step\s*)?\d+\s*[.)]\s+", re.I)


def parse_steps(text: str) -> list[str]:
    """Steps of a plan: one per line, or per ';', or per inline number ("1. a 2. b"); normalised."""
    parts = [p for line in text.splitlines() for p in line.split(";")]
    if len(parts) == 1 and len(_INLINE_NUMBER.findall(parts[0])) > 1:
        parts = _INLINE_NUMBER.split(parts[0])
    steps = [normalize_answer(_STEP_NUMBER.sub("", p)) for p in parts]
    return [s for s in steps if s]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two step lists."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def score_plan(prediction: str, steps: Sequence[str]) -> Score:
    """Fraction of the reference steps the answer names in the same order (LCS / len(steps))."""
    if not steps:
        raise ValueError("a plan item needs at least one reference step")
    pred = parse_steps(prediction)
    if not pred:
        return FAILED
    ref = [normalize_answer(s) for s in steps]
    return Score(lcs_length(pred, ref) / len(ref), True)
