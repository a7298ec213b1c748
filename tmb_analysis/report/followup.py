"""The follow-up section: each decided priority since its baseline, with the change, its interval and a verdict."""

from __future__ import annotations

from IPython.display import HTML

from ..followup import FollowupError, compare_with_baseline, load_decisions, load_followup
from ..formatting import fmt_signed_interval, fmt_signed_pct, fmt_value, fmt_value_interval
from ._common import _round_year
from .parameters import ReportContext
from .snippets import esc


def followup(ctx: ReportContext) -> HTML:
    """'Uppföljning': each decided item since its baseline, with the change, its interval and a verdict.

    The items come from the follow-up workbook imported into the store (``tmb import``) and from the
    YAML file ``uppfoljning/<kod>.yaml``; either can be missing."""
    items, origins, problems = [], [], []
    try:
        stored = load_decisions(ctx.store_dir, ctx.area.code)
    except FollowupError as exc:
        stored, problems = None, [str(exc)]
    if stored:
        meta, found_items = stored
        items += found_items
        origins.append(
            f"arbetsboken {esc(meta.get('file', ''))} (importerad {esc(str(meta.get('imported_at', ''))[:10])})"
        )
    try:
        found = load_followup(ctx.area.code, ctx.synthetic)
    except FollowupError as exc:
        found, problems = None, [*problems, str(exc)]
    if found:
        _, raw, yaml_items = found
        items += yaml_items
        decided = f", beslutad {esc(raw.get('beslutad'))}" if raw.get("beslutad") else ""
        origins.append(f"filen uppfoljning/{esc(ctx.area.code)}.yaml{decided}")
    errors = "".join(f"<p class='error'>Uppföljningsfilen kunde inte läsas: {esc(p)}</p>" for p in problems)
    if not items:
        return HTML(
            errors
            + (
                f"<p>Här visas hur det går med de prioriteringar och medborgarlöften som {esc(ctx.area.display_name)} "
                "har beslutat: för varje vald indikator utvecklingen sedan ett basår, och om förändringen är större än "
                "slumpen kan förklara. Kommunen har ännu inte lämnat några. När prioriteringarna är beslutade för "
                "samordnaren in dem i kommunens uppföljningsarbetsbok, så följs de upp i nästa rapport.</p>"
            )
        )
    labels = ctx.results.drop_duplicates("indicator").set_index("indicator")["indicator_label"]
    body = []
    for it in items:
        latest = _round_year(ctx, it.indicator) or ctx.year
        res = compare_with_baseline(ctx.results, ctx.area.code, it, latest, expected=it.expected)
        unit = res["unit"]
        b, c = res["baseline"], res["latest"]

        if unit == "per_100k":
            change = f"{fmt_signed_pct(res['change'])} ({fmt_signed_interval(res['change_low'], res['change_high'])})"
        else:
            pp = "percentage_points"
            change = (
                f"{fmt_signed_pct(res['change'], unit=pp)} "
                f"({fmt_signed_interval(res['change_low'], res['change_high'], unit=pp)})"
            )
        kind = {"beslut": "beslut"}.get(it.kind, it.kind)
        when = f" {esc(it.decided_on)}" if it.decided_on else ""
        aim = f" · mål: {esc(it.expected)}" if it.expected else ""
        nxt = f"<br><span class='small'>Nästa uppföljning {esc(it.next_followup)}</span>" if it.next_followup else ""
        body.append(
            f"<tr><th scope='row'>{esc(it.description or it.indicator)}<br><span class='small'>"
            f"{esc(kind)}{when} · {esc(labels.get(it.indicator, it.indicator))}{aim}</span></th>"
            f"<td data-label='Basår'>{it.baseline_year}: {_cell(b, unit)}</td>"
            f"<td data-label='Senaste år'>{latest}: {_cell(c, unit)}</td>"
            f"<td data-label='Förändring'>{esc(change) if res['direction'] != 'unknown' else '–'}</td>"
            f"<td data-label='Bedömning'>{esc(res['verdict'])}{nxt}</td></tr>"
        )
    return HTML(
        errors + "<p>Så har det gått med kommunens beslutade prioriteringar och medborgarlöften, jämfört med "
        f"basåret. Källa: {' och '.join(origins)}. Förändringen räknas med den variation mellan år som "
        "statistiken har, så att slumpens svängningar inte tas för en effekt. Inom parentes: 95 % "
        "konfidensintervall.</p>"
        "<table class='tmb-table followup'><caption>Uppföljning sedan basåret</caption><thead><tr>"
        "<th scope='col'>Vad som följs</th><th scope='col'>Basår</th><th scope='col'>Senaste år</th>"
        "<th scope='col'>Förändring</th><th scope='col'>Bedömning</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _cell(r, unit: str) -> str:
    """A follow-up row's value with its interval ('–' when the year has no row)."""
    if r is None:
        return "–"
    return f"{fmt_value(r['value'], unit)} ({fmt_value_interval(r['ci_low'], r['ci_high'], unit, r['value'])})"
