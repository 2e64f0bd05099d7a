"""Run-time environment defaults, set in one place before heavy imports.

``apply_env_defaults()`` must run before ``prefect``, ``mlflow``, ``dvc``, ``torch`` or ``deepspeed``
are imported (the CLI, pipelines and flows call it first). A user's own environment variables win:
every default is applied with ``setdefault``.
"""

from __future__ import annotations

import os
from pathlib import Path

LAVAPIPE_ICD = "/opt/lavapipe-bpo/lvp_icd.json"


def workspace_root(start: Path | None = None) -> Path:
    """The workspace is the nearest folder upwards holding ``params.yaml`` (else the cwd)."""
    env = os.environ.get("VLASER_WORKSPACE")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder
    return here


def state_dir(root: Path | None = None) -> Path:
    """``.vlaser/`` inside the workspace: Prefect home, lineage db, MLflow store, build caches."""
    return (root or workspace_root()) / ".vlaser"


def env_defaults(root: Path) -> dict[str, str]:
    state = state_dir(root)
    defaults = {
        "PREFECT_HOME": str(state / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # the ephemeral API is a subprocess; on a loaded 2-core machine it needs more than the default 20 s
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "DO_NOT_TRACK": "1",
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # the tiny models are dispatch-bound: one thread per process is as fast as two when idle and
        # ~20x faster when anything else runs (measured, docs/model.md)
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # DeepSpeed JIT-builds a CPU comm op on first init (~76 s): keep one persistent folder per machine
        # so every stage of every sweep reuses it.
        "TORCH_EXTENSIONS_DIR": str(Path.home() / ".cache" / "vlaser" / "torch_extensions"),
        # ManiSkill's own default (its assets live in MS_ASSET_DIR/data); vlaser.sim.checks looks there
        # before any env is made, so ManiSkill never prompts for a download.
        "MS_ASSET_DIR": str(Path.home() / ".maniskill"),
    }
    if Path(LAVAPIPE_ICD).is_file():
        defaults["VK_ICD_FILENAMES"] = LAVAPIPE_ICD
    return defaults


def apply_env_defaults(root: Path | None = None) -> Path:
    """Set the defaults that are not already set; returns the workspace root."""
    root = root or workspace_root()
    for key, value in env_defaults(root).items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    return root
