"""Bad input through the CLI: exit 2, a clear message, nothing that looks finished."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.errors import UserError

pytestmark = pytest.mark.sim


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "VLASER_QUIET": "1", **env}
    return subprocess.run([sys.executable, "-m", "vlaser", "eval", "closed-loop", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_unknown_suite_and_task(repo_root, tmp_path):
    out = tmp_path / "out"
    r = _cli(["--policy", "expert", "--suite", "nope", "--episodes", "1", "--out", str(out)], repo_root)
    assert r.returncode == 2 and "unknown suite" in r.stderr and "cpu-default" in r.stderr
    r = _cli(["--policy", "expert", "--task", "NoSuchTask-v1", "--episodes", "1", "--out", str(out)], repo_root)
    assert r.returncode == 2 and "NoSuchTask-v1" in r.stderr
    assert not out.exists()


def test_unknown_policy_is_a_user_error(repo_root, tmp_path):
    r = _cli(["--policy", str(tmp_path / "missing-ckpt"), "--episodes", "1", "--out", str(tmp_path / "o")],
             repo_root)
    assert r.returncode == 2 and "expert" in r.stderr


def test_missing_assets_say_how_to_install(repo_root, tmp_path):
    out = tmp_path / "out"
    r = _cli(["--policy", "random", "--suite", "simpler-widowx", "--episodes", "1", "--out", str(out)], repo_root,
             MS_ASSET_DIR=str(tmp_path / "empty-assets"))
    assert r.returncode == 2
    assert "bridge_v2_real2sim" in r.stderr and "download_asset" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("python", ["missing", "without-package"])
def test_simpler_google_without_its_interpreter(repo_root, tmp_path, python):
    """The suite's second Python is missing, or lacks simpler_env: exit 2 naming the package and the fix."""
    import yaml

    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    interpreter = str(tmp_path / "no-venv" / "bin" / "python") if python == "missing" else sys.executable
    params["sim"]["suites"]["simpler-google"]["python"] = interpreter
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "o"
    full_env = {**os.environ, "VLASER_QUIET": "1"}
    r = subprocess.run([sys.executable, "-m", "vlaser", "--params", str(tmp_path / "params.yaml"), "eval",
                        "closed-loop", "--policy", "random", "--suite", "simpler-google", "--episodes", "1",
                        "--out", str(out)], cwd=repo_root, env=full_env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "simpler_env" in r.stderr and "simpler-env.sh" in r.stderr
    assert ("does not exist" if python == "missing" else "cannot import") in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("icd", ["missing", "bogus"])
def test_no_vulkan_is_exit_2_not_a_crash(repo_root, tmp_path, icd):
    path = tmp_path / "icd.json"
    if icd == "bogus":  # an ICD file that exists but names no driver: the subprocess probe must catch it
        path.write_text('{"file_format_version": "1.0.0", "ICD": {"library_path": "/nonexistent/libvulkan_x.so",'
                        ' "api_version": "1.3.0"}}')
    out = tmp_path / "out"
    r = _cli(["--policy", "random", "--task", "PushCube-v1", "--episodes", "1", "--out", str(out)], repo_root,
             VK_ICD_FILENAMES=str(path))
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Vulkan" in r.stderr and "setup.sh" in r.stderr
    assert not out.exists()


def test_unknown_task_in_a_hand_made_suite():
    from vlaser.sim.envs import SimEnv

    suite = SuiteSpec(tasks=[TaskSpec(id="NoSuchTask-v1", instruction="x")])
    with pytest.raises(UserError, match="NoSuchTask-v1"):
        SimEnv("custom", suite, suite.tasks[0])


def test_expert_refuses_a_task_it_has_no_script_for_before_any_env(tmp_path):
    from vlaser.sim.harness import evaluate
    from vlaser.sim.policies import ExpertPolicy

    suite = SuiteSpec(tasks=[TaskSpec(id="PushCube-v1", instruction="push"),
                             TaskSpec(id="PokeCube-v1", instruction="poke the cube")])
    out = tmp_path / "out"
    with pytest.raises(UserError, match="no scripted expert for task 'PokeCube-v1'"):
        evaluate(ExpertPolicy(), "custom", suite, 1, 0, out, videos_per_task=0)
    assert not out.exists()


def test_simpler_env_script_refuses_a_folder_that_is_no_checkout(repo_root, tmp_path):
    r = subprocess.run(["bash", str(repo_root / "scripts" / "simpler-env.sh"), str(tmp_path)], cwd=tmp_path,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2 and "simpler_env/__init__.py" in r.stderr and str(tmp_path) in r.stderr
    (tmp_path / "simpler_env").mkdir()
    (tmp_path / "simpler_env" / "__init__.py").write_text("")
    r = subprocess.run(["bash", str(repo_root / "scripts" / "simpler-env.sh"), str(tmp_path)], cwd=tmp_path,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2 and "ManiSkill2_real2sim" in r.stderr
