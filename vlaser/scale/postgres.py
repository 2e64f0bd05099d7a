"""A PostgreSQL cluster in a folder: initdb, start on 127.0.0.1, create databases, stop.

PostgreSQL refuses to run as root, so when this process is root its tools run as the ``postgres``
system user (``runuser -u postgres``) and the cluster folder is handed to that user. Connection
settings (address, port, no Unix socket) live in ``<data>/vlaser.conf``, included from
``postgresql.conf``, so no option ever goes through ``pg_ctl -o`` (which pg_ctl passes to a shell).
The local cluster trusts connections from 127.0.0.1 (a single-user machine); docs/scaling.md shows
password authentication for a shared one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from vlaser.errors import UserError
from vlaser.scale.procs import require_binary

HINT = "install PostgreSQL (scripts/setup.sh does: apt-get install postgresql) or put its bin/ folder on PATH"
SUPERUSER = "postgres"


def _pg_dirs() -> list[Path]:
    """Debian/Ubuntu keep the server tools off PATH, in /usr/lib/postgresql/<version>/bin (newest first)."""
    base = Path("/usr/lib/postgresql")
    versions = sorted((p for p in base.glob("*/bin") if p.is_dir()), key=lambda p: _version(p.parent.name),
                      reverse=True) if base.is_dir() else []
    return versions


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in name.split(".") if x.isdigit())


def pg_binary(name: str) -> Path:
    return require_binary(name, HINT, _pg_dirs())


class PgCluster:
    """The cluster whose files live in ``folder`` (data in ``folder/data``, log in ``folder/postgres.log``)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"

    # -- running the tools -------------------------------------------------------------------------
    @staticmethod
    def as_root() -> bool:
        return os.geteuid() == 0

    def _cmd(self, args: list[str]) -> list[str]:
        if not self.as_root():
            return args
        runuser = require_binary("runuser", "runuser (util-linux) is needed to run PostgreSQL as 'postgres' "
                                            "when working as root")
        return [str(runuser), "-u", SUPERUSER, "--", *args]

    def _run(self, args: list[str], what: str) -> subprocess.CompletedProcess:
        res = subprocess.run(self._cmd(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise UserError(f"PostgreSQL {what} failed (exit {res.returncode}) for {self.data}:\n"
                            f"{(res.stderr or res.stdout).strip()[-1500:]}\nlog: {self.log}")
        return res

    def _hand_over(self, path: Path) -> None:
        """As root, give ``path`` to the postgres user and check that user can reach it."""
        if not self.as_root():
            return
        try:
            pw = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise UserError(f"running as root, but there is no '{SUPERUSER}' system user to run PostgreSQL as; "
                            f"{HINT}") from None
        shutil.chown(path, pw.pw_uid, pw.pw_gid)
        probe = subprocess.run(self._cmd(["test", "-w", str(path)]), stdin=subprocess.DEVNULL)
        if probe.returncode != 0:
            raise UserError(f"PostgreSQL runs as user '{SUPERUSER}' (it refuses root) and cannot write {path}: "
                            "make its parent folders traversable (chmod o+x) or choose another --folder")

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def init(self) -> bool:
        """``initdb`` once (superuser ``postgres``, trust on 127.0.0.1); False when already initialised."""
        if self.initialised:
            return False
        initdb = pg_binary("initdb")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.folder)
        self._run([str(initdb), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                   "--no-instructions"], "initdb")
        conf = self.data / "postgresql.conf"
        with open(conf, "a") as f:
            f.write("\n# vlaser: listen address and port, rewritten by each `vlaser stack up`\n"
                    "include_if_exists = 'vlaser.conf'\n")
        return True

    def configure(self, port: int) -> None:
        """Listen on 127.0.0.1:``port`` only, no Unix socket (paths in temp folders are too long for one)."""
        path = self.data / "vlaser.conf"
        path.write_text(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n")
        self._hand_over(path)

    def start(self, port: int, timeout_s: int = 120) -> None:
        if not self.initialised:
            raise UserError(f"no PostgreSQL cluster in {self.data}; run `vlaser stack up` (it runs initdb)")
        self.configure(port)
        pg_ctl = pg_binary("pg_ctl")
        self._run([str(pg_ctl), "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(timeout_s), "start"],
                  "start")

    def running(self) -> bool:
        if not self.initialised:
            return False
        pg_ctl = pg_binary("pg_ctl")
        res = subprocess.run(self._cmd([str(pg_ctl), "-D", str(self.data), "status"]), capture_output=True,
                             stdin=subprocess.DEVNULL)
        return res.returncode == 0

    def stop(self) -> bool:
        """Fast shutdown (rolls back open transactions); False when it was not running."""
        if not self.running():
            return False
        self._run([str(pg_binary("pg_ctl")), "-D", str(self.data), "-m", "fast", "-w", "stop"], "stop")
        return True

    # -- databases ---------------------------------------------------------------------------------
    @staticmethod
    def url(port: int, database: str, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of ``database`` (``driver``: psycopg for MLflow/lineage, asyncpg for Prefect)."""
        return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{port}/{database}"

    @staticmethod
    def create_databases(port: int, names: list[str]) -> list[str]:
        """Create the databases that do not exist yet; returns those created."""
        import psycopg
        from psycopg import sql

        created = []
        with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True,
                             connect_timeout=10) as conn:
            for name in names:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
        return created
