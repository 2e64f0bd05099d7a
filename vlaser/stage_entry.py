"""The command-line entry shared by ``pipelines/<stage>.py`` (what DVC runs) and ``vlaser stage``."""

from __future__ import annotations

import argparse
import sys

from vlaser.runtime import apply_env_defaults


def parse_key(stage: str, argv: list[str]):
    from vlaser.stages import StageKey

    ap = argparse.ArgumentParser(prog=f"pipelines/{stage}.py", description=f"Run the '{stage}' stage.")
    ap.add_argument("--variant")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--source")
    ap.add_argument("--suite")
    a = ap.parse_args(argv)
    return StageKey(stage, variant=a.variant, seed=a.seed, source=a.source, suite=a.suite)


def main(stage: str, argv: list[str] | None = None) -> None:
    """Run one stage in this process; a UserError prints its message and exits 2."""
    from vlaser.orchestrate.dvc import die_with_parent

    die_with_parent()  # if `dvc repro` (or the sweep above it) is killed, the stage goes too
    root = apply_env_defaults()
    from vlaser.config import load_params
    from vlaser.errors import UserError
    from vlaser.log import setup_logging
    from vlaser.stages import run_stage

    setup_logging(0)
    try:
        key = parse_key(stage, sys.argv[1:] if argv is None else argv)
        run_stage(key, load_params(root / "params.yaml"), root)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
