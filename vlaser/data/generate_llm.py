"""Optional model-based Q/A generation (the paper's way): an OpenAI-compatible endpoint writes
Question/Answer pairs for a frame, a judge scores each pair on three rubrics from 1 to 3, and a pair
is kept only if every rubric reaches ``min_score``; a verdict that cannot be parsed rejects the pair.

Requests run ``concurrency`` at a time, retry connection errors, HTTP 429 and 5xx with exponential
backoff, and are cached on disk keyed by (model, prompt, image digest), so a rerun sends nothing.
The API key is read from the environment variable named by ``llm.api_key_env``; it is only ever
placed in the Authorization header: never in the cache, logs, records or error messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vlaser.config.data import LlmSection
from vlaser.errors import UserError
from vlaser.log import get_logger

log = get_logger("data.llm")
RUBRICS = ("correct", "grounded", "useful")  # answer is right / answerable from the image / helps a robot
GEN_PROMPT = (
    "You see a robot's camera image. The robot's task: {instruction}. Objects: {objects}.\n"
    "Write {n} short question/answer pairs about the scene that the image alone answers (objects, "
    "positions, spatial relations, the task's progress). Reply with a JSON list only: "
    '[{{"question": "...", "answer": "..."}}, ...]'
)
JUDGE_PROMPT = (
    "You judge training data for a robot's vision-language model. Given the image and this pair:\n"
    "Question: {question}\nAnswer: {answer}\n"
    "Score each rubric from 1 (bad) to 3 (good): correct (the answer is right), grounded (the image "
    "alone answers the question), useful (it helps a robot act). Reply with JSON only: "
    '{{"correct": n, "grounded": n, "useful": n}}'
)


@dataclass(frozen=True)
class FrameRequest:
    key: str  # the frame's id (records are "<key>-llm-<i>")
    png: bytes  # the image as PNG
    instruction: str
    objects: list[str]


def _json_in(text: str) -> Any:
    """The first JSON value in a reply (code fences and prose around it tolerated); None if none."""
    text = re.sub(r"```(?:json)?", "", text)
    for opener in ("[", "{"):
        start = text.find(opener)
        while start != -1:
            try:
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except json.JSONDecodeError:
                start = text.find(opener, start + 1)
    return None


def parse_pairs(text: str) -> list[tuple[str, str]]:
    data = _json_in(text)
    if not isinstance(data, list):
        return []
    return [(str(d["question"]).strip(), str(d["answer"]).strip()) for d in data
            if isinstance(d, dict) and d.get("question") and d.get("answer")]


def parse_verdict(text: str) -> dict[str, int] | None:
    """Rubric scores, or None when any rubric is missing or not an integer in 1..3."""
    data = _json_in(text)
    if not isinstance(data, dict):
        return None
    scores = {}
    for r in RUBRICS:
        v = data.get(r)
        if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v) or not 1 <= v <= 3:
            return None
        scores[r] = int(v)
    return scores


class ChatClient:
    """A cached, retrying client for ``POST {endpoint}/chat/completions``."""

    def __init__(self, cfg: LlmSection, cache_dir: Path, transport: httpx.BaseTransport | None = None):
        self.cfg = cfg
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        key = os.environ.get(cfg.api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=cfg.endpoint.rstrip("/"), headers=headers, timeout=cfg.timeout_s,
                                  transport=transport)
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def close(self) -> None:
        self._http.close()

    def chat(self, model: str, prompt: str, png: bytes) -> str:
        digest = hashlib.sha256(png).hexdigest()
        key = hashlib.sha256(json.dumps([model, prompt, digest]).encode()).hexdigest()
        path = self.cache_dir / f"{key}.json"
        if path.is_file():
            self._count("cache_hits")
            return json.loads(path.read_text())["content"]
        content = self._post(model, prompt, png)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"model": model, "prompt": prompt, "image_sha256": digest, "content": content}))
        os.replace(tmp, path)
        return content

    def _post(self, model: str, prompt: str, png: bytes) -> str:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        body = {"model": model, "temperature": 0, "messages": [{"role": "user", "content": [
            {"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": url}}]}]}
        for attempt in range(self.cfg.retries + 1):
            self._count("requests")
            try:
                resp = self._http.post("/chat/completions", json=body)
            except httpx.TransportError as err:
                problem = f"connection failed ({type(err).__name__})"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()["choices"][0]["message"]["content"] or ""
                    except (ValueError, KeyError, IndexError, TypeError):
                        raise UserError(f"{self.cfg.endpoint}: reply is not an OpenAI chat completion") from None
                if resp.status_code != 429 and resp.status_code < 500:
                    raise UserError(f"{self.cfg.endpoint}: HTTP {resp.status_code} for model {model}")
                problem = f"HTTP {resp.status_code}"
            if attempt < self.cfg.retries:
                self._count("retries")
                time.sleep(self.cfg.backoff_s * 2**attempt)
        raise UserError(f"{self.cfg.endpoint}: {problem} after {self.cfg.retries + 1} attempts")


def judged_pairs(client: ChatClient, cfg: LlmSection, req: FrameRequest) -> tuple[list[dict], Counter]:
    """Generate pairs for one frame and keep those the judge passes; returns (kept, tallies)."""
    tally: Counter[str] = Counter()
    prompt = GEN_PROMPT.format(instruction=req.instruction, objects=", ".join(req.objects) or "none",
                               n=cfg.pairs_per_frame)
    pairs = parse_pairs(client.chat(cfg.model, prompt, req.png))
    if not pairs:
        tally["unparseable_generation"] += 1
    kept = []
    for q, a in pairs[: cfg.pairs_per_frame]:
        tally["generated"] += 1
        verdict = parse_verdict(client.chat(cfg.judge_model or cfg.model, JUDGE_PROMPT.format(question=q, answer=a),
                                            req.png))
        if verdict is None:
            tally["rejected_unparseable_verdict"] += 1
        elif min(verdict.values()) < cfg.min_score:
            tally["rejected_low_score"] += 1
        else:
            tally["kept"] += 1
            kept.append({"question": q, "answer": a, "scores": verdict})
    return kept, tally


def generate(cfg: LlmSection, requests: list[FrameRequest], cache_dir: Path,
             transport: httpx.BaseTransport | None = None) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """Judged pairs per frame key, and counts (generated, kept, rejected_*, requests, cache_hits, retries)."""
    client = ChatClient(cfg, cache_dir, transport)
    try:
        with ThreadPoolExecutor(max_workers=cfg.concurrency) as pool:
            results = list(pool.map(lambda r: judged_pairs(client, cfg, r), requests))
    finally:
        client.close()
    totals: Counter[str] = Counter(client.stats)
    for _, tally in results:
        totals.update(tally)
    log.info("model-based QA: %s", dict(sorted(totals.items())))
    return {r.key: kept for r, (kept, _) in zip(requests, results, strict=True)}, dict(sorted(totals.items()))
