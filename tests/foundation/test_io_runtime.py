"""Atomic outputs, digests, meta.json and environment defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vlaser.errors import UserError
from vlaser.io import atomic_dir, dir_digest, read_meta, write_meta
from vlaser.runtime import env_defaults


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(dest) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("stage failed")
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_previous_output(tmp_path):
    dest = tmp_path / "out"
    for content in ("one", "two"):
        with atomic_dir(dest) as tmp:
            (tmp / "f.txt").write_text(content)
            write_meta(tmp, "test", params={"x": 1}, parents={"a": "b"})
    assert (dest / "f.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    meta = read_meta(dest)
    assert meta["digest"] == dir_digest(dest)
    assert meta["parents"] == {"a": "b"}


def test_digest_changes_with_content_not_meta(tmp_path):
    (tmp_path / "a").write_text("x")
    d1 = dir_digest(tmp_path)
    (tmp_path / "meta.json").write_text("{}")
    assert dir_digest(tmp_path) == d1
    (tmp_path / "a").write_text("y")
    assert dir_digest(tmp_path) != d1


def test_corrupt_meta_is_a_user_error(tmp_path):
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(UserError, match="corrupt meta.json"):
        read_meta(tmp_path)


def test_killed_writer_leaves_no_finished_output(tmp_path):
    code = (
        "import os, signal, sys; from vlaser.io import atomic_dir\n"
        f"with atomic_dir({str(tmp_path / 'out')!r}) as t:\n"
        "    (t / 'part').write_text('x'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert not (tmp_path / "out").exists()


def test_user_environment_wins(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "7", "PREFECT_HOME": str(tmp_path / "ph")}
    code = "import os, vlaser.cli; print(os.environ['OMP_NUM_THREADS'], os.environ['PREFECT_HOME'], os.environ['DVC_NO_ANALYTICS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["7", str(tmp_path / "ph"), "1"]
    defaults = env_defaults(tmp_path)
    assert defaults["PREFECT_HOME"].startswith(str(tmp_path / ".vlaser"))
    assert json.dumps(defaults)  # all strings
