"""Bad inputs across the surface, through the real `vlaser` command line: each a clear message and exit 2.

One test per row of the table in docs/reliability.md (params, datasets, checkpoints, CLI arguments).
The workspaces point tracking.mlflow_uri at a closed 127.0.0.1 port, so a stage run by hand buffers its
records at once instead of creating an MLflow store (the checks fire before any record matters).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GOOD_LINE = {"id": "r1", "image": "img.png", "width": 4, "height": 4,
             "conversations": [{"from": "human", "value": "<image>\nWhere is it?"},
                               {"from": "gpt", "value": "<point>[[10, 20]]</point>"}]}


def cli(*args: str, ws: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `vlaser ARGS` (in workspace ``ws``); stderr with whitespace collapsed (rich wraps lines)."""
    env = {**os.environ, "VLASER_QUIET": "1", "COLUMNS": "2000"}  # rich must not wrap the message
    if ws is not None:
        env["VLASER_WORKSPACE"] = str(ws)
        env.pop("PREFECT_HOME", None)
    res = subprocess.run([sys.executable, "-m", "vlaser", *args], cwd=ws or REPO, env=env, capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    res.stderr = " ".join(res.stderr.split())
    return res


def refused(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in: {res.stderr}"
    assert "Traceback" not in res.stderr


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workspace(tmp_path: Path, overrides: dict | None = None) -> Path:
    """A workspace holding only params.yaml (the repo's, with ``overrides`` merged, tracking to a dead port)."""
    from vlaser.config.presets import deep_merge

    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data = deep_merge(data, {"tracking": {"mlflow_uri": f"http://127.0.0.1:{_dead_port()}", "timeout_s": 2}})
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "params.yaml").write_text(yaml.safe_dump(deep_merge(data, overrides or {}), sort_keys=False))
    return ws


# ------------------------------------------------------------------------------------------- params
def _params_with(tmp_path: Path, section: str, key: str, value) -> Path:
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data.setdefault(section, {})[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_params_wrong_type(tmp_path):
    refused(cli("config", "check", str(_params_with(tmp_path, "pretrain", "steps", "many"))),
            "pretrain.steps (line", "valid integer", "'many'")


def test_params_out_of_range(tmp_path):
    refused(cli("config", "check", str(_params_with(tmp_path, "sweep", "concurrency", 0))),
            "sweep.concurrency (line", "greater than or equal to 1", "got 0")


def test_params_unknown_key(tmp_path):
    refused(cli("config", "check", str(_params_with(tmp_path, "finetune", "stepz", 3))),
            "finetune.stepz (line", "unknown key")


def test_params_unknown_variant_in_sweep(tmp_path):
    refused(cli("config", "check", str(_params_with(tmp_path, "sweep", "variants", ["base", "nosuch"]))),
            "sweep.variants.1: unknown variant 'nosuch'")


# ----------------------------------------------------------------------------------------- datasets
def _dataset_ws(tmp_path: Path, lines: list[str], image: bool = True) -> Path:
    data = tmp_path / "mine"
    data.mkdir()
    if image:
        from PIL import Image

        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(data / "img.png")
    (data / "train.jsonl").write_text("\n".join(lines) + "\n")
    return workspace(tmp_path, {"ood": {"sources": {"mine": {"kind": "jsonl", "annotation": str(data / "train.jsonl"),
                                                             "n_train": 10, "n_heldout": 0}}}})


def test_dataset_malformed_jsonl_line(tmp_path):
    ws = _dataset_ws(tmp_path, [json.dumps(GOOD_LINE), '{"id": "r2", "conversations": ['])
    refused(cli("stage", "ood", "--source", "mine", ws=ws), "train.jsonl:2: not valid JSON")
    assert not (ws / "data" / "ood" / "mine").exists(), "nothing half-written looks finished"


def test_dataset_missing_image(tmp_path):
    ws = _dataset_ws(tmp_path, [json.dumps(GOOD_LINE)], image=False)
    refused(cli("stage", "ood", "--source", "mine", ws=ws), "train.jsonl:1: image not found", "img.png")


def test_dataset_wrong_coordinates(tmp_path):
    bad = json.loads(json.dumps(GOOD_LINE))
    bad["conversations"][1]["value"] = "<box>[[10, 20, 1500, 40]]</box>"
    ws = _dataset_ws(tmp_path, [json.dumps(GOOD_LINE), json.dumps(bad)])
    refused(cli("stage", "ood", "--source", "mine", ws=ws), "train.jsonl:2:", "outside [0, 1000]")


# -------------------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def vla_dir(tmp_path_factory) -> Path:
    """A real tiny VLA checkpoint (safetensors + JSON)."""
    import torch

    from tests.model.conftest import CORPUS, make_policy, small_cfg
    from vlaser.model.checkpoint import save_vla
    from vlaser.model.normalize import NormStats
    from vlaser.model.tokenizer import build_tokenizer

    torch.set_num_threads(1)
    cfg = small_cfg()
    tok = build_tokenizer(CORPUS, cfg.text.vocab_size)
    rng = np.random.default_rng(0)
    stats = {"state": NormStats.from_data(rng.normal(size=(50, cfg.state_dim))),
             "action": NormStats.from_data(rng.uniform(-1, 1, (50, cfg.action_dim)))}
    return save_vla(tmp_path_factory.mktemp("ck") / "vla", make_policy(cfg, tok), stats, cfg, tokenizer=tok)


def _damaged(tmp_path: Path, vla_dir: Path, damage) -> Path:
    dst = tmp_path / "ck"
    shutil.copytree(vla_dir, dst)
    damage(dst)
    return dst


def test_checkpoint_truncated_file(tmp_path, vla_dir):
    def cut(d):
        data = (d / "expert.safetensors").read_bytes()
        (d / "expert.safetensors").write_bytes(data[: len(data) // 3])

    ck = _damaged(tmp_path, vla_dir, cut)
    res = cli("eval", "closed-loop", "--policy", str(ck), "--out", str(tmp_path / "out"))
    refused(res, "expert.safetensors: truncated safetensors file")
    assert not (tmp_path / "out").exists()


def test_checkpoint_wrong_shapes(tmp_path, vla_dir):
    def narrower(d):
        config = json.loads((d / "config.json").read_text())
        config["text_config"]["intermediate_size"] = 96
        (d / "config.json").write_text(json.dumps(config))

    ck = _damaged(tmp_path, vla_dir, narrower)
    res = cli("eval", "closed-loop", "--policy", str(ck), "--out", str(tmp_path / "out"))
    refused(res, "model.safetensors: tensor", "has shape [64, 128], the model expects [64, 96]")


def test_checkpoint_missing_folder(tmp_path):
    refused(cli("eval", "closed-loop", "--policy", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")),
            "nowhere': expected 'expert', 'random' or an existing VLA checkpoint folder")


# ------------------------------------------------------------------------------------ CLI arguments
def test_cli_unknown_sweep(tmp_path):
    ws = workspace(tmp_path)
    refused(cli("resume", "20990101-000000-beef", ws=ws), "unknown sweep '20990101-000000-beef'")
    refused(cli("status", "nosuch", ws=ws), "unknown sweep 'nosuch'")


def test_cli_unknown_variant(tmp_path):
    ws = workspace(tmp_path)
    refused(cli("sweep", "--variants", "base,nosuch", ws=ws), "variant(s) nosuch not in params.yaml sweep.variants")
    assert not (ws / ".vlaser" / "sweeps").exists() or not any((ws / ".vlaser" / "sweeps").iterdir()), \
        "a refused sweep leaves no state behind"


def test_cli_unknown_stage(tmp_path):
    ws = workspace(tmp_path)
    refused(cli("stage", "pretrian", "--variant", "base", "--seed", "0", ws=ws),
            "unknown stage 'pretrian'", "pretrain")
    refused(cli("stage", "pretrain", "--variant", "nosuch", "--seed", "0", ws=ws), "unknown variant 'nosuch'")


def test_cli_unknown_command_and_option():
    refused(cli("frobnicate"), "No such command 'frobnicate'")
    refused(cli("doctor", "--jsn"), "No such option: --jsn")
