"""InternVL chat-JSONL records: the schema, streamed validated reading, writing, point/box text.

One record per line (InternVL's ``internvl_chat`` convention)::

    {"id": "g-1", "image": "images/a.png", "width": 64, "height": 64,
     "conversations": [{"from": "human", "value": "<image>\\nWhere is the cube?"},
                       {"from": "gpt", "value": "<ref>cube</ref><box>[[120, 300, 250, 420]]</box>"}]}

``image`` is a path relative to the JSONL's folder (InternVL joins it with the meta entry's ``root``),
a list of such paths (multi-image: one ``<image>`` per image, e.g. ``"Image-1: <image>"``), or absent
(text only). Coordinates in ``<point>``/``<box>`` are integers in [0, 1000] of width/height. Extra keys
(``kind``, ``source``, ``scene_seed``, ``eval``) are ignored by InternVL's loader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vlaser.errors import UserError

COORD_MAX = 1000
ROLES = ("human", "gpt")
EVAL_TYPES = ("point", "box", "choice", "exact", "plan")
_NUM = r"-?\d+(?:\.\d+)?"
_TAG_RE = re.compile(r"<(point|box)>\s*(.*?)\s*</\1>", re.S)
_LIST_RE = re.compile(r"\[\s*(" + _NUM + r"(?:\s*,\s*" + _NUM + r")*)\s*\]")
_BARE_RE = re.compile(r"\[\s*\[(.*?)\]\s*\]", re.S)


# ----------------------------------------------------------------------------------------- text helpers
def _fmt(v: float) -> str:
    # clamped: a point projected just off the image must still give a valid [0, 1000] record
    return str(min(COORD_MAX, max(0, int(round(v)))))


def format_point(x: float, y: float) -> str:
    """``<point>[[x, y]]</point>`` (rounded to integers in [0, 1000])."""
    return format_points([(x, y)])


def format_points(points: Sequence[Sequence[float]]) -> str:
    """Several points in one tag: ``<point>[[x1, y1], [x2, y2]]</point>``."""
    body = ", ".join(f"[{_fmt(x)}, {_fmt(y)}]" for x, y in points)
    return f"<point>[{body}]</point>"


def format_box(box: Sequence[float], ref: str | None = None) -> str:
    """``<box>[[x1, y1, x2, y2]]</box>``, with ``<ref>name</ref>`` in front when ``ref`` is given."""
    return format_boxes([box], ref)


def format_boxes(boxes: Sequence[Sequence[float]], ref: str | None = None) -> str:
    body = ", ".join("[" + ", ".join(_fmt(v) for v in b) + "]" for b in boxes)
    return (f"<ref>{ref}</ref>" if ref else "") + f"<box>[{body}]</box>"


def _parse_tag(text: str, tag: str, arity: int) -> list[tuple[float, ...]] | None:
    """All coordinate lists of ``arity`` numbers inside ``<tag>`` tags (or bare ``[[...]]``)."""
    if not isinstance(text, str):
        return None
    bodies = [body for t, body in _TAG_RE.findall(text) if t == tag]
    if not bodies:  # model outputs sometimes drop the tags; accept a bare [[...]] list
        bodies = [f"[[{m}]]" for m in _BARE_RE.findall(text)] if "<" not in text else []
    out: list[tuple[float, ...]] = []
    for body in bodies:
        lists = _LIST_RE.findall(body)
        if not lists:
            return None
        for item in lists:
            nums = tuple(float(v) for v in re.split(r"\s*,\s*", item.strip()))
            if len(nums) != arity:
                return None
            out.append(nums)
    return out or None


def parse_points(text: str) -> list[tuple[float, float]] | None:
    """Points from ``<point>[[x, y], ...]</point>`` (whitespace-tolerant); None when unparseable."""
    return _parse_tag(text, "point", 2)  # type: ignore[return-value]


def parse_boxes(text: str) -> list[tuple[float, float, float, float]] | None:
    """Boxes from ``<box>[[x1, y1, x2, y2], ...]</box>``; None when unparseable."""
    return _parse_tag(text, "box", 4)  # type: ignore[return-value]


def parse_refs(text: str) -> list[str]:
    """Names in ``<ref>name</ref>`` tags, in order."""
    return [m.strip() for m in re.findall(r"<ref>(.*?)</ref>", text, re.S)]


def check_box(box: Sequence[float]) -> str | None:
    """What is wrong with a [0, 1000] box, or None."""
    if len(box) != 4:
        return f"a box needs 4 numbers, got {len(box)}"
    if any(not 0 <= v <= COORD_MAX for v in box):
        return f"box {list(box)} has coordinates outside [0, {COORD_MAX}]"
    if box[2] < box[0] or box[3] < box[1]:
        return f"box {list(box)} has x2 < x1 or y2 < y1"
    return None


def check_coordinates(text: str) -> str | None:
    """What is wrong with the points/boxes in a message, or None."""
    for tag, arity in (("point", 2), ("box", 4)):
        if f"<{tag}>" not in text:
            continue
        items = _parse_tag(text, tag, arity)
        if items is None:
            return f"malformed <{tag}> (expected [[{', '.join(['n'] * arity)}], ...] of numbers)"
        for item in items:
            if any(not 0 <= v <= COORD_MAX for v in item):
                return f"<{tag}> {list(item)} has coordinates outside [0, {COORD_MAX}]"
            if tag == "box" and (problem := check_box(item)):
                return problem
    return None


# ------------------------------------------------------------------------------------ record validation
def image_paths(record: dict[str, Any]) -> list[str]:
    """The record's image paths as a list ([] for text-only)."""
    image = record.get("image")
    if image is None or image == "" or image == []:
        return []
    return [image] if isinstance(image, str) else list(image)


def validate_record(rec: Any) -> str | None:
    """What is wrong with one record (structure, roles, image tokens, coordinates, eval), or None."""
    if not isinstance(rec, dict):
        return f"a record must be a JSON object, got {type(rec).__name__}"
    image = rec.get("image")
    if image is not None and not (isinstance(image, str) or (
            isinstance(image, list) and all(isinstance(p, str) and p for p in image))):
        return "'image' must be a path, a list of paths, or absent"
    for key in ("width", "height"):
        if key in rec and (not isinstance(rec[key], int) or rec[key] <= 0):
            return f"'{key}' must be a positive integer, got {rec[key]!r}"
    conv = rec.get("conversations")
    if not isinstance(conv, list) or not conv:
        return "'conversations' must be a non-empty list"
    turns = [t for t in conv if not (isinstance(t, dict) and t.get("from") == "system")]
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            return f"conversations[{i}] must be {{\"from\": ..., \"value\": str}}"
        if turn.get("from") != ROLES[i % 2]:
            return f"conversations[{i}].from is {turn.get('from')!r}; turns alternate human, gpt"
        if problem := check_coordinates(turn["value"]):
            return f"conversations[{i}]: {problem}"
    if len(turns) < 2:
        return "a conversation needs at least one human and one gpt turn"
    n_img, n_tok = len(image_paths(rec)), sum(t["value"].count("<image>") for t in turns)
    # InternVL prepends <image> to a single-image record that lacks it; multi-image needs one per image.
    if (n_img == 1 and n_tok > 1) or (n_img != 1 and n_tok != n_img):
        return f"{n_tok} '<image>' token(s) for {n_img} image(s)"
    return _validate_eval(rec["eval"]) if "eval" in rec else None


def _validate_eval(ev: Any) -> str | None:
    if not isinstance(ev, dict) or ev.get("type") not in EVAL_TYPES:
        return f"'eval' must be an object with type in {list(EVAL_TYPES)}"
    if not isinstance(ev.get("answer"), str):
        return "'eval.answer' must be a string"
    kind = ev["type"]
    if kind == "box" and (not isinstance(ev.get("box"), list) or (p := check_box(ev["box"]))):
        return f"eval.box: {p if isinstance(ev.get('box'), list) else 'missing'}"
    if kind == "point" and not isinstance(ev.get("mask"), str):
        return "eval.mask (PNG path) is required for point items"
    if kind == "choice" and (not isinstance(ev.get("choices"), list) or ev["answer"] not in ev["choices"]):
        return "eval.choices must be a list containing eval.answer"
    if kind == "plan" and not (isinstance(ev.get("steps"), list) and ev["steps"]):
        return "eval.steps must be a non-empty list"
    return None


# ------------------------------------------------------------------------------------------- reading
class JsonlReader:
    """Iterates validated records of one JSONL file, streamed (one line in memory at a time).

    Args:
        path: the JSONL file.
        lenient: skip (and count in ``skipped``) bad lines instead of raising ``UserError``.
        root: folder the image paths are relative to (default: the JSONL's folder).
        check_images: require every image (and eval mask) file to exist.
    """

    def __init__(self, path: Path | str, lenient: bool = False, root: Path | str | None = None,
                 check_images: bool = True):
        self.path = Path(path)
        self.lenient = lenient
        self.root = Path(root) if root is not None else self.path.parent
        self.check_images = check_images
        self.skipped = 0  # bad lines skipped (lenient only)
        self.problems: list[str] = []  # the first few skipped lines' messages
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such JSONL file")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with open(self.path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                problem, rec = self._check(line)
                if problem is None:
                    yield rec
                    continue
                msg = f"{self.path}:{lineno}: {problem}"
                if not self.lenient:
                    raise UserError(msg)
                self.skipped += 1
                if len(self.problems) < 20:
                    self.problems.append(msg)

    def _check(self, line: str) -> tuple[str | None, Any]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            return f"not valid JSON ({err.msg} at column {err.colno})", None
        if problem := validate_record(rec):
            return problem, rec
        if self.check_images:
            extra = [rec["eval"]["mask"]] if isinstance(rec.get("eval"), dict) and "mask" in rec["eval"] else []
            for rel in [*image_paths(rec), *extra]:
                if not (self.root / rel).is_file():
                    return f"image not found: {self.root / rel}", rec
        return None, rec


def read_jsonl(path: Path | str, lenient: bool = False, root: Path | str | None = None,
               check_images: bool = True) -> JsonlReader:
    """Streamed, validated records (see ``JsonlReader``; after iterating, ``.skipped`` counts bad lines)."""
    return JsonlReader(path, lenient=lenient, root=root, check_images=check_images)


def write_jsonl(path: Path | str, records: Iterable[dict[str, Any]]) -> int:
    """Write records one per line (keys in insertion order, UTF-8). Returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


# ------------------------------------------------------------------------------------ InternVL meta files
META_KEYS = ("root", "annotation", "data_augment", "repeat_time", "length")


def read_meta_file(path: Path | str, base: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """An InternVL meta file ``{name: {root, annotation, data_augment, repeat_time, length}}``.

    Relative ``root``/``annotation`` paths are resolved against ``base`` (default: the meta file's
    folder); InternVL itself resolves them against its working directory.
    """
    path = Path(path)
    base = Path(base) if base is not None else path.parent
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such InternVL meta file") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(meta, dict) or not meta:
        raise UserError(f"{path}: expected a JSON object of named sources")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in meta.items():
        if not isinstance(entry, dict) or not {"root", "annotation"} <= entry.keys():
            raise UserError(f"{path}: source '{name}' needs 'root' and 'annotation'")
        rt = entry.get("repeat_time", 1)
        if not isinstance(rt, int | float) or rt < 0:
            raise UserError(f"{path}: source '{name}': repeat_time must be a number >= 0, got {rt!r}")
        out[name] = {**entry, "root": str(base / entry["root"]), "annotation": str(base / entry["annotation"]),
                     "data_augment": bool(entry.get("data_augment", False)), "repeat_time": rt}
    return out


def meta_entry(root: str, annotation: str, length: int, repeat_time: float = 1,
               data_augment: bool = False) -> dict[str, Any]:
    """One entry of an InternVL meta file."""
    return {"root": root, "annotation": annotation, "data_augment": data_augment,
            "repeat_time": repeat_time, "length": length}
