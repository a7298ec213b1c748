"""Caterpillar charts: the län's kommuner with their intervals, one indicator or a drop-down over many."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..periods import year_mask
from ..results import area_name as _area_name
from ..results import select as _select
from ..tables._common import _sort_key_sv
from ._common import (
    _LEGEND_BELOW,
    _dropdown,
    _esc,
    _finish,
    _hover_value,
    _indicator_meta,
    _num,
    _value_decimals,
    _year_of,
)

#: The caterpillar charts' orders (top to bottom): by kommun name, by value (highest first), by population.
CATERPILLAR_ORDERS = ("name", "value", "population")
#: The marker of each comparison: it is read without colour.
_SYMBOL_OF = {"higher": "triangle-up", "lower": "triangle-down", "similar": "circle", "unknown": "circle-open"}


def _caterpillar_order(kom: pd.DataFrame, order: str) -> pd.DataFrame:
    """The rows in plot order: row 0 is drawn at the bottom, so the first kommun of ``order`` comes last."""
    if order not in CATERPILLAR_ORDERS:
        raise ValueError(f"caterpillar order {order!r}: expected one of {', '.join(CATERPILLAR_ORDERS)}")
    if order == "name":
        key = kom["area_name"].astype(str).map(_sort_key_sv)
        return kom.assign(_k=key).sort_values("_k", ascending=False).drop(columns="_k").reset_index(drop=True)
    if order == "population" and "population" in kom:
        kom = kom.assign(_k=pd.to_numeric(kom["population"], errors="coerce"))
        return kom.sort_values(["_k", "area_name"], ascending=[True, False]).drop(columns="_k").reset_index(drop=True)
    return kom.sort_values(["_v", "area_name"], ascending=[True, False]).reset_index(drop=True)


def caterpillar_chart(
    results: pd.DataFrame,
    lan_code: str,
    indicator: str,
    year: int,
    highlight: str | None = None,
    *,
    compare: str = "lan",
    order: str = "value",
) -> go.Figure:
    """The län's kommuner with 95 % intervals (in ``order``: :data:`CATERPILLAR_ORDERS`), and vertical
    lines for the län and riket values. Markers carry the comparison with the län (or riket, with
    ``compare='riket'``) as symbol, colour and legend word."""
    if compare not in ("lan", "riket"):
        raise ValueError("compare must be 'lan' or 'riket'")
    lan_code = str(lan_code)
    meta = _indicator_meta(results, indicator)
    unit, worse = meta["unit"], meta["worse"]
    dec = _value_decimals(unit)
    data = _select(results, indicator=indicator, year=year)
    kom = data[(data["area_level"] == "kommun") & (data["area_code"].astype("string").str[:2] == lan_code)]
    kom = kom[pd.to_numeric(kom["value"], errors="coerce").notna()].copy()
    kom["_v"] = pd.to_numeric(kom["value"], errors="coerce")
    kom = _caterpillar_order(kom, order)
    n = len(kom)
    ypos = {str(c): i for i, c in enumerate(kom["area_code"])}
    col = "cmp_lan" if compare == "lan" else "cmp_riket"
    ref_word = "länet" if compare == "lan" else "riket"

    fig = go.Figure()
    valid = ["higher", "similar", "lower"]
    cmp_col = kom[col].astype("string") if col in kom else pd.Series(pd.NA, index=kom.index, dtype="string")
    kom["_cmp"] = cmp_col.where(cmp_col.isin(valid).fillna(False), "unknown")
    for cmp in ("higher", "similar", "lower", "unknown"):
        part = kom[kom["_cmp"] == cmp]
        if part.empty:
            continue
        colour = F.SIGNAL_COLOURS[F.comparison_signal(cmp, worse)]
        v = _num(part["_v"], dec)
        lo = _num(part["ci_low"], dec)
        hi = _num(part["ci_high"], dec)
        texts = [f"<b>{_esc(r['area_name'])}</b><br>{_hover_value(r, unit)}" for _, r in part.iterrows()]
        fig.add_trace(
            go.Scatter(
                x=v,
                y=[ypos[str(c)] for c in part["area_code"]],
                mode="markers",
                marker=dict(symbol=_SYMBOL_OF[cmp], size=11, color=colour, line=dict(color="#1a1a1a", width=0.5)),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[None if h is None or x is None else round(h - x, dec) for h, x in zip(hi, v)],
                    arrayminus=[None if a is None or x is None else round(x - a, dec) for a, x in zip(lo, v)],
                    color=colour,
                    thickness=2,
                    width=4,
                ),
                name=f"{F.comparison_text(cmp)} än {ref_word}"
                if cmp in ("higher", "lower")
                else f"{F.comparison_text(cmp)} mot {ref_word}",
                text=texts,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    span = [-0.6, max(n - 0.4, 0.4)]
    for code, colour, dash in ((lan_code, F.LAN_COLOUR, "dash"), ("00", F.RIKET_COLOUR, "dot")):
        rows = data[data["area_code"].astype("string") == code]
        if rows.empty or F.is_missing(rows["value"].iloc[0]):
            continue
        r = rows.iloc[0]
        val = round(float(r["value"]), dec)
        name = _esc(_area_name(results, code))
        fig.add_trace(
            go.Scatter(
                x=[val, val],
                y=span,
                mode="lines",
                line=dict(color=colour, width=2, dash=dash),
                name=f"{name}: {F.fmt_value(val, unit)}",
                hovertemplate=f"{name}: {F.fmt_value(val, unit)}<extra></extra>",
            )
        )
    ticktext = []
    for _, r in kom.iterrows():
        t = _esc(r["area_name"])
        ticktext.append(f"<b>{t}</b>" if highlight is not None and str(r["area_code"]) == str(highlight) else t)
    if highlight is not None and str(highlight) in ypos:
        hr = kom.iloc[ypos[str(highlight)]]
        fig.add_trace(
            go.Scatter(
                x=_num([hr["_v"]], dec),
                y=[ypos[str(highlight)]],
                mode="markers",
                marker=dict(symbol="circle-open", size=20, color="#000000", line=dict(width=2.5)),
                name=f"Markerad: {_esc(hr['area_name'])}",
                hoverinfo="skip",
            )
        )
    lan_name = _area_name(results, lan_code)
    title = f"{_esc(meta['label'])} i kommunerna i {_esc(lan_name)} {int(year)}"
    _finish(
        fig,
        title,
        F.UNIT_AXIS_TITLE[unit],
        None,
        height=max(300, 140 + 32 * n),
        legend=_LEGEND_BELOW,
        margin=dict(l=110, r=20, t=60, b=130),
    )
    fig.update_yaxes(tickvals=list(range(n)), ticktext=ticktext, range=span, showgrid=False, ticks="")
    fig.update_xaxes(rangemode="tozero", tickformat=",.0f", showgrid=True, gridcolor="#e5e5e5")
    return fig


def caterpillar_selectable(
    results: pd.DataFrame, lan_code: str, indicators: list[str], year: int, order: str = "name"
) -> go.Figure:
    """One caterpillar chart of the län's kommuner with a drop-down over ``indicators``.

    The same picture as :func:`caterpillar_chart` (kommuner in ``order``, 95 % intervals as
    error bars, symbol and colour by the comparison with the län, lines for the län and riket)
    with a fixed set of traces: one per comparison and the two lines. The drop-down replaces their
    data, colours and the kommun names on the axis. Names sit on the axis only (hover shows the
    value), so that 35 indicators for a county of 49 kommuner stay a small page.
    """
    lan_code = str(lan_code)
    comparisons = ("higher", "similar", "lower", "unknown")
    lan_name, riket_name = _esc(_area_name(results, lan_code)), _esc(_area_name(results, "00"))
    # only the rows and columns used: boolean indexing of the full table (67 columns) 35 times costs seconds
    cols = [
        c
        for c in (
            "area_code",
            "area_name",
            "area_level",
            "indicator",
            "indicator_label",
            "unit",
            "source_kind",
            "year",
            "value",
            "ci_low",
            "ci_high",
            "cmp_lan",
            "population",
        )
        if c in results.columns
    ]
    codes = results["area_code"].astype("string")
    keep = year_mask(results, year) & ((codes.str[:2] == lan_code) | (codes == "00")).fillna(False).to_numpy(dtype=bool)
    data_year = results.loc[keep, cols]
    states, most = [], 1
    for ind in indicators:
        meta = _indicator_meta(data_year, ind)
        unit, worse = meta["unit"], meta["worse"]
        dec = _value_decimals(unit)
        data = data_year[data_year["indicator"] == ind]
        kom = data[(data["area_level"] == "kommun") & (data["area_code"].astype("string").str[:2] == lan_code)].copy()
        kom["_v"] = pd.to_numeric(kom["value"], errors="coerce")
        kom = _caterpillar_order(kom[kom["_v"].notna()], order)
        most = max(most, len(kom))
        cmp = kom["cmp_lan"].astype("string") if "cmp_lan" in kom else pd.Series(pd.NA, index=kom.index, dtype="string")
        kom["_cmp"] = cmp.where(cmp.isin(comparisons[:3]).fillna(False), "unknown")
        fmt = f"%{{x:,.{dec}f}}"
        traces = []
        for c in comparisons:
            part = kom[kom["_cmp"] == c]
            v, lo, hi = _num(part["_v"], dec), _num(part["ci_low"], dec), _num(part["ci_high"], dec)
            traces.append(
                dict(
                    x=v,
                    y=part.index.tolist(),
                    colour=F.SIGNAL_COLOURS[F.comparison_signal(c, worse)],
                    plus=[None if h is None or x is None else round(h - x, dec) for h, x in zip(hi, v)],
                    minus=[None if a is None or x is None else round(x - a, dec) for a, x in zip(lo, v)],
                    hover=fmt + "<extra></extra>",
                )
            )
        lines = []
        for code, name in ((lan_code, lan_name), ("00", riket_name)):
            row = data[data["area_code"].astype("string") == code]
            val = None if row.empty or F.is_missing(row["value"].iloc[0]) else round(float(row["value"].iloc[0]), dec)
            lines.append((val, f"{name}: {F.fmt_value(val, unit)}" if val is not None else f"{name}: uppgift saknas"))
        states.append(
            dict(
                ind=ind,
                meta=meta,
                unit=unit,
                n=len(kom),
                traces=traces,
                lines=lines,
                names=[_esc(n) for n in kom["area_name"]],
                year=_year_of(year, ind),
            )
        )

    span = [-0.6, most - 0.4]

    def data_update(st):
        t, ln = st["traces"], st["lines"]
        return {
            "x": [tr["x"] for tr in t] + [[v, v] if v is not None else [] for v, _ in ln],
            "y": [tr["y"] for tr in t] + [span if v is not None else [] for v, _ in ln],
            "error_x.array": [tr["plus"] for tr in t] + [None, None],
            "error_x.arrayminus": [tr["minus"] for tr in t] + [None, None],
            "marker.color": [tr["colour"] for tr in t] + [None, None],
            "error_x.color": [tr["colour"] for tr in t] + [None, None],
            "hovertemplate": [tr["hover"] for tr in t] + [f"{name}<extra></extra>" for _, name in ln],
            "name": [f"{F.comparison_text(c)} {'än' if c in ('higher', 'lower') else 'mot'} länet" for c in comparisons]
            + [name for _, name in ln],
        }

    def layout_update(st):
        return {
            "title.text": f"{_esc(st['meta']['label'])} i kommunerna i {lan_name} {st['year']}",
            "yaxis.tickvals": list(range(st["n"])),
            "yaxis.ticktext": st["names"],
            "xaxis.title.text": F.UNIT_AXIS_TITLE[st["unit"]],
        }

    first = states[0]
    upd = data_update(first)
    fig = go.Figure()
    for i, c in enumerate(comparisons):
        fig.add_trace(
            go.Scatter(
                x=upd["x"][i],
                y=upd["y"][i],
                mode="markers",
                name=upd["name"][i],
                hovertemplate=upd["hovertemplate"][i],
                marker=dict(
                    symbol=_SYMBOL_OF[c], size=11, color=upd["marker.color"][i], line=dict(color="#1a1a1a", width=0.5)
                ),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=upd["error_x.array"][i],
                    arrayminus=upd["error_x.arrayminus"][i],
                    color=upd["error_x.color"][i],
                    thickness=2,
                    width=4,
                ),
            )
        )
    for j, (colour, dash) in enumerate(((F.LAN_COLOUR, "dash"), (F.RIKET_COLOUR, "dot"))):
        k = len(comparisons) + j
        fig.add_trace(
            go.Scatter(
                x=upd["x"][k],
                y=upd["y"][k],
                mode="lines",
                name=upd["name"][k],
                line=dict(color=colour, width=2, dash=dash),
                hovertemplate=upd["hovertemplate"][k],
            )
        )
    buttons = [
        dict(label=_esc(st["meta"]["label"]), method="update", args=[data_update(st), layout_update(st)])
        for st in states
    ]
    lay = layout_update(first)
    _finish(
        fig,
        lay["title.text"],
        lay["xaxis.title.text"],
        None,
        height=max(320, 170 + 30 * most),
        legend=_LEGEND_BELOW,
        margin=dict(l=120, r=20, t=110, b=130),
        updatemenus=_dropdown(buttons),
    )
    fig.update_yaxes(
        tickvals=lay["yaxis.tickvals"], ticktext=lay["yaxis.ticktext"], range=span, showgrid=False, ticks=""
    )
    fig.update_xaxes(rangemode="tozero", tickformat=",.0f", showgrid=True, gridcolor="#e5e5e5")
    return fig
