"""Small process helpers for the servers of the tracking stack: ports, binaries, pid files, health waits.

Every server is started with an argument list (never a shell string), in its own session (so stopping it
stops its children, e.g. uvicorn workers), with its output in a log file and its pid in a pid file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from vlaser.errors import UserError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_binary(name: str, hint: str, extra_dirs: Sequence[Path] = ()) -> Path:
    """The path of executable ``name`` (PATH, then ``extra_dirs``); UserError (exit 2) naming how to get it."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for d in extra_dirs:
        if (d / name).is_file() and os.access(d / name, os.X_OK):
            return d / name
    raise UserError(f"'{name}' not found on PATH{' or in ' + ', '.join(map(str, extra_dirs)) if extra_dirs else ''}; "
                    f"{hint}")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    # a zombie child of this process still answers kill(0): look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def spawn(cmd: list[str], log_file: Path, pid_file: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own session, output to ``log_file``, pid to ``pid_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop(pid_file: Path, timeout_s: float = 30) -> bool:
    """Stop the process group named by ``pid_file`` (TERM, then KILL after ``timeout_s``); True if one ran."""
    pid = read_pid(pid_file)
    if not alive(pid):
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _reap(pid)
    pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return "(no log)"


def http_ok(url: str, timeout_s: float = 3) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_http(what: str, url: str, pid_file: Path, log_file: Path, timeout_s: float) -> None:
    """Wait until ``url`` answers 200; UserError with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if http_ok(url):
            return
        if not alive(read_pid(pid_file)):
            raise UserError(f"{what} exited while starting; last lines of {log_file}:\n{tail(log_file)}")
        time.sleep(1)
    raise UserError(f"{what} did not answer {url} within {timeout_s:.0f} s; last lines of {log_file}:\n"
                    f"{tail(log_file)}")
