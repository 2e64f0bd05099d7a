"""Workspace consistency check behind ``vlaser doctor``: what is inconsistent and how to repair it.

Four checks, each independent (one failing to run becomes a finding, never a crash):

- ``lineage``: every artifact the registry records exists with its recorded digest, and every finished
  artifact on disk is registered (``vlaser.lineage.verify``); a locked or damaged database is named.
- ``dvc``: ``dvc status`` of the workspace's pipeline: stages whose outputs are missing or changed
  (repair: ``dvc checkout`` restores them from the cache) or whose inputs/settings changed (re-run).
- ``tracking``: the MLflow store answers; every report folder has a run holding that stage's metrics;
  no records wait in the outage buffer (repair: ``vlaser tracking flush``).
- ``sweeps``: sweep state files whose orchestrating process died or failed, not followed by a finished
  sweep (repair: ``vlaser resume SWEEP``).

Findings have a severity: ``problem`` (exit 1) or ``note`` (informational, e.g. temp folders that a
killed stage left behind; nothing refers to them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlaser.errors import UserError
from vlaser.io import META

CHECKS = ("sweeps", "lineage", "dvc", "tracking")
REPORT_STAGE = {"reasoning": "eval_reasoning", "closed_loop": "eval_closed_loop"}  # reports/runs/<v>/s<n>/<x>
ARTIFACT_TOPS = ("data", "models", "reports")


@dataclass(frozen=True)
class Finding:
    """One thing wrong (``problem``) or worth knowing (``note``), with the command that repairs it."""

    check: str  # one of CHECKS
    kind: str  # e.g. missing, corrupt, changed, unregistered, stale-stage, no-run, buffered, interrupted
    subject: str  # a path, DVC stage, sweep id or store URI
    detail: str
    fix: str
    severity: str = "problem"  # problem | note

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Report:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)  # check -> ok | problems | skipped: why

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"workspace": str(self.root), "ok": self.ok, "checks": self.checks,
                "problems": [f.to_dict() for f in self.problems],
                "notes": [f.to_dict() for f in self.findings if f.severity == "note"]}


# ------------------------------------------------------------------------------------------- sweeps
def check_sweeps(root: Path) -> list[Finding]:
    """Failed or interrupted sweeps (orchestrator dead) that no later sweep finished after."""
    from vlaser.orchestrate.state import list_sweeps, load_state

    out: list[Finding] = []
    states = []
    for sid in list_sweeps(root):
        try:
            states.append(load_state(root, sid))
        except UserError as err:
            out.append(Finding("sweeps", "corrupt-state", sid, str(err),
                               f"move .vlaser/sweeps/{sid}.json aside and start a new sweep (`vlaser sweep`)"))
    last_done = max((i for i, s in enumerate(states) if s.status == "done"), default=-1)
    for i, st in enumerate(states):
        if st.status == "running":
            out.append(Finding("sweeps", "running", st.sweep_id, f"sweep is running (pid {st.pid})",
                               "wait for it to finish, then run `vlaser doctor` again"))
        elif st.status in ("failed", "interrupted") and i > last_done:
            failed = ", ".join(f"{k} ({v.error})" for k, v in st.failed().items()) or "no stage failed"
            why = "its process died (killed?)" if st.status == "interrupted" else f"failed stages: {failed}"
            out.append(Finding("sweeps", st.status, st.sweep_id, why, f"`vlaser resume {st.sweep_id}`"))
    return out


# ------------------------------------------------------------------------------------------ lineage
def check_lineage(root: Path, url: str | None, deep: bool) -> list[Finding]:
    """Registry rows vs the disk (digests re-hashed when ``deep``); an unusable database is one finding."""
    from vlaser.lineage.verify import verify

    try:
        problems = verify(root, url, deep=deep)
    except UserError as err:
        return [Finding("lineage", "database", url or "sqlite:///.vlaser/lineage.db", str(err),
                        "see the message; a lost or damaged database is rebuilt by `vlaser lineage --rebuild`")]
    return [Finding("lineage", p.kind, p.path, p.detail, p.fix) for p in problems]


def leftover_partials(root: Path) -> list[Finding]:
    """Temp folders of ``atomic_dir`` left by killed stages (never looked at again; safe to delete)."""
    out = []
    for top in ARTIFACT_TOPS:
        base = root / top
        if base.is_dir():
            for p in sorted(base.rglob(".*.partial")):
                if p.is_dir():
                    out.append(Finding("lineage", "partial", str(p.relative_to(root)),
                                       "temp folder of an unfinished (killed) stage", f"rm -r {p.relative_to(root)}",
                                       severity="note"))
    return out


# ---------------------------------------------------------------------------------------------- dvc
def _dvc_fix(stage: str, changes: list[Any]) -> tuple[str, str, str]:
    """(kind, detail, fix) for one entry of ``dvc status --json``."""
    outs: dict[str, str] = {}
    other: list[str] = []
    for ch in changes:
        if isinstance(ch, dict):
            for what, items in ch.items():
                if what == "changed outs" and isinstance(items, dict):
                    outs.update(items)
                else:
                    other.append(f"{what}: {', '.join(items) if isinstance(items, dict) else items}")
        else:
            other.append(str(ch))
    detail = "; ".join(other + [f"{p} {s}" for p, s in sorted(outs.items())])
    if outs and not other and "not in cache" not in outs.values():
        paths = " ".join(sorted(outs))
        return ("outs-changed", f"outputs differ from what DVC recorded ({detail})",
                f"`dvc checkout --force {paths}` restores them from the DVC cache (DVC does not re-hash its "
                f"cache: run `vlaser doctor` again; if the lineage check then finds them corrupt, `vlaser sweep`)")
    if "not in cache" in outs.values():
        return ("not-in-cache", f"the DVC cache has no intact copy ({detail})",
                f"`vlaser sweep` re-runs the stage and re-fills the cache (`dvc repro -f {stage}` without Prefect)")
    return ("stale-stage", f"not up to date ({detail})",
            "`vlaser sweep` (or `vlaser resume SWEEP`; `dvc repro` without Prefect) re-runs what changed")


def check_dvc(root: Path) -> list[Finding]:
    """``dvc status`` of the whole pipeline; every stage that is not up to date is a finding."""
    from vlaser.orchestrate import dvc

    if not (root / "dvc.yaml").is_file():
        return []
    try:
        changed = dvc.status(root)
    except UserError as err:
        return [Finding("dvc", "status-failed", "dvc.yaml", str(err), "fix the DVC error shown, then retry")]
    out = []
    for stage, changes in sorted(changed.items()):
        kind, detail, fix = _dvc_fix(stage, changes if isinstance(changes, list) else [changes])
        out.append(Finding("dvc", kind, stage, detail, fix))
    return out


# ----------------------------------------------------------------------------------------- tracking
def report_folders(root: Path) -> list[tuple[str, str | None, int | None, str]]:
    """(path, variant, seed, stage) of every finished report folder (per-run reports and the summary)."""
    found = []
    runs = root / "reports" / "runs"
    if runs.is_dir():
        for meta in sorted(runs.glob(f"*/s*/*/{META}")):
            folder = meta.parent
            stage = REPORT_STAGE.get(folder.name)
            seed = folder.parent.name[1:]
            if stage and seed.isdigit():
                found.append((str(folder.relative_to(root)), folder.parent.parent.name, int(seed), stage))
    if (root / "reports" / "summary" / META).is_file():
        found.append(("reports/summary", None, None, "aggregate"))
    return found


RunKey = tuple[str | None, str | None, int | None]  # (sweep id, variant, seed); variant None = the sweep's run


def _recorded_stages(tracking: Any) -> dict[RunKey, set[str]]:
    """{(sweep, variant, seed): stage names with metrics in that run}, over every run of the experiment."""
    from vlaser.tracking.convention import TAG_ROLE, TAG_SEED, TAG_SWEEP, TAG_VARIANT

    exp = tracking.client.get_experiment_by_name(tracking.experiment)
    if exp is None:
        return {}
    seen: dict[RunKey, set[str]] = {}
    token = None
    while True:
        page = tracking.client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
        for r in page:
            tags = r.data.tags
            variant = tags.get(TAG_VARIANT) if tags.get(TAG_ROLE) == "variant" else None
            seed = int(tags[TAG_SEED]) if variant is not None and tags.get(TAG_SEED, "").isdigit() else None
            stages = {k.split("/", 1)[0] for k in r.data.metrics}
            for sweep in (tags.get(TAG_SWEEP), None):  # None: "in any sweep"
                seen.setdefault((sweep, variant, seed), set()).update(stages)
        token = page.token
        if not token:
            return seen


def _producing_sweeps(root: Path, url: str | None) -> dict[str, str | None]:
    """{artifact path: sweep id that registered it} from the lineage registry ({} when unusable)."""
    from vlaser.lineage import open_registry

    try:
        with open_registry(url, root) as reg:
            return {row.path: row.sweep for row in reg.all()}
    except UserError:
        return {}  # the lineage check reports the database itself


def check_tracking(root: Path, settings: Any) -> list[Finding]:
    """Store reachable, no buffered records, and for every report folder a run of the sweep that produced
    it (per the lineage registry; any sweep when unknown) holding that stage's metrics."""
    from vlaser.tracking import open_tracking

    tracking = open_tracking(settings, root, mode="fail")
    pending = tracking.buffer.pending()
    out: list[Finding] = []
    reports = report_folders(root)
    sqlite_file = Path(tracking.uri.removeprefix("sqlite:///")) if tracking.uri.startswith("sqlite:///") else None
    if sqlite_file is not None and not sqlite_file.is_file():
        reason = f"no MLflow database at {sqlite_file}"  # never create one here: that would hide the loss
    else:
        reason = tracking.unreachable()
    if pending:
        fix = "`vlaser tracking flush`" + (" once the store answers again" if reason else "")
        out.append(Finding("tracking", "buffered", str(tracking.buffer.folder.relative_to(root)),
                           f"{len(pending)} record(s) written while the store was unreachable wait to be replayed",
                           fix))
    if reason is not None:
        if reports or pending:
            out.append(Finding("tracking", "unreachable", tracking.shown_uri, reason,
                               "start the tracking server (or fix tracking.mlflow_uri), then `vlaser tracking flush`"))
        return out
    recorded = _recorded_stages(tracking)
    sweeps = _producing_sweeps(root, settings.lineage_url)
    for path, variant, seed, stage in reports:
        sweep = sweeps.get(path)
        if stage in recorded.get((sweep, variant, seed), set()):
            continue
        who = (f"variant {variant} seed {seed}" if variant else "the sweep") + (f" of sweep {sweep}" if sweep else "")
        fix = ("`vlaser tracking flush` (its records are buffered)" if pending else
               f"re-record it: `vlaser stage {stage}" + (f" --variant {variant} --seed {seed}`" if variant else "`"))
        out.append(Finding("tracking", "no-run", path, f"no MLflow run of {who} holds {stage} metrics", fix))
    return out


# ------------------------------------------------------------------------------------------- driver
def diagnose(root: Path, params: Any = None, deep: bool = True, checks: tuple[str, ...] = CHECKS) -> Report:
    """Run the ``checks`` on the workspace at ``root``; ``params`` defaults to its params.yaml."""
    from vlaser.config.sweep import TrackingSection
    from vlaser.orchestrate.sweep import sweep_lock

    root = Path(root).resolve()
    if params is None and (root / "params.yaml").is_file():
        from vlaser.config import load_params

        params = load_params(root / "params.yaml")
    tracking = params.tracking if params is not None else TrackingSection()
    report = Report(root)
    lock = sweep_lock(root)
    busy = not _try_lock(lock)
    for name in checks:
        if busy and name == "dvc":  # dvc status would wait for the running sweep's stages
            report.checks[name] = "skipped: a sweep holds the workspace lock"
            continue
        found = {
            "sweeps": lambda: check_sweeps(root),
            "lineage": lambda: check_lineage(root, tracking.lineage_url, deep) + leftover_partials(root),
            "dvc": lambda: check_dvc(root),
            "tracking": lambda: check_tracking(root, tracking),
        }[name]()
        report.findings.extend(found)
        report.checks[name] = "problems" if any(f.severity == "problem" for f in found) else "ok"
    return report


def _try_lock(lock: Any) -> bool:
    """True when no sweep holds the workspace's sweep lock (taken and released at once)."""
    from filelock import Timeout

    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True
