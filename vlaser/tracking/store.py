"""``Tracking``: the MLflow store adapter that applies the convention, with a disk buffer for outages.

Every write is an *op* with a JSON payload (``start_sweep``, ``variant``, ``record``, ``finish``) that
names runs by identity (sweep id, variant, seed). Applied now when the store answers; written to the
buffer when it does not (``mode="buffer"``) and replayed by ``flush_buffer()``. Runs are found or
created by their tags, so replaying into a store that meanwhile gained the runs merges, not forks.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from vlaser.errors import UserError
from vlaser.io import code_version
from vlaser.log import get_logger
from vlaser.runtime import state_dir, workspace_root
from vlaser.tracking.buffer import Buffer
from vlaser.tracking.convention import (
    BUFFER,
    TAG_COMMIT,
    TAG_DIRTY,
    TAG_PARENT,
    TAG_PRESET,
    TAG_ROLE,
    TAG_SEED,
    TAG_SWEEP,
    TAG_VARIANT,
    CheckpointRef,
    DatasetRef,
    RunRef,
    SweepRuns,
    artifact_location,
    http_defaults,
    resolve_uri,
    stage_metrics,
    stage_params,
)

log = get_logger("tracking")
Mode = Literal["buffer", "fail"]
_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,128}$")  # ids and variant names, safe inside filter strings


def _check_name(what: str, value: str) -> str:
    if not _NAME.match(value):
        raise UserError(f"{what} '{value}': expected letters, digits, '_', '.', '+' or '-' (at most 128)")
    return value


class Tracking:
    """One MLflow store (``uri``) and experiment; ``root`` anchors relative paths and the buffer."""

    def __init__(self, uri: str = "sqlite:///.vlaser/mlflow.db", artifacts: str = ".vlaser/mlartifacts",
                 experiment: str = "vlaser", root: Path | None = None, mode: Mode = "buffer",
                 timeout_s: int = 10):
        self.root = Path(root or workspace_root()).resolve()
        self.uri = resolve_uri(uri, self.root)
        self.shown_uri = redact_uri(self.uri)  # what messages and logs show: never a password
        self.artifact_location = artifact_location(artifacts, self.uri, self.root)
        self.experiment, self.mode, self.timeout_s = experiment, mode, timeout_s
        self.buffer = Buffer(state_dir(self.root) / BUFFER)
        self._client: Any = None
        self._exp_id: str | None = None
        self._down: str | None = None  # why the store was unreachable; then this process buffers
        self._probed = False
        self._ids: dict[tuple[str, str | None, int | None], str] = {}  # run identity -> id, once found
        http_defaults(timeout_s)

    # -- store access ------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def unreachable(self) -> str | None:
        """None when the store answers, else why not (HTTP: ``/health`` within the timeout)."""
        try:
            if self.uri.startswith(("http://", "https://")):
                import httpx

                r = httpx.get(self.uri.rstrip("/") + "/health", timeout=self.timeout_s)
                return None if r.status_code == 200 else f"/health answered HTTP {r.status_code}"
            self.client.search_experiments(max_results=1)
            return None
        except Exception as err:  # noqa: BLE001 - any failure here means "cannot use the store"
            return f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"

    def _down_error(self, reason: str) -> UserError:
        return UserError(
            f"MLflow tracking store {self.shown_uri} is unreachable ({reason}); start it (e.g. `mlflow server "
            f"--host 127.0.0.1 --port 5000`) or point tracking.mlflow_uri elsewhere, or set "
            f"tracking.when_unreachable: buffer to keep records in {self.buffer.folder} and replay them "
            "with `vlaser tracking flush`")

    def experiment_id(self) -> str:
        if self._exp_id is None:
            from mlflow.exceptions import MlflowException

            exp = self.client.get_experiment_by_name(self.experiment)
            if exp is None:
                try:
                    self._exp_id = self.client.create_experiment(self.experiment, self.artifact_location)
                except MlflowException:  # another process created it first
                    exp = self.client.get_experiment_by_name(self.experiment)
                    if exp is None:
                        raise
            self._exp_id = self._exp_id or exp.experiment_id
        return self._exp_id

    def _submit(self, op: str, payload: dict[str, Any]) -> Any:
        """Apply ``op`` now, or buffer it when the store is unreachable (``mode="buffer"``)."""
        if not self._probed and self._down is None:
            self._probed = True
            self._down = self.unreachable()
            if self._down is not None:
                self._going_down()
        if self._down is not None:
            self.buffer.write(op, payload)
            return None
        try:
            return getattr(self, f"_op_{op}")(**payload)
        except UserError:
            raise
        except Exception as err:
            # A locked SQLite store already waited out MLflow's 20 s busy timeout: no second probe.
            reason = "database is locked" if "database is locked" in str(err) else self.unreachable()
            if reason is None:
                raise self._as_user_error(err) from err
            self._down = reason
            self._going_down()
            self.buffer.write(op, payload)
            return None

    def _going_down(self) -> None:
        if self.mode == "fail":
            reason, self._down, self._probed = self._down, None, False
            raise self._down_error(reason or "?")
        log.warning("MLflow tracking store %s unreachable (%s): records go to %s; replay them with "
                    "`vlaser tracking flush`", self.shown_uri, self._down, self.buffer.folder)

    @staticmethod
    def _as_user_error(err: Exception) -> Exception:
        from mlflow.exceptions import MlflowException

        if isinstance(err, MlflowException) and err.error_code == "INVALID_PARAMETER_VALUE":
            return UserError(f"MLflow refused a record: {err.message} (a stage's settings changed within one "
                             "sweep run: start a new sweep)")
        return err

    # -- finding runs --------------------------------------------------------------------------------
    def _search(self, **tags: str) -> list[Any]:
        filt = " AND ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
        return self.client.search_runs([self.experiment_id()], filter_string=filt, max_results=1000,
                                       order_by=["attributes.start_time ASC"])

    def _code_tags(self) -> dict[str, str]:
        code = code_version()
        return {TAG_COMMIT: code["commit"], TAG_DIRTY: str(code["dirty"]).lower(),
                "mlflow.source.git.commit": code["commit"]}

    def _parent_id(self, sweep_id: str) -> str:
        if (sweep_id, None, None) in self._ids:
            return self._ids[(sweep_id, None, None)]
        found = self._search(**{TAG_SWEEP: sweep_id, TAG_ROLE: "sweep"})
        if not found:
            tags = {TAG_SWEEP: sweep_id, TAG_ROLE: "sweep", **self._code_tags()}
            found = [self.client.create_run(self.experiment_id(), run_name=sweep_id, tags=tags)]
        self._ids[(sweep_id, None, None)] = found[0].info.run_id
        return found[0].info.run_id

    def _child_id(self, sweep_id: str, variant: str, seed: int) -> str:
        if (sweep_id, variant, seed) in self._ids:
            return self._ids[(sweep_id, variant, seed)]
        parent = self._parent_id(sweep_id)
        ident = {TAG_SWEEP: sweep_id, TAG_ROLE: "variant", TAG_VARIANT: variant, TAG_SEED: str(seed)}
        found = self._search(**ident)
        if not found:
            tags = {**ident, TAG_PARENT: parent, **self._code_tags()}
            found = [self.client.create_run(self.experiment_id(), run_name=f"{variant}-s{seed}", tags=tags)]
        self._ids[(sweep_id, variant, seed)] = found[0].info.run_id
        return found[0].info.run_id

    def _run_id(self, run: dict[str, Any]) -> str:
        if run.get("run_id"):
            return run["run_id"]
        if run.get("variant") is None:
            return self._parent_id(run["sweep_id"])
        return self._child_id(run["sweep_id"], run["variant"], int(run["seed"]))

    # -- ops (payloads are JSON; they run now or on replay) ----------------------------------------
    def _op_start_sweep(self, sweep_id: str, preset: str | None, params: dict, tags: dict, ts: int) -> str:
        rid = self._parent_id(sweep_id)
        self._log(rid, params=stage_params("sweep", params) if params else {},
                  tags={**({TAG_PRESET: preset} if preset else {}), **tags}, ts=ts)
        return rid

    def _op_variant(self, sweep_id: str, variant: str, seed: int, tags: dict, ts: int) -> str:
        rid = self._child_id(sweep_id, variant, seed)
        self._log(rid, tags=tags, ts=ts)
        return rid

    def _op_record(self, run: dict, stage: str, params: dict, metrics: dict, step: int | None,
                   inputs: list[dict], artifacts: list[str], checkpoints: list[dict],
                   dvc_hash: str | None, tags: dict, ts: int) -> None:
        rid = self._run_id(run)
        tags = dict(tags)
        if dvc_hash:
            tags[f"dvc.{stage}.hash"] = dvc_hash
        for c in checkpoints:
            tags[f"vlaser.checkpoint.{c['name']}.path"] = c["path"]
            tags[f"vlaser.checkpoint.{c['name']}.digest"] = c["digest"]
        self._log(rid, params=stage_params(stage, params), metrics=stage_metrics(stage, metrics),
                  tags=tags, ts=ts, step=step)
        if inputs:
            self.client.log_inputs(rid, datasets=[_dataset_input(DatasetRef(**d)) for d in inputs])
        for a in artifacts:
            path = Path(a)
            if path.is_dir():
                self.client.log_artifacts(rid, str(path), artifact_path=f"{stage}/{path.name}")
            else:
                self.client.log_artifact(rid, str(path), artifact_path=stage)

    def _op_finish(self, run: dict, status: str, ts: int) -> None:
        self.client.set_terminated(self._run_id(run), status=status, end_time=ts)

    def _log(self, rid: str, params: dict | None = None, metrics: dict | None = None, tags: dict | None = None,
             ts: int = 0, step: int | None = None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            rid, metrics=[Metric(k, v, ts, step or 0) for k, v in (metrics or {}).items()],
            params=[Param(k, v) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()], synchronous=True)

    # -- public API ------------------------------------------------------------------------------------
    def start_sweep_run(self, sweep_id: str, preset: str | None = None, params: dict | None = None,
                        tags: dict[str, str] | None = None) -> RunRef:
        """The sweep's parent run (created once; later calls find it). ``params`` -> ``sweep.<key>``."""
        payload = {"sweep_id": _check_name("sweep id", sweep_id), "preset": preset, "params": params or {},
                   "tags": tags or {}, "ts": _now()}
        return RunRef(sweep_id, run_id=self._submit("start_sweep", payload))

    def variant_run(self, sweep_id: str, variant: str, seed: int, tags: dict[str, str] | None = None) -> RunRef:
        """The child run of ``variant`` x ``seed`` nested under the sweep's run (found or created)."""
        payload = {"sweep_id": _check_name("sweep id", sweep_id), "variant": _check_name("variant", variant),
                   "seed": int(seed), "tags": tags or {}, "ts": _now()}
        return RunRef(sweep_id, variant, int(seed), self._submit("variant", payload))

    def record_stage(self, run: RunRef | str, stage: str, params: dict | None = None,
                     metrics: dict | None = None, inputs: list[DatasetRef] = (),
                     artifacts: list[Path | str] = (), checkpoints: list[CheckpointRef] = (),
                     dvc_hash: str | None = None, tags: dict[str, str] | None = None,
                     step: int | None = None) -> None:
        """Log one stage into ``run``: ``<stage>.<param>``, ``<stage>/<metric>``, dataset inputs,
        artifacts (copied: reports, plots, a few videos), checkpoints (by path + digest, not copied)."""
        ref = RunRef("", run_id=run) if isinstance(run, str) else run
        stage_metrics(stage, metrics or {})  # a non-number fails here, in the caller, not on replay
        payload = {"run": asdict(ref), "stage": stage, "params": _jsonable(params or {}),
                   "metrics": metrics or {}, "step": step, "inputs": [asdict(d) for d in inputs],
                   "artifacts": [str(Path(a).resolve()) for a in artifacts],
                   "checkpoints": [asdict(c) for c in checkpoints], "dvc_hash": dvc_hash,
                   "tags": tags or {}, "ts": _now()}
        self._submit("record", payload)

    def finish(self, run: RunRef | str, status: str = "FINISHED") -> None:
        """Mark a run FINISHED | FAILED | KILLED."""
        ref = RunRef("", run_id=run) if isinstance(run, str) else run
        self._submit("finish", {"run": asdict(ref), "status": status, "ts": _now()})

    def tracker(self, run: RunRef | str, stage: str) -> Tracker:
        return Tracker(self, run, stage)

    def find_runs(self, sweep_id: str) -> SweepRuns:
        """The sweep's parent run and its children, read back from the store."""
        if (reason := self.unreachable()) is not None:
            raise self._down_error(reason)
        runs = self._search(**{TAG_SWEEP: _check_name("sweep id", sweep_id)})
        parent = next((r for r in runs if r.data.tags.get(TAG_ROLE) == "sweep"), None)
        children = [r for r in runs if r.data.tags.get(TAG_ROLE) == "variant"]
        if parent is None and not children:
            raise UserError(f"no MLflow runs of sweep '{sweep_id}' in {self.shown_uri} (experiment '{self.experiment}')")
        return SweepRuns(sweep_id, parent, children)

    def flush_buffer(self) -> int:
        """Replay buffered records into the store, oldest first; returns how many were replayed."""
        with self.buffer.lock():
            files = self.buffer.pending()
            if not files:
                return 0
            if (reason := self.unreachable()) is not None:
                raise self._down_error(reason)
            self._down, self._probed = None, True
            for f in files:
                op, payload = self.buffer.read(f)
                try:
                    getattr(self, f"_op_{op}")(**payload)
                except Exception as err:
                    raise UserError(f"{f}: replaying '{op}' failed: {err}") from err
                f.unlink()
            log.info("replayed %d buffered tracking records into %s", len(files), self.shown_uri)
            return len(files)


class Tracker:
    """What training gets: ``log_params(dict)`` and ``log_metrics(dict, step)`` into one stage of a run."""

    def __init__(self, tracking: Tracking, run: RunRef | str, stage: str):
        self.tracking, self.run, self.stage = tracking, run, stage

    def log_params(self, params: dict[str, Any]) -> None:
        self.tracking.record_stage(self.run, self.stage, params=params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.tracking.record_stage(self.run, self.stage, metrics=metrics, step=step)


def redact_uri(uri: str) -> str:
    """``uri`` with the password of ``user:password@host`` replaced by ``***`` (for messages and logs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _now() -> int:
    return int(time.time() * 1000)


def _jsonable(params: Any) -> Any:
    return params.model_dump(mode="json") if hasattr(params, "model_dump") else params


def _dataset_input(d: DatasetRef) -> Any:
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    remote = "://" in d.path
    source_type = d.path.split("://", 1)[0] if remote else "local"
    # MLflow's dataset digest column holds 36 characters; the full sha256 goes in an input tag.
    ds = Dataset(name=d.name, digest=d.digest[:36], source_type=source_type, source=json.dumps({"uri": d.path}))
    return DatasetInput(ds, tags=[InputTag("mlflow.data.context", d.context), InputTag("vlaser.digest", d.digest)])


def open_tracking(settings: Any = None, root: Path | None = None, mode: Mode | None = None) -> Tracking:
    """A ``Tracking`` from a ``TrackingSection`` (``params.tracking``; defaults when None)."""
    from vlaser.config.sweep import TrackingSection

    s = settings or TrackingSection()
    return Tracking(s.mlflow_uri, s.mlflow_artifacts, s.experiment, root, mode or s.when_unreachable,
                    s.timeout_s)
