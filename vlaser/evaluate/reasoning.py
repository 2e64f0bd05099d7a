"""Reasoning evaluation: answer every benchmark item, score it, write the report.

The answerer is pluggable: any ``(images, prompts) -> answers`` function, batched (``images[i]`` is the
list of PIL images of prompt ``i``). A VLM checkpoint becomes one through ``model_answerer`` (batched
greedy decoding with the KV cache); an oracle or a constant answer runs through the same scorer.

Output folder (written atomically, ``meta.json`` last)::

    reasoning.json          {"checkpoint", "benchmarks": {name: {"n", "score", "ci_low", "ci_high",
                             "parse_failures", "metric"}}, "average"}
    reasoning_items.jsonl   one line per item: {benchmark, id, prompt, prediction, answer, correct,
                             parsed, score, metric}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from vlaser.config.evaluate import EvalReasoningSection
from vlaser.errors import UserError
from vlaser.evaluate.benchmarks import Item, load_image, oracle_answer, score_item
from vlaser.evaluate.stats import wilson_interval
from vlaser.io import atomic_dir, dir_digest, write_json, write_meta
from vlaser.log import get_logger, progress_bar

log = get_logger("evaluate.reasoning")

Answerer = Callable[[list[list[Image.Image]], list[str]], list[str]]
REPORT = "reasoning.json"
ITEMS = "reasoning_items.jsonl"
METRIC_NAMES = {"point": "point-in-mask", "box": "box-iou>=0.5", "choice": "choice-accuracy",
                "exact": "exact-match", "plan": "plan-step-match"}
BINARY = ("box", "choice", "exact")  # per-item scores are 0/1; point and plan give partial credit


# ---------------------------------------------------------------------------------------- answerers
def constant_answerer(text: str) -> Answerer:
    """Answers ``text`` to everything (a chance-level baseline)."""
    return lambda images, prompts: [text] * len(prompts)


def sequence_answerer(answers: Sequence[str]) -> Answerer:
    """Hands out ``answers`` in call order (benchmarks in order, items in order)."""
    queue = list(answers)[::-1]

    def answer(images: list[list[Image.Image]], prompts: list[str]) -> list[str]:
        if len(prompts) > len(queue):
            raise RuntimeError("sequence_answerer asked for more answers than it was given")
        return [queue.pop() for _ in prompts]

    return answer


def oracle_answerer(benchmarks: Mapping[str, Sequence[Item]]) -> Answerer:
    """Answers every item from its ground truth (``oracle_answer``); must score 1 everywhere."""
    return sequence_answerer([oracle_answer(it) for items in benchmarks.values() for it in items])


def model_answerer(model, tokenizer, processor, max_new_tokens: int) -> Answerer:
    """A VLM as an answerer: the model area's batched greedy decoding with the KV cache.

    ``greedy_generate`` takes one image per prompt, placed before the question, so the prompt's
    ``<image>`` placeholders are removed and several images (ERQA) are joined side by side.
    """
    from vlaser.model.vlm import greedy_generate

    def answer(images: list[list[Image.Image]], prompts: list[str]) -> list[str]:
        texts = [_IMAGE_TAG.sub("", p).strip() for p in prompts]
        return greedy_generate(model, tokenizer, processor, [join_images(ims) for ims in images], texts,
                               max_new_tokens)

    return answer


_IMAGE_TAG = re.compile(r"<image>\n?")


def join_images(images: Sequence[Image.Image]) -> Image.Image | None:
    """One image from several: side by side at the first one's height (None for none)."""
    if len(images) <= 1:
        return images[0] if images else None
    h = images[0].height
    scaled = [im.resize((max(1, round(im.width * h / im.height)), h)) for im in images]
    out = Image.new("RGB", (sum(im.width for im in scaled), h))
    x = 0
    for im in scaled:
        out.paste(im, (x, 0))
        x += im.width
    return out


# ------------------------------------------------------------------------------------------ scoring
def answer_items(answerer: Answerer, benchmarks: Mapping[str, Sequence[Item]], batch_size: int,
                 desc: str = "reasoning") -> list[dict[str, Any]]:
    """Ask ``answerer`` every item in batches (with a progress bar) and score each answer."""
    rows: list[dict[str, Any]] = []
    with progress_bar(sum(len(v) for v in benchmarks.values()), desc, unit="item") as bar:
        for name, items in benchmarks.items():
            for start in range(0, len(items), batch_size):
                batch = items[start:start + batch_size]
                images = [[load_image(ref) for ref in it.images] for it in batch]
                preds = answerer(images, [it.prompt for it in batch])
                if len(preds) != len(batch):
                    raise RuntimeError(f"answerer returned {len(preds)} answers for {len(batch)} prompts")
                rows.extend(_row(name, it, pred) for it, pred in zip(batch, preds, strict=True))
                bar.update(len(batch))
    return rows


def _row(benchmark: str, item: Item, prediction: str) -> dict[str, Any]:
    s = score_item(item, prediction)
    return {"benchmark": benchmark, "id": item.id, "prompt": item.prompt, "prediction": prediction,
            "answer": item.answer, "correct": bool(s.value == 1.0) if item.metric in BINARY else s.value,
            "parsed": s.parsed, "score": s.value, "metric": item.metric}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """n, mean score, 95% Wilson interval, parse failures and metric name of one benchmark's rows.

    For partial-credit metrics (point, plan) the Wilson interval is taken at the mean score: item scores
    in [0, 1] with mean p have variance <= p(1 - p), so it is conservative there.
    """
    n = len(rows)
    total = sum(r["score"] for r in rows)
    lo, hi = wilson_interval(total, n)
    metrics = sorted({r["metric"] for r in rows})
    score = total / n if n else 0.0
    # clamp float round-off (Wilson's bound at p = 0 comes out as ~1e-17)
    return {"n": n, "score": score, "ci_low": min(lo, score), "ci_high": max(hi, score),
            "parse_failures": sum(not r["parsed"] for r in rows),
            "metric": "+".join(METRIC_NAMES[m] for m in metrics)}


def build_report(checkpoint: str, rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """reasoning.json's content: per-benchmark summaries and their unweighted average."""
    benches = {name: summarize([r for r in rows if r["benchmark"] == name]) for name in names}
    scores = [b["score"] for b in benches.values()]
    return {"checkpoint": checkpoint, "benchmarks": benches, "average": sum(scores) / len(scores)}


def score_answerer(answerer: Answerer, benchmarks: Mapping[str, Sequence[Item]], batch_size: int = 16,
                   checkpoint: str = "") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(report, item rows) for any answerer; nothing written."""
    empty = [name for name, items in benchmarks.items() if not items]
    if not benchmarks or empty:
        raise UserError(f"no items to evaluate{' in ' + ', '.join(empty) if empty else ''}")
    rows = answer_items(answerer, benchmarks, batch_size)
    return build_report(checkpoint, rows, list(benchmarks)), rows


def write_report(out: Path, report: dict[str, Any], rows: Sequence[dict[str, Any]], params: Any = None,
                 parents: dict[str, str] | None = None) -> None:
    """``out/`` <- reasoning.json, reasoning_items.jsonl, meta.json (atomically)."""
    with atomic_dir(out) as tmp:
        write_json(tmp / REPORT, report)
        with open(tmp / ITEMS, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        write_meta(tmp, "reasoning_report", params, parents,
                   extra={"average": report["average"],
                          "scores": {k: v["score"] for k, v in report["benchmarks"].items()}})


# ---------------------------------------------------------------------------------------- checkpoint
def evaluate_answerer(answerer: Answerer, benchmarks: Mapping[str, Sequence[Item]], cfg: EvalReasoningSection,
                      out: Path, checkpoint: str = "", parents: dict[str, str] | None = None) -> dict[str, Any]:
    """Score ``answerer`` on ``benchmarks`` and write the report folder ``out``. Returns the report."""
    report, rows = score_answerer(answerer, benchmarks, cfg.batch_size, checkpoint)
    write_report(Path(out), report, rows, cfg, parents)
    for name, b in report["benchmarks"].items():
        log.info("%s: %.3f [%.3f, %.3f] n=%d, %d unparsed", name, b["score"], b["ci_low"], b["ci_high"], b["n"],
                 b["parse_failures"])
    return report


def evaluate_reasoning(checkpoint_dir: Path, benchmarks: Mapping[str, Sequence[Item]], cfg: EvalReasoningSection,
                       out: Path) -> dict[str, Any]:
    """Score a stage-1 VLM checkpoint on ``benchmarks`` ({name: items}) and write ``out``.

    Args:
        checkpoint_dir: a VLM folder written by ``vlaser.model.checkpoint.save_vlm``.
        benchmarks: from ``vlaser.evaluate.benchmarks.build_benchmarks``.
        cfg: batch size and generation length (``max_items`` is applied when building benchmarks).
        out: report folder (replaced atomically).
    """
    import torch

    from vlaser.model.checkpoint import load_vlm
    from vlaser.model.vlm import ImageProcessor

    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise UserError(f"{checkpoint_dir}: no such checkpoint folder (expected a VLM folder from pretraining)")
    model, tokenizer, model_cfg = load_vlm(checkpoint_dir)
    model.eval()
    answerer = model_answerer(model, tokenizer, ImageProcessor(model_cfg), cfg.max_new_tokens)
    with torch.inference_mode():
        return evaluate_answerer(answerer, benchmarks, cfg, out, str(checkpoint_dir),
                                 parents={str(checkpoint_dir): _digest(checkpoint_dir)})


def _digest(folder: Path) -> str:
    """The checkpoint's recorded digest (meta.json), else hashed now (a large model takes a while)."""
    meta = folder / "meta.json"
    if meta.is_file():
        digest = json.loads(meta.read_text()).get("digest")
        if isinstance(digest, str):
            return digest
    return dir_digest(folder)
