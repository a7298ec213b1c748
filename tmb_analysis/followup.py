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


#: A follow-up file lists a handful of decisions: anything larger is not one.
MAX_BYTES = 256 * 1024
MAX_NODES = 5_000
MAX_DEPTH = 10
FIELDS = {"kommun": "kommunkoden som text, t.ex. \"2180\"", "beslutad": "ett datum, t.ex. \"2024-03-15\"",
          "prioriteringar": "en lista med prioriteringar"}
ENTRY_FIELDS = {"indikator": "ett indikator-id", "basar": "ett årtal", "typ": "prioritering eller medborgarlöfte",
                "beskrivning": "en text"}
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
            raise FollowupError(f"{self.name}, rad {mark.line + 1}: ankare och alias (&namn, *namn) är inte tillåtna; "
                                "skriv ut varje värde")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FollowupError(f"{self.name}: filen har fler än {MAX_NODES} värden; en uppföljningsfil listar "
                                "kommunens beslut")
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
        line = data[:exc.start].count(b"\n") + 1
        raise FollowupError(f"{name}, rad {line}: filen är inte UTF-8-text (byte 0x{data[exc.start]:02x}); "
                            "spara den som UTF-8") from None
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
    return {dict: "en tabell", list: "en lista", str: "en text", int: "ett tal", float: "ett tal",
            bool: "ja/nej"}.get(type(value), "ett värde")


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
        raise FollowupError(f"{name}: fältet kommun ska vara \"{kommun_code}\", inte {str(code)[:40]!r}{hint}")
    decided = raw.get("beslutad")
    if decided is not None and not isinstance(decided, (str, _dt.date)):
        raise FollowupError(f"{name}: fältet beslutad ska vara {FIELDS['beslutad']}, inte {_kind_of(decided)}")
    entries = raw.get("prioriteringar") or []
    if not isinstance(entries, list):
        raise FollowupError(f"{name}: fältet prioriteringar ska vara {FIELDS['prioriteringar']}, inte {_kind_of(entries)}")
    items = []
    cat = catalogue()
    for pos, entry in enumerate(entries, 1):
        where = f"prioriteringar[{pos}]"
        if not isinstance(entry, dict):
            raise FollowupError(f"{name}: {where} ska vara en tabell med fälten {', '.join(ENTRY_FIELDS)}, "
                                f"inte {_kind_of(entry)}")
        _check_fields(entry, ENTRY_FIELDS, name, f"{where}.")
        ind = entry.get("indikator")
        if not isinstance(ind, str) or ind not in cat:
            raise FollowupError(f"{name}: {where}.indikator {str(ind)[:40]!r} är inget indikator-id i katalogen "
                                "(tmb_analysis/config/indicators.yaml)")
        year = entry.get("basar")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
            raise FollowupError(f"{name}: {where}.basar ska vara ett årtal som 2022, inte {str(year)[:40]!r}")
        kind = entry.get("typ", "prioritering")
        if kind not in KINDS:
            raise FollowupError(f"{name}: {where}.typ ska vara 'prioritering' eller 'medborgarlöfte', "
                                f"inte {str(kind)[:40]!r}")
        text = entry.get("beskrivning", "")
        if text is None:
            text = ""
        if not isinstance(text, (str, int, float)):
            raise FollowupError(f"{name}: {where}.beskrivning ska vara en text, inte {_kind_of(text)}")
        items.append(Followed(ind, year, kind, str(text)[:500]))
    return path, raw, items


def compare_with_baseline(results: pd.DataFrame, area_code: str, item: Followed, year: int) -> dict:
    """Baseline and latest value with intervals, and the change with its 95 % interval.

    ``direction`` is 'decrease' / 'increase' when the interval of the change excludes no
    change, 'no_clear_change' otherwise, 'unknown' when a year is missing.
    """
    rows = results[(results["area_code"] == area_code) & (results["indicator"] == item.indicator)].set_index("year")
    out = {"baseline": None, "latest": None, "change": np.nan, "change_low": np.nan, "change_high": np.nan,
           "direction": "unknown", "unit": catalogue().get(item.indicator).unit}
    if item.baseline_year not in rows.index or year not in rows.index or item.baseline_year >= year:
        return out
    b, c = rows.loc[item.baseline_year], rows.loc[year]
    out["baseline"], out["latest"] = b, c
    if out["unit"] == "per_100k":
        from statsmodels.stats.rates import confint_poisson_2indep

        if any(pd.isna(v) for v in (b["count"], c["count"], b["population"], c["population"])) or b["count"] == 0:
            return out
        lo, hi = confint_poisson_2indep(int(c["count"]), float(c["population"]), int(b["count"]), float(b["population"]),
                                        method="score", compare="ratio")
        ratio = (c["count"] / c["population"]) / (b["count"] / b["population"])
        out["change"], out["change_low"], out["change_high"] = 100 * (ratio - 1), 100 * (lo - 1), 100 * (hi - 1)
    else:
        if any(pd.isna(v) for v in (b["value"], c["value"], b["ci_low"], b["ci_high"], c["ci_low"], c["ci_high"])):
            return out
        se = np.hypot((b["ci_high"] - b["ci_low"]) / (2 * Z95), (c["ci_high"] - c["ci_low"]) / (2 * Z95))
        d = float(c["value"] - b["value"])
        out["change"], out["change_low"], out["change_high"] = d, d - Z95 * se, d + Z95 * se
    if out["change_high"] < 0:
        out["direction"] = "decrease"
    elif out["change_low"] > 0:
        out["direction"] = "increase"
    else:
        out["direction"] = "no_clear_change"
    return out
