"""params.yaml validation: the shipped file is valid; each kind of bad input names its key and exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vlaser.config import load_params, params_from_dict
from vlaser.config.presets import PRESETS
from vlaser.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def base() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vlaser", *args], capture_output=True, text=True, cwd=REPO,
                          stdin=subprocess.DEVNULL)


def test_shipped_params_are_valid_for_every_preset():
    for name in PRESETS:
        params = load_params(REPO / "params.yaml", preset=name)
        assert params.preset == name
    tiny = load_params(REPO / "params.yaml")
    assert tiny.sweep.variants == ["base", "ood", "qa", "spatial", "grounding", "all"]
    assert tiny.model.exec_horizon <= tiny.model.chunk_size


def test_preset_overlay_wins_over_file():
    p = load_params(REPO / "params.yaml", preset="internvl3-2b")
    assert (p.pretrain.steps, p.pretrain.global_batch, p.pretrain.lr) == (5000, 128, 2e-5)
    assert (p.finetune.global_batch, p.finetune.lr) == (1024, 5e-5)
    assert (p.model.chunk_size, p.model.exec_horizon, p.model.denoise_steps) == (4, 4, 10)
    assert p.model.source == "local"


@pytest.mark.parametrize(
    "mutate, key, expected",
    [
        (lambda d: d["pretrain"].update(stepz=3), "pretrain.stepz", "unknown key"),
        (lambda d: d["pretrain"].update(steps="many"), "pretrain.steps", "valid integer"),
        (lambda d: d["pretrain"].update(steps=-5), "pretrain.steps", "greater than 0"),
        (lambda d: d["model"].update(chunk_size=4, exec_horizon=8), "exec_horizon", "H <= P"),
        (lambda d: d["mixture"]["variants"]["ood"].update(sources={"ood/procedural": 0.0}), "mixture.variants.ood",
         "all mixture weights are zero"),
        (lambda d: d["sim"]["suites"]["cpu-default"]["tasks"][0].update(id="PickCub-v1"),
         "sim.suites.cpu-default.tasks.0.id", "unknown task id"),
        (lambda d: d["sweep"].update(variants=["base", "nope"]), "sweep.variants.1", "unknown variant"),
    ],
)
def test_bad_values_name_the_key(mutate, key, expected):
    data = base()
    mutate(data)
    with pytest.raises(UserError) as err:
        params_from_dict(data, "params.yaml")
    assert key in str(err.value)
    assert expected in str(err.value)


def test_unknown_preset_suggests_closest():
    with pytest.raises(UserError, match="did you mean 'internvl3-2b'"):
        params_from_dict(base(), preset="internvl3-2")


def test_config_check_cli_exit_codes(tmp_path):
    good = write(tmp_path, base())
    ok = cli("config", "check", str(good))
    assert ok.returncode == 0, ok.stderr
    cases = {
        "misspelt key": (lambda d: d["finetune"].update(expert_lrr=1.0), "finetune.expert_lrr"),
        "wrong type": (lambda d: d["finetune"].update(micro_batch=[1]), "finetune.micro_batch"),
        "impossible value": (lambda d: d["finetune"].update(global_batch=33, micro_batch=32), "multiple of micro_batch"),
    }
    for name, (mutate, needle) in cases.items():
        data = base()
        mutate(data)
        path = write(tmp_path, data)
        res = cli("config", "check", str(path))
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        assert needle in res.stderr.replace("\n", " "), (name, res.stderr)
        assert "Traceback" not in res.stderr


def test_line_numbers_and_yaml_errors(tmp_path):
    text = (REPO / "params.yaml").read_text().replace("  concurrency: 1", "  concurrency: 0")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    expected_line = text.splitlines().index("  concurrency: 0") + 1
    with pytest.raises(UserError, match=rf"sweep.concurrency \(line {expected_line}\)"):
        load_params(path)
    path.write_text("sweep: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_params(path)
    res = cli("config", "check", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2 and "not found" in res.stderr


def test_config_show_resolves_preset():
    res = cli("config", "show", "--preset", "internvl3-2b", "--section", "pretrain")
    assert res.returncode == 0, res.stderr
    shown = yaml.safe_load(res.stdout)
    assert shown["pretrain"]["steps"] == 5000


def test_help_lists_only_working_verbs():
    res = cli("--help")
    assert res.returncode == 0
    for verb in ("config",):
        assert verb in res.stdout
    res = cli("config", "--help")
    assert res.returncode == 0 and "check" in res.stdout
