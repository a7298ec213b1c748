"""The indicator table of one area (kommun, län or riket): its indicators in one year, by theme."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as F
from ..periods import years_text
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import _area_level, _get, _tfoot, _thead, _unit
from .cells import _cmp_cell, _interval_cell, _trend_cell, _value_cell
from .notes import EXPLANATION, HEADINGS, SOURCE_NOTE, recording_note, sources_note


def indicator_table_html(results: pd.DataFrame, area_code: str, year: int, *, table_id: str | None = None) -> str:
    """One area's indicators in one year, grouped by theme, as an accessible HTML table."""
    from ..catalogue import THEMES, catalogue

    area_code = str(area_code)
    rows = _select(results, area_code=area_code, year=year)
    level = _area_level(results, area_code)
    name = _area_name(results, area_code)

    cat_order = {ind.id: pos for pos, ind in enumerate(catalogue())}
    theme_order = {t: pos for pos, t in enumerate(THEMES)}
    records = [r for _, r in rows.iterrows()]
    records.sort(key=lambda r: (cat_order.get(str(r.get("indicator")), 10_000), str(r.get("indicator_label"))))
    groups: dict[str, list] = {}
    for r in records:
        groups.setdefault(r.get("theme") if isinstance(r.get("theme"), str) else "", []).append(r)
    themes = sorted(groups, key=lambda t: (theme_order.get(t, 1_000), t))

    with_group = "cmp_group" in results.columns and level == "kommun"
    headings = HEADINGS[:5] + (("Jämfört med liknande kommuner",) if with_group else ()) + HEADINGS[5:]
    bodies = []
    for theme in themes:
        trs = [
            Markup('<tr><th scope="rowgroup" colspan="{}">{}</th></tr>').format(
                len(headings), F.theme_label(theme or None)
            )
        ]
        for r in groups[theme]:
            unit = _unit(r)
            label = _get(r, "indicator_label") or _get(r, "indicator") or ""
            trs.append(
                Markup(
                    '<tr id="ind-{}"><th scope="row">{}<span class="sub unit">{}</span></th>{}{}{}{}{}{}</tr>'
                ).format(
                    _get(r, "indicator") or "",
                    label,
                    F.UNIT_SHORT[unit] if unit == "per_100k" else "andel i procent",
                    _value_cell(r, show_eb=level == "kommun"),
                    _interval_cell(r),
                    _cmp_cell(r, "cmp_lan", level == "kommun"),
                    _cmp_cell(r, "cmp_riket", level != "riket"),
                    _cmp_cell(r, "cmp_group", True) if with_group else Markup(""),
                    _trend_cell(r),
                )
            )
        bodies.append(Markup("<tbody>{}</tbody>").format(Markup("").join(trs)))
    if not bodies:
        bodies.append(
            Markup('<tbody><tr><td colspan="{}">Inga uppgifter för {} ({}).</td></tr></tbody>').format(
                len(headings), name, years_text(year)
            )
        )

    kinds = sorted({str(r.get("source_kind")) for r in records if r.get("source_kind") in SOURCE_NOTE})
    years = pd.to_numeric(_select(results, area_code=area_code)["year"], errors="coerce").dropna()
    last = (
        max(v for v in (year.values() if isinstance(year, dict) else [year]) if v is not None)
        if not isinstance(year, dict) or any(v is not None for v in year.values())
        else None
    )
    change = (
        recording_note([_get(r, "indicator") for r in records], int(years.min()), int(last))
        if len(years) and last is not None
        else ""
    )
    notes = [EXPLANATION] + ([change] if change else []) + [sources_note(kinds)]
    benches = [
        w
        for w, col in (("länet", "lan_value"), ("riket", "riket_value"))
        if col in rows and pd.to_numeric(rows[col], errors="coerce").notna().any()
    ]
    caption = Markup("{}: indikatorer {}{}").format(
        name, years_text(year), f", jämförda med {' och '.join(benches)}" if benches else ""
    )
    id_attr = Markup(' id="{}"').format(table_id) if table_id else Markup("")
    html = Markup('<table class="tmb-table indicator-table"{}><caption>{}</caption>{}{}{}</table>').format(
        id_attr, caption, _thead(headings), Markup("").join(bodies), _tfoot(len(headings), notes)
    )
    return str(html)
