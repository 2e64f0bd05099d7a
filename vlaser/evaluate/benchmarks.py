"""Benchmarks for reasoning evaluation: items from held-out JSONL and from public benchmark files.

An ``Item`` is one question with everything needed to score an answer to it. Sources:

- held-out InternVL JSONL with an ``"eval"`` field (data/indomain/<kind>/heldout.jsonl,
  data/ood/<source>/heldout.jsonl), written by the data stage;
- Where2Place (``point_questions.jsonl`` + ``images/`` + ``masks/``), point-in-mask;
- ERQA (``erqa.tfrecord`` of ``tf.train.Example``), multiple choice.

Expected layouts are in docs/reasoning.md. Missing or malformed files raise ``UserError`` naming the
file and what was expected.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from vlaser.data.records import format_points, read_jsonl
from vlaser.errors import UserError
from vlaser.evaluate import scorers
from vlaser.evaluate.tfrecord import parse_example, read_tfrecord

ImageRef = Path | bytes  # an image file, or encoded image bytes (ERQA embeds its images)
METRICS = ("point", "box", "choice", "exact", "plan")
# Where2Place asks for (x, y) tuples in [0, 1]; the project's models answer in its own point format
POINT_INSTRUCTION = "Answer with points as <point>[[x, y]]</point>, x and y integers in [0, 1000]."


@dataclass(frozen=True)
class Item:
    """One benchmark question and its reference."""

    id: str
    prompt: str  # what the model is asked, one "<image>" per image
    images: tuple[ImageRef, ...]
    metric: str  # one of METRICS
    answer: str  # reference answer text (reports; the oracle)
    choices: tuple[str, ...] = ()  # choice
    box: tuple[float, ...] | None = None  # box, [x1, y1, x2, y2] in [0, 1000]
    mask: Path | None = None  # point: image of the right places
    soft_mask: bool = False  # point: mask value / 255 (Where2Place JPEGs) instead of nonzero = inside
    steps: tuple[str, ...] = ()  # plan
    extra: dict = field(default_factory=dict, compare=False)  # e.g. ERQA question_type


# ------------------------------------------------------------------------------------------ images
def load_image(ref: ImageRef) -> Image.Image:
    """An RGB PIL image from a path or encoded bytes."""
    img = Image.open(io.BytesIO(ref)) if isinstance(ref, bytes) else Image.open(ref)
    return img.convert("RGB")


@lru_cache(maxsize=256)
def load_mask(path: Path, soft: bool) -> np.ndarray:
    """float [H, W] in [0, 1]: nonzero -> 1 (project masks), or value / 255 (Where2Place, soft)."""
    try:
        m = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot read mask image ({err}); expected a PNG/JPEG mask") from None
    return m / 255.0 if soft else (m > 0).astype(np.float64)


def score_item(item: Item, prediction: str) -> scorers.Score:
    """Score one answer with the item's metric."""
    if item.metric == "point":
        return scorers.score_point(prediction, load_mask(item.mask, item.soft_mask))
    if item.metric == "box":
        return scorers.score_box(prediction, item.box)
    if item.metric == "choice":
        return scorers.score_choice(prediction, item.choices, item.answer)
    if item.metric == "exact":
        return scorers.score_exact(prediction, item.answer)
    if item.metric == "plan":
        return scorers.score_plan(prediction, item.steps)
    raise ValueError(f"unknown metric {item.metric!r}")


def oracle_answer(item: Item) -> str:
    """An answer built from the ground truth (scores 1 by construction; checks scorers and readers)."""
    if item.metric == "point":
        mask = load_mask(item.mask, item.soft_mask)
        ys, xs = np.nonzero(mask == mask.max())
        k = int(np.argmin((xs - np.median(xs)) ** 2 + (ys - np.median(ys)) ** 2))
        h, w = mask.shape
        return format_points([((xs[k] + 0.5) * 1000 / w, (ys[k] + 0.5) * 1000 / h)])
    if item.metric == "plan":
        return "\n".join(f"{i}. {s}" for i, s in enumerate(item.steps, 1))
    return item.answer  # box/choice/exact: the reference text itself


# --------------------------------------------------------------------------------- held-out JSONL
def _item_from_record(rec: dict, root: Path, prefix: str) -> Item:
    ev = rec["eval"]
    human = next(t["value"] for t in rec["conversations"] if t.get("from") == "human")
    images = rec.get("image") or []
    images = [images] if isinstance(images, str) else images
    if len(images) == 1 and "<image>" not in human:  # InternVL's own rule for single-image records
        human = "<image>\n" + human
    return Item(
        id=f"{prefix}{rec.get('id', '')}",
        prompt=human,
        images=tuple(root / p for p in images),
        metric=ev["type"],
        answer=ev["answer"],
        choices=tuple(ev.get("choices", ())),
        box=tuple(ev["box"]) if ev.get("box") is not None else None,
        mask=root / ev["mask"] if ev.get("mask") else None,
        steps=tuple(ev.get("steps", ())),
    )


def load_heldout(path: Path, max_items: int | None = None, prefix: str = "") -> list[Item]:
    """Items of one held-out JSONL (records carry ``"eval"``); UserError on a missing/bad file or line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no held-out file (expected InternVL JSONL with an 'eval' field per "
                        "record, written by the data stage)")
    items: list[Item] = []
    for lineno, rec in enumerate(read_jsonl(path), 1):
        if "eval" not in rec:
            raise UserError(f"{path}: record {lineno} (id {rec.get('id')!r}) has no 'eval' field; "
                            "expected held-out records with eval.type in " + str(list(METRICS)))
        items.append(_item_from_record(rec, path.parent, prefix))
        if max_items is not None and len(items) >= max_items:
            break
    if not items:
        raise UserError(f"{path}: no records (expected at least one held-out item)")
    return items


# ------------------------------------------------------------------------------------- Where2Place
def _where2place_mask(root: Path, image: str, index: int) -> Path:
    stem = Path(image).stem
    candidates = [root / "masks" / image, root / "masks" / f"{stem}.png", root / "masks" / f"{stem}.jpg",
                  root / "masks" / f"{index:02d}.jpg"]  # the last: RoboPoint's summarize_vqa.py naming
    for c in candidates:
        if c.is_file():
            return c
    raise UserError(f"{root / 'masks'}: no mask for question {index} (looked for "
                    f"{', '.join(c.name for c in candidates)})")


def where2place_prompt(text: str) -> str:
    """The question with Where2Place's own answer-format sentence replaced by the project's."""
    question = text.split(" Your answer should")[0].strip()
    return f"<image>\n{question} {POINT_INSTRUCTION}"


def load_where2place(root: Path, questions: str = "point_questions.jsonl",
                     max_items: int | None = None) -> list[Item]:
    """Where2Place layout: ``questions`` lines {"question_id", "image", "text", ...}, ``images/<image>``,
    ``masks/<image>`` (or ``<stem>.png``/``.jpg`` or ``NN.jpg`` by line index)."""
    root = Path(root)
    qfile = root / questions
    if not qfile.is_file():
        raise UserError(f"{qfile}: not found (expected the Where2Place layout: {questions}, images/, masks/)")
    items: list[Item] = []
    for index, line in enumerate(qfile.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        where = f"{qfile}:{index + 1}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(q, dict) or not isinstance(q.get("image"), str) or not isinstance(q.get("text"), str):
            raise UserError(f"{where}: expected an object with string 'image' and 'text' (and 'question_id')")
        image = root / "images" / q["image"]
        if not image.is_file():
            raise UserError(f"{where}: image not found: {image}")
        items.append(Item(
            id=f"where2place-{q.get('question_id', index)}", prompt=where2place_prompt(q["text"]),
            images=(image,), metric="point", answer="", mask=_where2place_mask(root, q["image"], index),
            soft_mask=True, extra={"category": q.get("category", "")},
        ))
        if max_items is not None and len(items) >= max_items:
            break
    if not items:
        raise UserError(f"{qfile}: no questions")
    return items


# ------------------------------------------------------------------------------------------- ERQA
_OPTION = re.compile(r"(?:^|\s|\()([A-H])[.)]\s+")
_SENTENCE_END = re.compile(r"(?<=\S)[.?!](?:\s|$)")


def erqa_choices(question: str, answer: str) -> tuple[str, ...]:
    """Option texts "A. ... B. ..." in the question (consecutive letters from A); else the letters."""
    found = list(_OPTION.finditer(question))
    start = next((i for i, m in enumerate(found) if m.group(1) == "A"), None)
    if start is not None:
        seq = [found[start]]
        for m in found[start + 1:]:
            if ord(m.group(1)) == ord(seq[-1].group(1)) + 1:
                seq.append(m)
        if len(seq) >= 2:
            ends = [m.start() for m in seq[1:]] + [len(question)]
            texts = [question[m.end():e].strip() for m, e in zip(seq, ends, strict=True)]
            texts[-1] = _SENTENCE_END.split(texts[-1], maxsplit=1)[0]  # drop "... Answer with the letter."
            texts = tuple(t.strip().rstrip(".,;") for t in texts)
            if all(texts) and ord(answer) - ord("A") < len(texts):
                return texts
    n = max(4, ord(answer) - ord("A") + 1)
    return tuple(chr(ord("A") + i) for i in range(n))


def erqa_prompt(question: str, n_images: int, visual_indices: Sequence[int]) -> str:
    """The question with one "<image>" per image: at its character offset in ``visual_indices`` (0 = before
    the question), or all before the question when the offsets are absent."""
    if len(visual_indices) != n_images or not any(visual_indices):
        return "<image>\n" * n_images + question
    text = question
    for offset in sorted(visual_indices, reverse=True):
        text = text[:offset] + ("<image>\n" if offset == 0 else "\n<image>\n") + text[offset:]
    return text


def load_erqa(path: Path, max_items: int | None = None) -> list[Item]:
    """ERQA layout: ``erqa.tfrecord`` (or ``data/erqa.tfrecord`` under a folder) of examples with
    ``question``, ``answer`` (one letter), ``image/encoded`` (one or more), ``visual_indices``,
    ``question_type``."""
    path = Path(path)
    if path.is_dir():
        found = [p for p in (path / "erqa.tfrecord", path / "data" / "erqa.tfrecord") if p.is_file()]
        if not found:
            raise UserError(f"{path}: no erqa.tfrecord or data/erqa.tfrecord (expected the ERQA layout)")
        path = found[0]
    elif not path.is_file():
        raise UserError(f"{path}: not found (expected ERQA's erqa.tfrecord)")
    items: list[Item] = []
    for i, payload in enumerate(read_tfrecord(path)):
        try:
            ex = parse_example(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: record {i}: not a tf.train.Example ({err})") from None
        if not (ex.get("question") and ex.get("answer") and ex.get("image/encoded")):
            raise UserError(f"{path}: record {i}: expected features question, answer, image/encoded; "
                            f"found {sorted(ex)}")
        question, answer = ex["question"][0].decode(), ex["answer"][0].decode().strip()
        if not re.fullmatch(r"[A-H]", answer):
            raise UserError(f"{path}: record {i}: answer {answer!r} is not an option letter A-H")
        images = tuple(ex["image/encoded"])
        items.append(Item(
            id=f"erqa-{i}", prompt=erqa_prompt(question, len(images), ex.get("visual_indices", [])),
            images=images, metric="choice", answer=answer, choices=erqa_choices(question, answer),
            extra={"question_type": b",".join(ex.get("question_type", [])).decode()},
        ))
        if max_items is not None and len(items) >= max_items:
            break
    if not items:
        raise UserError(f"{path}: no records")
    return items


# --------------------------------------------------------------------------------------- registry
INDOMAIN = ("grounding", "spatial", "qa", "planning")


def known_benchmarks(data_root: Path, public: dict | None = None) -> list[str]:
    """Names ``build_benchmarks`` accepts: in-domain kinds, ``ood``, ``ood/<source>`` on disk, public ones."""
    ood = sorted(p.parent.name for p in (Path(data_root) / "ood").glob("*/heldout.jsonl"))
    return [*INDOMAIN, "ood", *(f"ood/{s}" for s in ood), *sorted(public or {})]


def build_benchmark(name: str, data_root: Path, max_items: int | None = None,
                    public: dict | None = None) -> list[Item]:
    """Items of one named benchmark.

    Args:
        name: an in-domain kind (data_root/indomain/<kind>/heldout.jsonl), ``ood`` (every
            data_root/ood/<source>/heldout.jsonl, ``max_items`` from each), ``ood/<source>``, or a key
            of ``public`` ({name: settings with ``layout`` (where2place|erqa), ``path``, ``questions``}).
        data_root: the workspace's data folder.
        max_items: first N items (per source for ``ood``); None = all.
        public: public benchmark settings (``EvalReasoningSection.public``).
    """
    data_root, public = Path(data_root), public or {}
    if name in public:
        spec = public[name]
        if spec.layout == "where2place":
            return load_where2place(Path(spec.path), spec.questions or "point_questions.jsonl", max_items)
        return load_erqa(Path(spec.path), max_items)
    if name in INDOMAIN:
        return load_heldout(data_root / "indomain" / name / "heldout.jsonl", max_items, prefix=f"{name}/")
    if name.startswith("ood/"):
        return load_heldout(data_root / name / "heldout.jsonl", max_items, prefix=f"{name[4:]}/")
    if name == "ood":
        files = sorted((data_root / "ood").glob("*/heldout.jsonl"))
        if not files:
            raise UserError(f"{data_root / 'ood'}: no <source>/heldout.jsonl (built by the data stage)")
        return [it for f in files for it in load_heldout(f, max_items, prefix=f"{f.parent.name}/")]
    raise UserError(f"unknown benchmark '{name}'; expected one of {', '.join(known_benchmarks(data_root, public))}")


def build_benchmarks(names: Sequence[str], data_root: Path, max_items: int | None = None,
                     public: dict | None = None) -> dict[str, list[Item]]:
    """{name: items} for several names (checked all first, so a typo fails before any loading)."""
    known = set(known_benchmarks(data_root, public))
    bad = [n for n in names if n not in known and not n.startswith("ood/")]
    if bad:
        raise UserError(f"unknown benchmark(s) {', '.join(bad)}; expected one of "
                        f"{', '.join(known_benchmarks(data_root, public))}")
    return {n: build_benchmark(n, data_root, max_items, public) for n in names}


def heldout_benchmarks(data_root: Path, names: Sequence[str], max_items: int | None = None,
                       public: dict | None = None) -> dict[str, list[Item]]:
    """``build_benchmarks`` with the orchestration's argument order (vlaser/stages.py)."""
    return build_benchmarks(names, data_root, max_items, public)
