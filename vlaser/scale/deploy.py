"""Register the sweep deployment of ``prefect.yaml`` on a work pool, and trigger or follow its runs.

    deploy(root, api_url="http://127.0.0.1:4200/api")                  # pool + deployment, as `vlaser deploy`
    run_id = trigger(api_url, "vlaser-sweep-entry/sweep", {"variants": ["base"]})
    wait_for(api_url, run_id, timeout_s=1800)["state_type"]            # "COMPLETED"

Registration goes through Prefect's own CLI (``prefect work-pool create``, ``prefect deploy``) as argument
lists; triggering and following runs use the server's REST API directly (``httpx``), so no Prefect
client state of this process is involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from vlaser.errors import UserError

DEPLOYMENT = "vlaser-sweep-entry/sweep"
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _prefect(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prefect", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def api_url_or_error(api_url: str | None) -> str:
    url = api_url or os.environ.get("PREFECT_API_URL")
    if not url:
        raise UserError("no Prefect server: pass --api-url or set PREFECT_API_URL (`vlaser stack up --prefect` "
                        "starts one and prints its URL); a deployment needs a server that workers poll")
    from vlaser.scale.procs import http_ok

    if not http_ok(url.rstrip("/") + "/health", timeout_s=10):
        raise UserError(f"the Prefect server at {url} does not answer {url.rstrip('/')}/health; start it "
                        "(`vlaser stack up --prefect`) or fix PREFECT_API_URL")
    return url


def deploy(root: Path, api_url: str | None = None, pool: str = "vlaser-process", name: str = "sweep",
           pool_type: str = "process") -> str:
    """Create ``pool`` if missing and register deployment ``name`` of ``root/prefect.yaml``; returns its id line."""
    root = Path(root).resolve()
    for need in ("prefect.yaml", "flows/sweep_entry.py"):
        if not (root / need).is_file():
            raise UserError(f"{root / need} not found: run `vlaser deploy` in a Vlaser checkout")
    url = api_url_or_error(api_url)
    env = {**os.environ, "PREFECT_API_URL": url, "VLASER_WORKSPACE": str(root)}
    res = _prefect(["work-pool", "create", pool, "--type", pool_type], root, env)
    if res.returncode != 0 and "already exists" not in (res.stdout + res.stderr):
        raise UserError(f"prefect work-pool create {pool} failed:\n{(res.stderr or res.stdout).strip()[-1500:]}")
    res = _prefect(["--no-prompt", "deploy", "--prefect-file", str(root / "prefect.yaml"), "-n", name,
                    "--pool", pool], root, env)
    out = res.stdout + res.stderr
    # Prefect 3.8.8's `deploy` registers the deployment, then asks the server for online workers with
    # limit=None, which its own server rejects (422 on .../workers/filter): registered all the same.
    known_bug = "workers/filter" in out and "422" in out
    if res.returncode != 0 and not (known_bug and exists(url, f"vlaser-sweep-entry/{name}")):
        raise UserError(f"prefect deploy -n {name} failed:\n{out.strip()[-2000:]}")
    return res.stdout


def exists(api_url: str, deployment: str) -> bool:
    """Whether ``deployment`` ("flow name/deployment name") is registered on the server."""
    with _client(api_url) as c:
        return c.get(f"deployments/name/{deployment}").status_code == 200


def _client(api_url: str):
    import httpx

    return httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=30)


def trigger(api_url: str, deployment: str = DEPLOYMENT, parameters: dict[str, Any] | None = None) -> str:
    """Create a flow run of ``deployment`` ("flow name/deployment name"); returns the flow run id."""
    flow_name, _, dep_name = deployment.partition("/")
    with _client(api_url) as c:
        r = c.get(f"deployments/name/{flow_name}/{dep_name}")
        if r.status_code == 404:
            raise UserError(f"no deployment '{deployment}' on {api_url}; register it with `vlaser deploy`")
        r.raise_for_status()
        r = c.post(f"deployments/{r.json()['id']}/create_flow_run", json={"parameters": parameters or {}})
        r.raise_for_status()
        return r.json()["id"]


def flow_run(api_url: str, run_id: str) -> dict[str, Any]:
    """The flow run as the server reports it (``state_type``, ``state_name``, ``parameters``, ...)."""
    with _client(api_url) as c:
        r = c.get(f"flow_runs/{run_id}")
        r.raise_for_status()
        return r.json()


def wait_for(api_url: str, run_id: str, timeout_s: float, poll_s: float = 2) -> dict[str, Any]:
    """Poll until the run reaches a final state (or ``timeout_s`` passes); returns the last report."""
    deadline = time.monotonic() + timeout_s
    run = flow_run(api_url, run_id)
    while run.get("state_type") not in FINAL and time.monotonic() < deadline:
        time.sleep(poll_s)
        run = flow_run(api_url, run_id)
    return run
