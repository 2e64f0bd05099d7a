"""Fault injection for reliability tests and drills: make a named stage raise, hang or die.

``VLASER_FAULTS`` is a comma list of ``STAGE:ACTION`` where STAGE is a DVC stage name
(``pretrain@base-0``) and ACTION is ``raise`` (an exception: a crash), ``exit2`` (bad input) or
``hang`` (sleep until killed: exercises stage timeouts). Kills are injected from outside (tests send
SIGKILL to the sweep's process group). Unset in normal runs; the hook costs one environment lookup.
"""

from __future__ import annotations

import os
import time

from vlaser.errors import UserError

ACTIONS = ("raise", "exit2", "hang")


class InjectedFault(RuntimeError):
    """Raised by the ``raise`` action."""


def parse(spec: str) -> dict[str, str]:
    faults: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        stage, _, action = item.rpartition(":")
        if not stage or action not in ACTIONS:
            raise UserError(f"VLASER_FAULTS: '{item}' is not STAGE:ACTION with ACTION in {ACTIONS}")
        faults[stage] = action
    return faults


def maybe_inject(stage: str) -> None:
    """Apply the fault configured for ``stage``, if any."""
    spec = os.environ.get("VLASER_FAULTS")
    action = parse(spec).get(stage) if spec else None
    if action == "raise":
        raise InjectedFault(f"injected failure in {stage}")
    if action == "exit2":
        raise UserError(f"injected bad input in {stage}")
    while action == "hang":
        time.sleep(3600)
