"""The kommun report's reading order (issue 13): the first screen says it, each thing once.

* :func:`kort_om`: "Kort om <kommun>", readable in thirty seconds: the proposals one line each with
  their strength and stability, how many indicators are higher or lower than the rest of the län and
  riket, and the years of each source; under it :func:`spine`, every indicator on one row against the
  spread across kommuner, the län and riket.
* :func:`proposal_cards`: one card per proposal (why, key figure with interval, a trend only when its
  interval says there is one, stability, "Så räknades förslaget", the trend chart), then "Att bevaka":
  the round's nearest candidates, marked as not proposals (docs/metod.md, section 11).
* The second half (every indicator by theme, the trend pair, the folded "Fördjupning") is
  :mod:`tmb_analysis.report_themes`.

Every comparison, trend and "för osäkert" on the page is written by the same functions of
:mod:`tmb_analysis.tables` (:func:`~tmb_analysis.tables.comparison_words`,
:func:`~tmb_analysis.tables.trend_words`), so the cards, the spine chart, the Kort om counts and the
tables never disagree; ``tests/test_report_kommun.py`` parses the pages to check it.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
from IPython.display import HTML

from . import formatting as F
from . import tables as T
from .geography import registry
from .periods import year_mask
from .report import (
    ReportContext,
    _has,
    _latest,
    _ranked,
    _shared,
    _vintage_line,
    esc,
    missing_sentence,
    trend_figure,
)

__all__ = [
    "report_config",
    "kort_om",
    "spine",
    "proposal_cards",
    "watch_rows",
]

NBSP = F.NBSP
#: The strength of a proposal (``priority_confidence``) in the words of the page.
SUPPORT = {"stark": "Starkt stöd", "måttlig": "Måttligt stöd", "svag": "Svagt stöd"}
#: A benchmark as the proposal's reason names it (``priority_basis`` keys).
REASON_WORDS = {"lan": "övriga länet", "riket": "riket", "group": "kommungruppen", "peers": "liknande kommuner"}


# ---- configuration ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def report_config() -> dict:
    """``config/report.yaml``, checked: the theme blocks hold every catalogue indicator exactly once."""
    from .catalogue import catalogue
    from .config import read_config

    raw, where = read_config("report")
    blocks = raw.get("theme_blocks") or []
    seen: dict[str, str] = {}
    for pos, b in enumerate(blocks):
        if not isinstance(b, dict) or not {"id", "title", "indicators"} <= set(b):
            raise ValueError(f"{where}: theme_blocks[{pos}] needs id, title and indicators")
        for ind in b["indicators"]:
            if ind not in catalogue():
                raise ValueError(f"{where}: theme_blocks[{pos}] ({b['id']}): {ind!r} is not in config/indicators.yaml")
            if ind in seen:
                raise ValueError(f"{where}: {ind!r} is in both {seen[ind]!r} and {b['id']!r}; each indicator once")
            seen[ind] = b["id"]
    left = [i.id for i in catalogue() if i.id not in seen]
    if left:
        raise ValueError(f"{where}: theme_blocks lacks {', '.join(left)}; every indicator must be in one block")
    from .charts import CATERPILLAR_ORDERS

    if raw.get("caterpillar_order", "name") not in CATERPILLAR_ORDERS:
        raise ValueError(
            f"{where}: caterpillar_order is {raw.get('caterpillar_order')!r}; expected one of "
            f"{', '.join(CATERPILLAR_ORDERS)}"
        )
    return raw


def _blocks() -> list[dict]:
    return report_config()["theme_blocks"]


# ---- rows and words -----------------------------------------------------------------------------


def _rows(ctx: ReportContext) -> pd.DataFrame:
    """The area's rows of the round, one per indicator, in theme-block order."""
    rows = _latest(ctx).drop_duplicates("indicator")
    order = {ind: i for i, ind in enumerate(i for b in _blocks() for i in b["indicators"])}
    return rows.assign(_o=rows["indicator"].map(order).fillna(1e9)).sort_values("_o").drop(columns="_o")


def _keys(rows: pd.DataFrame) -> list[str]:
    return T.page_benchmarks(rows)


def _group_titles(ctx: ReportContext) -> dict[str, tuple[str, list[str]]]:
    """{'group': (title, member names), 'peers': (...)}: the kommun's comparison groups of the store."""
    from .benchmarks import similar_groups
    from .store import load_store

    def compute():
        return similar_groups(load_store(ctx.store_dir))

    groups = _shared(ctx.results, ("similar_groups",), compute)
    reg = registry()
    out = {}
    for r in groups[groups["area_code"] == ctx.area.code].itertuples(index=False):
        title = str(r.group_title).replace(" (ovägt medel)", "").strip()
        names = sorted((reg.name(m) if reg.is_code(m) else m for m in r.members), key=T._sort_key_sv)
        out[r.kind] = (title, names)
    return out


def _basis(row) -> set[str]:
    """The tests that count for a proposal (``priority_basis``, ';'-separated), as a set."""
    basis = row.get("priority_basis")
    return set(basis.split(";")) - {""} if isinstance(basis, str) else set()


def _worse_word(row) -> str:
    return "Lägre" if T._worse(row) == "lower" else "Högre"


def _reason(row, titles: dict) -> str:
    """Why the indicator is proposed, in the words of its tests that survive the multiplicity rule
    (``priority_basis``): 'Högre än övriga länet och kommungruppen (Större stad). Ökar snabbare än riket.'"""
    keys = _basis(row)
    word = _worse_word(row)
    benches = []
    for key in ("lan", "riket", "group", "peers"):
        if key in keys:
            phrase = REASON_WORDS[key]
            if key == "group" and "group" in titles:
                phrase += f" ({titles['group'][0]})"
            benches.append(phrase)
    sentences = []
    if "pooled" in keys and "riket" not in keys:
        years = row.get("pooled_years")
        pooled = f"riket i snitt {years}" if isinstance(years, str) and years else "riket i snitt de senaste åren"
        sentences.append(f"{word} än {F.join_words(benches)}, och än {pooled}." if benches else f"{word} än {pooled}.")
    elif benches:
        sentences.append(f"{word} än {F.join_words(benches)}.")
    if "trend" in keys:
        sentences.append("Minskar mer än i riket." if T._worse(row) == "lower" else "Ökar snabbare än i riket.")
    return " ".join(sentences) or "Underlaget räcker för ett förslag."


def _support(row) -> str:
    """'Måttligt stöd: stannar bland de tre främsta i 63 av 100 omräkningar av statistiken.'"""
    from .priorities import stability_text

    conf = row.get("priority_confidence")
    head = SUPPORT.get(conf, "Stöd")
    text = f"{head}: {stability_text(row.get('priority_stability')).lower()}."
    if conf == "svag":
        text += " Förslaget kan falla bort med nästa års siffror."
    return text


def _key_figure(row) -> str:
    """The proposal's figure with its interval (HTML): '<strong>15 %</strong> enligt NTU 2025 (95 % …)'."""
    unit = T._unit(row)
    value = F.fmt_value(row.get("value"), unit)
    ci = F.fmt_value_interval(row.get("ci_low"), row.get("ci_high"), unit, row.get("value"))
    year = int(row["year"])
    if unit == "per_100k":
        text = f"<strong>{esc(value)}</strong> anmälda brott per 100{NBSP}000 invånare {year}"
    else:
        ntu = year + (1 if T._reference_year(row) else 0)
        text = f"<strong>{esc(value)}</strong> enligt NTU {ntu}" + (f" (avser {year})" if ntu != year else "")
    if ci != F.MISSING:
        text += f" (95{NBSP}% konfidensintervall {esc(ci)})"
    if unit == "per_100k" and T._is_small(row) and not F.is_missing(row.get("eb_value")):
        text += f"; utjämnat värde {esc(F.fmt_value(row['eb_value'], unit))}"
    return text + "."


def _trend_line(row) -> str:
    """'Trend 2020–2024: ↗ Ökar +5,1 % per år (95 % konfidensintervall +1,0 till +9,3 %).', only when
    the trend's interval says there is one, in the table's words; '' otherwise."""
    if T.trend_key(row) not in ("increasing", "decreasing"):
        return ""
    first = row.get("trend_first_year")
    span = f" {int(first)}–{int(row['year'])}" if not F.is_missing(first) else ""
    interval = T.trend_interval(row)
    return (
        f"<p class='trend-line'>Trend{span}: {T.trend_words(row)}"
        + (f" (95{NBSP}% konfidensintervall {esc(interval)})" if interval else "")
        + ".</p>"
    )


def _chips(row, keys) -> str:
    return "<p class='chips'>" + " ".join(str(T.comparison_chip(row, k)) for k in keys) + "</p>"


def _benchmark_values(row, keys: set) -> list[str]:
    unit = T._unit(row)
    out = []
    for key, _, _, col in T.BENCHMARKS:
        if key not in keys or F.is_missing(row.get(col)):
            continue
        text = f"{REASON_WORDS[key]} {F.fmt_value(row[col], unit)}"
        lo, hi = row.get("riket_limit_low"), row.get("riket_limit_high")
        if key == "riket" and not (F.is_missing(lo) or F.is_missing(hi)):
            text += (
                f" (för en kommun av den här storleken ligger skillnader inom "
                f"{F.fmt_value_interval(lo, hi, unit, row.get('value'))} inom slumpens ram)"
            )
        out.append(text)
    return out


def _related_concern(ctx: ReportContext, row, rows: pd.DataFrame, keys) -> list[str]:
    """The related NTU indicators of the round (config/related_indicators.yaml) that the table marks worse."""
    from .priorities import related_indicators

    out = []
    by_id = rows.set_index("indicator")
    for sid in related_indicators().get(str(row["indicator"]), []):
        if sid not in by_id.index:
            continue
        s = by_id.loc[sid]
        bad = "lower" if T._worse(s) == "lower" else "higher"
        worse = [T.BENCHMARK_LABEL[k].lower() for k in keys if T.comparison_key(s, k) == bad]
        if worse:
            out.append(f"{s['indicator_label'].lower()} ({_worse_word(s).lower()} än {F.join_words(worse)})")
    return out


def _how_it_was_counted(ctx: ReportContext, row, rows, keys) -> str:
    """'Så räknades förslaget': the comparisons that count with their values, the multiplicity rule,
    the funnel, related concern, harm weight and score, in plain words (the formulas are in metod.html)."""
    basis = _basis(row)
    unit = T._unit(row)
    per = f" per 100{NBSP}000 invånare" if unit == "per_100k" else ""
    items = []
    values = _benchmark_values(row, basis)
    if values:
        items.append(f"Jämförelsevärden som räknas: {F.join_words(values)}{per}.")
    if "pooled" in basis and not F.is_missing(row.get("pooled_value")):
        items.append(
            f"Snitt {row.get('pooled_years')}: {F.fmt_value(row['pooled_value'], unit)}{per}, "
            f"{_worse_word(row).lower()} än riket."
        )
    if "trend" in basis and not F.is_missing(row.get("riket_trend_pct_per_year")):
        items.append(
            f"Trenden jämförs med rikets: {F.fmt_signed_pct(row['riket_trend_pct_per_year'], 1, unit=row.get('trend_unit'))}"
            " per år i riket."
        )
    items.append(
        "Skillnaderna håller även när alla kommunens jämförelser prövas samtidigt (högst 5 % falska "
        "upptäckter) och när man räknar med hur mycket kommuners tal varierar av en slump."
    )
    bad_side = "below" if T._worse(row) == "lower" else "above"
    if row.get("funnel_riket") == bad_side:
        items.append(f"Ligger {'under' if bad_side == 'below' else 'över'} 99,8{NBSP}%-gränsen i trattdiagrammet.")
    concern = _related_concern(ctx, row, rows, keys)
    if concern:
        items.append(f"Relaterat i trygghetsundersökningen: {F.join_words(concern)}.")
    if not F.is_missing(row.get("harm_weight")):
        items.append(
            f"Skadevikt {F.fmt_number(row['harm_weight'], 1)}: hur allvarligt det är, på en skala där "
            "de grövsta brotten väger mest."
        )
    if not F.is_missing(row.get("priority_score")):
        items.append(
            f"Poäng {F.fmt_number(row['priority_score'], 1)}: roten ur skadevikten gånger summan av "
            "beläggen (nivå, trend, trattdiagram, hur stor skillnaden är och oro); de tre med högst poäng "
            "blir förslag."
        )
    if row.get("status") == "preliminary":
        items.append("Årets siffror är preliminära.")
    body = "".join(f"<li>{esc(i)}</li>" for i in items)
    return (
        f"<details class='how'><summary>Så räknades förslaget</summary><ul>{body}</ul>"
        "<p><a href='metod.html'>Metodbeskrivningen</a> har formlerna.</p></details>"
    )


# ---- Kort om ------------------------------------------------------------------------------------


def _count_line(rows: pd.DataFrame, key: str) -> str:
    """'▲ 4 högre · ▼ 0 lägre · ● 31 ingen säker skillnad' (and för osäkra, okända), the spine's chips counted."""
    keys = [T.comparison_key(r, key) for _, r in rows.iterrows()]
    parts = []
    for c, word in (("higher", "högre"), ("lower", "lägre"), ("similar", "ingen säker skillnad")):
        parts.append(
            f"<span class='count' data-count='{c}'><span aria-hidden='true'>{F.COMPARISON_TEXT[c][0]}</span> "
            f"{keys.count(c)} {word}</span>"
        )
    if keys.count("uncertain"):
        parts.append(f"<span class='count' data-count='uncertain'>{keys.count('uncertain')} för osäkra</span>")
    if keys.count("unknown"):
        parts.append(f"<span class='count' data-count='unknown'>? {keys.count('unknown')} okända</span>")
    return " · ".join(parts)


def _proposal_line(row, titles) -> str:
    rank = int(row["priority_rank"])
    reason = _reason(row, titles)
    reason = reason[0].lower() + reason[1:]
    return (
        f"<li class='kort-forslag' data-indicator='{esc(row['indicator'])}'><a href='#forslag-{rank}'>"
        f"<strong>{esc(row['indicator_label'])}</strong></a> – {esc(reason)} "
        f"<span class='support'>{esc(_support(row))}</span></li>"
    )


def kort_om(ctx: ReportContext) -> HTML:
    """'Kort om <kommun>': what a reader needs in thirty seconds, then the spine chart under it."""
    name = ctx.area.display_name
    rows = _rows(ctx)
    titles = _group_titles(ctx)
    head = f"<section class='kort-om' aria-labelledby='kort-om'><h2 id='kort-om'>Kort om {esc(name)}</h2><dl>"
    ranked = _ranked(ctx)
    if len(ranked):
        n = len(ranked)
        items = "".join(_proposal_line(r, titles) for _, r in ranked.iterrows())
        proposals = (
            f"<dt>Förslag till prioriteringar</dt><dd><ol class='kort-forslag'>{items}</ol>"
            + (
                f"<p class='small'>Bara {F.count_text(n, 'indikator', 'indikatorer')} har tillräckligt stöd "
                "för ett förslag; resten väljs med lokal kunskap.</p>"
                if n < 3
                else ""
            )
            + "</dd>"
        )
    elif rows.empty:
        proposals = "<dt>Förslag till prioriteringar</dt><dd>Inga: det finns inga värden för kommunen.</dd>"
    else:
        watch = watch_rows(ctx)
        also = (
            f" Att bevaka, men inte förslag: {esc(F.join_words(watch['indicator_label'].str.lower().tolist()))}."
            if len(watch)
            else ""
        )
        proposals = (
            "<dt>Förslag till prioriteringar</dt><dd class='kort-forslag none'>"
            "<strong>Inget förslag i år.</strong> Ingen indikator skiljer sig tillräckligt säkert från "
            f"jämförelserna när alla prövas samtidigt.{also}</dd>"
        )
    comparisons = ""
    keys = [k for k in _keys(rows) if k in ("lan", "riket")]
    for key in keys:
        label = f"Resten av länet ({ctx.lan.name})" if key == "lan" else "Riket"
        comparisons += (
            f"<dt>Jämfört med {esc(label.lower() if key == 'riket' else label[0].lower() + label[1:])}</dt>"
            f"<dd data-kort='{key}'>{_count_line(rows, key)} <span class='small'>av "
            f"{len(rows)} indikatorer</span></dd>"
        )
    if comparisons:
        comparisons += (
            "<dd class='small note'>En jämförelse i taget: med så många jämförelser väntas några ▲ av en "
            "slump. Bara det som håller när alla prövas samtidigt blir förslag.</dd>"
        )
    data = f"<dt>Data</dt><dd>{esc(_data_years(ctx))}</dd>"
    missing = "".join(missing_sentence(k) for k in ("crime", "survey") if ctx.source_years.get(k) is None)
    return HTML(head + proposals + comparisons + data + "</dl>" + missing + "</section>")


def _data_years(ctx: ReportContext) -> str:
    """'Anmälda brott 2024 och NTU 2025. Tidsserierna: anmälda brott 2016–2024 (slutlig statistik); …'"""
    from .periods import years_text

    now = years_text(ctx.source_years)
    now = now[0].upper() + now[1:] if now != "inga data" else "Inga data"
    return f"{now.replace(', NTU', ' och NTU')}. Tidsserierna: {_vintage_line(ctx)}."


# ---- spine chart --------------------------------------------------------------------------------


def _spread(ctx: ReportContext) -> pd.DataFrame:
    """Per indicator, year and period of the round: the lowest, quartiles and highest value across all
    kommuner of the store, and how many kommuner that is (the same for every report of a run)."""

    def compute():
        r = ctx.results
        sel = r[(r["area_level"] == "kommun").to_numpy() & year_mask(r, ctx.source_years)]
        v = pd.to_numeric(sel["value"], errors="coerce")
        sel = sel.assign(_v=v, _p=sel["period"].astype(str) if "period" in sel else "")[v.notna()]
        g = sel.groupby(["indicator", "year", "_p"])["_v"]
        return pd.DataFrame(
            {"lo": g.min(), "q1": g.quantile(0.25), "q3": g.quantile(0.75), "hi": g.max(), "n": g.size()}
        )

    return _shared(ctx.results, ("spine", tuple(sorted(ctx.source_years.items(), key=str))), compute)


def _differs(row, keys) -> bool:
    """True when the spine chart shows the row up front: the table marks it higher or lower than the
    rest of the län or riket (one comparison at a time), or it is a proposal."""
    if not F.is_missing(row.get("priority_rank")):
        return True
    return any(T.comparison_key(row, k) in ("higher", "lower") for k in keys)


def spine(ctx: ReportContext) -> HTML:
    """The spine chart: every indicator of the round on one row (theme blocks of config/report.yaml).

    Up front the rows that differ from the rest of the län or riket (and the proposals); the rows
    without a sure difference, or too uncertain to say, follow in the same chart under the fold "Visa
    alla indikatorer" (opened by "Visa allt" and on paper), so that every indicator stays one click away
    and the first screen is not spent on 30 rows of "ingen säker skillnad"."""
    rows = _rows(ctx)
    if rows.empty:
        return HTML("")
    spread = _spread(ctx)
    keys = [k for k in _keys(rows) if k in ("lan", "riket")]
    has_riket = "riket" in keys
    by_id = {str(r["indicator"]): r for _, r in rows.iterrows()}
    parts: dict[bool, list] = {True: [], False: []}
    n_max = 0
    for b in _blocks():
        block = [by_id[i] for i in b["indicators"] if i in by_id]
        for up_front in (True, False):
            chosen = [r for r in block if _differs(r, keys) == up_front]
            if chosen:
                parts[up_front].append({"group": b["title"]})
            for r in chosen:
                key = (r["indicator"], r["year"], str(r.get("period", "")) if "period" in rows else "")
                s = spread.loc[key] if key in spread.index else None
                centre = r.get("riket_value") if has_riket else r.get("lan_value")
                if F.is_missing(centre) and s is not None:
                    centre = None
                item = {"row": r, "centre": centre, "lan": r.get("lan_value")}
                if s is not None:
                    item.update(lo=s["lo"], q1=s["q1"], q3=s["q3"], hi=s["hi"])
                    n_max = max(n_max, int(s["n"]))
                parts[up_front].append(item)
    everyone = n_max == len(registry().kommuner())
    spread_words = (
        "spannet bland alla Sveriges kommuner" if everyone else f"spannet bland de {n_max} kommuner i datalagret"
    )
    centre_name = "Riket" if has_riket else ctx.lan.name
    caption = (
        f"{ctx.area.display_name} jämfört med {'riket, ' if has_riket else ''}länet och "
        f"{'alla kommuner' if everyone else f'de {n_max} kommunerna i datalagret'}, "
        f"{_years_words(ctx)}. Mittlinjen är {'riket' if has_riket else 'länet'}; höger betyder högre värde."
    )
    against = "länet eller riket" if has_riket else "länet"
    n_front = sum("row" in it for it in parts[True])
    n_rest = sum("row" in it for it in parts[False])
    uncertain = sum(
        all(T.comparison_key(it["row"], k) == "uncertain" for k in keys) for it in parts[False] if "row" in it
    )
    rest_words = "ingen säker skillnad" + (" eller för osäkra" if uncertain else "")
    only_proposed = any(
        not any(T.comparison_key(it["row"], k) in ("higher", "lower") for k in keys)
        for it in parts[True]
        if "row" in it
    )
    others = F.count_text(n_rest, "annan", "andra")

    def chart(items, caption_text, caption_id, legend):
        return T.spine_html(
            items, keys, ctx.area.name, ctx.lan.name, centre_name, spread_words, caption_text, caption_id, legend
        )

    html = ""
    if n_front:
        html += chart(
            parts[True],
            f"{caption} Här visas {F.count_text(n_front, 'indikator', 'indikatorer')} som skiljer sig från {against}"
            + (" eller är förslag" if only_proposed else "")
            + (f"; {'de ' if n_rest > 1 else ''}{others} följer nedanför." if n_rest else "."),
            "spine-caption",
            True,
        )
    else:
        html += (
            f"<p class='spine-none'>Ingen av de {n_rest} indikatorerna skiljer sig säkert från {against} "
            "(en jämförelse i taget).</p>"
        )
    if n_rest:
        summary = (
            f"Visa alla indikatorer: {'de ' if n_rest > 1 else ''}{others} ({rest_words})"
            if n_front
            else f"Visa alla {n_rest} indikatorer"
        )
        html += (
            f"<details class='spine-more' id='alla-indikatorer'><summary>{esc(summary)}</summary>"
            + chart(
                parts[False],
                (caption + " " if not n_front else "")
                + f"{'Övriga indikatorer' if n_front else 'Alla indikatorer'}: {rest_words} mot {against}.",
                "spine-caption-rest",
                not n_front,
            )
            + "</details>"
        )
    return HTML(f"<div class='spine-parts'>{html}</div>")


def _years_words(ctx: ReportContext) -> str:
    from .periods import years_text

    return years_text(ctx.source_years)


# ---- proposal cards and "Att bevaka" -------------------------------------------------------------


def watch_rows(ctx: ReportContext) -> pd.DataFrame:
    """'Att bevaka': the round's candidates that are not proposals but come nearest (docs/metod.md,
    section 11): those that pass the rule but score below the three first, then those the table marks
    worse than a benchmark (one comparison at a time) or with a worse trend, in order of their smallest
    adjusted p-value (``priority_q``); at most ``watch.max_items`` of config/report.yaml."""
    rows = _rows(ctx)
    if not _has(ctx, "priority_score") or rows.empty:
        return rows.iloc[0:0]
    keys = _keys(rows)
    cand = rows[rows["priority_score"].notna() & rows["priority_rank"].isna()]

    def worse(r):
        bad = "lower" if T._worse(r) == "lower" else "higher"
        trend_bad = "decreasing" if bad == "lower" else "increasing"
        return any(T.comparison_key(r, k) == bad for k in keys) or T.trend_key(r) == trend_bad

    eligible = cand["priority_eligible"] if "priority_eligible" in cand else pd.Series(False, index=cand.index)
    eligible = eligible.fillna(False).astype(bool)
    keep = pd.Series(
        [bool(e) or worse(r) for e, (_, r) in zip(eligible, cand.iterrows())], index=cand.index, dtype=bool
    )
    cand, eligible = cand[keep], eligible[keep]
    q = cand["priority_q"] if "priority_q" in cand else pd.Series(1.0, index=cand.index)
    cand = cand.assign(_e=~eligible, _q=pd.to_numeric(q, errors="coerce").fillna(1.0))
    n = int((report_config().get("watch") or {}).get("max_items", 3))
    return (
        cand.sort_values(["_e", "_q", "priority_score"], ascending=[True, True, False])
        .head(n)
        .drop(columns=["_e", "_q"])
    )


def _watch_item(row, keys) -> str:
    """One candidate in two lines: its name (a link to its table row), value and interval, trend when
    there is one; then its comparisons. Why it is not a proposal is said once, above the list, except
    for a candidate that passes the rule and only scores below the proposals."""
    unit = T._unit(row)
    ind = esc(row["indicator"])
    ci = F.fmt_value_interval(row.get("ci_low"), row.get("ci_high"), unit, row.get("value"))
    why = (
        "<p class='small'>Uppfyller kraven för ett förslag men har lägre poäng än förslagen ovan.</p>"
        if row.get("priority_eligible")
        else ""
    )
    trend = T.trend_key(row)
    trend_html = f" · Trend: {T.trend_words(row)}" if trend in ("increasing", "decreasing") else ""
    return (
        f"<li class='watch-item' data-indicator='{ind}'><a href='#ind-{ind}'><strong>"
        f"{esc(row['indicator_label'])}</strong></a>: {esc(F.fmt_value(row.get('value'), unit))}"
        + (f" {esc(F.UNIT_SHORT[unit])}" if unit == "per_100k" else "")
        + (f" (95{NBSP}% konfidensintervall {esc(ci)})" if ci != F.MISSING else "")
        + f"{trend_html}{_chips(row, keys)}{why}</li>"
    )


def _watch(ctx: ReportContext, keys, none_proposed: bool) -> str:
    watch = watch_rows(ctx)
    if watch.empty:
        if none_proposed:
            return (
                "<p>Ingen indikator ligger heller högre än jämförelserna eller ökar när jämförelserna görs en i "
                "taget: det finns inget särskilt att bevaka i statistiken i år.</p>"
            )
        return ""
    eligible = watch["priority_eligible"].fillna(False).astype(bool).any() if "priority_eligible" in watch else False
    intro = (
        "Indikatorerna nedan är <strong>inte förslag</strong>. De kommer närmast: tabellen visar en skillnad "
        "eller en ökning när jämförelserna görs en i taget, men "
        + (
            "stödet räcker inte för ett förslag."
            if eligible
            else "den håller inte när alla kommunens jämförelser prövas samtidigt."
        )
        + " Följ dem nästa år, och väg in dem med lokal kunskap."
    )
    return (
        f"<section class='watch' aria-labelledby='att-bevaka'><h3 id='att-bevaka'>Att bevaka – inte förslag</h3>"
        f"<p>{intro}</p><ul class='watch-list'>{''.join(_watch_item(r, keys) for _, r in watch.iterrows())}</ul>"
        "</section>"
    )


def _card(ctx: ReportContext, row, rows, keys, titles, related=None) -> str:
    rank = int(row["priority_rank"])
    ind = str(row["indicator"])
    chart = trend_figure(ctx, ind).data
    line = related(ctx, ind) if related is not None else ""
    related_html = f"<p class='related'>{esc(line)}</p>" if line else ""
    return (
        f"<article class='proposal' id='forslag-{rank}' data-indicator='{esc(ind)}' aria-labelledby='forslag-{rank}-h'>"
        f"<div class='proposal-text'><h3 id='forslag-{rank}-h'><span class='rank'>{rank}</span> "
        f"{esc(row['indicator_label'])}</h3>"
        f"<p class='why'>{esc(_reason(row, titles))}</p>"
        f"<p class='key-figure'>{_key_figure(row)}</p>"
        f"{_trend_line(row)}"
        f"<p class='support'>{esc(_support(row))}</p>"
        f"{_chips(row, keys)}"
        f"{related_html}"
        f"<div class='card-more'>{_how_it_was_counted(ctx, row, rows, keys)}"
        f"<p class='small'><a href='#ind-{esc(ind)}'>Alla siffror för indikatorn</a></p></div></div>"
        f"<div class='proposal-chart'><details class='trend-fold'><summary>Trenden i diagram: "
        f"{esc(row['indicator_label'].lower())} i {esc(ctx.area.name)}, länet och riket</summary>{chart}</details>"
        "</div></article>"
    )


def proposal_cards(ctx: ReportContext, related=None) -> HTML:
    """One card per proposal, consistent with the table, then "Att bevaka"; an honest sentence when
    there is no proposal (and when nothing can be compared, what is missing).

    ``related``: an optional ``f(ctx, indicator) -> str`` whose plain-Swedish sentence (e.g. the local
    factors related to the indicator) is shown in each card under its comparisons ('' shows nothing)."""
    if not _has(ctx, "priority_rank"):
        return HTML("<p>Prioriteringar beräknas inte i den här versionen.</p>")
    rows = _rows(ctx)
    keys = _keys(rows)
    ranked = _ranked(ctx)
    comparable = bool(len(rows)) and (
        any(T.comparison_key(r, k) in ("higher", "lower", "similar") for _, r in rows.iterrows() for k in keys)
        or rows["trend"].isin(["increasing", "decreasing", "no_clear_trend"]).any()
    )
    if ranked.empty and not comparable:
        gone = [k for k in ("crime", "survey") if ctx.source_years.get(k) is None]
        gone += [
            k
            for k, col in (("lan", "lan_value"), ("riket", "riket_value"))
            if not pd.to_numeric(rows.get(col, pd.Series(dtype=float)), errors="coerce").notna().any()
        ]
        return HTML(
            "<p>Inga förslag kan tas fram ur statistiken: kommunens värden kan varken jämföras med länet, riket eller "
            "liknande kommuner eller följas över tid. Det är inte ett besked om att allt är bra.</p>"
            + "".join(missing_sentence(k) for k in dict.fromkeys(gone))
        )
    if ranked.empty:
        return HTML(
            "<p class='no-proposal'><strong>Inget förslag i år.</strong> Ingen indikator är tillräckligt säkert högre "
            "än övriga länet, riket, kommungruppen eller liknande kommuner, och ingen ökar säkert snabbare än i riket, "
            "när man räknar med hur mycket kommuners tal varierar av en slump och med att många jämförelser görs "
            "samtidigt. Det är ett giltigt resultat, inte ett besked om att allt är bra: välj prioriteringar med "
            "lokal kunskap.</p>" + _watch(ctx, keys, none_proposed=True)
        )
    titles = _group_titles(ctx)
    cards = "".join(_card(ctx, r, rows, keys, titles, related) for _, r in ranked.iterrows())
    note = ""
    if len(ranked) < 3:
        note = (
            f"<p>Bara {F.count_text(len(ranked), 'indikator', 'indikatorer')} har tillräckligt stöd i statistiken. "
            "Färre än tre förslag är ett giltigt svar: resten väljs med lokal kunskap.</p>"
        )
    return HTML(f"<div class='proposals'>{cards}</div>{note}{_watch(ctx, keys, none_proposed=False)}")
