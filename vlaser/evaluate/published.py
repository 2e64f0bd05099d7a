"""Published results (external numbers) imported from a CSV, to show beside one's own sweep.

CSV schema (header required, one result per line, UTF-8)::

    model,metric,value,source
    InternVL3-2B,reasoning/avg,15.2,"Vlaser paper, Table 1"

* ``model``: the model's name as published (non-empty).
* ``metric``: ``reasoning/<benchmark>`` (``reasoning/avg`` for the average) or
  ``closed_loop/<suite>/<task>`` (``closed_loop/<suite>/avg`` for the suite average).
* ``value``: a number in percent, 0 to 100.
* ``source``: where the number comes from (non-empty), e.g. the paper and table.

Every problem raises ``UserError`` naming the file, the line and what was expected. The project ships
the Vlaser paper's Tables 1-5 as ``vlaser/resources/vlaser-published.csv``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pandas as pd

from vlaser.errors import UserError

FIELDS = ("model", "metric", "value", "source")
DEFAULT_CSV = Path(__file__).resolve().parents[1] / "resources" / "vlaser-published.csv"
_METRIC = re.compile(r"reasoning/[\w.\-]+|closed_loop/[\w.\-]+/[\w.\-]+")

# Which published model corresponds to which default variant (the paper's names for the same recipe):
# used to set the paper's figures beside a variant's row in the report tables.
VARIANT_MODELS: dict[str, tuple[str, ...]] = {
    "base": ("InternVL3-2B",),
    "ood": ("Vlaser-OOD (2B)",),
    "qa": ("Vlaser-QA (2B)",),
    "all": ("Vlaser-All (2B)", "Vlaser-2B"),
}
# Our closed-loop task ids -> the published task names (SimplerEnv's tasks as the paper's tables name them).
TASK_ALIASES: dict[str, str] = {
    "PutCarrotOnPlateInScene-v1": "simpler_widowx/carrot_on_plate",
    "PutEggplantInBasketScene-v1": "simpler_widowx/eggplant_in_basket",
    "PutSpoonOnTableClothInScene-v1": "simpler_widowx/spoon_on_towel",
    "StackGreenCubeOnYellowCubeBakedTexInScene-v1": "simpler_widowx/stack_cube",
    "google_robot_pick_coke_can": "simpler_google/vm_pick_coke",
    "google_robot_move_near": "simpler_google/vm_move_near",
}


def _check_row(row: dict[str, str | None], where: str) -> dict[str, object]:
    for key in FIELDS:
        if row.get(key) is None:
            raise UserError(f"{where}: missing field {key!r} (expected 4 fields: {','.join(FIELDS)})")
        if not row[key].strip():
            raise UserError(f"{where}: empty {key!r} (expected a non-empty {key})")
    if None in row:  # csv.DictReader puts surplus fields under the key None
        raise UserError(f"{where}: {4 + len(row[None])} fields, expected 4 ({','.join(FIELDS)})")
    metric = row["metric"].strip()
    if not _METRIC.fullmatch(metric):
        raise UserError(f"{where}: metric {metric!r} should be reasoning/<benchmark> or "
                        "closed_loop/<suite>/<task> (use 'avg' for averages)")
    try:
        value = float(row["value"])
    except ValueError:
        raise UserError(f"{where}: value {row['value']!r} is not a number (expected percent, 0-100)") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise UserError(f"{where}: value {value} outside 0-100 (expected percent)")
    return {"model": row["model"].strip(), "metric": metric, "value_pct": value, "value": value / 100,
            "source": row["source"].strip()}


def parse_published(text: str, name: str = "<csv>") -> pd.DataFrame:
    """Validate CSV text; columns model, metric, value (fraction), value_pct, source, line, external."""
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    if header != FIELDS:
        raise UserError(f"{name}:1: header {','.join(header) or '(empty file)'!r}, expected "
                        f"{','.join(FIELDS)!r}")
    rows, seen = [], {}
    for row in reader:
        where = f"{name}:{reader.line_num}"
        rec = _check_row(row, where)
        key = (rec["model"], rec["metric"])
        if key in seen:
            raise UserError(f"{where}: duplicate of line {seen[key]} ({key[0]}, {key[1]}); expected one value "
                            "per model and metric")
        seen[key] = reader.line_num
        rows.append({**rec, "line": reader.line_num})
    if not rows:
        raise UserError(f"{name}: no results after the header (expected lines model,metric,value,source)")
    df = pd.DataFrame(rows)
    df["external"] = True
    return df


def load_published(path: Path | str = DEFAULT_CSV) -> pd.DataFrame:
    """Read and validate a published-results CSV (see the module docstring for the schema)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such published-results CSV")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return parse_published(text, str(path))


def resolve_published(setting: str | Path, root: Path) -> Path:
    """The CSV a setting names: absolute, or relative to the workspace ``root``; the shipped paper CSV when
    the setting is its default relative path and the workspace has no copy of it."""
    path = Path(setting)
    if path.is_absolute():
        return path
    if not (root / path).is_file() and path.as_posix() == "vlaser/resources/vlaser-published.csv":
        return DEFAULT_CSV
    return root / path


def published_metric(own_metric: str, suite: str | None = None) -> str | None:
    """The published metric name for one of ours: reasoning/x -> reasoning/x; success/avg ->
    closed_loop/<suite>/avg (needs ``suite``); success/<task> -> its alias (None when unknown)."""
    if own_metric.startswith("reasoning/"):
        return own_metric
    task = own_metric.removeprefix("success/")
    if task == "avg":
        return f"closed_loop/{suite}/avg" if suite else None
    return f"closed_loop/{TASK_ALIASES[task]}" if task in TASK_ALIASES else None


def external_points(published: pd.DataFrame, x_metric: str, y_metric: str) -> pd.DataFrame:
    """Models with a value for both published metrics: columns model, x, y, source (fractions)."""
    xs = published[published["metric"] == x_metric].set_index("model")
    ys = published[published["metric"] == y_metric].set_index("model")
    both = xs.index.intersection(ys.index)
    return pd.DataFrame({"model": list(both), "x": xs.loc[both, "value"].to_numpy(),
                         "y": ys.loc[both, "value"].to_numpy(),
                         "source": [f"{xs.loc[m, 'source']}; {ys.loc[m, 'source']}" for m in both]})


def closed_loop_suites(published: pd.DataFrame) -> list[str]:
    """Suites with a published average: ``closed_loop/<suite>/avg``."""
    return sorted({m.split("/")[1] for m in published["metric"] if m.startswith("closed_loop/")
                   and m.endswith("/avg")})
