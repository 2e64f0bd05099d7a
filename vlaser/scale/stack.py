"""The local tracking stack: PostgreSQL + an MLflow tracking server (+ optionally a Prefect server).

    stack = Stack(root / ".vlaser" / "stack")
    info = stack.up(prefect=True)      # initdb once, start everything, wait for health, write stack.json
    info["settings"]["tracking"]       # {"mlflow_uri": "http://127.0.0.1:P", "lineage_url": "postgresql+psycopg://..."}
    stack.status(); stack.down()

Folder layout: ``pg/`` (cluster), ``mlflow-artifacts/``, ``prefect/`` (Prefect home of its server),
``logs/``, ``*.pid``, ``stack.json`` (ports, URLs, settings) and ``tracking.yaml`` (the ``tracking:``
block to put in params.yaml). Ports are free ports chosen at the first ``up`` and kept afterwards, so
the settings a team wrote down stay valid across restarts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from vlaser.errors import UserError
from vlaser.io import write_json
from vlaser.log import get_logger
from vlaser.scale import procs, servers
from vlaser.scale.postgres import PgCluster

log = get_logger("stack")
DATABASES = {"mlflow": "mlflow", "lineage": "lineage", "prefect": "prefect"}


class Stack:
    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.pg = PgCluster(self.folder / "pg")
        self.logs = self.folder / "logs"
        self.info_file = self.folder / "stack.json"

    def pid_file(self, name: str) -> Path:
        return self.folder / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def info(self) -> dict[str, Any]:
        """What the last ``up`` wrote (empty when the stack never ran)."""
        if not self.info_file.is_file():
            return {}
        try:
            return json.loads(self.info_file.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{self.info_file}: not valid JSON ({err}); delete it and run `vlaser stack up`") from None

    def _port(self, previous: dict[str, Any], name: str, wanted: int | None) -> int:
        port = wanted or previous.get(name, {}).get("port")
        if port and procs.port_free(port):
            return port
        if wanted:
            raise UserError(f"port {wanted} for {name} is in use on 127.0.0.1; choose another or leave it out")
        return procs.free_port()

    # -- up ----------------------------------------------------------------------------------------
    def up(self, prefect: bool = False, pg_port: int | None = None, mlflow_port: int | None = None,
           prefect_port: int | None = None, mlflow_workers: int = 1, timeout_s: float = 300) -> dict[str, Any]:
        """Start what is not running; returns the stack description (also written to stack.json)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        prev = self.info()
        if self.pg.init():
            log.info("initialised a PostgreSQL cluster in %s", self.pg.data)
        if self.pg.running():
            port = prev.get("postgres", {}).get("port")
            if port is None:
                raise UserError(f"PostgreSQL in {self.pg.data} runs but {self.info_file} does not say on which "
                                "port; run `vlaser stack down` first")
        else:
            port = self._port(prev, "postgres", pg_port)
            self.pg.start(port)
        self.pg.create_databases(port, list(DATABASES.values()) if prefect else
                                 [DATABASES["mlflow"], DATABASES["lineage"]])
        info: dict[str, Any] = {"folder": str(self.folder), "postgres": {"port": port, "data": str(self.pg.data),
                                                                        "log": str(self.pg.log)}}
        info["mlflow"] = self._start_mlflow(prev, port, mlflow_port, mlflow_workers)
        if prefect:
            info["prefect"] = self._start_prefect(prev, port, prefect_port)
        for name in ("mlflow", "prefect") if prefect else ("mlflow",):
            procs.wait_http(f"{name} server", info[name]["health"], self.pid_file(name), self.log_file(name),
                            timeout_s)
        info["settings"] = settings(info)
        write_json(self.info_file, info)
        (self.folder / "tracking.yaml").write_text(yaml.safe_dump({"tracking": info["settings"]["tracking"]},
                                                                  sort_keys=False))
        return info

    def _start_mlflow(self, prev: dict, pg_port: int, wanted: int | None, workers: int) -> dict[str, Any]:
        artifacts = self.folder / "mlflow-artifacts"
        artifacts.mkdir(exist_ok=True)
        old = prev.get("mlflow", {})
        if procs.alive(procs.read_pid(self.pid_file("mlflow"))) and old.get("port"):
            return old
        port = self._port(prev, "mlflow", wanted)
        env = servers.mlflow_env(PgCluster.url(pg_port, DATABASES["mlflow"]))
        procs.spawn(servers.mlflow_command(port, artifacts, workers), self.log_file("mlflow"), self.pid_file("mlflow"),
                    env, self.folder)
        return {"port": port, "url": f"http://127.0.0.1:{port}", "artifacts": str(artifacts),
                "health": servers.mlflow_health(port), "log": str(self.log_file("mlflow"))}

    def _start_prefect(self, prev: dict, pg_port: int, wanted: int | None) -> dict[str, Any]:
        old = prev.get("prefect", {})
        if procs.alive(procs.read_pid(self.pid_file("prefect"))) and old.get("port"):
            return old
        port = self._port(prev, "prefect", wanted)
        home = self.folder / "prefect"
        home.mkdir(exist_ok=True)
        env = servers.prefect_env(home, PgCluster.url(pg_port, DATABASES["prefect"], driver="asyncpg"))
        procs.spawn(servers.prefect_command(port), self.log_file("prefect"), self.pid_file("prefect"), env,
                    self.folder)
        return {"port": port, "api_url": f"http://127.0.0.1:{port}/api", "health": servers.prefect_health(port),
                "log": str(self.log_file("prefect"))}

    # -- down / status -----------------------------------------------------------------------------
    def down(self) -> dict[str, bool]:
        """Stop every part; {part: whether it was running}."""
        stopped = {name: procs.stop(self.pid_file(name)) for name in ("prefect", "mlflow")}
        stopped["postgres"] = self.pg.stop() if self.pg.initialised else False
        return stopped

    def status(self) -> dict[str, dict[str, Any]]:
        """{part: {"running", "port", "url"}} for postgres, mlflow and (if it was started) prefect."""
        info = self.info()
        out = {"postgres": {"running": self.pg.running(), "port": info.get("postgres", {}).get("port"),
                            "url": str(self.pg.data)}}
        for name, url_key in (("mlflow", "url"), ("prefect", "api_url")):
            part = info.get(name)
            if part is None and not self.pid_file(name).exists():
                continue
            part = part or {}
            up = procs.alive(procs.read_pid(self.pid_file(name))) and procs.http_ok(part.get("health", ""))
            out[name] = {"running": up, "port": part.get("port"), "url": part.get(url_key)}
        return out


def settings(info: dict[str, Any]) -> dict[str, Any]:
    """The settings that point a workspace at the stack: params.yaml ``tracking`` keys and environment."""
    port = info["postgres"]["port"]
    out: dict[str, Any] = {"tracking": {"mlflow_uri": info["mlflow"]["url"],
                                        "lineage_url": PgCluster.url(port, DATABASES["lineage"])}, "env": {}}
    if "prefect" in info:
        out["env"]["PREFECT_API_URL"] = info["prefect"]["api_url"]
    return out
