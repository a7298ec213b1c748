"""A dated crosswalk of kommun codes, so that long series join across changes in the division.

The changes are listed in ``config/kommun_changes.yaml`` (Knivsta 0330 split from Uppsala 0380 in
2003, Nykvarn 0140 from Södertälje 0181 in 1999, Heby moved from Västmanlands län, code 1917, to
Uppsala län as 0331 in 2007). The registry (:mod:`tmb_analysis.geography`) knows today's codes only;
the crosswalk answers the dated questions a reader of an old series has:

* :meth:`Crosswalk.current_code` — today's code for a code used at some time (``1917`` → ``0331``);
* :meth:`Crosswalk.exists` — whether a kommun existed in a year (Knivsta not before 2003);
* :meth:`Crosswalk.lan_of` — the län a kommun belonged to in a year (Heby: 19 before 2007, 03 after);
* :meth:`Crosswalk.parent_of` — the kommun whose figures included it before a split;
* :meth:`Crosswalk.harmonise` — all of that applied to a frame of codes and years.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .config import read_config
from .geography import UnknownAreaError, registry

KINDS = ("split", "county_change")


@dataclass(frozen=True)
class Change:
    """One change of the kommun division (see ``config/kommun_changes.yaml``)."""

    code: str  # the current SCB code
    name: str
    kind: str  # split | county_change
    date: dt.date
    parent: str | None = None  # split: the kommun it was part of
    old_code: str | None = None  # county_change: the code before ``date``
    old_lan: str | None = None
    new_lan: str | None = None

    @property
    def year(self) -> int:
        """The first full year with the change in effect (changes take effect on 1 January)."""
        return self.date.year if (self.date.month, self.date.day) == (1, 1) else self.date.year + 1


class Crosswalk:
    """Dated code look-ups over the registry's current kommuner."""

    def __init__(self, changes: list[Change]):
        self.changes = list(changes)
        reg = registry()
        self._old: dict[str, Change] = {}
        self._by_code: dict[str, list[Change]] = {}
        for ch in self.changes:
            reg.kommun(ch.code)  # raises for a code that is not a current kommun
            if ch.parent is not None:
                reg.kommun(ch.parent)
            if ch.old_code is not None:
                if reg.is_code(ch.old_code):
                    raise ValueError(f"kommun_changes.yaml: old code {ch.old_code} of {ch.name} is a current code")
                self._old[ch.old_code] = ch
            self._by_code.setdefault(ch.code, []).append(ch)

    # ---- look-ups ----------------------------------------------------------
    def changes_for(self, code: str) -> list[Change]:
        return list(self._by_code.get(self.current_code(code), []))

    def is_old_code(self, code: str) -> bool:
        return str(code).strip() in self._old

    def current_code(self, code: str, year: int | None = None) -> str:
        """Today's code for ``code`` (an old code such as Heby's 1917 is mapped; current codes are
        returned as they are). With ``year``, an old code used after it was replaced is an error."""
        key = str(code).strip()
        ch = self._old.get(key)
        if ch is not None:
            if year is not None and int(year) >= ch.year:
                raise UnknownAreaError(
                    f"kommun code {key} ({ch.name}) was replaced by {ch.code} on {ch.date.isoformat()}; "
                    f"it is not valid for {year}"
                )
            return ch.code
        return registry().area(key).code

    def exists(self, code: str, year: int) -> bool:
        """Whether the kommun existed (as a kommun of its own) in ``year``."""
        cur = self.current_code(code)
        for ch in self._by_code.get(cur, []):
            if ch.kind == "split" and int(year) < ch.year:
                return False
        return True

    def parent_of(self, code: str, year: int) -> str | None:
        """The kommun whose figures included ``code`` in ``year`` (before a split), else None."""
        cur = self.current_code(code)
        for ch in self._by_code.get(cur, []):
            if ch.kind == "split" and int(year) < ch.year:
                return ch.parent
        return None

    def lan_of(self, code: str, year: int | None = None) -> str:
        """The län ``code`` belonged to in ``year`` (today's län without a year)."""
        cur = self.current_code(code)
        lan = registry().kommun(cur).lan_code
        if year is None:
            return lan
        for ch in self._by_code.get(cur, []):
            if ch.kind == "county_change" and int(year) < ch.year:
                return ch.old_lan
        return lan

    def code_in_year(self, code: str, year: int) -> str:
        """The code a kommun carried in ``year`` (Heby: 1917 before 2007)."""
        cur = self.current_code(code)
        for ch in self._by_code.get(cur, []):
            if ch.kind == "county_change" and int(year) < ch.year and ch.old_code:
                return ch.old_code
        return cur

    # ---- frames ------------------------------------------------------------
    def harmonise(self, df: pd.DataFrame, code: str = "area_code", year: str = "year") -> pd.DataFrame:
        """``df`` with its kommun codes mapped to today's and two added columns:

        ``exists`` (the kommun existed that year) and ``lan_then`` (its län that year).
        Codes that are neither current nor a known old code raise :class:`UnknownAreaError`
        naming them.
        """
        out = df.copy()
        codes = out[code].astype("str").str.strip()
        unknown = sorted({c for c in codes.unique() if not (registry().is_code(c) or c in self._old)})
        if unknown:
            raise UnknownAreaError(
                f"unknown kommun code(s) {', '.join(unknown[:8])}{' …' if len(unknown) > 8 else ''}: "
                "neither a current SCB code nor an old code in kommun_changes.yaml"
            )
        cur = {c: self.current_code(c) for c in codes.unique()}
        out[code] = codes.map(cur)
        keys = list(zip(codes.map(cur), out[year].astype("int64")))
        uniq = set(keys)
        ex = {k: self.exists(k[0], k[1]) for k in uniq}
        lan = {k: (self.lan_of(k[0], k[1]) if len(k[0]) == 4 else None) for k in uniq}
        out["exists"] = [ex[k] for k in keys]
        out["lan_then"] = [lan[k] for k in keys]
        return out


def load_crosswalk(path: str | Path | None = None) -> Crosswalk:
    raw, where = read_config("kommun_changes", path)
    changes = []
    for pos, entry in enumerate(raw.get("changes") or []):
        missing = {"code", "name", "kind", "date"} - set(entry)
        if missing:
            raise ValueError(f"{where}: changes[{pos}] lacks {', '.join(sorted(missing))}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"{where}: changes[{pos}] ({entry['name']}): kind must be one of {KINDS}")
        date = entry["date"]
        if not isinstance(date, dt.date):
            date = dt.date.fromisoformat(str(date))
        if entry["kind"] == "split" and not entry.get("parent"):
            raise ValueError(f"{where}: changes[{pos}] ({entry['name']}): a split needs 'parent'")
        if entry["kind"] == "county_change" and not (entry.get("old_lan") and entry.get("new_lan")):
            raise ValueError(
                f"{where}: changes[{pos}] ({entry['name']}): a county_change needs 'old_lan' and 'new_lan'"
            )
        changes.append(
            Change(
                code=str(entry["code"]),
                name=str(entry["name"]),
                kind=entry["kind"],
                date=date,
                parent=str(entry["parent"]) if entry.get("parent") else None,
                old_code=str(entry["old_code"]) if entry.get("old_code") else None,
                old_lan=str(entry["old_lan"]) if entry.get("old_lan") else None,
                new_lan=str(entry["new_lan"]) if entry.get("new_lan") else None,
            )
        )
    return Crosswalk(changes)


@lru_cache(maxsize=1)
def crosswalk() -> Crosswalk:
    """The packaged crosswalk, loaded once."""
    return load_crosswalk()
