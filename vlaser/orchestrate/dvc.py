"""Thin adapter over the DVC command line: status and single-stage repro.

DVC holds its repository lock while it plans and commits a stage but releases it while the stage's command
runs (``dvc.stage.run.unlocked_repo``); per-path read/write locks then keep writers apart. Every call here
passes ``--wait-for-lock``, so concurrent ``repro`` calls of independent stages (two variant chains) queue
for the short locked phases instead of failing, and their commands run in parallel. Commands are argument lists
(never shell strings); a stage that runs past its timeout is killed with every process it started.
DVC and the stage stay in the sweep's process group, so killing the sweep's group (a SIGKILL, Ctrl-C,
a job scheduler) also ends them: an orphaned stage would keep DVC's lock and block the resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from vlaser.errors import UserError
from vlaser.orchestrate.state import pid_alive


@dataclass(frozen=True)
class ReproOutcome:
    stage: str
    returncode: int
    ran: bool  # False when DVC found the stage up to date (a cache hit)
    seconds: float
    output_tail: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # stages run `python pipelines/...`: make `python` this interpreter (the project's venv)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def _dvc() -> list[str]:
    return [sys.executable, "-m", "dvc", "--wait-for-lock"]


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL me when the process that started me dies (Linux prctl).

    A sweep killed with SIGKILL cannot clean up; without this its `dvc repro` child would run on as an
    orphan and keep DVC's lock. The stage process sets the same for itself (vlaser.stage_entry)."""
    die_with_parent()


def die_with_parent() -> None:
    import ctypes

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def clear_stale_locks(root: Path, grace_s: float = 10.0) -> list[str]:
    """Drop entries of DVC's rwlock whose process is gone (a killed sweep leaves them behind).

    DVC refuses to run while its lock names a process, dead or alive; only dead ones are removed, so a
    stage that is really running elsewhere still blocks. A `dvc repro` orphaned by a killed sweep dies
    by its parent-death signal, which can land a moment after the sweep is gone: holders get ``grace_s``
    to exit before they count as running. Returns the commands whose locks were cleared.
    """
    path = root / ".dvc" / "tmp" / "rwlock"
    if not path.is_file():
        return []
    _wait_for_holders(path, grace_s)
    with lock(root):
        try:
            data = json.loads(path.read_text() or "{}")
        except json.JSONDecodeError:
            data = {}
        cleared: list[str] = []
        for mode in ("read", "write"):
            for target, holders in list(data.get(mode, {}).items()):
                entries = holders if isinstance(holders, list) else [holders]
                alive = [h for h in entries if pid_alive(int(h.get("pid", 0)))]
                cleared += [h.get("cmd", "?") for h in entries if h not in alive]
                if alive:
                    data[mode][target] = alive if isinstance(holders, list) else alive[0]
                else:
                    del data[mode][target]
        if cleared:
            path.write_text(json.dumps(data))
    return cleared


def _wait_for_holders(path: Path, grace_s: float) -> None:
    """Wait up to ``grace_s`` for every process named in the rwlock file to exit."""
    try:
        data = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError:
        return  # an unreadable lock file is handled (as empty) by the caller
    pids = {int(h.get("pid", 0)) for mode in ("read", "write") for holders in data.get(mode, {}).values()
            for h in (holders if isinstance(holders, list) else [holders])}
    deadline = time.monotonic() + grace_s
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


def lock(root: Path) -> FileLock:
    (root / ".vlaser").mkdir(exist_ok=True)
    return FileLock(str(root / ".vlaser" / "dvc.lock"))


def status(root: Path, targets: list[str] | None = None) -> dict[str, list]:
    """``dvc status --json``: {stage name: [what changed]} for stages that are not up to date."""
    res = subprocess.run([*_dvc(), "status", "--json", *(targets or [])], cwd=root, env=_env(),
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise UserError(f"dvc status failed in {root}:\n{res.stderr.strip()[-2000:]}")
    text = res.stdout.strip()
    return json.loads(text) if text else {}


def repro(root: Path, stage: str, timeout_s: float, log_path: Path | None = None) -> ReproOutcome:
    """Run one stage (``dvc repro --single-item``); DVC skips it when nothing it depends on changed."""
    t0 = time.monotonic()
    cmd = [*_dvc(), "repro", "--single-item", stage]
    proc = subprocess.Popen(cmd, cwd=root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc)
        out, _ = proc.communicate()
    except BaseException:
        _kill_tree(proc)
        proc.wait()
        raise
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(out)
    ran = "didn't change, skipping" not in out
    rc = -9 if timed_out else proc.returncode
    return ReproOutcome(stage, rc, ran, time.monotonic() - t0, out[-4000:], timed_out)


def stage_lock_hash(root: Path, stage: str, tries: int = 5) -> str | None:
    """A digest of ``stage``'s entry in dvc.lock (its command, the hashes of its deps, its params and the
    hashes of its outs): the DVC record of exactly what ran. None when the stage has no entry.

    Another stage's `dvc repro` may be rewriting dvc.lock at this moment (it does so under DVC's lock, which
    this read does not take), so a half-written file is read again a few times before it is an error."""
    import hashlib

    import yaml

    path = root / "dvc.lock"
    for attempt in range(tries):
        try:
            data = yaml.safe_load(path.read_text()) or {}
            break
        except (yaml.YAMLError, FileNotFoundError):
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    entry = (data.get("stages") or {}).get(stage)
    if entry is None:
        return None
    return hashlib.md5(json.dumps(entry, sort_keys=True).encode()).hexdigest()


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL DVC and everything it started (the stage and its workers; the tree is listed before the kill)."""
    import psutil

    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    proc.kill()
    for child in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def stage_error(outcome: ReproOutcome) -> str:
    """The most useful line(s) of a failed stage's output: its 'error:' message or the traceback's end."""
    if outcome.timed_out:
        return f"timed out after {outcome.seconds:.0f} s (sweep.stage_timeout_s)"
    lines = [ln for ln in outcome.output_tail.splitlines() if ln.strip()]
    user = [ln for ln in lines if ln.startswith("error:")]  # a UserError, as stage_entry prints it
    if not user and (exc := _exception_line(lines)):  # a crash: the traceback's exception line, whatever
        return exc[:500]  # the class is called (not DVC's own "ERROR: failed to reproduce ..." after it)
    errors = user or [ln for ln in lines if "Error" in ln.split(":")[0]]
    return (errors[-1] if errors else (lines[-1] if lines else f"exit code {outcome.returncode}"))[:500]


def _exception_line(lines: list[str]) -> str | None:
    """The exception line of the last Python traceback in ``lines`` (None without one)."""
    marks = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")]
    if not marks:
        return None
    return next((ln for ln in lines[marks[-1] + 1:] if not ln.startswith(" ")), None)
