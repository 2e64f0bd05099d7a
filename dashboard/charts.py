"""Altair chart builders for the dashboard (presentation only; the numbers come from vlaser/)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def scatter_chart(points: pd.DataFrame, fit: pd.DataFrame, x: str, y: str, title: str) -> alt.LayerChart:
    """Variant means with interval bars, the fitted line, external points as hollow triangles; the
    correlation summary is the chart's title."""
    base = alt.Chart(points)
    enc_x = alt.X("x:Q", title=f"{x} (fraction)", scale=alt.Scale(zero=False))
    enc_y = alt.Y("y:Q", title=f"{y} (fraction)", scale=alt.Scale(zero=False))
    own = base.transform_filter("!datum.external")
    layers = [
        own.mark_rule(opacity=0.5).encode(x="x_low:Q", x2="x_high:Q", y="y:Q"),
        own.mark_rule(opacity=0.5).encode(x="x:Q", y="y_low:Q", y2="y_high:Q"),
        base.mark_point(filled=True, size=70).encode(
            x=enc_x, y=enc_y, shape=alt.Shape("external:N", title="external"),
            color=alt.Color("source:N", title="source"),
            tooltip=["label", "x", "x_low", "x_high", "y", "y_low", "y_high", "source"]),
        base.mark_text(align="left", dx=6, dy=-6, fontSize=10).encode(x="x:Q", y="y:Q", text="label:N"),
    ]
    if len(fit):
        layers.append(alt.Chart(fit).mark_line(color="gray", strokeDash=[4, 3]).encode(x="x:Q", y="y:Q"))
    return alt.layer(*layers).properties(title=alt.Title(title, fontSize=12), height=420)


def heatmap_chart(heat: pd.DataFrame) -> alt.LayerChart:
    """Benchmark x target Pearson r; cells with too few points are grey and say so."""
    base = alt.Chart(heat).encode(x=alt.X("target:N", title="closed-loop success"),
                                  y=alt.Y("benchmark:N", title="reasoning score"))
    rect = base.mark_rect().encode(
        color=alt.Color("r:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue", reverse=True), title="Pearson r"),
        tooltip=["benchmark", "target", "r", "rho", "n", "status"])
    text = base.mark_text(fontSize=11).encode(text="label:N")
    return alt.layer(rect, text).properties(title="Pearson r over variants (means over seeds)", height=300)


def interval_bars(df: pd.DataFrame, category: str, value: str, low: str, high: str, title: str) -> alt.LayerChart:
    """Horizontal point + interval per category (success per task, score per benchmark)."""
    base = alt.Chart(df).encode(y=alt.Y(f"{category}:N", title=None))
    return alt.layer(
        base.mark_rule().encode(x=alt.X(f"{low}:Q", title=value, scale=alt.Scale(domain=[0, 1])), x2=f"{high}:Q"),
        base.mark_point(filled=True, size=60).encode(x=f"{value}:Q", tooltip=list(df.columns)),
    ).properties(title=title)
