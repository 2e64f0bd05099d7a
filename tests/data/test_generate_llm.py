"""Model-based QA against a tiny OpenAI-compatible server started by the test on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.data.synth import frame_source
from vlaser.config.data import IndomainSection, LlmSection
from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.data.generate_llm import parse_pairs, parse_verdict
from vlaser.data.indomain import build_indomain
from vlaser.data.records import read_jsonl
from vlaser.errors import UserError

SECRET = "sk-test-secret-0123456789"
PAIRS = [{"question": "Q-good: what colour is the cube?", "answer": "red"},
         {"question": "Q-low: what is the robot thinking?", "answer": "lunch"},
         {"question": "Q-bad: how many cubes?", "answer": "1"}]
VERDICTS = {"Q-good": '```json\n{"correct": 3, "grounded": 3, "useful": 2}\n```',
            "Q-low": '{"correct": 1, "grounded": 3, "useful": 3}',
            "Q-bad": "Looks fine to me."}


class FakeEndpoint:
    """Answers /v1/chat/completions: generation -> PAIRS, judging -> VERDICTS; the first call fails (500)."""

    def __init__(self) -> None:
        self.calls, self.auth, self.inflight, self.max_inflight = 0, set(), 0, 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    owner.calls += 1
                    first = owner.calls == 1
                    owner.inflight += 1
                    owner.max_inflight = max(owner.max_inflight, owner.inflight)
                    owner.auth.add(self.headers.get("Authorization"))
                time.sleep(0.01)
                prompt = body["messages"][0]["content"][0]["text"]
                assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
                if "question/answer pairs" in prompt:
                    content = json.dumps(PAIRS)
                else:
                    content = next(v for k, v in VERDICTS.items() if k in prompt)
                reply = {"choices": [{"message": {"role": "assistant", "content": content}}]}
                with owner.lock:
                    owner.inflight -= 1
                data = json.dumps(reply).encode()
                self.send_response(500 if first else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    ep = FakeEndpoint()
    yield ep
    ep.close()


def test_judged_generation_cached_and_key_kept_secret(endpoint, tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setenv("VLASER_LLM_API_KEY", SECRET)
    llm = LlmSection(enabled=True, endpoint=endpoint.url, model="tiny-vl", max_frames=3, concurrency=2,
                     backoff_s=0.01)
    cfg = IndomainSection(kinds=["qa"], train_seeds=[0, 2], heldout_seeds=[100, 101], frames_per_episode=2, llm=llm)
    suite = SuiteSpec(tasks=[TaskSpec(id="PickCube-v1", instruction="pick up the red cube")])
    caplog.set_level(logging.DEBUG)
    summary = build_indomain(cfg, suite, tmp_path / "out", frame_source=frame_source, llm_cache=tmp_path / "cache")
    stats = summary["qa"]["llm"]
    assert stats["kept"] == 3 and stats["rejected_low_score"] == 3 and stats["rejected_unparseable_verdict"] == 3
    assert stats["retries"] >= 1  # the first request got HTTP 500 and was retried
    llm_recs = [r for r in read_jsonl(tmp_path / "out/qa/train.jsonl") if r["qtype"] == "llm"]
    assert len(llm_recs) == 3 and all(r["conversations"][0]["value"].endswith(PAIRS[0]["question"]) for r in llm_recs)
    assert not any(r["qtype"] == "llm" for r in read_jsonl(tmp_path / "out/qa/heldout.jsonl"))
    assert endpoint.auth == {f"Bearer {SECRET}"} and endpoint.max_inflight <= 2
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="ignore"), f
    assert SECRET not in caplog.text
    calls = endpoint.calls
    build_indomain(cfg, suite, tmp_path / "again", frame_source=frame_source, llm_cache=tmp_path / "cache")
    assert endpoint.calls == calls  # every response came from the cache
    assert (tmp_path / "again/qa/train.jsonl").read_bytes() == (tmp_path / "out/qa/train.jsonl").read_bytes()


def test_unreachable_endpoint_is_a_clear_error(tmp_path: Path):
    llm = LlmSection(enabled=True, endpoint="http://127.0.0.1:9/v1", max_frames=1, retries=1, backoff_s=0.01)
    cfg = IndomainSection(kinds=["qa"], train_seeds=[0, 1], heldout_seeds=[100, 101], frames_per_episode=1, llm=llm)
    suite = SuiteSpec(tasks=[TaskSpec(id="PickCube-v1", instruction="pick")])
    with pytest.raises(UserError, match=r"127.0.0.1:9/v1: connection failed .* after 2 attempts"):
        build_indomain(cfg, suite, tmp_path / "out", frame_source=frame_source, llm_cache=tmp_path / "cache")
    assert not (tmp_path / "out/qa").exists()


def test_reply_parsers():
    assert parse_pairs('Sure! [{"question": "a?", "answer": "b"}, {"question": ""}]') == [("a?", "b")]
    assert parse_pairs("no json here") == []
    assert parse_verdict('{"correct": 2, "grounded": 3, "useful": 1}') == {"correct": 2, "grounded": 3, "useful": 1}
    for bad in ('{"correct": 4, "grounded": 3, "useful": 3}', '{"correct": 2, "grounded": 3}',
                '{"correct": "3", "grounded": 3, "useful": 3}', '{"correct": true, "grounded": 3, "useful": 3}', "ok"):
        assert parse_verdict(bad) is None
