"""The Streamlit app (AppTest): chart data and correlation values for a known sweep, checked against
numbers computed here directly from the known counts with numpy/scipy."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from tests.dashboard.sweeps import KNOWN, write_known_sweep

APP = "dashboard/app.py"


def _run(repo_root, reports, monkeypatch) -> AppTest:
    monkeypatch.setattr(sys, "argv", ["app.py", "--reports", str(reports)])
    monkeypatch.chdir(repo_root)
    at = AppTest.from_file(str(repo_root / APP), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _chart(at: AppTest, title_start: str) -> tuple[dict, list[pd.DataFrame]]:
    for c in at.get("vega_lite_chart"):
        spec = json.loads(c.proto.spec)
        title = spec.get("title", {})
        if (title.get("text") if isinstance(title, dict) else title or "").startswith(title_start):
            frames = [pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas() for d in c.proto.datasets]
            return spec, frames
    raise AssertionError(f"no chart titled {title_start!r}")


def _expected_xy(variants, key_x=1, key_y=0):
    x = np.array([np.mean(KNOWN[v][key_x]) / 20 for v in variants])
    y = np.array([np.mean(KNOWN[v][key_y]) / 10 for v in variants])
    return x, y


def test_correlation_chart_data_and_values(known_sweep, repo_root, monkeypatch):
    at = _run(repo_root, known_sweep, monkeypatch)
    variants = sorted(KNOWN)
    x, y = _expected_xy(variants)
    r, p = stats.pearsonr(x, y)
    rho = stats.spearmanr(x, y).statistic
    spec, frames = _chart(at, "Pearson r = ")
    assert spec["title"]["text"].startswith(f"Pearson r = {r:.3f} [") and f"p = {p:.3g}" in spec["title"]["text"]
    assert f"Spearman ρ = {rho:.3f}" in spec["title"]["text"] and spec["title"]["text"].endswith("n = 5")
    points = next(f for f in frames if "label" in f.columns).set_index("label")
    own = points[~points["external"]]
    assert list(own.index) == variants
    assert own["x"].to_numpy() == pytest.approx(x) and own["y"].to_numpy() == pytest.approx(y)
    assert (own["x_low"] <= own["x"]).all() and (own["y"] <= own["y_high"]).all()
    ext = points[points["external"]]  # default overlay: the paper's SimplerEnv WidowX average
    assert list(ext.index) == ["InternVL3-2B"]
    assert ext.loc["InternVL3-2B", ["x", "y"]].to_list() == pytest.approx([0.152, 0.418])
    assert ext["source"].str.startswith("external: Vlaser paper").all()
    fit = next(f for f in frames if list(f.columns) == ["x", "y"])
    slope, intercept = np.polyfit(x, y, 1)  # the fit uses own points only
    assert fit["y"].to_numpy() == pytest.approx(slope * fit["x"].to_numpy() + intercept)
    assert any(f"Pearson r = {r:.3f}" in m.value for m in at.markdown)


def test_heatmap_and_choosing_another_pair(known_sweep, repo_root, monkeypatch):
    at = _run(repo_root, known_sweep, monkeypatch)
    _, frames = _chart(at, "Pearson r over variants")
    heat = frames[0].set_index(["benchmark", "target"])
    variants = sorted(KNOWN)
    xg = np.array([KNOWN[v][1][0] / 20 for v in variants])  # grounding
    yp = np.array([KNOWN[v][0][1] / 10 for v in variants])  # PickCube-v1
    assert heat.loc[("grounding", "PickCube-v1"), "r"] == pytest.approx(stats.pearsonr(xg, yp).statistic)
    assert len(heat) == 9 and (heat["n"] == 5).all()
    at.selectbox(key="corr_x").set_value("reasoning/grounding")
    at.selectbox(key="corr_y").set_value("success/PickCube-v1")
    at.run()
    spec, frames = _chart(at, "Pearson r = ")
    assert spec["title"]["text"].startswith(f"Pearson r = {stats.pearsonr(xg, yp).statistic:.3f} [")
    points = next(f for f in frames if "label" in f.columns)
    assert not points["external"].any()  # the paper has no PickCube-v1 figure


def test_two_variants_show_too_few_points(tmp_path, repo_root, monkeypatch):
    reports = write_known_sweep(tmp_path / "reports", {v: KNOWN[v] for v in ("base", "all")})
    at = _run(repo_root, reports, monkeypatch)
    spec, frames = _chart(at, "too few points")
    assert spec["title"]["text"] == "too few points (n = 2)"
    assert not any(list(f.columns) == ["x", "y"] for f in frames)  # no fitted line
    assert not any("Pearson r =" in m.value for m in at.markdown)
    assert any("too few points (n = 2)" in m.value for m in at.markdown)
    _, heat = _chart(at, "Pearson r over variants")
    assert set(heat[0]["label"]) == {"too few points"} and heat[0]["r"].isna().all()


def test_published_rows_are_external_and_a_bad_csv_shows_a_message(known_sweep, repo_root, monkeypatch, tmp_path):
    at = _run(repo_root, known_sweep, monkeypatch)
    table = at.dataframe[-1].value
    assert table["external"].all() and "InternVL3-2B" in set(table["model"])
    overview = at.dataframe[1].value.set_index("variant")  # closed-loop table, paper column beside
    assert overview.loc["base", "closed_loop/simpler_widowx/avg (paper)"] == "41.8 (InternVL3-2B)"
    bad = tmp_path / "bad.csv"
    bad.write_text("model,metric,value,source\nA,reasoning/avg,12,paper\nB,reasoning/avg,101,paper\n")
    at.text_input(key="published_path").set_value(str(bad))
    at.run()
    errors = [e.value for e in at.error]
    assert any(f"{bad}:3: value 101.0 outside 0-100" in e for e in errors), errors
    assert at.get("vega_lite_chart"), "the sweep still shows without the external overlay"
    _, frames = _chart(at, "Pearson r = ")
    assert not next(f for f in frames if "label" in f.columns)["external"].any()


def test_missing_sweep_folder_is_a_message(tmp_path, repo_root, monkeypatch):
    at = _run(repo_root, tmp_path / "none", monkeypatch)
    assert any("no such sweep folder" in e.value for e in at.error)


def test_overview_compares_each_variant_with_base(known_sweep, repo_root, monkeypatch):
    at = _run(repo_root, known_sweep, monkeypatch)
    tables = [t.value for t in at.dataframe if "verdict" in t.value.columns]
    assert len(tables) == 1
    vs = tables[0].set_index(["metric", "variant"])
    assert set(vs.index.get_level_values("variant")) == set(KNOWN) - {"base"}
    # 'all' vs 'base' in success/avg: (9+6)/20 vs (2+1)/20 -> +60 points, far outside the noise of 2 x 20 episodes
    row = vs.loc[("success/avg", "all")]
    assert row["difference, points [95% CI]"].startswith("+60.0 ") and row["verdict"] == "higher"
