"""One logging setup and one progress-bar helper for every long stage."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler

T = TypeVar("T")
console = Console(stderr=True)
_configured = False


def setup_logging(verbosity: int = 0) -> None:
    """verbosity: -1 quiet (warnings), 0 info, 1 debug. Idempotent."""
    global _configured
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    if not _configured:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
        for noisy in ("urllib3", "httpx", "alembic", "mlflow", "prefect", "dvc", "filelock", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _configured = True
    root.setLevel(level)
    logging.getLogger("vlaser").setLevel(level)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("vlaser") else f"vlaser.{name}")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """A tqdm bar on stderr; silent when ``VLASER_QUIET=1`` or stderr is not a terminal in CI."""
    from tqdm.auto import tqdm

    disable = os.environ.get("VLASER_QUIET") == "1"
    yield from tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, disable=disable,
                    dynamic_ncols=True, mininterval=1.0)


def progress_bar(total: int, desc: str, unit: str = "it"):
    """A manual tqdm bar (``bar.update(n)``, ``bar.set_postfix(loss=...)``) for loops with extra state."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=1.0,
                disable=os.environ.get("VLASER_QUIET") == "1")
