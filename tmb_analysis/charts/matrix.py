"""The priority matrix: a kommun's level against its trend for the reported-crime indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import _esc, _finish


def priority_matrix(results: pd.DataFrame, area_code: str, year: int) -> go.Figure:
    """Level against trend for the kommun's reported-crime indicators, bubble size by harm weight.

    x: the kommun's rate relative to riket (kvot, 1 = samma nivå); y: trend in % per year
    (0 where unknown, drawn hollow). Ranked priorities are labelled with their rank.
    Reading the chart never needs colour: position, labels and marker shape carry it.
    """
    rows = _select(results, area_code=str(area_code), year=year)
    rows = rows[rows["source_kind"] == "crime"]
    riket = _select(results, area_code="00", year=year).set_index("indicator")["value"]
    harm = rows["harm_weight"] if "harm_weight" in rows else pd.Series(1.0, index=rows.index)
    xs, ys, sizes, texts, labels, symbols = [], [], [], [], [], []
    for (_, r), h in zip(rows.iterrows(), harm):
        b = riket.get(r["indicator"])
        if F.is_missing(r.get("value")) or F.is_missing(b) or float(b) <= 0:
            continue
        ratio = float(r["value"]) / float(b)
        trend = r.get("trend_pct_per_year")
        known = r.get("trend") in ("increasing", "decreasing", "no_clear_trend") and not F.is_missing(trend)
        xs.append(round(ratio, 3))
        ys.append(round(float(trend), 2) if known else 0.0)
        hw = 1.0 if F.is_missing(h) else float(h)
        sizes.append(10 + 8 * np.sqrt(max(hw, 0.1)))
        rank = r.get("priority_rank")
        labels.append(f"{int(rank)}" if not F.is_missing(rank) else "")
        symbols.append("circle" if known else "circle-open")
        texts.append(
            f"<b>{_esc(r['indicator_label'])}</b><br>{F.fmt_number(ratio, 2)} gånger rikets nivå"
            f"<br>Trend: {F.trend_text(r.get('trend'))}"
            + (f" ({F.fmt_signed_pct(trend)} per år)" if known else "")
            + f"<br>Skadevikt: {F.fmt_number(hw, 1)}"
            + (f"<br>Prioritering {labels[-1]}" if labels[-1] else "")
        )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=labels,
            textposition="middle center",
            textfont=dict(color="#ffffff", size=12),
            marker=dict(
                size=sizes, symbol=symbols, color=F.AREA_COLOUR, line=dict(color="#1a1a1a", width=1), opacity=0.85
            ),
            hovertext=texts,
            hovertemplate="%{hovertext}<extra></extra>",
            name="Indikatorer",
            showlegend=False,
        )
    )
    fig.add_vline(x=1, line=dict(color="#555555", dash="dot"))
    fig.add_hline(y=0, line=dict(color="#555555", dash="dot"))
    name = _esc(_area_name(results, str(area_code)))
    _finish(
        fig,
        f"Nivå och trend för anmälda brott i {name} {int(year)}",
        "Nivå jämfört med riket (1 = samma som riket)",
        "Trend, procent per år",
        margin=dict(l=70, r=20, t=60, b=60),
        height=480,
    )
    fig.update_xaxes(type="log", tickformat=",.1f")
    return fig
