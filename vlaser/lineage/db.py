"""Open the lineage database: resolve the URL, tune SQLite for concurrent writers, migrate to head.

SQLite (the default, ``sqlite:///.vlaser/lineage.db`` relative to the workspace root) runs in WAL
mode with a busy timeout, and every transaction starts with ``BEGIN IMMEDIATE``: a writer takes the
write lock up front and waits for it (up to the timeout) instead of failing on a lock upgrade, so
several stage processes registering at once lose nothing. Any other SQLAlchemy URL (for example
``postgresql+psycopg://user@host/vlaser``) works unchanged. Every failure to open becomes a
``UserError`` naming the URL (password hidden) and what to do.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from vlaser.errors import UserError

DEFAULT_URL = "sqlite:///.vlaser/lineage.db"
HEAD = "0001"  # newest migration in migrations/versions (a test checks it matches Alembic's head)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def resolve_url(url: str, root: Path) -> URL:
    """Parse ``url``; a relative SQLite path is taken relative to the workspace ``root``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(
            f"tracking.lineage_url: '{url}' is not a database URL; expected e.g. {DEFAULT_URL} "
            "or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:") and not Path(db).is_absolute():
            parsed = parsed.set(database=str((Path(root) / db).resolve()))
    return parsed


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI objects
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE below is the only BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode: a crash loses no committed row
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_error(url: URL, err: Exception) -> UserError:
    """Translate a driver error while opening or writing into a message with the fix."""
    msg = str(getattr(err, "orig", err)).strip() or type(err).__name__
    where = shown(url)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        fix = ("another process holds its write lock longer than the busy timeout; wait for it to finish "
               "(find it with `fuser` on the file) or raise the timeout")
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        fix = ("the file is damaged: move it aside (it is only an index) and run `vlaser lineage --rebuild` "
               "to re-index every artifact from its meta.json")
    elif "unable to open" in low:
        fix = "its folder must exist and be writable (check tracking.lineage_url in params.yaml)"
    else:
        fix = "check tracking.lineage_url in params.yaml and that the database server is up"
    return UserError(f"lineage database {where}: {msg}; {fix}")


def create_registry_engine(url: URL, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url`` (SQLite: parent folder created, WAL, busy timeout, BEGIN IMMEDIATE)."""
    sqlite = url.get_backend_name() == "sqlite"
    connect_args: dict[str, object] = {}
    if sqlite:
        if url.database and url.database != ":memory:":
            try:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise open_error(url, err) from None
        connect_args["timeout"] = busy_timeout_s
    elif url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(busy_timeout_s))  # never hang on a dead server
    try:
        engine = create_engine(url, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as err:
        raise UserError(f"lineage database {shown(url)}: no driver for it ({err}); "
                        "expected sqlite:///... or postgresql+psycopg://...") from None
    if sqlite:
        _sqlite_pragmas(engine, busy_timeout_s)
    return engine


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        conn.rollback()
        return row[0] if row else None


def migrate(engine: Engine) -> None:
    """Bring the schema to Alembic's head (a no-op, one query, when it is already there)."""
    from alembic import command
    from alembic.config import Config

    if _current_revision(engine) == HEAD:
        return
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # One write transaction for the whole upgrade: two processes opening a fresh database at once
    # serialise on BEGIN IMMEDIATE, and the second finds the schema already at head.
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_engine(url: str, root: Path, busy_timeout_s: float = 30.0) -> tuple[Engine, URL]:
    """Resolve, connect and migrate; every failure is a ``UserError`` naming the URL and the fix."""
    resolved = resolve_url(url, root)
    engine = create_registry_engine(resolved, busy_timeout_s)
    try:
        migrate(engine)
    except (DBAPIError, sqlite3.Error) as err:
        engine.dispose()
        raise open_error(resolved, err) from None
    return engine, resolved
