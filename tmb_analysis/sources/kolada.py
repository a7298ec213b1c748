"""Kolada (RKA): KPI data (``kolada_v3``) and municipality groups (``kolada_groups``, ``kolada_groups_csv``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import read_config
from ..geography import RIKET_CODE, registry
from ._common import (
    _MAX_LIST,
    PUBLISHER_KOLADA,
    SourceTables,
    _decode,
    _fail,
    _finish,
    _json,
    _listing,
    _loc_text,
    _lookup_area,
    _norm_header,
    _norm_text,
    _parse_spaced,
    _read_bytes,
    sha256_of,
)

_KPI_FIELDS = ("rate_per_100k", "share_pct", "ci_half_pct")


def _kolada_config() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """``config/kolada.yaml``: the KPI mapping (KPI id -> (catalogue id, field)) and SKR's kommungrupper
    (normalised title -> code A1 … C9). A malformed entry raises ValueError naming the file and the entry."""
    raw, where = read_config("kolada")
    kpis: dict[str, tuple[str, str]] = {}
    for kpi, entry in (raw.get("kpis") or {}).items():
        if not isinstance(entry, dict) or not entry.get("indicator") or entry.get("field") not in _KPI_FIELDS:
            raise ValueError(
                f"{where}: kpis.{kpi} is {entry!r}; expected {{indicator: <catalogue id>, field: "
                f"{' | '.join(_KPI_FIELDS)}}}"
            )
        kpis[str(kpi)] = (str(entry["indicator"]), str(entry["field"]))
    groups: dict[str, str] = {}
    for title, code in (raw.get("skr_groups") or {}).items():
        if not re.fullmatch(r"[ABC][1-9]", str(code)):
            raise ValueError(f"{where}: skr_groups.{title!r} is {code!r}; expected an SKR group code A1 … C9")
        groups[str(title)] = str(code)
    return kpis, groups


#: Kolada KPI id -> (catalogue id, field), and SKR's kommungruppsindelning: normalised group title -> code
#: (``config/kolada.yaml``, where each is described).
KOLADA_KPIS, SKR_GROUPS = _kolada_config()


# ---- Kolada ---------------------------------------------------------------------------

KOLADA_MISSING = {"-", ".", ".."}


def _kolada_area(mid) -> str | None:
    """SCB code of a Kolada municipality id: '2180' (kommun), '0021' (region -> län 21), '0000' (riket)."""
    t = str(mid).strip()
    if t == "0000":
        return RIKET_CODE
    reg = registry()
    if re.fullmatch(r"\d{4}", t) and reg.is_code(t) and reg.area(t).level == "kommun":
        return t
    m = re.fullmatch(r"00(\d{2})", t)
    if m and reg.is_code(m.group(1)):
        return m.group(1)
    return None


def _kolada_json(path: Path, data: bytes) -> dict:
    obj = _json(path, data)
    if not isinstance(obj, dict) or not isinstance(obj.get("values"), list):
        raise _fail(path, "expected a Kolada v3 JSON object with a 'values' list")
    if not obj["values"]:
        raise _fail(
            path,
            "empty API response: 'values' is empty (no data for this query); expected a list of values "
            "— check the ids, areas and years asked for",
        )
    nxt = obj.get("next_url") or obj.get("next_page")
    if nxt:
        raise _fail(
            path,
            f"this is one page of a paged response (next_url {nxt!r} is not included); expected all pages in one "
            "file: `tmb fetch kolada` follows next_url and saves them together",
        )
    return obj


def read_kolada(path: str | Path) -> SourceTables:
    """Read Kolada v3 data (see the module docstring; KPI mapping in :data:`KOLADA_KPIS`).

    * ``municipality``: a kommun code, ``00LL`` for a region (→ län ``LL``), ``0000`` for riket.
    * Gender ``T`` (total) only; ``K``/``M`` values are counted in the notes, not imported.
    * ``value`` ``null`` or a marker (``-`` missing, ``.`` not applicable, ``..`` confidential), or a
      ``status`` with such a marker, means no value (never zero). A ``status`` with ``prel`` marks a
      crime value preliminary.
    * Crime KPIs give ``rate_per_100k`` (Kolada has no counts of crimes); NTU KPIs give
      ``share_pct``. **Assumption**: an "Osäkerhetstal" KPI of the same question is the half-width
      of the 95 % interval, so ``ci_low_pct``/``ci_high_pct`` = share ∓ it (clipped to 0–100).
    * KPIs without a catalogue indicator are listed as not imported; a file where none maps is an error.
    """
    path = Path(path)
    data = _read_bytes(path)
    obj = _kolada_json(path, data)
    recs, unknown_areas, bad, unmatched, other_gender = [], {}, [], {}, 0
    seen = {}
    from ..context import context_kpis  # here: the context modules import the store's schema, not the readers
    from ..kolada_context import context_table, requested_kpis

    ctx_kpis, ctx_items = set(context_kpis()), []  # context KPIs (issue 16) go to the context table
    for pos, item in enumerate(obj["values"]):
        if not isinstance(item, dict):
            raise _fail(
                path,
                f"values[{pos}] is {type(item).__name__}; expected an object with kpi, municipality, period, values",
            )
        missing = [k for k in ("kpi", "period", "values") if k not in item] + (
            [] if ("municipality" in item or "municipality_id" in item) else ["municipality"]
        )
        if missing:
            raise _fail(
                path, f"values[{pos}] lacks field(s) {', '.join(missing)}; expected kpi, municipality, period, values"
            )
        kpi = str(item["kpi"]).strip()
        mid = item.get("municipality", item.get("municipality_id"))
        area = _kolada_area(mid)
        if area is None:
            unknown_areas.setdefault(str(mid), []).append(pos)
            continue
        if not re.fullmatch(r"(19|20)\d\d", str(item["period"]).strip()):
            raise _fail(path, f"values[{pos}].period is {item['period']!r}; expected a year such as 2024")
        year = int(str(item["period"]).strip())
        key = (kpi, area, year)
        if key in seen:
            raise _fail(
                path,
                f"values[{pos}] repeats kpi {kpi}, municipality {mid}, period {year} (first at values[{seen[key]}])",
            )
        seen[key] = pos
        if kpi in ctx_kpis:
            ctx_items.append((pos, kpi, area, year, item["values"]))
            continue
        if kpi not in KOLADA_KPIS:
            unmatched[kpi] = unmatched.get(kpi, 0) + 1
            continue
        if not isinstance(item["values"], list):
            raise _fail(path, f"values[{pos}].values is not a list")
        for k, v in enumerate(item["values"]):
            gender = str(v.get("gender", "")).strip().upper() if isinstance(v, dict) else ""
            if gender != "T":
                if gender in ("K", "M"):
                    other_gender += 1
                    continue
                raise _fail(
                    path,
                    f"values[{pos}].values[{k}].gender is {v.get('gender') if isinstance(v, dict) else v!r}; "
                    "expected T, K or M",
                )
            status = str(v.get("status") or "").strip()
            raw = v.get("value")
            if raw is None or (isinstance(raw, str) and raw.strip() in KOLADA_MISSING) or status in KOLADA_MISSING:
                continue
            if v.get("isdeleted") is True:  # withdrawn by Kolada
                continue
            num = _parse_spaced(raw)
            if num is None or not np.isfinite(num):
                bad.append(f"values[{pos}].values[{k}].value is {raw!r}; expected a number, null, '-', '.' or '..'")
                continue
            ind, part = KOLADA_KPIS[kpi]
            recs.append((area, year, ind, part, num, "prel" in status.casefold(), kpi))
    if unknown_areas:
        listed = ", ".join(
            f"{m!r} (values[{', '.join(map(str, ps[:3]))}{' …' if len(ps) > 3 else ''}])"
            for m, ps in list(unknown_areas.items())[:_MAX_LIST]
        )
        raise _fail(
            path,
            f"unknown municipality id(s) {listed}; expected a kommun code, '00LL' for a region or '0000' for Riket",
        )
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    context, ctx_notes = context_table(path, ctx_items, requested_kpis(path, sha256_of(data)), {k[0] for k in seen})
    if not recs and not len(context) and unmatched:
        raise _fail(
            path,
            f"none of the KPIs {_listing(sorted(unmatched))} maps to a catalogue indicator; KPIs that do: "
            f"{_listing(sorted(KOLADA_KPIS))}",
        )
    frame = pd.DataFrame(recs, columns=["area_code", "year", "indicator", "part", "value", "prel", "kpi"])
    crime = frame[frame["part"] == "rate_per_100k"]
    crime = pd.DataFrame(
        {
            "area_code": crime["area_code"],
            "year": crime["year"],
            "indicator": crime["indicator"],
            "count": pd.NA,
            "rate_per_100k": crime["value"],
            "status": np.where(crime["prel"], "preliminary", "final"),
            "source": "Kolada (RKA), Brå: " + crime["kpi"],
        }
    )
    shares = frame[frame["part"] == "share_pct"].set_index(["area_code", "year", "indicator"])
    halves = frame[frame["part"] == "ci_half_pct"].set_index(["area_code", "year", "indicator"])["value"]
    survey = pd.DataFrame(index=shares.index)
    survey["share_pct"] = shares["value"]
    half = halves.reindex(shares.index)
    survey["ci_low_pct"] = (shares["value"] - half).clip(lower=0)
    survey["ci_high_pct"] = (shares["value"] + half).clip(upper=100)
    survey["n_respondents"] = pd.NA
    survey["source"] = "Kolada (RKA), Brå NTU: " + shares["kpi"]
    survey = survey.reset_index()
    notes = []
    if unmatched:
        notes.append(f"{len(unmatched)} KPI(s) not imported (no catalogue indicator): {_listing(sorted(unmatched))}")
    if other_gender:
        notes.append(f"{other_gender} value(s) for women (K) or men (M) not imported: the store holds totals (T)")
    orphan = halves.index.difference(shares.index)
    if len(orphan):
        notes.append(f"{len(orphan)} uncertainty value(s) (Osäkerhetstal) without their share, not imported")
    notes += ctx_notes
    years = sorted(set(frame["year"]) | set(context["year"]))
    vintage = f"Kolada {years[0]}–{years[-1]}" if years else None
    return _finish(
        path,
        data,
        PUBLISHER_KOLADA,
        "kolada_v3",
        vintage,
        crime=crime,
        survey=survey,
        notes=notes,
        context=context,
        not_imported=[f"KPI {k}" for k in sorted(unmatched)] or None,
        assumption="Kolada 'Osäkerhetstal' KPIs are read as the half-width of the 95 % interval of the share"
        if len(halves)
        else None,
    )


# ---- Kolada municipality groups --------------------------------------------------------


def _group_title_key(title: str) -> str:
    t = _norm_text(title)
    t = re.sub(r"\s*\((o)?vägt medel\)$", "", t)
    t = re.sub(r"^[abc][1-9][.:]?\s+", "", t)
    return t.strip()


def skr_group_code(title: str) -> str | None:
    """SKR's code (A1 … C9) of a kommungrupp title such as 'Större stad (ovägt medel)', else None."""
    return SKR_GROUPS.get(_group_title_key(title))


def group_kind(title: str) -> str:
    if skr_group_code(title):
        return "skr_kommungrupp"
    if _norm_text(title).startswith("liknande kommuner"):
        return "liknande_kommuner"
    return "other"


def group_subject(title: str) -> str | None:
    """The kommun whose peers a 'Liknande kommuner …, <Kommun>, <year>' group lists, else None."""
    if group_kind(title) != "liknande_kommuner":
        return None
    parts = [p.strip() for p in str(title).rsplit(",", 2)]
    if len(parts) == 3 and re.fullmatch(r"(19|20)\d\d", parts[2]):
        code = _lookup_area(parts[1])
        if code is not None and len(code) == 4:
            return code
    return None


def read_kolada_groups(path: str | Path) -> SourceTables:
    """Read Kolada municipality groups into the ``groups`` table (JSON ``/v3/municipality_groups``
    or the flattened CSV ``group_id,group_title,member_id,member_title``).

    ``group_kind``: ``skr_kommungrupp`` for SKR's nine kommungrupper (by title), ``liknande_kommuner``
    for Kolada's "Liknande kommuner …" peer groups, else ``other``; ``subject_code`` is the kommun a
    "Liknande kommuner …, <Kommun>, <year>" group belongs to. Members are kommun codes, ``00LL``
    (a region → län ``LL``) or ``0000`` (riket); a kommun member whose title names another kommun is
    an error (shifted columns), as is an unknown id.
    """
    from .detect import detect_format  # detect imports this module

    path = Path(path)
    data = _read_bytes(path)
    recs = []  # (loc, group_id, group_title, member_id, member_title)
    if detect_format(path) == "kolada_groups":
        obj = _kolada_json(path, data)
        fmt = "kolada_groups"
        for pos, g in enumerate(obj["values"]):
            if not isinstance(g, dict) or "id" not in g or "title" not in g or not isinstance(g.get("members"), list):
                raise _fail(
                    path,
                    f"values[{pos}] lacks id, title or a members list; "
                    """expected {"id", "title", "members": [{"id", "title"}]}""",
                )
            for k, m in enumerate(g["members"]):
                if not isinstance(m, dict) or "id" not in m:
                    raise _fail(path, f"values[{pos}].members[{k}] lacks 'id'")
                recs.append(
                    (
                        f"values[{pos}].members[{k}]",
                        str(g["id"]).strip(),
                        str(g["title"]).strip(),
                        str(m["id"]).strip(),
                        str(m.get("title", "")).strip(),
                    )
                )
    else:
        fmt = "kolada_groups_csv"
        text = _decode(path, data)
        rows = list(csv.reader(io.StringIO(text)))
        numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
        hno, hrow = numbered[0]
        header = [_norm_header(c) for c in hrow]
        need = ["group_id", "group_title", "member_id", "member_title"]
        miss = [c for c in need if c not in header]
        if miss:
            raise _fail(path, f"line {hno}: missing column(s) {', '.join(miss)}; expected {', '.join(need)}")
        ix = [header.index(c) for c in need]
        for no, r in numbered[1:]:
            if len(r) != len(header):
                raise _fail(
                    path,
                    f"line {no}: {len(r)} field(s), expected {len(header)} ({', '.join(need)})"
                    f"{' — the file looks truncated' if no == numbered[-1][0] else ''}",
                )
            recs.append((no, *(r[i].strip() for i in ix)))
        if not recs:
            raise _fail(path, "no groups below the header")
    frame = pd.DataFrame(recs, columns=["loc", "group_id", "group_title", "member_id", "member_title"])
    ids = frame["member_id"].unique()
    code_of = {m: _kolada_area(m) for m in ids}
    bad_ids = frame[frame["member_id"].map(code_of).isna()]
    if len(bad_ids):
        ex = bad_ids.groupby("member_id")["loc"].apply(list)
        listed = ", ".join(f"{m!r} ({_loc_text(ls)})" for m, ls in list(ex.items())[:_MAX_LIST])
        raise _fail(
            path, f"{len(ex)} unknown member id(s): {listed}; expected a kommun code, '00LL' for a region or '0000'"
        )
    frame["area_code"] = frame["member_id"].map(code_of)
    titles = frame.drop_duplicates("member_id")
    wrong = []
    for _, r in titles.iterrows():
        if len(r["area_code"]) == 4 and r["member_title"]:
            named = _lookup_area(r["member_title"])
            if named is not None and named != r["area_code"]:
                wrong.append(
                    f"{_loc_text([r['loc']])}: member {r['member_id']} is {registry().name(r['area_code'])} "
                    f"but its title says {r['member_title']!r}"
                )
    if wrong:
        raise _fail(path, wrong[0] + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    dup = frame[frame.duplicated(["group_id", "area_code"], keep=False)]
    if len(dup):
        g = dup.iloc[0]
        locs = dup[(dup["group_id"] == g["group_id"]) & (dup["area_code"] == g["area_code"])]["loc"].tolist()
        raise _fail(
            path, f"duplicated member: group {g['group_id']} lists {g['area_code']} more than once ({_loc_text(locs)})"
        )
    gt = frame.drop_duplicates("group_id")[["group_id", "group_title"]]
    kinds = {t: group_kind(t) for t in gt["group_title"]}
    subjects = {t: group_subject(t) for t in gt["group_title"]}
    frame["group_kind"] = frame["group_title"].map(kinds)
    frame["subject_code"] = frame["group_title"].map(subjects)
    no_subject = [t for t in gt["group_title"] if kinds[t] == "liknande_kommuner" and subjects[t] is None]
    frame["source"] = "Kolada (RKA): kommungrupper"
    n_groups = frame["group_id"].nunique()
    notes = [
        f"{n_groups} group(s): {sum(1 for k in kinds.values() if k == 'skr_kommungrupp')} SKR kommungrupper, "
        f"{sum(1 for k in kinds.values() if k == 'liknande_kommuner')} 'Liknande kommuner' groups"
    ]
    if no_subject:
        notes.append(
            f"{len(no_subject)} 'Liknande kommuner' group(s) without a recognisable kommun in the title: "
            f"{_listing(no_subject)}"
        )
    return _finish(
        path, data, PUBLISHER_KOLADA, fmt, f"{n_groups} kommungrupper", groups=frame, notes=notes, status="final"
    )
