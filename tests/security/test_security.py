"""Security rules of the platform, checked on the code and on real objects: no shell strings, nothing
unpickled, checkpoints only safetensors/JSON, secrets only from the environment and never shown, servers on
127.0.0.1 by default."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.security.scan import python_files, scan_repo, scan_source

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret-Pa55"
ALLOWED_CHECKPOINT_SUFFIXES = {".safetensors", ".json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------- the code scan
BAD_SNIPPETS = {
    "shell=True": "import subprocess\nsubprocess.run('ls', shell=True)\n",
    "command string": "import subprocess\nsubprocess.check_output(f'dvc repro {stage}')\n",
    "runs a shell": "import os\nos.system('rm -rf x')\n",
    "imports pickle": "import pickle\n",
    "imports from joblib": "from joblib import load\n",
    "weights_only": "import torch\ntorch.load('x.pt')\n",
    "allow_pickle": "import numpy as np\nnp.load('x.npz', allow_pickle=True)\n",
    "unpickles": "import pandas as pd\npd.read_pickle('x')\n",
    "safe_load": "import yaml\nyaml.load(open('p'))\n",
    "eval()": "eval(input())\n",
    "binds all interfaces": "HOST = '0.0.0.0'\n",
}


@pytest.mark.parametrize("rule", list(BAD_SNIPPETS))
def test_scanner_catches_each_rule(rule):
    found = scan_source(BAD_SNIPPETS[rule])
    assert any(rule in v.rule for v in found), found


def test_scanner_accepts_the_safe_forms():
    ok = ("import subprocess, torch, yaml\nsubprocess.run(['dvc', 'status'], shell=False)\n"
          "torch.load('w.pt', weights_only=True)\nyaml.safe_load('a: 1')\nmodel.eval()\nHOST = '127.0.0.1'\n")
    assert scan_source(ok) == []


def test_package_has_no_shell_pickle_or_unsafe_loads():
    assert len(python_files(REPO)) > 50, "the scan must see the package"
    assert [str(v) for v in scan_repo(REPO)] == []


# ---------------------------------------------------------------------------- checkpoints: safetensors
def _suffixes(folder: Path) -> set[str]:
    return {p.suffix for p in folder.rglob("*") if p.is_file() and p.name != "last"}


def test_checkpoints_and_train_state_are_only_safetensors_and_json(tmp_path):
    """A real (tiny) VLA checkpoint, optimizer state and RNG state: no pickle-capable file anywhere."""
    from tests.model.conftest import CORPUS, make_policy, small_cfg
    from vlaser.model.checkpoint import load_vla, save_vla
    from vlaser.model.normalize import NormStats
    from vlaser.model.tokenizer import build_tokenizer
    from vlaser.train.checkpoints import capture_rng
    from vlaser.train.serialize import save_tree

    torch.set_num_threads(1)
    cfg = small_cfg()
    tok = build_tokenizer(CORPUS, cfg.text.vocab_size)
    policy = make_policy(cfg, tok)
    stats = {"state": NormStats.from_data(torch.rand(32, cfg.state_dim).numpy()),
             "action": NormStats.from_data(torch.rand(32, cfg.action_dim).numpy())}
    save_vla(tmp_path / "vla", policy, stats, cfg, tokenizer=tok)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    policy.train()
    loss, _ = policy.compute_loss(_batch(cfg, tok))
    loss.backward()
    opt.step()
    (tmp_path / "state").mkdir()
    save_tree(opt.state_dict(), tmp_path / "state", "optimizer")
    save_tree(capture_rng(), tmp_path / "state", "rng")
    for folder in (tmp_path / "vla", tmp_path / "state"):
        assert _suffixes(folder) <= ALLOWED_CHECKPOINT_SUFFIXES, sorted(p.name for p in folder.rglob("*"))
    load_vla(tmp_path / "vla")  # and it loads back through safetensors/JSON only


def _batch(cfg, tok):
    from tests.model.conftest import make_batch

    return make_batch(cfg, tok, ["push the cube to the goal"] * 2)


# ------------------------------------------------------------------------------------------ secrets
def _secret_fields(model_cls, prefix: str = "") -> list[str]:
    """Settings fields whose name says they hold a secret (a value, not the NAME of an env variable)."""
    from pydantic import BaseModel

    out = []
    for name, field in model_cls.model_fields.items():
        path = f"{prefix}{name}"
        secretish = bool(set(name.lower().split("_")) & {"key", "apikey", "token", "password", "passwd", "secret",
                                                          "credential", "credentials"})
        if secretish and not name.endswith("_env"):
            out.append(path)
        ann = field.annotation
        for cls in (ann, *getattr(ann, "__args__", ())):
            if inspect.isclass(cls) and issubclass(cls, BaseModel):
                out += _secret_fields(cls, f"{path}.")
    return out


def test_settings_hold_no_secret_values_only_env_variable_names():
    from vlaser.config import Params, load_params

    assert _secret_fields(Params) == []
    assert load_params(REPO / "params.yaml").indomain.llm.api_key_env == "VLASER_LLM_API_KEY"


def test_tracking_uri_password_is_never_shown(tmp_path, caplog):
    """A password inside tracking.mlflow_uri appears neither in the outage warning nor in the error."""
    from vlaser.errors import UserError
    from vlaser.tracking import Tracking

    uri = f"http://alice:{SECRET}@127.0.0.1:{_free_port()}"
    with caplog.at_level("WARNING"):
        Tracking(uri=uri, root=tmp_path, mode="buffer").start_sweep_run("sw-1")
    with pytest.raises(UserError) as err:
        Tracking(uri=uri, root=tmp_path, mode="fail").start_sweep_run("sw-1")
    shown = caplog.text + str(err.value)
    assert "alice:***@127.0.0.1" in shown and SECRET not in shown


def test_lineage_url_password_is_never_shown_by_the_cli(tmp_path):
    """Through the real CLI: an unreachable PostgreSQL registry URL is named with its password hidden."""
    pytest.importorskip("psycopg")
    import yaml

    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data.setdefault("tracking", {})["lineage_url"] = f"postgresql+psycopg://alice:{SECRET}@127.0.0.1:{_free_port()}/v"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    env = {**os.environ, "VLASER_WORKSPACE": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "vlaser", "lineage", "--verify"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert res.returncode == 2, res.stderr
    assert "alice:***@127.0.0.1" in res.stderr and SECRET not in res.stdout + res.stderr


# ------------------------------------------------------------------------------------ servers: localhost
def test_servers_bind_localhost_by_default(monkeypatch):
    import typer

    from vlaser.cli.analysis import dashboard_argv, dashboard_cmd
    from vlaser.config.data import LlmSection
    from vlaser.config.sweep import TrackingSection

    host = inspect.signature(dashboard_cmd).parameters["host"].default
    assert isinstance(host, typer.models.OptionInfo) and host.default == "127.0.0.1"
    argv = dashboard_argv(Path("app.py"), host.default, 8501, Path("reports"))
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert "--server.headless" in argv and argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert "127.0.0.1" in LlmSection().endpoint
    for uri in (TrackingSection().mlflow_uri, TrackingSection().lineage_url):
        assert uri.startswith("sqlite:///")  # local files by default: no server at all
    assert TrackingSection().prefect_api_url is None  # Prefect's ephemeral API (a 127.0.0.1 subprocess)
    from vlaser.train import distributed

    for var in ("MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)  # restored after the test
    distributed.ensure_env()  # torch.distributed's rendezvous (DeepSpeed on the CPU)
    assert os.environ["MASTER_ADDR"] == "127.0.0.1"
