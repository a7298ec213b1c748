"""Follow-up (uppföljning) of a kommun's chosen priorities and medborgarlöften.

A kommun records what it decided in ``uppfoljning/<kommunkod>.yaml`` (format in
``uppfoljning/README.md``). For each followed indicator this module compares the
latest year with the baseline year: for reported crime the ratio of the two rates
with an exact conditional interval (``statsmodels.stats.rates.confint_poisson_2indep``),
for survey shares the difference with an interval from the two published intervals.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .catalogue import catalogue
from .config import followup_base

Z95 = 1.959963984540054


class FollowupError(ValueError):
    """A follow-up file that cannot be read as documented. The message (Swedish, shown on the report
    page) names the file relative to the follow-up folder and the field, never a server path."""


@dataclass(frozen=True)
class Followed:
    indicator: str
    baseline_year: int
    kind: str  # prioritering | medborgarlöfte
    description: str
    expected: str | None = None  # minska | öka, as decided (the workbook); None: the direction that is better
    decided_on: str = ""  # ISO date (the workbook's Beslutsdatum)
    next_followup: str = ""  # ISO date (Nästa uppföljning)


#: Where ``tmb import`` keeps a kommun's decisions from its follow-up workbook: ``<store>/followup/<kod>.json``.
STORE_FOLDER = "followup"


def decisions_file(store_dir: str | Path, kommun_code: str) -> Path:
    """The file of a kommun's imported decisions inside a store (the code is a validated kommun code)."""
    return Path(store_dir) / STORE_FOLDER / f"{kommun_code}.json"


def load_decisions(store_dir: str | Path, kommun_code: str) -> tuple[dict, list[Followed]] | None:
    """The decisions ``tmb import`` stored from the kommun's follow-up workbook, or None.

    Returns the provenance (file name, sha256, import time) and the decided items. The file was
    validated when it was imported; a file that cannot be read raises :class:`FollowupError`.
    """
    import json

    path = decisions_file(store_dir, kommun_code)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = [
            Followed(
                d["indicator"],
                int(d["baseline_year"]),
                "beslut",
                str(d["decision"]),
                d["direction"],
                d["decided_on"],
                d["next_followup"],
            )
            for d in data["decisions"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FollowupError(
            f"{STORE_FOLDER}/{kommun_code}.json i datalagret kunde inte läsas ({type(exc).__name__}); "
            "importera uppföljningsarbetsboken igen"
        ) from None
    return {k: v for k, v in data.items() if k != "decisions"}, items


#: A follow-up file lists a handful of decisions: anything larger is not one.
MAX_BYTES = 256 * 1024
MAX_NODES = 5_000
MAX_DEPTH = 10
FIELDS = {
    "kommun": 'kommunkoden som text, t.ex. "2180"',
    "beslutad": 'ett datum, t.ex. "2024-03-15"',
    "prioriteringar": "en lista med prioriteringar",
}
ENTRY_FIELDS = {
    "indikator": "ett indikator-id",
    "basar": "ett årtal",
    "typ": "prioritering eller medborgarlöfte",
    "beskrivning": "en text",
}
KINDS = ("prioritering", "medborgarlöfte")


def followup_dir(synthetic: bool) -> Path:
    """The folder of the kommuner's follow-up files (``exempel/`` in it for example data)."""
    base = followup_base()
    return base / "exempel" if synthetic else base


def followup_file(kommun_code: str, synthetic: bool) -> Path:
    """Where a kommun's follow-up file is: ``uppfoljning/<kod>.yaml`` (``uppfoljning/exempel/`` for example data)."""
    return followup_dir(synthetic) / f"{kommun_code}.yaml"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases (a few lines of aliases expand to gigabytes when
    the report turns them into text), with a bound on the number of nodes and on nesting."""

    def __init__(self, stream, name: str):
        super().__init__(stream)
        self.name, self.nodes, self.depth = name, 0, 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            raise FollowupError(
                f"{self.name}, rad {mark.line + 1}: ankare och alias (&namn, *namn) är inte tillåtna; "
                "skriv ut varje värde"
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FollowupError(
                f"{self.name}: filen har fler än {MAX_NODES} värden; en uppföljningsfil listar kommunens beslut"
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise FollowupError(f"{self.name}, rad {event.start_mark.line + 1}: för djupt nästlad")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _read_yaml(path: Path, name: str):
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise FollowupError(f"{name}: filen är {size // 1024} kB; en uppföljningsfil är högst {MAX_BYTES // 1024} kB")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FollowupError(
            f"{name}, rad {line}: filen är inte UTF-8-text (byte 0x{data[exc.start]:02x}); spara den som UTF-8"
        ) from None
    loader = _Loader(text, name)
    try:
        return loader.get_single_data()
    except FollowupError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", rad {mark.line + 1}" if mark is not None else ""
        raise FollowupError(f"{name}{where}: inte giltig YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise FollowupError(f"{name}: inte giltig YAML ({type(exc).__name__})") from None
    finally:
        loader.dispose()


def _kind_of(value) -> str:
    return {dict: "en tabell", list: "en lista", str: "en text", int: "ett tal", float: "ett tal", bool: "ja/nej"}.get(
        type(value), "ett värde"
    )


def _check_fields(entry: dict, known: dict, name: str, where: str) -> None:
    for key in entry:
        if key not in known:
            raise FollowupError(f"{name}: okänt fält {where}{key!s:.40}; kända fält är {', '.join(known)}")


def load_followup(kommun_code: str, synthetic: bool = False) -> tuple[Path, dict, list[Followed]] | None:
    """The follow-up file of a kommun, or None when it has none.

    The file is checked before anything is used: size, UTF-8, YAML without anchors or aliases, and its
    shape (a mapping of the documented fields, each with its type; see ``uppfoljning/README.md``).
    Every problem raises :class:`FollowupError` naming the file (relative to the follow-up folder) and
    the field.
    """
    path = followup_file(kommun_code, synthetic)
    if not path.is_file():
        return None
    try:
        name = path.relative_to(followup_base()).as_posix()
    except ValueError:
        name = path.name
    raw = _read_yaml(path, name)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FollowupError(f"{name}: filen ska vara en tabell med fälten {', '.join(FIELDS)}, inte {_kind_of(raw)}")
    _check_fields(raw, FIELDS, name, "")
    code = raw.get("kommun")
    if not isinstance(code, str) or code != kommun_code:
        hint = " (skriv koden inom citattecken)" if isinstance(code, int) else ""
        raise FollowupError(f'{name}: fältet kommun ska vara "{kommun_code}", inte {str(code)[:40]!r}{hint}')
    decided = raw.get("beslutad")
    if decided is not None and not isinstance(decided, (str, _dt.date)):
        raise FollowupError(f"{name}: fältet beslutad ska vara {FIELDS['beslutad']}, inte {_kind_of(decided)}")
    entries = raw.get("prioriteringar") or []
    if not isinstance(entries, list):
        raise FollowupError(
            f"{name}: fältet prioriteringar ska vara {FIELDS['prioriteringar']}, inte {_kind_of(entries)}"
        )
    items = []
    cat = catalogue()
    for pos, entry in enumerate(entries, 1):
        where = f"prioriteringar[{pos}]"
        if not isinstance(entry, dict):
            raise FollowupError(
                f"{name}: {where} ska vara en tabell med fälten {', '.join(ENTRY_FIELDS)}, inte {_kind_of(entry)}"
            )
        _check_fields(entry, ENTRY_FIELDS, name, f"{where}.")
        ind = entry.get("indikator")
        if not isinstance(ind, str) or ind not in cat:
            raise FollowupError(
                f"{name}: {where}.indikator {str(ind)[:40]!r} är inget indikator-id i katalogen "
                "(tmb_analysis/config/indicators.yaml)"
            )
        year = entry.get("basar")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
            raise FollowupError(f"{name}: {where}.basar ska vara ett årtal som 2022, inte {str(year)[:40]!r}")
        kind = entry.get("typ", "prioritering")
        if kind not in KINDS:
            raise FollowupError(
                f"{name}: {where}.typ ska vara 'prioritering' eller 'medborgarlöfte', inte {str(kind)[:40]!r}"
            )
        text = entry.get("beskrivning", "")
        if text is None:
            text = ""
        if not isinstance(text, (str, int, float)):
            raise FollowupError(f"{name}: {where}.beskrivning ska vara en text, inte {_kind_of(text)}")
        items.append(Followed(ind, year, kind, str(text)[:500]))
    return path, raw, items


def compare_with_baseline(
    results: pd.DataFrame, area_code: str, item: Followed, year: int, expected: str | None = None
) -> dict:
    """Baseline and latest value with intervals, the change with its 95 % interval, and an honest verdict.

    Reported crime: the ratio of the two rates with the quasi-Poisson interval of
    :func:`tmb_analysis.detectable.change_test`, widened by the overdispersion ``phi`` the analysis
    estimates for the indicator (``funnel_phi``; 1 when the table has none): year-to-year noise is not
    counted as change. NTU: the difference with the interval from the two published intervals. ``direction``
    is 'decrease' / 'increase' when the interval excludes no change, 'no_clear_change' otherwise,
    'unknown' when a year is missing or the baseline is not before ``year``.

    Also ``mdc`` and ``mdc_text``: the smallest change in the ``expected`` direction (``minska``/``öka``;
    default: a fall where higher is worse) the test detects with 80 % power at the baseline's size, and
    ``verdict``, a Swedish sentence: larger than chance can explain (in the expected direction or the
    other), too early to say, or that the statistics cannot show so small a change.
    """
    from . import formatting as F
    from .statistics.detectable import change_test, detectable_change_rate, detectable_change_share, share_change_test

    ind = catalogue().get(item.indicator)
    rows = results[(results["area_code"] == area_code) & (results["indicator"] == item.indicator)].set_index("year")
    out = {
        "baseline": None,
        "latest": None,
        "change": np.nan,
        "change_low": np.nan,
        "change_high": np.nan,
        "direction": "unknown",
        "unit": ind.unit,
        "phi": np.nan,
        "mdc": np.nan,
        "mdc_text": "",
        "verdict": "Kan inte bedömas: basåret saknas i statistiken.",
    }
    expected = expected or ("öka" if ind.worse == "lower" else "minska")
    if item.baseline_year not in rows.index:
        return out
    b = rows.loc[item.baseline_year]
    out["baseline"] = b
    phi = float(pd.to_numeric(pd.Series([b.get("funnel_phi", np.nan)]), errors="coerce").iloc[0])
    phi = phi if np.isfinite(phi) and phi >= 1 else 1.0
    out["phi"] = phi
    if ind.unit == "per_100k":
        d = detectable_change_rate(float(b["count"]) if pd.notna(b.get("count")) else np.nan, phi, expected)
        out["mdc"] = d
        out["mdc_text"] = F.fmt_signed_pct(100 * d, 0) if np.isfinite(d) else ""
    else:
        se = (float(b["ci_high"]) - float(b["ci_low"])) / (2 * Z95) if pd.notna(b.get("ci_low")) else np.nan
        d = detectable_change_share(se)
        d = -d if expected == "minska" and np.isfinite(d) else d
        out["mdc"] = d
        out["mdc_text"] = F.fmt_signed_pct(d, 1, unit="percentage_points") if np.isfinite(d) else ""
    broken = ind.comparable_from and item.baseline_year < ind.comparable_from <= year
    if year not in rows.index or item.baseline_year >= year:
        out["verdict"] = (
            "För tidigt att säga: det finns ännu inga siffror efter basåret."
            if item.baseline_year >= year
            else "Kan inte bedömas: det senaste årets siffror saknas."
        )
        return out
    c = rows.loc[year]
    out["latest"] = c
    if broken:
        out["verdict"] = (
            f"Kan inte bedömas: registreringen ändrades {ind.comparable_from}, så basåret och "
            f"{year} räknar inte samma sak."
        )
        return out
    if ind.unit == "per_100k":
        vals = [b.get("count"), b.get("population"), c.get("count"), c.get("population")]
        if any(pd.isna(v) for v in vals):
            out["verdict"] = "Kan inte bedömas: antal eller befolkning saknas."
            return out
        t = change_test(*(float(v) for v in vals), phi=phi)
        if not np.isfinite(t["ratio"]):
            out["verdict"] = "Kan inte bedömas: inga anmälda brott ett av åren."
            return out
        out["change"], out["change_low"], out["change_high"] = (100 * (t[k] - 1) for k in ("ratio", "low", "high"))
    else:
        vals = [b.get("value"), b.get("ci_low"), b.get("ci_high"), c.get("value"), c.get("ci_low"), c.get("ci_high")]
        if any(pd.isna(v) for v in vals):
            out["verdict"] = "Kan inte bedömas: värde eller konfidensintervall saknas."
            return out
        se0 = (float(b["ci_high"]) - float(b["ci_low"])) / (2 * Z95)
        se1 = (float(c["ci_high"]) - float(c["ci_low"])) / (2 * Z95)
        t = share_change_test(float(b["value"]), se0, float(c["value"]), se1)
        out["change"], out["change_low"], out["change_high"] = t["difference"], t["low"], t["high"]
    if out["change_high"] < 0:
        out["direction"] = "decrease"
    elif out["change_low"] > 0:
        out["direction"] = "increase"
    else:
        out["direction"] = "no_clear_change"
    wanted = {"minska": "decrease", "öka": "increase"}[expected]
    if out["direction"] == wanted:
        out["verdict"] = "Förändringen åt det håll man ville är större än slumpen kan förklara."
    elif out["direction"] != "no_clear_change":
        out["verdict"] = "Förändringen går åt fel håll och är större än slumpen kan förklara."
    elif not np.isfinite(out["mdc"]):
        out["verdict"] = (
            "Ingen säker förändring, och statistiken kan inte visa en förändring åt det hållet: "
            "för få anmälda brott. Ett lokalt mått behövs."
        )
    else:
        out["verdict"] = (
            f"Ingen säker förändring ännu: statistiken kan visa en förändring på {out['mdc_text']} "
            "eller mer. En mindre förändring syns inte i statistiken."
        )
    return out
