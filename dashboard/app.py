"""Vlaser dashboard: overview, correlation, variant detail, lineage, published results.

Started by ``vlaser dashboard`` (streamlit run dashboard/app.py -- --reports DIR). The numbers all come
from vlaser/ (sweep_table, evaluate.correlate, evaluate.published, dashboard_views); this file only lays
them out. A bad input (sweep folder, published CSV) shows its message on the page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # charts.py beside this file

import charts  # noqa: E402

from vlaser import dashboard_views as views  # noqa: E402
from vlaser.compare import load_versus_baseline, markdown_rows  # noqa: E402
from vlaser.errors import UserError  # noqa: E402
from vlaser.evaluate.correlate import correlate_all, heatmap_frame  # noqa: E402
from vlaser.evaluate.published import DEFAULT_CSV, closed_loop_suites, load_published, parse_published  # noqa: E402
from vlaser.report import wide_table  # noqa: E402
from vlaser.sweep_table import Sweep, load_sweep  # noqa: E402

N_BOOT, BOOT_SEED = 2000, 0


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--reports", default="reports")
    p.add_argument("--published", default=str(DEFAULT_CSV))
    return p.parse_known_args(sys.argv[1:])[0]


@st.cache_data(show_spinner="correlating ...", max_entries=8)
def _correlations(_sweep: Sweep, fingerprint: str) -> pd.DataFrame:
    return heatmap_frame(correlate_all(_sweep.summary, n_boot=0))  # r and rho only; intervals: the scatter


@st.cache_data(show_spinner="comparing with base ...", max_entries=8)
def _versus_base(_sweep: Sweep, fingerprint: str) -> pd.DataFrame:
    return load_versus_baseline(_sweep.root, "base", n_boot=N_BOOT, seed=BOOT_SEED)


def _published(path: str, upload) -> tuple[pd.DataFrame | None, str | None]:
    """(published table, error message): an uploaded CSV wins over the path."""
    try:
        if upload is not None:
            return parse_published(upload.getvalue().decode("utf-8", errors="replace"), upload.name), None
        return (load_published(path), None) if path.strip() else (None, None)
    except UserError as err:
        return None, str(err)


def overview(sweep: Sweep, published: pd.DataFrame | None) -> None:
    st.subheader(f"Sweep {sweep.name}: {len(sweep.variants)} variants")
    st.caption("Percent, mean over seeds [95% bootstrap CI over seeds and episodes/items]; (paper) columns "
               "are published figures (external).")
    for title, prefix in (("Reasoning scores", "reasoning/"), ("Closed-loop success", "success/")):
        if sweep.metrics(prefix):
            st.markdown(f"**{title}**")
            st.dataframe(wide_table(sweep, prefix, published), hide_index=True)
    if "base" in sweep.variants and len(sweep.variants) > 1:
        st.markdown("**Against `base`** — difference in percentage points [95% CI, seeds and items of both "
                    "variants resampled]; called only when the interval excludes zero")
        vs = _versus_base(sweep, sweep.fingerprint)
        st.dataframe(markdown_rows(vs[vs["metric"].str.endswith("/avg")]), hide_index=True)
    states = views.stage_states(sweep.root.resolve().parent)
    if states is not None and len(states):
        st.markdown(f"**Stage states** (sweep {states['sweep'].iloc[0]}, {states['status'].iloc[0]})")
        st.dataframe(states.drop(columns=["sweep", "status"]), hide_index=True)


def correlation(sweep: Sweep, published: pd.DataFrame | None) -> None:
    xs, ys = sweep.metrics("reasoning/"), sweep.metrics("success/")
    if not xs or not ys:
        st.info("This sweep needs both reasoning and closed-loop reports for a correlation.")
        return
    c1, c2, c3 = st.columns(3)
    x = c1.selectbox("reasoning score", xs, index=len(xs) - 1, key="corr_x")
    y = c2.selectbox("closed-loop success", ys, index=len(ys) - 1, key="corr_y")
    suites = closed_loop_suites(published) if published is not None else []
    default = suites.index("simpler_widowx") if "simpler_widowx" in suites else 0
    suite = c3.selectbox("published suite (external points)", suites, index=default, key="corr_suite") \
        if suites else None
    points, fit, corr = views.scatter_data(sweep, x, y, published, suite, N_BOOT, BOOT_SEED)
    st.altair_chart(charts.scatter_chart(points, fit, x, y, corr.summary()), width="stretch")
    st.markdown(f"**{corr.summary()}**" + ("" if corr.status == "ok" else
                " — a correlation needs at least 3 variants; none is shown."))
    ext = points[points["external"]]
    if len(ext):
        st.caption(f"External (published, not in the fit): {', '.join(ext['label'])}.")
    st.altair_chart(charts.heatmap_chart(_correlations(sweep, sweep.fingerprint)), width="stretch")


def variant_detail(sweep: Sweep) -> None:
    variant = st.selectbox("variant", sweep.variants, key="detail_variant")
    success = views.variant_success(sweep, variant)
    if len(success):
        st.altair_chart(charts.interval_bars(success, "task", "rate", "wilson_low", "wilson_high",
                                             "Success per task (episodes pooled over seeds, 95% Wilson)"),
                        width="stretch")
        st.dataframe(success, hide_index=True)
    scores = views.variant_reasoning(sweep, variant)
    if len(scores):
        st.altair_chart(charts.interval_bars(scores, "benchmark", "score", "ci_low", "ci_high",
                                             "Reasoning score per benchmark (95% CI over seeds and items)"),
                        width="stretch")
        st.dataframe(scores, hide_index=True)
    for video in views.variant_videos(sweep, variant)[:4]:
        st.caption(str(video.relative_to(sweep.root)))
        st.video(str(video))


def lineage(sweep: Sweep) -> None:
    target = st.text_input("checkpoint or report folder (or MLflow run id)", key="lineage_target",
                           value=views.default_lineage_target(sweep))
    if not target:
        return
    try:
        st.dataframe(views.lineage_rows(target, sweep.root.resolve().parent), hide_index=True)
    except UserError as err:
        st.error(str(err))


def published_page(published: pd.DataFrame | None, error: str | None) -> None:
    if error:
        st.error(f"Published-results CSV rejected: {error}")
        st.caption("Expected columns model,metric,value,source; value in percent; see docs/dashboard.md.")
    if published is not None:
        st.markdown(f"**{len(published)} external results** (shown beside this sweep, never fitted)")
        st.dataframe(published[["model", "metric", "value_pct", "source", "external"]], hide_index=True)


def main() -> None:
    st.set_page_config(page_title="Vlaser dashboard", layout="wide")
    args = _args()
    st.sidebar.title("Vlaser")
    folder = st.sidebar.text_input("sweep folder", value=args.reports, key="sweep_folder")
    pub_path = st.sidebar.text_input("published-results CSV", value=args.published, key="published_path")
    upload = st.sidebar.file_uploader("or upload a CSV", type=["csv"], key="published_upload")
    published, pub_error = _published(pub_path, upload)
    if pub_error:
        st.sidebar.error("published CSV rejected (see the Published tab)")
    try:
        sweep = load_sweep(folder, n_boot=N_BOOT, boot_seed=BOOT_SEED)
    except UserError as err:
        st.error(str(err))
        published_page(published, pub_error)
        return
    names = ["Overview", "Correlation", "Variant detail", *(["Lineage"] if views.lineage_available() else []),
             "Published"]
    tabs = dict(zip(names, st.tabs(names), strict=True))
    with tabs["Overview"]:
        overview(sweep, published)
    with tabs["Correlation"]:
        correlation(sweep, published)
    with tabs["Variant detail"]:
        variant_detail(sweep)
    if "Lineage" in tabs:
        with tabs["Lineage"]:
            lineage(sweep)
    with tabs["Published"]:
        published_page(published, pub_error)


main()
